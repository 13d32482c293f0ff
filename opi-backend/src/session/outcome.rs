//! Reading a terminal's answer into the domain's terms, faithfully: nothing is inferred, and a
//! card number only ever leaves here masked.

use eps_core::ids::TerminalRequestId;
use eps_core::money::Currency;
use eps_core::reconciliation::ReconciliationTotal;
use eps_core::redact::MaskedText;
use eps_core::terminal::{
    LastResult, ReconciliationReport, TerminalError, TerminalResponse, TerminalResult,
};
use eps_core::transaction::Authorisation;

use crate::message::{
    CardServiceResponse, OverallResult, PrivateData, ServiceRequestType, ServiceResponse,
};

/// A terminal's answer on channel 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// To a CardServiceRequest.
    Card(Box<CardServiceResponse>),
    /// To a ServiceRequest.
    Service(Box<ServiceResponse>),
}

impl Answer {
    /// The `OverallResult`.
    pub fn overall_result(&self) -> &OverallResult {
        match self {
            Self::Card(r) => &r.overall_result,
            Self::Service(r) => &r.overall_result,
        }
    }

    /// The domain's reading of the `OverallResult`.
    pub fn result(&self) -> TerminalResult {
        match self {
            Self::Card(r) => terminal_result(&r.overall_result),
            Self::Service(r) => service_result(r),
        }
    }
}

/// A ServiceResponse's result as the domain names it: ep2's own success words (`Activated`,
/// `AlreadyActivated`, `Deactivated`, `AlreadyDeactivated`, `DayClosed`; research notes §3.3,
/// §3.5) are `Success` for the requests they answer, and only for those.
pub fn service_result(response: &ServiceResponse) -> TerminalResult {
    let success: &[&str] = match response.request_type {
        ServiceRequestType::ActivateTerminal => &["Activated", "AlreadyActivated"],
        ServiceRequestType::DeactivateTerminal => &["Deactivated", "AlreadyDeactivated"],
        ServiceRequestType::CloseDay => &["DayClosed"],
        _ => &[],
    };
    match &response.overall_result {
        OverallResult::Other(word) if success.iter().any(|w| w.eq_ignore_ascii_case(word)) => {
            TerminalResult::Success
        }
        other => terminal_result(other),
    }
}

/// OPI `OverallResult` as the domain names it; unknown values are kept.
pub fn terminal_result(result: &OverallResult) -> TerminalResult {
    match result {
        OverallResult::Success => TerminalResult::Success,
        OverallResult::Failure => TerminalResult::Failure,
        OverallResult::Aborted => TerminalResult::Aborted,
        OverallResult::Busy => TerminalResult::Busy,
        OverallResult::DeviceUnavailable => TerminalResult::DeviceUnavailable,
        OverallResult::LoggedOut => TerminalResult::LoggedOut,
        OverallResult::PrintLastTicket => TerminalResult::PrintLastTicket,
        OverallResult::TimedOut => TerminalResult::TimedOut,
        other => TerminalResult::Other(other.as_str().to_owned()),
    }
}

/// A card answer in the domain's terms; amounts without a currency are read in `currency`.
pub fn terminal_response(response: &CardServiceResponse, currency: Currency) -> TerminalResponse {
    let terminal = response.terminal.as_ref();
    let authorisation = response.authorisation().map(|a| Authorisation {
        approval_code: a.approval_code.clone(),
        masked_pan: a
            .card_pan
            .as_ref()
            .or_else(|| response.card_value.as_ref()?.card_pan.as_ref())
            .map(|pan| MaskedText::new(pan.masked())),
        card_circuit: a
            .card_circuit
            .clone()
            .or_else(|| response.card_value.as_ref()?.card_circuit.clone()),
        stan: terminal.and_then(|t| t.stan.clone()),
        receipt_number: a.receipt_number.clone(),
        terminal_id: terminal.and_then(|t| t.terminal_id.clone()),
        acquirer_id: a.acquirer_id.clone(),
        action_code: a.action_code.clone(),
        timestamp: a.timestamp.as_ref().map(|t| t.as_str().to_owned()),
    });
    let amount = response
        .tender
        .as_ref()
        .and_then(|t| t.total_amount.as_ref())
        .and_then(|t| t.amount.amount_or_in(currency));
    let decline = response.diagnosis.as_ref().and_then(|d| {
        d.host_decline_reason
            .clone()
            .or_else(|| d.terminal_decline_reason.clone())
    });
    TerminalResponse {
        result: terminal_result(&response.overall_result),
        authorisation,
        amount,
        error_code: error_code(response.private_data.as_ref()).or(decline),
        error_text: response
            .private_data
            .as_ref()
            .and_then(PrivateData::error_text)
            .map(str::to_owned),
    }
}

