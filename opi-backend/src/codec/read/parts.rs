//! Reading the parts shared by several messages.

use std::str::FromStr;

use crate::codec::error::DecodeError;
use crate::codec::tree::Element;
use crate::message::{
    Authorisation, CardPan, DeclineDiagnosis, DiagnosisMethod, Header, MonetaryAmount,
    OriginalHeader, OverallResult, PeripheralStatus, PosData, PrivateData, RawElement, RequestId,
    TerminalInfo, Timestamp, TotalAmount,
};

/// Spellings of `POSdata`.
pub(super) const POS_DATA: &[&str] = &["POSdata"];
/// Spellings of `Authorisation`.
pub(super) const AUTHORISATION: &[&str] = &["Authorisation", "Authorization"];

/// An optional attribute, as sent.
pub(super) fn text(element: &Element, name: &str) -> Option<String> {
    element.attribute(name).map(str::to_owned)
}

/// A required attribute.
pub(super) fn required<'a>(
    element: &'a Element,
    name: &'static str,
) -> Result<&'a str, DecodeError> {
    element
        .attribute(name)
        .ok_or_else(|| DecodeError::MissingAttribute {
            element: element.name.clone(),
            attribute: name,
            position: element.position,
        })
}

/// An invalid-value error for `field` of `element`.
pub(super) fn invalid(
    element: &Element,
    field: &str,
    value: &str,
    reason: impl ToString,
) -> DecodeError {
    DecodeError::InvalidValue {
        element: element.name.clone(),
        field: field.to_owned(),
        value: value.to_owned(),
        reason: reason.to_string(),
        position: element.position,
    }
}

/// An optional attribute parsed by `parse`.
pub(super) fn parsed<T, E: ToString>(
    element: &Element,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, DecodeError> {
    element
        .attribute(name)
        .map(|value| parse(value.trim()).map_err(|e| invalid(element, name, value, e)))
        .transpose()
}

/// An optional unsigned number attribute.
pub(super) fn number<T: FromStr>(element: &Element, name: &str) -> Result<Option<T>, DecodeError>
where
    T::Err: ToString,
{
    parsed(element, name, str::parse::<T>)
}

/// An optional boolean attribute: true/false/1/0, any case.
pub(super) fn boolean(element: &Element, name: &str) -> Result<Option<bool>, DecodeError> {
    parsed(element, name, parse_bool)
}

/// true/false/1/0, any case.
pub(super) fn parse_bool(value: &str) -> Result<bool, &'static str> {
    if value.eq_ignore_ascii_case("true") || value == "1" {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") || value == "0" {
        Ok(false)
    } else {
        Err("expected true, false, 1 or 0")
    }
}

