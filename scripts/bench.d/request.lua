-- One request repeated by wrk, described by environment variables (set by scripts/bench):
-- BENCH_METHOD (GET), BENCH_TOKEN (bearer token, optional), BENCH_CONNECTION (connection id,
-- optional), BENCH_BODY (JSON body, optional), BENCH_IDEMPOTENCY (a key prefix: every request
-- then carries a fresh Idempotency-Key and `Prefer: wait=30`, for payments).
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
local connection = os.getenv("BENCH_CONNECTION")
if connection and connection ~= "" then
  wrk.headers["openretailing-connection-id"] = connection
end
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local idempotency = os.getenv("BENCH_IDEMPOTENCY")
if idempotency and idempotency ~= "" then
  local counter = 0
  wrk.headers["Prefer"] = "wait=30"
  request = function()
    counter = counter + 1
    wrk.headers["Idempotency-Key"] = idempotency .. "-" .. counter
    return wrk.format()
  end
end
