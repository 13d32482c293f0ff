//! The crash-point matrix: every operation (payment, pre-authorisation, completion, reversal,
//! refund, abort, reconciliation, prompt answer, operator resolution, and recovery's "outcome
//! lost") is killed with SIGKILL right after each durable step it passes — the binary parks at
//! the named step (`EPS_TEST_PAUSE_AT`, `eps_core::durable`) and the test kills it there, never
//! at a guessed moment — then restarted on the same data. After the restart every transaction
//! is final or `unknown` with a reason, every reconciliation ended (or is `unknown` with a
//! reason), and the records agree exactly with the terminal's ledger (no double charge, nothing
//! moved beyond its original). Cases marked so are killed a second time during recovery (at the
//! step recovery commits the recovered outcome). Both engines; each operation is its own test.

use std::io::Write as _;

use eps_core::durable::DurableStep;
use eps_core::transaction::TransactionState;
use opi_backend::sim::{Scenario, ScriptMatch, SimConfig, SimServer};
use serde_json::{Value, json};

use crate::crash::{Eps, Pos, Store, config_with, eps, is_repeat_last_message};
use crate::support;

/// An operation of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Payment,
    PreAuthorisation,
    Completion,
    Reversal,
    Refund,
    Abort,
    Reconciliation,
    PromptAnswer,
    OperatorResolution,
    /// A payment whose answer is lost and that recovery cannot prove: saved `unknown`.
    OutcomeLost,
}

impl Operation {
    /// The durable steps it passes, each a crash point.
    fn steps(self) -> &'static [DurableStep] {
        use DurableStep::*;
        match self {
            Self::Payment | Self::PreAuthorisation => {
                &[TransactionCreated, RequestSent, OutcomeSaved]
            }
            Self::Completion | Self::Reversal | Self::Refund => {
                &[TransactionCreated, RequestSent, FollowUpOutcomeSaved]
            }
            Self::Abort => &[OutcomeSaved],
            Self::Reconciliation => &[
                ReconciliationCreated,
                ReconciliationSent,
                ReconciliationConcluded,
            ],
            Self::PromptAnswer => &[PromptAnswered],
            Self::OperatorResolution => &[TransactionResolved],
            Self::OutcomeLost => &[OutcomeLost],
        }
    }

    /// The step recovery commits a recovered outcome at, when a crash at `step` leaves a request
    /// on the terminal: the point of the second crash.
    fn recovery_step(self, step: DurableStep) -> Option<DurableStep> {
        match (self, step) {
            (Self::Payment | Self::PreAuthorisation, DurableStep::RequestSent) => {
                Some(DurableStep::OutcomeSaved)
            }
            (Self::Completion | Self::Reversal | Self::Refund, DurableStep::RequestSent) => {
                Some(DurableStep::FollowUpOutcomeSaved)
            }
            _ => None,
        }
    }

    /// Recovery attempts before an outcome is lost (few where the case needs one lost).
    fn recovery_attempts(self) -> u32 {
        match self {
            Self::OperatorResolution | Self::OutcomeLost => 2,
            _ => 100,
        }
    }
}

/// One site, one simulated lane, one client.
struct Case {
    store: Store,
    dir: tempfile::TempDir,
    sim: SimServer,
    secret: String,
}

impl Case {
    async fn new(store: Store, operation: Operation) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sim = SimServer::start("127.0.0.1:0".parse().unwrap(), SimConfig::default())
            .await
            .unwrap();
        config_with(
            dir.path(),
            &sim.channel0_address().to_string(),
            operation.recovery_attempts(),
        );
        let secret = support::add_client(&mut eps(dir.path(), &store), "read,write,admin").await;
        Self {
            store,
            dir,
            sim,
            secret,
        }
    }

    async fn start(&self, pause: Option<DurableStep>) -> (Eps, Pos) {
        let eps = match pause {
            Some(step) => Eps::start_pausing_at(self.dir.path(), &self.store, step).await,
            None => Eps::start(self.dir.path(), &self.store).await,
        };
        self.sim.set_callback(eps.callback.clone());
        let pos = Pos::connect(&eps, "pos-1", &self.secret).await;
        (eps, pos)
    }
}

