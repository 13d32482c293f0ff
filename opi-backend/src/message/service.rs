//! ServiceRequest and ServiceResponse (channel 0): login, logoff, diagnosis, reconciliation.

use super::amount::MonetaryAmount;
use super::card_service::DeclineDiagnosis;
use super::common::{
    Authorisation, Header, OriginalHeader, OverallResult, PosData, PrivateData, TerminalInfo,
};
use super::wire_enum::wire_enum;

wire_enum! {
    /// `RequestType` of a ServiceRequest (research notes §3.3).
    ServiceRequestType {
        /// Open operations for the workstation; a second Login without Logoff is accepted.
        Login = "Login",
        /// End operations.
        Logoff = "Logoff",
        /// Check the terminal or its host (see `POSdata/DiagnosisMethod`).
        Diagnosis = "Diagnosis",
        /// Totals without closing the batch.
        Reconciliation = "Reconciliation",
        /// Totals and close the batch (end of day).
        ReconciliationWithClosure = "ReconciliationWithClosure",
        /// Open the terminal's administration.
        Administration = "Administration",
        /// Ask for the terminal's status.
        StatusQuery = "StatusQuery",
        /// Abort the request in progress (some terminals take it as a ServiceRequest).
        AbortRequest = "AbortRequest",
        /// Report the last request and its answer.
        RepeatLastMessage = "RepeatLastMessage",
        /// List the card schemes the terminal accepts (CCV).
        GetCardCircuits = "GetCardCircuits",
        /// Swiss ep2 login.
        ActivateTerminal = "ActivateTerminal",
        /// Swiss ep2 logoff.
        DeactivateTerminal = "DeactivateTerminal",
        /// Swiss ep2 end of day: the final balance, then the session ends.
        CloseDay = "CloseDay",
        /// Swiss ep2: submit the transactions the terminal stored (before CloseDay).
        TransmitTrx = "TransmitTrx",
        /// Submit offline transactions.
        SendOfflineTransactions = "SendOfflineTransactions",
    }
}

/// A non-card request, sent by the POS on channel 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRequest {
    /// Root attributes.
    pub header: Header,
    /// `@RequestType`.
    pub request_type: ServiceRequestType,
    /// `POSdata`.
    pub pos_data: Option<PosData>,
    /// `PrivateData`.
    pub private_data: Option<PrivateData>,
}

impl ServiceRequest {
    /// A request with a header, a type and POS data.
    pub fn new(header: Header, request_type: ServiceRequestType, pos_data: PosData) -> Self {
        Self {
            header,
            request_type,
            pos_data: Some(pos_data),
            private_data: None,
        }
    }
}

/// `Reconciliation/TotalAmount`: one line of end-of-day totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationTotal {
    /// The element's text and `Currency`.
    pub amount: MonetaryAmount,
    /// `@NumberPayments`.
    pub number_payments: Option<u32>,
    /// `@PaymentType` (Debit, Credit, …).
    pub payment_type: Option<String>,
    /// `@CardCircuit`.
    pub card_circuit: Option<String>,
    /// `@Acquirer`.
    pub acquirer: Option<String>,
    /// `@NumberHeld`.
    pub number_held: Option<u32>,
    /// `@AmountHeld`, in the line's currency.
    pub amount_held: Option<MonetaryAmount>,
}

/// `Reconciliation`: the totals of a (closed) batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reconciliation {
    /// `@LanguageCode`.
    pub language_code: Option<String>,
    /// The `TotalAmount` lines.
    pub totals: Vec<ReconciliationTotal>,
}

/// `CardCircuit` of a GetCardCircuits answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardCircuit {
    /// The scheme code (VISA, ECMC, …).
    pub code: String,
    /// `@DisplayName`.
    pub display_name: Option<String>,
}

/// The terminal's answer to a [`ServiceRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceResponse {
    /// Root attributes, echoed from the request.
    pub header: Header,
    /// `@RequestType`, echoed.
    pub request_type: ServiceRequestType,
    /// `@OverallResult` (or, from lenient peers, an `OverallResult` element).
    pub overall_result: OverallResult,
    /// `Terminal`.
    pub terminal: Option<TerminalInfo>,
    /// `Authorisation` (a reconciliation's time stamp).
    pub authorisation: Option<Authorisation>,
    /// `Reconciliation`.
    pub reconciliation: Option<Reconciliation>,
    /// `CardCircuitCollection/CardCircuit` (GetCardCircuits).
    pub card_circuits: Vec<CardCircuit>,
    /// `OriginalHeader` (RepeatLastMessage answers).
    pub original_header: Option<OriginalHeader>,
    /// `Diagnosis`.
    pub diagnosis: Option<DeclineDiagnosis>,
    /// `PrivateData`.
    pub private_data: Option<PrivateData>,
}

impl ServiceResponse {
    /// A response with only a header, a type and a result.
    pub fn new(
        header: Header,
        request_type: ServiceRequestType,
        overall_result: OverallResult,
    ) -> Self {
        Self {
            header,
            request_type,
            overall_result,
            terminal: None,
            authorisation: None,
            reconciliation: None,
            card_circuits: Vec::new(),
            original_header: None,
            diagnosis: None,
            private_data: None,
        }
    }
}
