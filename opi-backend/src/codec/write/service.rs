//! Writing ServiceRequest and ServiceResponse.

use super::parts::{
    authorisation, diagnosis, original_header, pos_data, private_data, split_amount, terminal,
};
use super::root_attrs;
use super::xml::{Attrs, XmlWriter};
use crate::codec::WriteOptions;
use crate::codec::error::EncodeError;
use crate::message::{Reconciliation, ServiceRequest, ServiceResponse};

const REQUEST: &str = "ServiceRequest";
const RESPONSE: &str = "ServiceResponse";

pub(super) fn request(
    w: &mut XmlWriter,
    m: &ServiceRequest,
    options: &WriteOptions,
) -> Result<(), EncodeError> {
    let attrs = root_attrs(options, m.request_type.as_str(), &m.header, None);
    if m.pos_data.is_none() && m.private_data.is_none() {
        return w.empty(REQUEST, attrs);
    }
    w.open(REQUEST, attrs)?;
    if let Some(pos) = &m.pos_data {
        pos_data(w, pos)?;
    }
    if let Some(data) = &m.private_data {
        private_data(w, data)?;
    }
    w.close(REQUEST);
    Ok(())
}

pub(super) fn response(
    w: &mut XmlWriter,
    m: &ServiceResponse,
    options: &WriteOptions,
) -> Result<(), EncodeError> {
    let result = Some(m.overall_result.as_str());
    let attrs = root_attrs(options, m.request_type.as_str(), &m.header, result);
    let empty = m.original_header.is_none()
        && m.terminal.is_none()
        && m.authorisation.is_none()
        && m.reconciliation.is_none()
        && m.card_circuits.is_empty()
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
    if let Some(auth) = &m.authorisation {
        authorisation(w, auth)?;
    }
    if let Some(totals) = &m.reconciliation {
        reconciliation(w, totals, options)?;
    }
    if !m.card_circuits.is_empty() {
        w.open("CardCircuitCollection", Attrs::new())?;
        for circuit in &m.card_circuits {
            let attrs = Attrs::new().opt("DisplayName", circuit.display_name.as_deref());
            w.leaf("CardCircuit", attrs, &circuit.code)?;
        }
        w.close("CardCircuitCollection");
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

fn reconciliation(
    w: &mut XmlWriter,
    totals: &Reconciliation,
    options: &WriteOptions,
) -> Result<(), EncodeError> {
    w.open(
        "Reconciliation",
        Attrs::new().opt("LanguageCode", totals.language_code.as_deref()),
    )?;
    for line in &totals.totals {
        let attrs = Attrs::new()
            .opt("NumberPayments", line.number_payments)
            .opt("PaymentType", line.payment_type.as_deref())
            .opt(
                "Currency",
                line.amount.currency_code().filter(|_| options.currency),
            )
            .opt("CardCircuit", line.card_circuit.as_deref())
            .opt("Acquirer", line.acquirer.as_deref())
            .opt("NumberHeld", line.number_held)
            .opt(
                "AmountHeld",
                split_amount(&line.amount, line.amount_held.as_ref(), "AmountHeld")?,
            );
        w.leaf("TotalAmount", attrs, &line.amount.value_text())?;
    }
    w.close("Reconciliation");
    Ok(())
}
