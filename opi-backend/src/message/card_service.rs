//! CardServiceRequest and CardServiceResponse (channel 0): payments, refunds, reversals,
//! pre-authorisations, aborts, reprints and recovery.

use super::amount::TotalAmount;
use super::common::{
    Authorisation, CardPan, Header, OriginalHeader, OverallResult, PosData, PrivateData,
    TerminalInfo, Timestamp,
};
use super::wire_enum::wire_enum;

wire_enum! {
    /// `RequestType` of a CardServiceRequest (research notes §3.2).
    CardRequestType {
        /// A sale.
        CardPayment = "CardPayment",
        /// Return money to the card.
        PaymentRefund = "PaymentRefund",
        /// Cancel an approved payment.
        PaymentReversal = "PaymentReversal",
        /// Reserve an amount.
        CardPreAuthorisation = "CardPreAuthorisation" | "CardPreAuthorization",
        /// Settle a pre-authorisation with the final amount.
        CardFinancialAdvice = "CardFinancialAdvice",
        /// Cancel a pre-authorisation.
        PreAuthReversal = "PreAuthReversal",
        /// Cancel a refund.
        RefundReversal = "RefundReversal",
        /// Abort the request in progress; the acknowledgement is not the outcome.
        AbortRequest = "AbortRequest",
        /// Print the last receipt again (through channel 1).
        TicketReprint = "TicketReprint",
        /// Report the last request and its answer (with `OriginalHeader`).
        RepeatLastMessage = "RepeatLastMessage",
        /// Query a card's balance.
        CardBalanceQuery = "CardBalanceQuery",
        /// Read a card without a payment.
        CardSwipe = "CardSwipe",
    }
}

/// `OriginalTransaction`: the transaction a reversal, refund or advice refers to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OriginalTransaction {
    /// `@TerminalID`.
    pub terminal_id: Option<String>,
    /// `@TerminalBatch`.
    pub terminal_batch: Option<String>,
    /// `@STAN`.
    pub stan: Option<String>,
    /// `@TimeStamp`.
    pub timestamp: Option<Timestamp>,
    /// `@ApprovalCode`.
    pub approval_code: Option<String>,
    /// `@TrackingReference`.
    pub tracking_reference: Option<String>,
}

/// `CardValue`: card data a terminal may return (never track data: it is not kept).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardValue {
    /// `CardCircuit`.
    pub card_circuit: Option<String>,
    /// `ExpiryDate` (MMYY or YYMM, as the terminal writes it).
    pub expiry_date: Option<String>,
    /// `CardPAN`, masked by the terminal.
    pub card_pan: Option<CardPan>,
    /// `Token`.
    pub token: Option<String>,
}

/// A request for a card operation, sent by the POS on channel 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardServiceRequest {
    /// Root attributes.
    pub header: Header,
    /// `@RequestType`.
    pub request_type: CardRequestType,
    /// `POSdata`.
    pub pos_data: Option<PosData>,
    /// `TotalAmount`.
    pub total_amount: Option<TotalAmount>,
    /// `OriginalTransaction` (reversal, refund, financial advice).
    pub original_transaction: Option<OriginalTransaction>,
    /// `PrivateData`.
    pub private_data: Option<PrivateData>,
}

impl CardServiceRequest {
    /// A request with only a header, a type and POS data.
    pub fn new(header: Header, request_type: CardRequestType, pos_data: PosData) -> Self {
        Self {
            header,
            request_type,
            pos_data: Some(pos_data),
            total_amount: None,
            original_transaction: None,
            private_data: None,
        }
    }
}

/// `Tender`: what was paid and how it was approved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tender {
    /// `TotalAmount`.
    pub total_amount: Option<TotalAmount>,
    /// `Authorisation` (read also as `Authorization`).
    pub authorisation: Option<Authorisation>,
}

/// `Diagnosis` (Swiss ep2): why the terminal or host declined.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeclineDiagnosis {
    /// `TerminalDeclineReason` (attribute or child element).
    pub terminal_decline_reason: Option<String>,
    /// `HostDeclineReason` (attribute or child element).
    pub host_decline_reason: Option<String>,
}

/// The terminal's answer to a [`CardServiceRequest`], on the same channel-0 connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardServiceResponse {
    /// Root attributes, echoed from the request.
    pub header: Header,
    /// `@RequestType`, echoed.
    pub request_type: CardRequestType,
    /// `@OverallResult` (or, from lenient peers, an `OverallResult` element).
    pub overall_result: OverallResult,
    /// `Terminal`.
    pub terminal: Option<TerminalInfo>,
    /// `Tender`.
    pub tender: Option<Tender>,
    /// `CardValue`.
    pub card_value: Option<CardValue>,
    /// `OriginalHeader` (RepeatLastMessage answers).
    pub original_header: Option<OriginalHeader>,
    /// `Diagnosis` (decline reasons).
    pub diagnosis: Option<DeclineDiagnosis>,
    /// `PrivateData`.
    pub private_data: Option<PrivateData>,
}

impl CardServiceResponse {
    /// A response with only a header, a type and a result.
    pub fn new(
        header: Header,
        request_type: CardRequestType,
        overall_result: OverallResult,
    ) -> Self {
        Self {
            header,
            request_type,
            overall_result,
            terminal: None,
            tender: None,
            card_value: None,
            original_header: None,
            diagnosis: None,
            private_data: None,
        }
    }

    /// The approval details, when a tender carries them.
    pub fn authorisation(&self) -> Option<&Authorisation> {
        self.tender.as_ref()?.authorisation.as_ref()
    }
}
