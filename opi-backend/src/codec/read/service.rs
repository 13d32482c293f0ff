//! Reading ServiceRequest and ServiceResponse.

use super::parts::{
    AUTHORISATION, amount, amount_attribute, authorisation, diagnosis, header, number,
    original_header, overall_result, pos_data, private_data, request_type, terminal, text,
};
use crate::codec::error::DecodeError;
use crate::codec::tree::Element;
use crate::message::{
    CardCircuit, Reconciliation, ReconciliationTotal, ServiceRequest, ServiceRequestType,
    ServiceResponse,
};

pub(super) fn request(root: &Element) -> Result<ServiceRequest, DecodeError> {
    Ok(ServiceRequest {
        header: header(root)?,
        request_type: ServiceRequestType::parse(request_type(root)?),
        pos_data: pos_data(root)?,
        private_data: private_data(root),
    })
}

pub(super) fn response(root: &Element) -> Result<ServiceResponse, DecodeError> {
    let circuits = root
        .child(&["CardCircuitCollection"])
        .map(|c| {
            c.children_named(&["CardCircuit"])
                .map(card_circuit)
                .collect()
        })
        .unwrap_or_default();
    Ok(ServiceResponse {
        header: header(root)?,
        request_type: ServiceRequestType::parse(request_type(root)?),
        overall_result: overall_result(root)?,
        terminal: terminal(root),
        authorisation: root.child(AUTHORISATION).map(authorisation).transpose()?,
        reconciliation: root
            .child(&["Reconciliation"])
            .map(reconciliation)
            .transpose()?,
        card_circuits: circuits,
        original_header: original_header(root)?,
        diagnosis: diagnosis(root),
        private_data: private_data(root),
    })
}

fn reconciliation(element: &Element) -> Result<Reconciliation, DecodeError> {
    Ok(Reconciliation {
        language_code: text(element, "LanguageCode"),
        totals: element
            .children_named(&["TotalAmount"])
            .map(reconciliation_total)
            .collect::<Result<_, _>>()?,
    })
}

fn reconciliation_total(element: &Element) -> Result<ReconciliationTotal, DecodeError> {
    Ok(ReconciliationTotal {
        amount: amount(element)?,
        number_payments: number(element, "NumberPayments")?,
        payment_type: text(element, "PaymentType"),
        card_circuit: text(element, "CardCircuit"),
        acquirer: text(element, "Acquirer"),
        number_held: number(element, "NumberHeld")?,
        amount_held: amount_attribute(element, "AmountHeld")?,
    })
}

fn card_circuit(element: &Element) -> CardCircuit {
    CardCircuit {
        code: element.text.trim().to_owned(),
        display_name: text(element, "DisplayName"),
    }
}
