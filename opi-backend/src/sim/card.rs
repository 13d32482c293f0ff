//! The simulated card side: card data per trace number, approval answers and receipt text.

use eps_core::money::Amount;
use time::OffsetDateTime;

use super::config::{ReceiptStyle, SimConfig};
use crate::message::{
    Authorisation, CardPan, CardRequestType, CardServiceResponse, DeviceTarget, Header, Output,
    OverallResult, PrivateData, RawElement, Tender, TerminalInfo, TextLine, Timestamp, TotalAmount,
};

/// A simulated card, chosen by the trace number. Its number is sent masked, or whole (and
/// Luhn-valid) in the full-PAN mode ([`SimConfig::full_pan`]), as some terminals do.
pub(crate) struct Card {
    pub(crate) circuit: &'static str,
    pub(crate) masked_pan: &'static str,
    full_pan: &'static str,
}

impl Card {
    /// The card number as this simulator sends it.
    pub(crate) fn pan(&self, config: &SimConfig) -> &'static str {
        if config.full_pan {
            self.full_pan
        } else {
            self.masked_pan
        }
    }
}

const CARDS: [Card; 3] = [
    Card {
        circuit: "girocard",
        masked_pan: "680533######4747",
        full_pan: "6805331000034747",
    },
    Card {
        circuit: "VISA",
        masked_pan: "476173######0010",
        full_pan: "4761739001010010",
    },
    Card {
        circuit: "MasterCard",
        masked_pan: "520000######0008",
        full_pan: "5200001000070008",
    },
];

/// Every full card number the simulator can send in the full-PAN mode, for tests that look for
/// them where they must not be.
pub const FULL_PANS: [&str; 3] = [CARDS[0].full_pan, CARDS[1].full_pan, CARDS[2].full_pan];

pub(crate) fn card_for(stan: u32) -> &'static Card {
    CARDS.get(stan as usize % CARDS.len()).unwrap_or(&CARDS[0])
}

/// An error text as the terminal sends it: with the whole card number in the full-PAN mode.
fn error_text(config: &SimConfig, text: &str, card: Option<&Card>) -> String {
    match card {
        Some(card) if config.full_pan => format!("{text} (Karte {})", card.full_pan),
        _ => text.to_owned(),
    }
}

/// The approval code for a trace number: six digits, deterministic.
pub(crate) fn approval_code(stan: u32) -> String {
    format!("{:06}", (u64::from(stan) * 7919 + 104_729) % 1_000_000)
}

/// What the terminal decided for a financial request.
pub(crate) struct Decided<'a> {
    pub(crate) header: Header,
    pub(crate) request_type: CardRequestType,
    pub(crate) result: OverallResult,
    pub(crate) amount: Option<Amount>,
    pub(crate) stan: Option<u32>,
    pub(crate) error: Option<(&'a str, &'a str)>,
    pub(crate) at: OffsetDateTime,
}

/// The CardServiceResponse for a decided request.
pub(crate) fn response(config: &SimConfig, decided: &Decided<'_>) -> CardServiceResponse {
    let mut response = CardServiceResponse::new(
        decided.header.clone(),
        decided.request_type.clone(),
        decided.result.clone(),
    );
    response.terminal = Some(TerminalInfo {
        terminal_id: Some(config.terminal_id.clone()),
        terminal_batch: None,
        stan: decided.stan.map(|s| format!("{s:06}")),
        merchant_id: None,
    });
    if let Some(stan) = decided.stan {
        let card = card_for(stan);
        let approved = decided.result == OverallResult::Success;
        response.tender = Some(Tender {
            total_amount: decided.amount.map(TotalAmount::new),
            authorisation: Some(Authorisation {
                acquirer_id: Some("SIMACQ".to_owned()),
                card_pan: Some(CardPan::new(card.pan(config))),
                merchant: Some(config.merchant.clone()),
                timestamp: Timestamp::from_datetime(decided.at).ok(),
                action_code: Some(if approved { "0" } else { "05" }.to_owned()),
                approval_code: approved.then(|| approval_code(stan)),
                card_circuit: Some(card.circuit.to_owned()),
                receipt_number: Some(format!("{}", stan % 10_000)),
                authorisation_type: Some("Online".to_owned()),
                ..Authorisation::default()
            }),
        });
    }
    if let Some((code, text)) = decided.error {
        let card = decided.stan.map(card_for);
        response.private_data = Some(PrivateData {
            text: String::new(),
            elements: vec![
                RawElement::leaf("ErrorCode", code),
                RawElement::leaf("ErrorText", error_text(config, text, card)),
            ],
        });
    }
    response
}

