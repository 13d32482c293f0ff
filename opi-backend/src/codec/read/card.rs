//! Reading CardServiceRequest and CardServiceResponse.

use super::parts::{
    AUTHORISATION, attribute_or_child, authorisation, child_parsed, diagnosis, header,
    original_header, overall_result, parsed, pos_data, private_data, request_type, terminal, text,
    total_amount,
};
use crate::codec::error::DecodeError;
use crate::codec::tree::Element;
use crate::message::{
    CardPan, CardRequestType, CardServiceRequest, CardServiceResponse, CardValue,
    OriginalTransaction, Tender, Timestamp,
};

pub(super) fn request(root: &Element) -> Result<CardServiceRequest, DecodeError> {
    Ok(CardServiceRequest {
        header: header(root)?,
        request_type: CardRequestType::parse(request_type(root)?),
        pos_data: pos_data(root)?,
        total_amount: root.child(&["TotalAmount"]).map(total_amount).transpose()?,
        original_transaction: root
            .child(&["OriginalTransaction"])
            .map(original_transaction)
            .transpose()?,
        private_data: private_data(root),
    })
}

pub(super) fn response(root: &Element) -> Result<CardServiceResponse, DecodeError> {
    Ok(CardServiceResponse {
        header: header(root)?,
        request_type: CardRequestType::parse(request_type(root)?),
        overall_result: overall_result(root)?,
        terminal: terminal(root),
        tender: root.child(&["Tender"]).map(tender).transpose()?,
        card_value: root
            .child(&["CardValue"])
            .or_else(|| root.child(&["Tender"])?.child(&["CardValue"]))
            .map(card_value)
            .transpose()?,
        original_header: original_header(root)?,
        diagnosis: diagnosis(root),
        private_data: private_data(root),
    })
}

fn original_transaction(element: &Element) -> Result<OriginalTransaction, DecodeError> {
    Ok(OriginalTransaction {
        terminal_id: text(element, "TerminalID"),
        terminal_batch: text(element, "TerminalBatch"),
        stan: text(element, "STAN"),
        timestamp: parsed(element, "TimeStamp", Timestamp::parse)?,
        approval_code: text(element, "ApprovalCode"),
        tracking_reference: text(element, "TrackingReference"),
    })
}

fn tender(element: &Element) -> Result<Tender, DecodeError> {
    Ok(Tender {
        total_amount: element
            .child(&["TotalAmount"])
            .map(total_amount)
            .transpose()?,
        authorisation: element
            .child(AUTHORISATION)
            .map(authorisation)
            .transpose()?,
    })
}

/// `CardValue` (read at the root or inside `Tender`); `CardCircuit` as a child element or an
/// attribute.
fn card_value(element: &Element) -> Result<CardValue, DecodeError> {
    let leaf = |name: &str| element.child(&[name]).map(|c| c.text.trim().to_owned());
    Ok(CardValue {
        card_circuit: attribute_or_child(element, "CardCircuit"),
        expiry_date: leaf("ExpiryDate"),
        card_pan: child_parsed(element, &["CardPAN"], |v| {
            Ok::<_, std::convert::Infallible>(CardPan::new(v))
        })?,
        token: leaf("Token"),
    })
}
