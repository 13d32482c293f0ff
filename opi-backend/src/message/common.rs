//! Parts shared by every OPI message: root attributes, results, timestamps, POS data, the
//! terminal's identity and approval details.

use std::fmt;

use eps_core::ids::TerminalRequestId;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::wire_enum::wire_enum;

/// Why a value cannot be used in a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The value is empty.
    #[error("must not be empty")]
    Empty,
    /// The value is longer than allowed.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The maximum length in characters.
        max: usize,
    },
    /// The value holds a control character, which XML cannot carry reliably.
    #[error("contains a control character")]
    ControlCharacter,
    /// The value is not a plain decimal number.
    #[error("{0:?} is not a decimal number like \"12.34\"")]
    NotDecimal(String),
    /// The time cannot be written as an `xs:dateTime`.
    #[error("time cannot be formatted: {0}")]
    Time(String),
}

/// An OPI `RequestID`: a free, non-empty string, echoed in the response.
///
/// Terminals use digits (`20544`), dotted sub-ids on channel 1 (`15.1`) or `<epoch>_<n>`; all are
/// accepted as long as they are 1..=[`RequestId::MAX_LEN`] characters without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(String);

impl RequestId {
    /// The longest value accepted, in characters.
    pub const MAX_LEN: usize = 64;

