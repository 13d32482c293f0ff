//! Writing the parts shared by several messages.

use super::xml::{Attrs, XmlWriter};
use crate::codec::WriteOptions;
use crate::codec::error::EncodeError;
use crate::message::{
    Authorisation, DeclineDiagnosis, MonetaryAmount, OriginalHeader, PosData, PrivateData,
    RawElement, TerminalInfo, TotalAmount,
};

/// `POSdata`.
pub(super) fn pos_data(w: &mut XmlWriter, pos: &PosData) -> Result<(), EncodeError> {
    let attrs = Attrs::new().opt("LanguageCode", pos.language_code.as_deref());
    w.open("POSdata", attrs)?;
    w.opt_leaf("POSTimeStamp", pos.timestamp.as_ref().map(|t| t.as_str()))?;
    w.opt_leaf("ShiftNumber", pos.shift_number.as_deref())?;
    w.opt_leaf("ClerkID", pos.clerk_id.as_deref())?;
    w.opt_leaf("TransactionNumber", pos.transaction_number.as_deref())?;
    w.opt_leaf("Reference", pos.reference.as_deref())?;
    w.opt_leaf(
        "DiagnosisMethod",
        pos.diagnosis_method.as_ref().map(|m| m.as_str()),
    )?;
    w.opt_leaf(
        "PrinterStatus",
        pos.printer_status.as_ref().map(|s| s.as_str()),
    )?;
    w.opt_leaf(
        "JournalPrinterStatus",
        pos.journal_printer_status.as_ref().map(|s| s.as_str()),
    )?;
    w.opt_leaf(
        "E-JournalStatus",
        pos.e_journal_status.as_ref().map(|s| s.as_str()),
    )?;
    w.close("POSdata");
    Ok(())
}

/// Checks that a split amount is in the main amount's currency and gives its text.
pub(super) fn split_amount(
    main: &MonetaryAmount,
    split: Option<&MonetaryAmount>,
    field: &'static str,
) -> Result<Option<String>, EncodeError> {
    let Some(split) = split else {
        return Ok(None);
    };
    let (expected, found) = (main.currency_code(), split.currency_code());
    if expected != found {
        return Err(EncodeError::CurrencyMismatch {
            field,
            expected,
            found,
        });
    }
    Ok(Some(split.value_text()))
}

/// `TotalAmount`; `Currency` only when the options ask for it.
pub(super) fn total_amount(
    w: &mut XmlWriter,
    total: &TotalAmount,
    options: &WriteOptions,
) -> Result<(), EncodeError> {
    let main = &total.amount;
    let split = |value: &Option<MonetaryAmount>, field| split_amount(main, value.as_ref(), field);
    let attrs = Attrs::new()
        .opt(
            "Currency",
            main.currency_code().filter(|_| options.currency),
        )
        .opt(
            "PaymentAmount",
            split(&total.payment_amount, "PaymentAmount")?,
        )
        .opt(
            "CashBackAmount",
            split(&total.cash_back_amount, "CashBackAmount")?,
        )
        .opt(
            "GratuityAmount",
            split(&total.gratuity_amount, "GratuityAmount")?,
        )
        .opt(
            "OriginalAmount",
            split(&total.original_amount, "OriginalAmount")?,
        );
    w.leaf("TotalAmount", attrs, &main.value_text())
}

/// `Terminal`.
pub(super) fn terminal(w: &mut XmlWriter, terminal: &TerminalInfo) -> Result<(), EncodeError> {
    let attrs = Attrs::new()
        .opt("TerminalID", terminal.terminal_id.as_deref())
        .opt("TerminalBatch", terminal.terminal_batch.as_deref())
        .opt("STAN", terminal.stan.as_deref())
        .opt("MerchantID", terminal.merchant_id.as_deref());
    w.empty("Terminal", attrs)
}

/// `Authorisation`.
pub(super) fn authorisation(w: &mut XmlWriter, auth: &Authorisation) -> Result<(), EncodeError> {
    let attrs = Attrs::new()
        .opt("AcquirerID", auth.acquirer_id.as_deref())
        .opt("AuthorisationType", auth.authorisation_type.as_deref())
        .opt("CardCircuit", auth.card_circuit.as_deref())
        .opt("CardPAN", auth.card_pan.as_ref().map(|p| p.as_sent()))
        .opt("Merchant", auth.merchant.as_deref())
        .opt("ReceiptNumber", auth.receipt_number.as_deref())
        .opt("ApprovalCode", auth.approval_code.as_deref())
        .opt("ActionCode", auth.action_code.as_deref())
        .opt("ReturnCode", auth.return_code.as_deref())
        .opt("TimeStamp", auth.timestamp.as_ref().map(|t| t.as_str()))
        .opt("ExpiryDate", auth.expiry_date.as_deref())
        .opt("Token", auth.token.as_deref())
        .opt("CardVerification", auth.card_verification.as_deref());
    w.empty("Authorisation", attrs)
}

/// `OriginalHeader`.
pub(super) fn original_header(
    w: &mut XmlWriter,
    original: &OriginalHeader,
) -> Result<(), EncodeError> {
    let attrs = Attrs::new()
        .req("RequestType", &original.request_type)
        .opt("ApplicationSender", original.application_sender.as_deref())
        .opt("WorkstationID", original.workstation_id.as_deref())
        .opt("POPID", original.pop_id.as_deref())
        .req("RequestID", original.request_id.as_str())
        .opt(
            "OverallResult",
            original.overall_result.as_ref().map(|r| r.as_str()),
        );
    w.empty("OriginalHeader", attrs)
}

/// `Diagnosis`.
pub(super) fn diagnosis(
    w: &mut XmlWriter,
    diagnosis: &DeclineDiagnosis,
) -> Result<(), EncodeError> {
    let attrs = Attrs::new()
        .opt(
            "TerminalDeclineReason",
            diagnosis.terminal_decline_reason.as_deref(),
        )
        .opt(
            "HostDeclineReason",
            diagnosis.host_decline_reason.as_deref(),
        );
    w.empty("Diagnosis", attrs)
}

/// `PrivateData`.
pub(super) fn private_data(w: &mut XmlWriter, data: &PrivateData) -> Result<(), EncodeError> {
    raw_node(w, "PrivateData", &[], &data.elements, &data.text)
}

/// A kept element, written back as read.
fn raw_node(
    w: &mut XmlWriter,
    name: &str,
    attributes: &[(String, String)],
    children: &[RawElement],
    text: &str,
) -> Result<(), EncodeError> {
    w.raw_tag(name, attributes)?;
    if children.is_empty() {
        if text.is_empty() {
            w.raw_push("/>\n");
        } else {
            w.raw_push(">");
            w.raw_text(text)?;
            w.end_tag(name);
        }
        return Ok(());
    }
    w.raw_push(">");
    w.raw_text(text)?;
    w.raw_push("\n");
    w.raw_depth(1);
    for child in children {
        raw_node(
            w,
            &child.name,
            &child.attributes,
            &child.children,
            &child.text,
        )?;
    }
    w.raw_depth(-1);
    w.indent();
    w.end_tag(name);
    Ok(())
}