/// The optional child `names`'s trimmed text, parsed by `parse`.
pub(super) fn child_parsed<T, E: ToString>(
    element: &Element,
    names: &[&str],
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, DecodeError> {
    match element.child(names) {
        Some(child) => {
            let value = child.text.trim();
            parse(value)
                .map(Some)
                .map_err(|e| invalid(child, &child.name, value, e))
        }
        None => Ok(None),
    }
}

/// The root attributes.
pub(crate) fn header(root: &Element) -> Result<Header, DecodeError> {
    let id = required(root, "RequestID")?;
    Ok(Header {
        request_id: RequestId::parse(id).map_err(|e| invalid(root, "RequestID", id, e))?,
        workstation_id: text(root, "WorkstationID").unwrap_or_default(),
        application_sender: text(root, "ApplicationSender"),
        pop_id: text(root, "POPID"),
        reference_number: text(root, "ReferenceNumber"),
        terminal_id: text(root, "TerminalID"),
        sequence_id: text(root, "SequenceID"),
        reference_request_id: text(root, "ReferenceRequestID"),
    })
}

/// `@OverallResult`, or an `OverallResult` child when the attribute is missing.
pub(super) fn overall_result(root: &Element) -> Result<OverallResult, DecodeError> {
    if let Some(value) = root.attribute("OverallResult") {
        return Ok(OverallResult::parse(value.trim()));
    }
    match root.child_text(&["OverallResult"]) {
        Some(value) => Ok(OverallResult::parse(value)),
        None => Err(DecodeError::MissingAttribute {
            element: root.name.clone(),
            attribute: "OverallResult",
            position: root.position,
        }),
    }
}

/// `@RequestType`, required, trimmed.
pub(super) fn request_type(root: &Element) -> Result<&str, DecodeError> {
    required(root, "RequestType").map(str::trim)
}

/// `POSdata` / `POSData`.
pub(super) fn pos_data(root: &Element) -> Result<Option<PosData>, DecodeError> {
    let Some(pos) = root.child(POS_DATA) else {
        return Ok(None);
    };
    let leaf = |names: &[&str]| pos.child(names).map(|c| c.text.trim().to_owned());
    let status = |names: &[&str]| pos.child_text(names).map(PeripheralStatus::parse);
    Ok(Some(PosData {
        language_code: text(pos, "LanguageCode"),
        timestamp: child_parsed(pos, &["POSTimeStamp"], Timestamp::parse)?,
        shift_number: leaf(&["ShiftNumber"]).or_else(|| text(pos, "ShiftNumber")),
        clerk_id: leaf(&["ClerkID"]),
        transaction_number: leaf(&["TransactionNumber"]),
        reference: leaf(&["Reference"]),
        diagnosis_method: pos
            .child_text(&["DiagnosisMethod"])
            .map(DiagnosisMethod::parse),
        printer_status: status(&["PrinterStatus"]),
        journal_printer_status: status(&["JournalPrinterStatus"]),
        e_journal_status: status(&["E-JournalStatus"]),
    }))
}

/// A `TotalAmount`-like element's amount: its text in its `Currency`.
pub(super) fn amount(element: &Element) -> Result<MonetaryAmount, DecodeError> {
    let value = element.text.trim();
    let currency = element.attribute("Currency").map(str::trim);
    MonetaryAmount::parse(value, currency).map_err(|e| invalid(element, &element.name, value, e))
}

/// An amount attribute in the element's `Currency`.
pub(super) fn amount_attribute(
    element: &Element,
    name: &str,
) -> Result<Option<MonetaryAmount>, DecodeError> {
    let currency = element.attribute("Currency").map(str::trim);
    parsed(element, name, |value| {
        MonetaryAmount::parse(value, currency)
    })
}

/// `TotalAmount`.
pub(super) fn total_amount(element: &Element) -> Result<TotalAmount, DecodeError> {
    Ok(TotalAmount {
        amount: amount(element)?,
        payment_amount: amount_attribute(element, "PaymentAmount")?,
        cash_back_amount: amount_attribute(element, "CashBackAmount")?,
        gratuity_amount: amount_attribute(element, "GratuityAmount")?,
        original_amount: amount_attribute(element, "OriginalAmount")?,
    })
}

/// `Terminal`.
pub(super) fn terminal(root: &Element) -> Option<TerminalInfo> {
    root.child(&["Terminal"]).map(|t| TerminalInfo {
        terminal_id: text(t, "TerminalID"),
        terminal_batch: text(t, "TerminalBatch"),
        stan: text(t, "STAN"),
        merchant_id: text(t, "MerchantID"),
    })
}

/// `Authorisation` / `Authorization`.
pub(super) fn authorisation(element: &Element) -> Result<Authorisation, DecodeError> {
    Ok(Authorisation {
        acquirer_id: text(element, "AcquirerID"),
        card_pan: text(element, "CardPAN").map(CardPan::new),
        merchant: text(element, "Merchant"),
        timestamp: parsed(element, "TimeStamp", Timestamp::parse)?,
        action_code: text(element, "ActionCode"),
        return_code: text(element, "ReturnCode"),
        approval_code: text(element, "ApprovalCode"),
        card_circuit: attribute_or_child(element, "CardCircuit"),
        receipt_number: text(element, "ReceiptNumber"),
        authorisation_type: text(element, "AuthorisationType")
            .or_else(|| text(element, "AuthorizationType")),
        expiry_date: text(element, "ExpiryDate"),
        token: text(element, "Token"),
        card_verification: text(element, "CardVerification"),
    })
}

/// The attribute `name`, or else the trimmed text of a child element `name` (terminals differ in
/// which they write, e.g. `CardCircuit` on `Authorisation` and inside `CardValue`).
pub(super) fn attribute_or_child(element: &Element, name: &str) -> Option<String> {
    text(element, name).or_else(|| element.child_text(&[name]).map(str::to_owned))
}

/// `OriginalHeader`.
pub(super) fn original_header(root: &Element) -> Result<Option<OriginalHeader>, DecodeError> {
    let Some(original) = root.child(&["OriginalHeader"]) else {
        return Ok(None);
    };
    let id = required(original, "RequestID")?;
    Ok(Some(OriginalHeader {
        request_type: required(original, "RequestType")?.trim().to_owned(),
        request_id: RequestId::parse(id).map_err(|e| invalid(original, "RequestID", id, e))?,
        workstation_id: text(original, "WorkstationID"),
        pop_id: text(original, "POPID"),
        application_sender: text(original, "ApplicationSender"),
        overall_result: original
            .attribute("OverallResult")
            .map(|v| OverallResult::parse(v.trim())),
    }))
}

/// `Diagnosis` with decline reasons as attributes or child elements.
pub(super) fn diagnosis(root: &Element) -> Option<DeclineDiagnosis> {
    root.child(&["Diagnosis"]).map(|d| {
        let reason = |name: &str| attribute_or_child(d, name);
        DeclineDiagnosis {
            terminal_decline_reason: reason("TerminalDeclineReason"),
            host_decline_reason: reason("HostDeclineReason"),
        }
    })
}

/// `PrivateData`.
pub(super) fn private_data(root: &Element) -> Option<PrivateData> {
    root.child(&["PrivateData"]).map(|p| PrivateData {
        text: mixed_text(p),
        elements: p.children.iter().map(raw).collect(),
    })
}

/// An element kept as it was.
pub(super) fn raw(element: &Element) -> RawElement {
    RawElement {
        name: element.name.clone(),
        attributes: element.attributes.clone(),
        children: element.children.iter().map(raw).collect(),
        text: mixed_text(element),
    }
}

/// An element's text: exact for a leaf, trimmed when it also has children (indentation).
fn mixed_text(element: &Element) -> String {
    if element.children.is_empty() {
        element.text.clone()
    } else {
        element.text.trim().to_owned()
    }
}