/// Runs every crash point of `operation` on every engine.
async fn matrix(operation: Operation) {
    for engine in Store::all().await {
        let mut kills = 0;
        for step in operation.steps() {
            crash_at(engine.fresh_like().await, operation, *step, None).await;
            kills += 1;
            if let Some(second) = operation.recovery_step(*step) {
                crash_at(engine.fresh_like().await, operation, *step, Some(second)).await;
                kills += 2;
            }
        }
        let _ = writeln!(
            std::io::stderr(),
            "crash matrix: {operation:?} × {} steps on {}: {kills} kills",
            operation.steps().len(),
            engine.name()
        );
        engine.drop().await;
    }
}

/// One cell on an empty `store`: `operation` killed right after `step` (and, with `second`,
/// again during recovery at that step), restarted and checked.
async fn crash_at(
    store: Store,
    operation: Operation,
    step: DurableStep,
    second: Option<DurableStep>,
) {
    let case = Case::new(store, operation).await;
    let original = set_up(&case, operation).await;

    let (mut eps, pos) = case.start(Some(step)).await;
    let mut request = start(&case, &pos, operation, original.as_deref()).await;
    let subject = tokio::select! {
        subject = eps.paused_at(step) => subject,
        answer = &mut request => {
            // Answered before the step was reached (a step may commit after the answer): say
            // what came back, should the step then never be reached.
            eprintln!("{operation:?} answered before {step}: {:?}", answer.ok().flatten());
            eps.paused_at(step).await
        }
    };
    eps.kill9().await;
    request.abort();

    if let Some(second) = second {
        let mut eps = Eps::start_pausing_at(case.dir.path(), &case.store, second).await;
        case.sim.set_callback(eps.callback.clone());
        assert_eq!(
            eps.paused_at(second).await,
            subject,
            "{operation:?} × {step}: recovery committed the same transaction's outcome"
        );
        eps.kill9().await;
    }

    case.sim.clear_script();
    let (eps, pos) = case.start(None).await;
    assert_settled(&case, &pos, operation, step, &subject).await;
    case.store
        .assert_agrees_with(case.dir.path(), &case.sim)
        .await;
    eps.kill9().await;
    case.sim.shutdown().await;
    case.store.drop().await;
}