/// A RepeatLastMessage answer: the request the terminal last handled and how it ended.
///
/// The outcome is `OriginalHeader@OverallResult` with the answer's tender data (research notes
/// §5.4); an answer without `OriginalHeader` tells nothing about any request.
pub fn last_result(
    response: &CardServiceResponse,
    currency: Currency,
) -> Result<LastResult, TerminalError> {
    let Some(header) = response.original_header.as_ref() else {
        return Err(match terminal_result(&response.overall_result) {
            TerminalResult::Busy => TerminalError::Busy,
            TerminalResult::Success => TerminalError::Protocol(
                "RepeatLastMessage answer carries no OriginalHeader".to_owned(),
            ),
            other => TerminalError::Refused(other),
        });
    };
    let mut answer = terminal_response(response, currency);
    if let Some(result) = &header.overall_result {
        answer.result = terminal_result(result);
    }
    Ok(LastResult {
        request_id: TerminalRequestId::parse(header.request_id.as_str()).ok(),
        request_type: Some(header.request_type.clone()),
        response: answer,
    })
}

/// A reconciliation answer; lines whose amount cannot be read are left out and counted in the
/// returned number, so the caller can say so.
pub fn reconciliation_report(
    response: &ServiceResponse,
    currency: Currency,
) -> (ReconciliationReport, usize) {
    let mut unreadable = 0;
    let totals = response
        .reconciliation
        .iter()
        .flat_map(|r| r.totals.iter())
        .filter_map(|line| {
            let amount = line.amount.amount_or_in(currency);
            if amount.is_none() {
                unreadable += 1;
            }
            Some(ReconciliationTotal {
                card_circuit: line.card_circuit.clone(),
                payment_type: line.payment_type.clone(),
                count: line.number_payments.unwrap_or(0),
                amount: amount?,
            })
        })
        .collect();
    let report = ReconciliationReport {
        result: service_result(response),
        totals,
        error_code: error_code(response.private_data.as_ref()),
    };
    (report, unreadable)
}

