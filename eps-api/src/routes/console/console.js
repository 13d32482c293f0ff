// The EPS operator console. The access token lives in this closure only (never in storage,
// cookies or URLs); every text from the server is inserted as text, never as HTML.
"use strict";
(() => {
  let token = null;
  let page = "terminals";
  let stream = null;
  let lastEventId = null;
  let refreshTimer = null;
  let txNext = null;
  let seenTx = null;
  let resolving = null;
  const $ = (id) => document.getElementById(id);

  // ---- HTTP ----
  async function api(method, path, body, extraHeaders) {
    const headers = { Authorization: "Bearer " + token, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    Object.assign(headers, extraHeaders || {});
    const res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    let json = null;
    try { json = await res.json(); } catch (_) { json = null; }
    if (res.status === 401) { logout("Your token was refused or has expired: log in again."); }
    if (!res.ok) {
      const sr = json && json.statusReturn;
      throw new Error(sr ? sr.error + ": " + sr.message : "HTTP " + res.status);
    }
    return json;
  }

  // ---- login ----
  async function loginWithSecret(ev) {
    ev.preventDefault();
    $("login-error").textContent = "";
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      scope: "admin",
      client_id: $("login-client").value,
      client_secret: $("login-secret").value,
    });
    try {
      const res = await fetch("/oauth/token", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: form,
      });
      const json = await res.json();
      if (!res.ok) throw new Error(json.error_description || json.error || "HTTP " + res.status);
      $("login-secret").value = "";
      start(json.access_token, $("login-client").value);
    } catch (e) {
      $("login-error").textContent = e.message;
    }
  }

  function loginWithToken(ev) {
    ev.preventDefault();
    const t = $("login-token").value.trim();
    $("login-token").value = "";
    if (t) start(t, "pasted token");
  }

  function start(t, who) {
    token = t;
    $("who").textContent = "Logged in as " + who + ".";
    $("login").hidden = true;
    $("nav").hidden = false;
    openStream();
    show(page);
  }

  function logout(message) {
    token = null;
    if (stream) { stream.abort(); stream = null; }
    $("who").textContent = message || "Not logged in.";
    $("login").hidden = false;
    $("nav").hidden = true;
    $("stream").hidden = true;
    for (const p of document.querySelectorAll(".page")) p.hidden = true;
  }

  // ---- the admin event stream (fetch, so the token goes in a header) ----
  async function openStream() {
    if (stream) stream.abort();
    const controller = new AbortController();
    stream = controller;
    const headers = { Authorization: "Bearer " + token, Accept: "text/event-stream" };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    try {
      const res = await fetch("/admin/events", { headers, signal: controller.signal });
      if (!res.ok) throw new Error("HTTP " + res.status);
      setStream("Live: connected to the event stream.");
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          onFrame(frame);
        }
      }
      throw new Error("the stream ended");
    } catch (e) {
      if (controller.signal.aborted || !token) return;
      setStream("Live updates interrupted (" + e.message + "); reconnecting in 2 s.");
      setTimeout(() => { if (token && stream === controller) openStream(); }, 2000);
    }
  }

  function setStream(text) {
    $("stream").hidden = false;
    $("stream").textContent = text;
  }

  function onFrame(frame) {
    let id = null, name = "message", data = "";
    for (const line of frame.split("\n")) {
      if (line.startsWith("id:")) id = line.slice(3).trim();
      else if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data += line.slice(5).trim();
    }
    if (id) lastEventId = id;
    if (!data) return;
    if (name === "heartBeatEvent") { setStream("Live: connected (heartbeat " + new Date().toLocaleTimeString() + ")."); return; }
    const li = document.createElement("li");
    li.textContent = (id ? "#" + id + " " : "") + name + " " + data;
    const feed = $("feed");
    feed.prepend(li);
    while (feed.children.length > 200) feed.lastChild.remove();
    scheduleRefresh();
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      if (!token) return;
      refreshUnknownCount();
      if (["terminals", "unknown", "transactions", "connections", "nodes"].includes(page)) load(page, true);
    }, 250);
  }

  // ---- pages ----
  function show(name) {
    page = name;
    for (const p of document.querySelectorAll(".page")) p.hidden = p.id !== "page-" + name;
    for (const b of document.querySelectorAll("nav button[data-page]")) {
      if (b.dataset.page === name) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    }
    refreshUnknownCount();
    load(name, false);
  }

  async function load(name, live) {
    try {
      if (name === "terminals") await loadTerminals();
      else if (name === "unknown") await loadUnknown();
      else if (name === "transactions") await loadTransactions(false, live);
      else if (name === "connections") await loadConnections();
      else if (name === "nodes") await loadNodes();
      else if (name === "audit") await loadAudit();
    } catch (e) {
      const target = { transactions: "tx-error", connections: "conn-result", unknown: "resolve-result", terminals: "terminal-result" }[name];
      if (target) $(target).textContent = e.message;
    }
  }

  function row(cells, attrs) {
    const tr = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement("td");
      if (c instanceof Node) td.append(c); else td.textContent = c == null ? "—" : String(c);
      tr.append(td);
    }
    for (const [k, v] of Object.entries(attrs || {})) tr.setAttribute(k, v);
    return tr;
  }

  function button(text, attrs, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    for (const [k, v] of Object.entries(attrs || {})) b.setAttribute(k, v);
    b.addEventListener("click", onClick);
    return b;
  }

  function fill(tableId, rows) {
    const body = $(tableId).tBodies[0];
    body.replaceChildren(...rows);
    if (rows.length === 0) {
      const empty = row(["(none)"]);
      empty.firstChild.colSpan = $(tableId).tHead.rows[0].cells.length;
      body.append(empty);
    }
  }

  const amount = (a) => a ? a.value + " " + a.currency : null;
  const sitePoi = (t) => t.merchantID + " / " + t.poiID;

  async function loadTerminals() {
    const json = await api("GET", "/admin/terminals");
    fill("terminal-table", json.terminals.map((t) => {
      const actions = document.createElement("span");
      for (const op of ["login", "logoff", "diagnosis"]) {
        actions.append(button(op, { "data-terminal": t.terminalID, "data-op": op }, () => terminalOp(t.terminalID, op)), " ");
      }
      const link = t.link.state + (t.link.since ? " since " + t.link.since : "") + (t.link.lastError ? " (last error: " + t.link.lastError + ")" : "");
      return row([
        t.terminalID, sitePoi(t), t.status, link, t.loggedIn,
        t.runningTransaction ? t.runningTransaction.transactionID : null,
        t.unknownTransaction ? t.unknownTransaction.transactionID : null,
        t.lastDiagnosis ? t.lastDiagnosis.result + " at " + t.lastDiagnosis.at : null,
        t.owner, actions,
      ], { "data-id": t.terminalID });
    }));
  }

  async function terminalOp(id, op) {
    $("terminal-result").textContent = op + " sent to " + id + "…";
    try {
      const json = await api("POST", "/admin/terminals/" + encodeURIComponent(id) + "/" + op);
      $("terminal-result").textContent = op + " on " + id + ": the terminal answered " + json.result + ".";
    } catch (e) {
      $("terminal-result").textContent = op + " on " + id + " failed: " + e.message;
    }
    loadTerminals();
  }

  async function refreshUnknownCount() {
    try {
      const json = await api("GET", "/admin/transactions?state=unknown&limit=100");
      const n = json.transactions.length;
      $("unknown-count").textContent = "(" + n + (json.next ? "+" : "") + ")";
    } catch (_) { /* shown on the page itself */ }
  }

  async function loadUnknown() {
    const json = await api("GET", "/admin/transactions?state=unknown&limit=100");
    fill("unknown-table", json.transactions.map((t) => row([
      t.transactionID, t.createdAt, sitePoi(t), t.type, amount(t.amount), t.reason,
      button("Resolve", { "data-resolve": t.transactionID }, () => openResolve(t.transactionID)),
    ], { "data-id": t.transactionID })));
  }

  function openResolve(id) {
    resolving = id;
    $("resolve-id").textContent = id;
    $("resolve-form").hidden = false;
    $("resolve-note").focus();
  }

  async function submitResolve(ev) {
    ev.preventDefault();
    const note = $("resolve-note").value.trim();
    if (!note) { $("resolve-result").textContent = "A reason is required: say what you checked."; return; }
    const body = { state: $("resolve-state").value, note };
    if ($("resolve-stan").value.trim()) body.stan = $("resolve-stan").value.trim();
    if ($("resolve-approval").value.trim()) body.approvalCode = $("resolve-approval").value.trim();
    try {
      const json = await api("POST", "/admin/transactions/" + encodeURIComponent(resolving) + "/resolution", body,
        { "Idempotency-Key": crypto.randomUUID() });
      $("resolve-result").textContent = "Resolved " + resolving + ": now " + json.transaction.state + ".";
      $("resolve-form").hidden = true;
      $("resolve-form").reset();
      resolving = null;
    } catch (e) {
      $("resolve-result").textContent = "Not resolved: " + e.message;
    }
    loadUnknown();
    refreshUnknownCount();
  }

  function txQuery() {
    const params = new URLSearchParams();
    for (const el of $("tx-filter").elements) {
      if (el.name && el.value.trim()) params.set(el.name, el.value.trim());
    }
    return params.toString();
  }

  async function loadTransactions(more, live) {
    $("tx-error").textContent = "";
    if (live && txNext && seenTx && $("tx-table").tBodies[0].children.length > 20) return;
    const path = more && txNext ? txNext : "/admin/transactions?" + txQuery();
    const json = await api("GET", path);
    const before = seenTx;
    seenTx = new Set(json.transactions.map((t) => t.transactionID));
    const rows = json.transactions.map((t) => {
      const attrs = { "data-id": t.transactionID, "class": "clickable", tabindex: "0" };
      if (live && before && !before.has(t.transactionID)) attrs.class += " fresh";
      const tr = row([t.transactionID, t.createdAt, sitePoi(t), t.type, t.state, amount(t.amount)], attrs);
      tr.addEventListener("click", () => showDetail(t.transactionID));
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") showDetail(t.transactionID); });
      return tr;
    });
    if (more) $("tx-table").tBodies[0].append(...rows); else fill("tx-table", rows);
    txNext = json.next;
    $("tx-more").hidden = !txNext;
  }

  async function showDetail(id) {
    try {
      const json = await api("GET", "/admin/transactions/" + encodeURIComponent(id));
      const t = json.transaction;
      $("detail-id").textContent = id;
      const dl = $("detail-fields");
      dl.replaceChildren();
      const fields = [
        ["State", t.state], ["Type", t.type], ["Amount", amount(t.amount)],
        ["Approved", amount(t.approvedAmount)], ["Site", json.merchantID], ["POI", t.poiID],
        ["Terminal", json.terminalID], ["OPI RequestID", json.terminalRequestID],
        ["Client", json.clientID], ["Connection", json.connectionID], ["Reason", t.reason],
        ["Card", t.authorization && t.authorization.maskedPAN], ["Created", t.createdAt], ["Updated", t.updatedAt],
      ];
      for (const [k, v] of fields) {
        const dt = document.createElement("dt"); dt.textContent = k;
        const dd = document.createElement("dd"); dd.textContent = v == null ? "—" : v;
        dl.append(dt, dd);
      }
      fill("detail-journal", json.journal.map((j) => row([j.at, j.step, j.detail])));
      const receipts = $("detail-receipts");
      receipts.replaceChildren();
      for (const r of json.receipts) {
        const pre = document.createElement("pre");
        pre.className = "receipt";
        pre.textContent = r.copy + " copy (" + r.deviceTarget + ")\n" + r.lines.join("\n");
        receipts.append(pre);
      }
      if (json.receipts.length === 0) receipts.textContent = "(none)";
      showTrace(json.traceEntries || []);
      $("tx-detail").hidden = false;
      $("tx-detail").scrollIntoView();
    } catch (e) {
      $("tx-error").textContent = e.message;
    }
  }

  // The OPI trace: one collapsible block per frame; the XML is text, never markup.
  function showTrace(entries) {
    const trace = $("detail-trace");
    trace.replaceChildren();
    for (const e of entries) {
      const block = document.createElement("details");
      block.className = "trace";
      const summary = document.createElement("summary");
      const arrow = e.direction === "out" ? "EPS → terminal" : "terminal → EPS";
      summary.textContent = e.at + " channel " + e.channel + " " + arrow + ": " + e.message + " " + e.requestType;
      const pre = document.createElement("pre");
      pre.textContent = e.xml;
      block.append(summary, pre);
      trace.append(block);
    }
    if (entries.length === 0) trace.textContent = "(none yet: frames are written a moment after they go)";
  }

  async function loadConnections() {
    const json = await api("GET", "/admin/connections");
    fill("conn-table", json.connections.map((c) => row([
      c.connectionID, c.clientID, c.merchantID, c.applicationName, c.lastHeartbeat, c.state,
      button("Disconnect", { "data-disconnect": c.connectionID }, () => disconnect(c.connectionID)),
    ], { "data-id": c.connectionID })));
  }

  async function disconnect(id) {
    try {
      await api("DELETE", "/admin/connections/" + encodeURIComponent(id));
      $("conn-result").textContent = "Disconnected " + id + ": its event streams are closed.";
    } catch (e) {
      $("conn-result").textContent = "Not disconnected: " + e.message;
    }
    loadConnections();
  }

  async function loadNodes() {
    const json = await api("GET", "/admin/nodes");
    fill("node-table", json.nodes.map((n) => row([
      n.nodeID, n.self, n.url, n.version, n.store, n.startedAt, n.terminalIDs.join(", "),
    ])));
  }

  async function loadAudit() {
    const json = await api("GET", "/admin/audit?limit=100");
    fill("audit-table", json.entries.map((a) => row([
      a.seq, a.at, a.actor, a.action, a.target, a.reason, a.result, a.detail,
    ], { "data-seq": String(a.seq) })));
  }

  // ---- wiring ----
  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", loginWithSecret);
    $("token-form").addEventListener("submit", loginWithToken);
    $("logout").addEventListener("click", () => logout());
    for (const b of document.querySelectorAll("nav button[data-page]")) {
      b.addEventListener("click", () => show(b.dataset.page));
    }
    $("resolve-form").addEventListener("submit", submitResolve);
    $("resolve-cancel").addEventListener("click", () => { $("resolve-form").hidden = true; resolving = null; });
    $("tx-filter").addEventListener("submit", (ev) => { ev.preventDefault(); txNext = null; seenTx = null; loadTransactions(false, false); });
    $("tx-more").addEventListener("click", () => loadTransactions(true, false));
  });
})();