/// What the operation needs before the crash run, made by a cleanly stopped EPS: the original
/// of a follow-up, or an `unknown` payment for an operator to resolve.
async fn set_up(case: &Case, operation: Operation) -> Option<String> {
    let (eps, pos) = match operation {
        Operation::Completion
        | Operation::Reversal
        | Operation::Refund
        | Operation::OperatorResolution => case.start(None).await,
        _ => return None,
    };
    let (path, body) = match operation {
        Operation::Completion => ("/authorizations", amount("40.00")),
        Operation::OperatorResolution => {
            lose_answers(&case.sim);
            case.sim.push(Scenario::DropBeforeResponse);
            ("/payments", amount("12.00"))
        }
        _ => ("/payments", amount("10.00")),
    };
    let (status, started) = pos.post(path, with_lane(body, &pos)).await;
    assert!(status == 200 || status == 202, "{started:#}");
    let id = started["transaction"]["transactionID"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/transactions/{id}");
    if operation == Operation::OperatorResolution {
        // `Prefer: wait` waits past `unknown`; a second at a time shows it as soon as it is.
        let state = ended(&pos, &path, "transaction").await["transaction"]["state"].clone();
        assert_eq!(state, "unknown", "{operation:?} set-up");
    } else {
        let state = pos.get(&path, true).await["transaction"]["state"].clone();
        assert_eq!(state, "approved", "{operation:?} set-up");
    }
    eps.terminate().await;
    Some(id)
}

/// Sends the operation's request in a task of its own (it may never be answered: the EPS may be
/// killed mid-way); the task ends with the answer's body, if one came.
async fn start(
    case: &Case,
    pos: &Pos,
    operation: Operation,
    original: Option<&str>,
) -> tokio::task::JoinHandle<Option<Value>> {
    let (path, body) = match operation {
        Operation::Payment => ("/payments".to_owned(), with_lane(amount("10.00"), pos)),
        Operation::PreAuthorisation => (
            "/authorizations".to_owned(),
            with_lane(amount("40.00"), pos),
        ),
        Operation::Completion => (
            format!("/transactions/{}/completion", original.unwrap()),
            amount("25.00"),
        ),
        Operation::Reversal => (
            format!("/transactions/{}/reversal", original.unwrap()),
            json!({}),
        ),
        Operation::Refund => (
            "/refunds".to_owned(),
            json!({"originalTransactionID": original.unwrap(), "amount": eur("4.00")}),
        ),
        Operation::Reconciliation => (
            "/reconciliations".to_owned(),
            json!({"poiID": pos.lane, "closure": "yes"}),
        ),
        Operation::Abort => {
            case.sim.push(Scenario::WaitForAbort);
            let id = started(pos, "/payments", with_lane(amount("10.00"), pos)).await;
            (format!("/transactions/{id}/abort"), json!({}))
        }
        Operation::PromptAnswer => {
            case.sim.push(Scenario::Confirm);
            let mut events = events(pos).await;
            started(pos, "/payments", with_lane(amount("10.00"), pos)).await;
            let prompt = input_prompt(pos, &mut events).await;
            (
                format!("/prompts/{prompt}/response"),
                json!({"confirmation": "yes"}),
            )
        }
        Operation::OperatorResolution => {
            let id = original.unwrap();
            let stan = case
                .sim
                .ledger()
                .entries()
                .last()
                .and_then(|e| e.stan.clone())
                .expect("the terminal's STAN of the lost payment");
            (
                format!("/admin/transactions/{id}/resolution"),
                json!({"state": "approved", "stan": stan, "note": "terminal journal: approved"}),
            )
        }
        Operation::OutcomeLost => {
            lose_answers(&case.sim);
            case.sim.push(Scenario::DropBeforeResponse);
            ("/payments".to_owned(), with_lane(amount("12.00"), pos))
        }
    };
    let request = pos
        .http
        .post(format!("{}{path}", pos.base))
        .bearer_auth(&pos.token)
        .header("openretailing-connection-id", &pos.connection)
        .json(&body);
    tokio::spawn(async move {
        // An operator is told to come back while start-up recovery asks the terminal (which
        // here never answers it: a few quick attempts); they do, within the bound.
        let deadline = tokio::time::Instant::now() + support::BOUND;
        loop {
            let response = request.try_clone()?.send().await.ok()?;
            let answer: Value = response.json().await.ok()?;
            let recovering = answer["statusReturn"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("being recovered"));
            if !recovering || tokio::time::Instant::now() > deadline {
                return Some(answer);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    })
}

/// Every transaction and reconciliation of the cell ended: final, or `unknown` with a reason.
/// `subject` is what the parked task worked on (a reconciliation's id for a reconciliation).
async fn assert_settled(
    case: &Case,
    pos: &Pos,
    operation: Operation,
    step: DurableStep,
    subject: &str,
) {
    let what = format!("{operation:?} killed after {step}");
    let records = case.store.transactions(case.dir.path()).await;
    assert!(
        !records.is_empty() || operation == Operation::Reconciliation,
        "{what}: no transaction at all"
    );
    for record in &records {
        // Waits past a passing `unknown` too: recovery has its chance to find the outcome.
        let body = pos.get(&format!("/transactions/{}", record.id), true).await;
        let transaction = &body["transaction"];
        let state = transaction["state"].as_str().unwrap();
        match TransactionState::parse(state) {
            Some(TransactionState::Pending | TransactionState::InProgress) | None => {
                panic!("{what}: {state}: {body:#}")
            }
            Some(TransactionState::Unknown) => assert!(
                transaction["reason"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty()),
                "{what}: unknown without a reason: {body:#}"
            ),
            Some(_) => {}
        }
    }
    // An approved follow-up settled its original in the same commit (read again: all ended).
    let records = case.store.transactions(case.dir.path()).await;
    for record in &records {
        let Some(original) = &record.original_id else {
            continue;
        };
        if record.state != TransactionState::Approved {
            continue;
        }
        let body = pos.get(&format!("/transactions/{original}"), false).await;
        let settled = &body["transaction"];
        let consistent = match operation {
            Operation::Completion => settled["state"] == "completed",
            Operation::Reversal => settled["state"] == "reversed",
            Operation::Refund => settled["refundedAmount"]["value"] == "4.00",
            _ => true,
        };
        assert!(
            consistent,
            "{what}: the approved follow-up {} did not settle its original: {body:#}",
            record.id
        );
    }
    if operation == Operation::Reconciliation {
        let body = ended(
            pos,
            &format!("/reconciliations/{subject}"),
            "reconciliation",
        )
        .await;
        let reconciliation = &body["reconciliation"];
        let state = reconciliation["state"].as_str().unwrap();
        assert!(
            ["completed", "failed", "unknown"].contains(&state),
            "{what}: {body:#}"
        );
        if state == "unknown" {
            assert!(reconciliation["reason"].is_string(), "{what}: {body:#}");
        }
    }
    if step == DurableStep::RequestSent && operation != Operation::Reconciliation {
        // The request was on the terminal when the EPS died: recovery asked it, never resent.
        assert!(
            case.sim
                .ledger()
                .received()
                .iter()
                .any(is_repeat_last_message),
            "{what}: the outcome was recovered from the terminal"
        );
    }
}

/// `GET path` once the `kind` it shows has left `pending` and `inProgress` (`Prefer: wait` would
/// wait past `unknown` too: a second at a time, up to a minute).
async fn ended(pos: &Pos, path: &str, kind: &str) -> Value {
    let mut answer = Value::Null;
    for _ in 0..60 {
        answer = pos
            .http
            .get(format!("{}{path}", pos.base))
            .bearer_auth(&pos.token)
            .header("openretailing-connection-id", &pos.connection)
            .header("prefer", "wait=1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !["pending", "inProgress"].contains(&answer[kind]["state"].as_str().unwrap_or("")) {
            return answer;
        }
    }
    answer
}

/// Every RepeatLastMessage is dropped unanswered until the script is cleared.
fn lose_answers(sim: &SimServer) {
    for _ in 0..1000 {
        sim.script(
            ScriptMatch::RequestType("RepeatLastMessage".into()),
            Scenario::DropAfterRequest,
        );
    }
}

fn eur(value: &str) -> Value {
    json!({"value": value, "currency": "EUR"})
}

fn amount(value: &str) -> Value {
    json!({"amount": eur(value)})
}

fn with_lane(mut body: Value, pos: &Pos) -> Value {
    body["poiID"] = Value::String(pos.lane.clone());
    body
}

/// Starts a card request and returns its transaction once it is on the terminal.
async fn started(pos: &Pos, path: &str, body: Value) -> String {
    let (status, started) = pos.post(path, body).await;
    assert_eq!(status, 202, "{started:#}");
    started["transaction"]["transactionID"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The site's event stream, from now on.
async fn events(pos: &Pos) -> reqwest::Response {
    let response = pos
        .http
        .get(format!("{}/events", pos.base))
        .bearer_auth(&pos.token)
        .header("openretailing-connection-id", &pos.connection)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

/// The first input prompt announced on `events` (a bound on a hang, not a pause).
async fn input_prompt(pos: &Pos, events: &mut reqwest::Response) -> String {
    let wait = async {
        let mut text = String::new();
        loop {
            let chunk = events.chunk().await.unwrap().expect("the stream goes on");
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                let frame: String = text.drain(..end + 2).collect();
                let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) else {
                    continue;
                };
                let data: Value = serde_json::from_str(data.trim()).unwrap_or_default();
                if let Some(id) = data["promptID"].as_str() {
                    let prompt = pos.get(&format!("/prompts/{id}"), false).await;
                    if prompt["prompt"]["type"] == "input" {
                        return id.to_owned();
                    }
                }
            }
        }
    };
    tokio::time::timeout(support::BOUND, wait)
        .await
        .expect("an input prompt within the bound")
}

/// The terminal processes the operation's request (`request_type`) and drops the link without
/// answering; the EPS, running on, recovers: every transaction final or `unknown` with a reason,
/// learned by asking the terminal (a transaction's), and the exact ledger agreement.
async fn lost_answer(operation: Operation, request_type: &str) {
    for engine in Store::all().await {
        let case = Case::new(engine.fresh_like().await, operation).await;
        let original = set_up(&case, operation).await;
        let (eps, pos) = case.start(None).await;
        case.sim.script(
            ScriptMatch::RequestType(request_type.into()),
            Scenario::DropBeforeResponse,
        );
        let answer = start(&case, &pos, operation, original.as_deref())
            .await
            .await
            .unwrap()
            .expect("the request is answered (202) before the terminal's answer is lost");
        let subject = answer["reconciliation"]["reconciliationID"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert_settled(&case, &pos, operation, DurableStep::RequestSent, &subject).await;
        assert!(
            case.sim
                .ledger()
                .received()
                .iter()
                .any(|r| r.kind.name() == request_type),
            "{operation:?}: the terminal received {request_type}"
        );
        case.store
            .assert_agrees_with(case.dir.path(), &case.sim)
            .await;
        eps.kill9().await;
        case.sim.shutdown().await;
        case.store.drop().await;
        engine.drop().await;
    }
}

#[tokio::test]
async fn lost_answers_of_every_terminal_request() {
    for (operation, request_type) in [
        (Operation::Payment, "CardPayment"),
        (Operation::PreAuthorisation, "CardPreAuthorisation"),
        (Operation::Completion, "CardFinancialAdvice"),
        (Operation::Reversal, "PaymentReversal"),
        (Operation::Refund, "PaymentRefund"),
        (Operation::Reconciliation, "ReconciliationWithClosure"),
    ] {
        lost_answer(operation, request_type).await;
    }
}

#[tokio::test]
async fn payment() {
    matrix(Operation::Payment).await;
}

#[tokio::test]
async fn pre_authorisation() {
    matrix(Operation::PreAuthorisation).await;
}

#[tokio::test]
async fn completion() {
    matrix(Operation::Completion).await;
}

#[tokio::test]
async fn reversal() {
    matrix(Operation::Reversal).await;
}

#[tokio::test]
async fn refund() {
    matrix(Operation::Refund).await;
}

#[tokio::test]
async fn abort() {
    matrix(Operation::Abort).await;
}

#[tokio::test]
async fn reconciliation() {
    matrix(Operation::Reconciliation).await;
}

#[tokio::test]
async fn prompt_answer() {
    matrix(Operation::PromptAnswer).await;
}

#[tokio::test]
async fn operator_resolution() {
    matrix(Operation::OperatorResolution).await;
}

#[tokio::test]
async fn outcome_lost() {
    matrix(Operation::OutcomeLost).await;
}

#[test]
fn every_durable_step_is_a_crash_point_of_some_operation() {
    let covered: Vec<DurableStep> = [
        Operation::Payment,
        Operation::PreAuthorisation,
        Operation::Completion,
        Operation::Reversal,
        Operation::Refund,
        Operation::Abort,
        Operation::Reconciliation,
        Operation::PromptAnswer,
        Operation::OperatorResolution,
        Operation::OutcomeLost,
    ]
    .iter()
    .flat_map(|op| op.steps().iter().copied())
    .collect();
    for step in DurableStep::ALL {
        assert!(covered.contains(&step), "{step} is no crash point");
    }
}