    /// Accepts 1..=MAX_LEN characters without control characters.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        if value.is_empty() {
            return Err(ValueError::Empty);
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(ValueError::TooLong { max: Self::MAX_LEN });
        }
        if value.chars().any(char::is_control) {
            return Err(ValueError::ControlCharacter);
        }
        Ok(Self(value.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&TerminalRequestId> for RequestId {
    fn from(value: &TerminalRequestId) -> Self {
        // A TerminalRequestId is 1..=40 characters without control characters: always valid here.
        Self(value.as_str().to_owned())
    }
}

/// The attributes every OPI root element may carry (research notes §3.1).
///
/// `RequestType` and `OverallResult` are typed per message kind and live in the message itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `RequestID`: required; a response echoes its request's.
    pub request_id: RequestId,
    /// `WorkstationID`: required, but some terminals send it empty.
    pub workstation_id: String,
    /// `ApplicationSender`: who wrote the message (`ROUTER`, `Thales-OPI`, …).
    pub application_sender: Option<String>,
    /// `POPID`: the point of payment, when it differs from the workstation.
    pub pop_id: Option<String>,
    /// `ReferenceNumber`: an optional reference on card requests.
    pub reference_number: Option<String>,
    /// `TerminalID`: the terminal or device proxy involved (device messages).
    pub terminal_id: Option<String>,
    /// `SequenceID`: the part of a request composed of several (device messages).
    pub sequence_id: Option<String>,
    /// `ReferenceRequestID`: the request an abort refers to (device responses).
    pub reference_request_id: Option<String>,
}

impl Header {
    /// A header with the two required attributes and nothing else.
    pub fn new(request_id: RequestId, workstation_id: impl Into<String>) -> Self {
        Self {
            request_id,
            workstation_id: workstation_id.into(),
            application_sender: None,
            pop_id: None,
            reference_number: None,
            terminal_id: None,
            sequence_id: None,
            reference_request_id: None,
        }
    }

    /// The header a response to a request with this header echoes: ids, workstation, POP, sender.
    pub fn echo(&self) -> Self {
        Self {
            request_id: self.request_id.clone(),
            workstation_id: self.workstation_id.clone(),
            application_sender: self.application_sender.clone(),
            pop_id: self.pop_id.clone(),
            reference_number: None,
            terminal_id: self.terminal_id.clone(),
            sequence_id: self.sequence_id.clone(),
            reference_request_id: None,
        }
    }
}

wire_enum! {
    /// `OverallResult` of a response (research notes §3.5); compared case-insensitively.
    OverallResult {
        /// Complete success.
        Success = "Success",
        /// The main operation succeeded, a secondary one (e.g. an output) failed.
        PartialFailure = "PartialFailure",
        /// Complete failure, declines included.
        Failure = "Failure",
        /// No further request will succeed (in practice also "another transaction running").
        DeviceUnavailable = "DeviceUnavailable",
        /// Temporary: a second attempt shortly will succeed.
        Busy = "Busy",
        /// The terminal needs a Login first (also spelt `Loggedout`).
        LoggedOut = "LoggedOut",
        /// Aborted by cashier, customer or an AbortRequest.
        Aborted = "Aborted",
        /// No response from the remote host.
        TimedOut = "TimedOut",
        /// The host system is not available (Diagnosis).
        CommunicationError = "CommunicationError",
        /// The request was badly formatted.
        FormatError = "FormatError",
        /// The request was not well-formed XML.
        ParsingError = "ParsingError",
        /// The request did not validate against the schema.
        ValidationError = "ValidationError",
        /// A mandatory element or attribute is missing.
        MissingMandatoryData = "MissingMandatoryData",
        /// The card is not known.
        UnknownCard = "UnknownCard",
        /// The request is not supported.
        NotSupported = "NotSupported",
        /// The last receipt was not delivered: ask for TicketReprint; the outcome is not conclusive.
        PrintLastTicket = "PrintLastTicket",
    }
}

/// An `xs:dateTime` as the peer wrote it (`2024-02-09T09:36:36`, with or without offset or
/// fraction); kept as text because terminals differ, never reinterpreted on the way through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp(String);

impl Timestamp {
    /// Accepts any non-empty text without control characters.
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        if value.is_empty() {
            return Err(ValueError::Empty);
        }
        if value.chars().any(char::is_control) {
            return Err(ValueError::ControlCharacter);
        }
        Ok(Self(value.to_owned()))
    }

    /// Formats `now` as RFC 3339 with its offset and whole seconds (`2024-02-09T09:36:36+01:00`).
    pub fn from_datetime(now: OffsetDateTime) -> Result<Self, ValueError> {
        now.replace_nanosecond(0)
            .map_err(|e| ValueError::Time(e.to_string()))?
            .format(&Rfc3339)
            .map(Self)
            .map_err(|e| ValueError::Time(e.to_string()))
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The time, when the text is RFC 3339 with an offset; terminals often omit it.
    pub fn to_datetime(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.0, &Rfc3339).ok()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

wire_enum! {
    /// `POSdata/DiagnosisMethod` of a Diagnosis request.
    DiagnosisMethod {
        /// Check the connection to the host.
        OnLine = "OnLine",
        /// Check the terminal itself.
        Local = "Local",
        /// Initialise the point of payment.
        PopInit = "POPInit",
        /// Initialise every point of payment.
        PopInitAll = "POPInitAll",
        /// Report the printer's status.
        PrinterStatus = "PrinterStatus",
    }
}

wire_enum! {
    /// `POSdata/PrinterStatus` (and `JournalPrinterStatus`, `E-JournalStatus`) the POS reports.
    PeripheralStatus {
        /// Ready.
        Available = "Available",
        /// Paper is running low.
        PaperLow = "PaperLow",
        /// Out of paper.
        PaperEmpty = "PaperEmpty",
        /// Storage is running low (E-Journal).
        MemoryLow = "MemoryLow",
        /// Not usable.
        Unavailable = "Unavailable",
    }
}

/// `POSdata` (read also as `POSData`): the POS's context for a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PosData {
    /// `@LanguageCode` (de, en, fr, it, nl).
    pub language_code: Option<String>,
    /// `POSTimeStamp`: required by the schema, missing in some samples.
    pub timestamp: Option<Timestamp>,
    /// `ShiftNumber`.
    pub shift_number: Option<String>,
    /// `ClerkID`.
    pub clerk_id: Option<String>,
    /// `TransactionNumber`.
    pub transaction_number: Option<String>,
    /// `Reference`.
    pub reference: Option<String>,
    /// `DiagnosisMethod` of a Diagnosis request.
    pub diagnosis_method: Option<DiagnosisMethod>,
    /// `PrinterStatus`.
    pub printer_status: Option<PeripheralStatus>,
    /// `JournalPrinterStatus`.
    pub journal_printer_status: Option<PeripheralStatus>,
    /// `E-JournalStatus`.
    pub e_journal_status: Option<PeripheralStatus>,
}

impl PosData {
    /// POS data holding only a timestamp.
    pub fn at(timestamp: Timestamp) -> Self {
        Self {
            timestamp: Some(timestamp),
            ..Self::default()
        }
    }
}

/// `Terminal`: the terminal's identity and trace numbers in a response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TerminalInfo {
    /// `@TerminalID`.
    pub terminal_id: Option<String>,
    /// `@TerminalBatch`.
    pub terminal_batch: Option<String>,
    /// `@STAN`: the system trace audit number.
    pub stan: Option<String>,
    /// `@MerchantID`.
    pub merchant_id: Option<String>,
}

/// A card number as the terminal sent it (normally masked, `680533######4747`).
///
/// `Debug` and `Display` never show more than the first six and last four digits, so the value
/// may be logged even if a terminal sends a full PAN.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CardPan(String);

impl CardPan {
    /// Wraps a card number as sent.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value exactly as the terminal sent it (for the wire only: do not log it).
    pub fn as_sent(&self) -> &str {
        &self.0
    }

    /// The value with every digit but the first six and the last four replaced by `#`.
    pub fn masked(&self) -> String {
        let digits = self.0.chars().filter(char::is_ascii_digit).count();
        let mut seen = 0;
        self.0
            .chars()
            .map(|c| {
                if !c.is_ascii_digit() {
                    return c;
                }
                seen += 1;
                if seen <= 6 || seen + 4 > digits {
                    c
                } else {
                    '#'
                }
            })
            .collect()
    }
}

impl fmt::Debug for CardPan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardPan({:?})", self.masked())
    }
}

