//! Writing CardServiceRequest and CardServiceResponse.

use super::parts::{
    authorisation, diagnosis, original_header, pos_data, private_data, terminal, total_amount,
};
use super::root_attrs;
use super::xml::{Attrs, XmlWriter};
use crate::codec::WriteOptions;
use crate::codec::error::EncodeError;
use crate::message::{CardServiceRequest, CardServiceResponse, CardValue, OriginalTransaction};

const REQUEST: &str = "CardServiceRequest";
const RESPONSE: &str = "CardServiceResponse";

pub(super) fn request(
    w: &mut XmlWriter,
    m: &CardServiceRequest,
    options: &WriteOptions,
) -> Result<(), EncodeError> {
    let attrs = root_attrs(options, m.request_type.as_str(), &m.header, None);
    let empty = m.pos_data.is_none()
        && m.total_amount.is_none()
        && m.original_transaction.is_none()
        && m.private_data.is_none();
    if empty {
        return w.empty(REQUEST, attrs);
    }
    w.open(REQUEST, attrs)?;
    if let Some(pos) = &m.pos_data {
        pos_data(w, pos)?;
    }
    if let Some(total) = &m.total_amount {
        total_amount(w, total, options)?;
    }
    if let Some(original) = &m.original_transaction {
        original_transaction(w, original)?;
    }
    if let Some(data) = &m.private_data {
        private_data(w, data)?;
    }
    w.close(REQUEST);
    Ok(())
}

pub(super) fn response(
    w: &mut XmlWriter,
    m: &CardServiceResponse,
    options: &WriteOptions,
) -> Result<(), EncodeError> {
    let result = Some(m.overall_result.as_str());
    let attrs = root_attrs(options, m.request_type.as_str(), &m.header, result);
    let empty = m.original_header.is_none()
        && m.terminal.is_none()
        && m.tender.is_none()
        && m.card_value.is_none()
        && m.diagnosis.is_none()
        && m.private_data.is_none();
    if empty {
        return w.empty(RESPONSE, attrs);
    }
    w.open(RESPONSE, attrs)?;
    if let Some(original) = &m.original_header {
        original_header(w, original)?;
    }
    if let Some(info) = &m.terminal {
        terminal(w, info)?;
    }
    if let Some(tender) = &m.tender {
        w.open("Tender", Attrs::new())?;
        if let Some(total) = &tender.total_amount {
            total_amount(w, total, options)?;
        }
        if let Some(auth) = &tender.authorisation {
            authorisation(w, auth)?;
        }
        w.close("Tender");
    }
    if let Some(card) = &m.card_value {
        card_value(w, card)?;
    }
    if let Some(reasons) = &m.diagnosis {
        diagnosis(w, reasons)?;
    }
    if let Some(data) = &m.private_data {
        private_data(w, data)?;
    }
    w.close(RESPONSE);
    Ok(())
}

fn original_transaction(
    w: &mut XmlWriter,
    original: &OriginalTransaction,
) -> Result<(), EncodeError> {
    let attrs = Attrs::new()
        .opt("TerminalID", original.terminal_id.as_deref())
        .opt("TerminalBatch", original.terminal_batch.as_deref())
        .opt("STAN", original.stan.as_deref())
        .opt("TimeStamp", original.timestamp.as_ref().map(|t| t.as_str()))
        .opt("ApprovalCode", original.approval_code.as_deref())
        .opt("TrackingReference", original.tracking_reference.as_deref());
    w.empty("OriginalTransaction", attrs)
}

fn card_value(w: &mut XmlWriter, card: &CardValue) -> Result<(), EncodeError> {
    w.open("CardValue", Attrs::new())?;
    w.opt_leaf("CardCircuit", card.card_circuit.as_deref())?;
    w.opt_leaf("ExpiryDate", card.expiry_date.as_deref())?;
    w.opt_leaf("CardPAN", card.card_pan.as_ref().map(|p| p.as_sent()))?;
    w.opt_leaf("Token", card.token.as_deref())?;
    w.close("CardValue");
    Ok(())
}