/// The customer and merchant receipt outputs for a decided request.
pub(crate) fn receipts(config: &SimConfig, decided: &Decided<'_>) -> Vec<Output> {
    let Some(stan) = decided.stan else {
        return Vec::new();
    };
    let card = card_for(stan);
    let approved = decided.result == OverallResult::Success;
    let body = |title: &str| {
        let mut lines = vec![
            title.to_owned(),
            config.merchant.clone(),
            format!("Terminal-ID {}", config.terminal_id),
            decided.request_type.as_str().to_owned(),
        ];
        if let Some(amount) = decided.amount {
            lines.push(format!(
                "Betrag {} {}",
                amount.currency(),
                amount.value_text()
            ));
        }
        lines.push(format!("{}  {}", card.circuit, card.pan(config)));
        lines.push(format!("STAN {stan:06}"));
        if approved {
            lines.push(format!("Genehmigung {}", approval_code(stan)));
            lines.push("Zahlung erfolgt".to_owned());
        } else {
            lines.push("Abgelehnt".to_owned());
        }
        lines.into_iter().map(TextLine::new)
    };
    let copy = |title: &str, target: DeviceTarget, ticket: &str| {
        let mut output = Output::lines(target, body(title));
        if config.receipts == ReceiptStyle::TicketType {
            output.ticket_type = Some(ticket.to_owned());
        }
        output.complete = Some(true);
        output
    };
    let (customer, merchant) = match config.receipts {
        ReceiptStyle::TicketType => (DeviceTarget::Printer, DeviceTarget::Printer),
        ReceiptStyle::Targets => (DeviceTarget::PrinterReceipt, DeviceTarget::Printer),
    };
    let mut outputs = vec![copy("Kundenbeleg", customer, "CustomerReceipt")];
    if approved {
        outputs.push(copy("Haendlerbeleg", merchant, "MerchantReceipt"));
    }
    outputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_pans_are_luhn_valid_and_mask_to_the_masked_ones() {
        for card in &CARDS {
            let digits: Vec<u32> = card
                .full_pan
                .chars()
                .filter_map(|c| c.to_digit(10))
                .collect();
            assert_eq!(digits.len(), 16, "{}", card.circuit);
            let sum: u32 = digits
                .iter()
                .rev()
                .enumerate()
                .map(|(i, d)| match (i % 2, d * 2) {
                    (1, doubled) if doubled > 9 => doubled - 9,
                    (1, doubled) => doubled,
                    _ => *d,
                })
                .sum();
            assert_eq!(sum % 10, 0, "{} is not Luhn-valid", card.full_pan);
            assert_eq!(CardPan::new(card.full_pan).masked(), card.masked_pan);
        }
        let full = SimConfig {
            full_pan: true,
            ..SimConfig::default()
        };
        assert_eq!(card_for(1).pan(&full), FULL_PANS[1]);
        assert_eq!(card_for(1).pan(&SimConfig::default()), "476173######0010");
        assert!(error_text(&full, "Abgelehnt", Some(card_for(1))).contains(FULL_PANS[1]));
        assert_eq!(
            error_text(&SimConfig::default(), "Abgelehnt", Some(card_for(1))),
            "Abgelehnt"
        );
    }

    #[test]
    fn approval_codes_are_six_digits_and_stable() {
        assert_eq!(approval_code(1).len(), 6);
        assert_eq!(approval_code(42), approval_code(42));
        assert_ne!(approval_code(1), approval_code(2));
        assert_eq!(card_for(3).circuit, "girocard");
    }
}