fn error_code(private: Option<&PrivateData>) -> Option<String> {
    private.and_then(PrivateData::error_code).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{
        Authorisation as WireAuth, CardPan, CardRequestType, Header, OriginalHeader, RawElement,
        RequestId, Tender, TerminalInfo, TotalAmount,
    };
    use eps_core::money::Amount;

    fn approved() -> CardServiceResponse {
        let mut r = CardServiceResponse::new(
            Header::new(RequestId::parse("20544").unwrap(), "1"),
            CardRequestType::CardPayment,
            OverallResult::Success,
        );
        r.terminal = Some(TerminalInfo {
            terminal_id: Some("68276185".into()),
            stan: Some("021601".into()),
            ..TerminalInfo::default()
        });
        r.tender = Some(Tender {
            total_amount: Some(TotalAmount::new(
                crate::message::MonetaryAmount::parse("39.5", None).unwrap(),
            )),
            authorisation: Some(WireAuth {
                card_pan: Some(CardPan::new("6805331234564747")),
                card_circuit: Some("girocard".into()),
                approval_code: Some("123456".into()),
                ..WireAuth::default()
            }),
        });
        r.private_data = Some(PrivateData {
            text: String::new(),
            elements: vec![RawElement::leaf("ErrorCode", "1002700")],
        });
        r
    }

    #[test]
    fn maps_approval_and_masks_the_pan() {
        let answer = terminal_response(&approved(), Currency::EUR);
        assert_eq!(answer.result, TerminalResult::Success);
        assert_eq!(
            answer.amount,
            Some(Amount::parse("39.50", Currency::EUR).unwrap())
        );
        let auth = answer.authorisation.unwrap();
        assert_eq!(auth.masked_pan.as_deref(), Some("680533######4747"));
        assert_eq!(auth.stan.as_deref(), Some("021601"));
        assert_eq!(auth.terminal_id.as_deref(), Some("68276185"));
        assert_eq!(answer.error_code.as_deref(), Some("1002700"));
    }

    #[test]
    fn last_result_takes_the_original_header() {
        let mut r = approved();
        r.request_type = CardRequestType::RepeatLastMessage;
        assert!(matches!(
            last_result(&r, Currency::EUR),
            Err(TerminalError::Protocol(_))
        ));
        r.original_header = Some(OriginalHeader {
            request_type: "CardPayment".into(),
            request_id: RequestId::parse("1234").unwrap(),
            workstation_id: Some("1".into()),
            pop_id: None,
            application_sender: None,
            overall_result: Some(OverallResult::Aborted),
        });
        let last = last_result(&r, Currency::EUR).unwrap();
        assert_eq!(last.request_id.unwrap().as_str(), "1234");
        assert_eq!(last.response.result, TerminalResult::Aborted);
        r.original_header = None;
        r.overall_result = OverallResult::Busy;
        assert_eq!(last_result(&r, Currency::EUR), Err(TerminalError::Busy));
    }

    #[test]
    fn ep2_success_words_are_success_for_their_own_requests_only() {
        let answer = |request_type, result: &str| {
            ServiceResponse::new(
                Header::new(RequestId::parse("1").unwrap(), "1"),
                request_type,
                OverallResult::parse(result),
            )
        };
        for (request_type, word) in [
            (ServiceRequestType::ActivateTerminal, "Activated"),
            (ServiceRequestType::ActivateTerminal, "AlreadyActivated"),
            (ServiceRequestType::DeactivateTerminal, "Deactivated"),
            (ServiceRequestType::DeactivateTerminal, "alreadydeactivated"),
            (ServiceRequestType::CloseDay, "DayClosed"),
        ] {
            assert_eq!(
                service_result(&answer(request_type, word)),
                TerminalResult::Success,
                "{word}"
            );
        }
        assert_eq!(
            service_result(&answer(ServiceRequestType::Login, "Activated")),
            TerminalResult::Other("Activated".into())
        );
        assert_eq!(
            service_result(&answer(
                ServiceRequestType::ActivateTerminal,
                "NotActivated"
            )),
            TerminalResult::Other("NotActivated".into())
        );
    }

    #[test]
    fn last_result_reads_request_ids_of_every_length_opi_allows() {
        let mut r = approved();
        r.request_type = CardRequestType::RepeatLastMessage;
        for length in [50, 64] {
            let long = "7".repeat(length);
            r.original_header = Some(OriginalHeader {
                request_type: "CardPayment".into(),
                request_id: RequestId::parse(&long).unwrap(),
                workstation_id: None,
                pop_id: None,
                application_sender: None,
                overall_result: None,
            });
            let last = last_result(&r, Currency::EUR).unwrap();
            assert_eq!(last.request_id.map(String::from), Some(long), "{length}");
        }
    }

    #[test]
    fn unknown_results_are_kept() {
        assert_eq!(
            terminal_result(&OverallResult::parse("DayClosed")),
            TerminalResult::Other("DayClosed".into())
        );
        assert_eq!(
            terminal_result(&OverallResult::parse("Loggedout")),
            TerminalResult::LoggedOut
        );
    }
}