impl fmt::Display for CardPan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// `Authorisation` (read also as `Authorization`): the approval details.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authorisation {
    /// `@AcquirerID`.
    pub acquirer_id: Option<String>,
    /// `@CardPAN`, masked by the terminal.
    pub card_pan: Option<CardPan>,
    /// `@Merchant`.
    pub merchant: Option<String>,
    /// `@TimeStamp`.
    pub timestamp: Option<Timestamp>,
    /// `@ActionCode`: the acquirer's response code.
    pub action_code: Option<String>,
    /// `@ReturnCode`.
    pub return_code: Option<String>,
    /// `@ApprovalCode`: the issuer's approval code.
    pub approval_code: Option<String>,
    /// `@CardCircuit`: the scheme (girocard, VISA, …).
    pub card_circuit: Option<String>,
    /// `@ReceiptNumber`.
    pub receipt_number: Option<String>,
    /// `@AuthorisationType` (Online, Offline, …).
    pub authorisation_type: Option<String>,
    /// `@ExpiryDate`.
    pub expiry_date: Option<String>,
    /// `@Token`.
    pub token: Option<String>,
    /// `@CardVerification`.
    pub card_verification: Option<String>,
}

/// `OriginalHeader` of a RepeatLastMessage response: the request the terminal last handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalHeader {
    /// `@RequestType` of that request, as the terminal names it.
    pub request_type: String,
    /// `@RequestID` of that request.
    pub request_id: RequestId,
    /// `@WorkstationID`.
    pub workstation_id: Option<String>,
    /// `@POPID`.
    pub pop_id: Option<String>,
    /// `@ApplicationSender`.
    pub application_sender: Option<String>,
    /// `@OverallResult` of that request.
    pub overall_result: Option<OverallResult>,
}

/// One XML element kept as it was (vendor data such as `PrivateData` children).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawElement {
    /// The local name (namespace prefix dropped).
    pub name: String,
    /// Attributes in document order, by local name.
    pub attributes: Vec<(String, String)>,
    /// Child elements in document order.
    pub children: Vec<RawElement>,
    /// The text directly inside; whitespace-only text between child elements is dropped.
    pub text: String,
}

impl RawElement {
    /// A leaf element holding text.
    pub fn leaf(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
            ..Self::default()
        }
    }
}

/// `PrivateData`: vendor elements and text, kept for whoever knows the vendor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrivateData {
    /// Text directly inside (some POS send `type=initialise`).
    pub text: String,
    /// Child elements (`ErrorCode`, `ErrorText`, `CardTechnologyType`, …).
    pub elements: Vec<RawElement>,
}

impl PrivateData {
    /// The text of the first child named `name` (compared case-insensitively).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.elements
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .map(|e| e.text.as_str())
    }

    /// `ErrorCode`, the terminal's error or result code.
    pub fn error_code(&self) -> Option<&str> {
        self.value("ErrorCode")
    }

    /// `ErrorText`, the terminal's error or result text.
    pub fn error_text(&self) -> Option<&str> {
        self.value("ErrorText")
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn overall_results_compare_case_insensitively_and_keep_the_unknown() {
        assert_eq!(OverallResult::parse("Loggedout"), OverallResult::LoggedOut);
        assert_eq!(OverallResult::parse("LOGGEDOUT"), OverallResult::LoggedOut);
        assert_eq!(OverallResult::LoggedOut.as_str(), "LoggedOut");
        assert_eq!(
            OverallResult::parse("AlreadyActivated"),
            OverallResult::Other("AlreadyActivated".into())
        );
        assert_eq!(OverallResult::parse("DayClosed").as_str(), "DayClosed");
    }

    #[test]
    fn card_numbers_never_print_in_full() {
        let pan = CardPan::new("4111111111111111");
        assert_eq!(pan.masked(), "411111######1111");
        assert_eq!(format!("{pan:?}"), "CardPan(\"411111######1111\")");
        assert_eq!(pan.to_string(), "411111######1111");
        assert_eq!(pan.as_sent(), "4111111111111111");
        assert_eq!(
            CardPan::new("680533######4747").masked(),
            "680533######4747"
        );
    }

    #[test]
    fn request_ids_are_non_empty_and_printable() {
        assert_eq!(RequestId::parse("15.1").unwrap().as_str(), "15.1");
        assert_eq!(RequestId::parse(""), Err(ValueError::Empty));
        assert_eq!(RequestId::parse("a\nb"), Err(ValueError::ControlCharacter));
        assert!(matches!(
            RequestId::parse(&"9".repeat(65)),
            Err(ValueError::TooLong { max: 64 })
        ));
    }

    #[test]
    fn timestamps_are_written_from_now_without_fractions() {
        let now = datetime!(2024-02-09 09:36:36.789 +01:00);
        let stamp = Timestamp::from_datetime(now).unwrap();
        assert_eq!(stamp.as_str(), "2024-02-09T09:36:36+01:00");
        assert_eq!(
            stamp.to_datetime(),
            Some(datetime!(2024-02-09 09:36:36 +01:00))
        );
        assert_eq!(
            Timestamp::parse("2024-02-09T09:36:36")
                .unwrap()
                .to_datetime(),
            None
        );
    }
}
