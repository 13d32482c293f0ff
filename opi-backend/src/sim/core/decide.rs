//! What the simulated terminal decides, records and answers.

use super::*;

impl SimCore {
    /// Decides a financial request and records it; from here on an abort no longer aborts.
    pub(super) fn authorise(&mut self, job: &mut Job, now: Instant) {
        job.authorised = true;
        let JobKind::Financial(request) = &job.kind else {
            return;
        };
        let amount = request
            .total_amount
            .as_ref()
            .and_then(|t| t.amount.amount_or_in(self.config.currency));
        let original_stan = request
            .original_transaction
            .as_ref()
            .and_then(|o| o.stan.clone());
        let error_text = self.config.error_text.clone();
        let mut error: Option<(&str, &str)> = None;
        let result = if job.decision == Decision::Abort {
            error = Some(("107", "Abbruch"));
            OverallResult::Aborted
        } else if job.scenario == Scenario::Decline {
            error = Some(("05", error_text.as_deref().unwrap_or("Abgelehnt")));
            OverallResult::Failure
        } else {
            match self.apply_to_original(request, amount, original_stan.as_deref()) {
                Ok(()) => OverallResult::Success,
                Err(reason) => {
                    error = Some(("12", reason));
                    OverallResult::Failure
                }
            }
        };
        let stan = (result != OverallResult::Aborted).then(|| {
            let stan = self.next_stan;
            self.next_stan += 1;
            stan
        });
        if job.scenario == Scenario::CharCountPrefix && result == OverallResult::Success {
            // Non-ASCII text, so a character count differs from the byte count.
            error = Some(("0", "Zahlung erfolgt – Gebühr 0,00 €"));
        }
        let decided = Decided {
            header: request.header.echo(),
            request_type: request.request_type.clone(),
            result: result.clone(),
            amount,
            stan,
            error,
            at: self.wall_at(now),
        };
        let response = card::response(&self.config, &decided);
        let receipts = card::receipts(&self.config, &decided);
        let authorisation = response.authorisation();
        let entry = LedgerEntry {
            request_id: request.header.request_id.as_str().to_owned(),
            request_type: request.request_type.as_str().to_owned(),
            amount,
            result,
            stan: stan.map(|s| format!("{s:06}")),
            approval_code: authorisation.and_then(|a| a.approval_code.clone()),
            card_circuit: authorisation.and_then(|a| a.card_circuit.clone()),
            masked_pan: authorisation
                .and_then(|a| a.card_pan.as_ref())
                .map(|p| p.masked()),
            original_stan,
            reversed: false,
            refunded: false,
            completed: false,
            batch: None,
            receipts_delivered: false,
            receipts,
            response: Some(response),
        };
        job.entry = Some(self.ledger.push(entry));
    }

    /// Applies a reversal, refund or completion to the transaction it names. Each reversal type
    /// reverses its own kind only: `PaymentReversal` a payment or completion, `PreAuthReversal`
    /// an unsettled pre-authorisation, `RefundReversal` a refund.
    pub(super) fn apply_to_original(
        &mut self,
        request: &CardServiceRequest,
        amount: Option<eps_core::money::Amount>,
        stan: Option<&str>,
    ) -> Result<(), &'static str> {
        let reversed: &[&str] = match request.request_type {
            CardRequestType::PaymentReversal => &["CardPayment", "CardFinancialAdvice"],
            CardRequestType::PreAuthReversal => &["CardPreAuthorisation"],
            CardRequestType::RefundReversal => &["PaymentRefund"],
            _ => &[],
        };
        match request.request_type {
            CardRequestType::PaymentReversal
            | CardRequestType::PreAuthReversal
            | CardRequestType::RefundReversal => {
                let index = self
                    .ledger
                    .find_original(stan, reversed)
                    .ok_or("original transaction not found")?;
                let entry = self
                    .ledger
                    .entry_mut(index)
                    .ok_or("original transaction not found")?;
                if entry.reversed {
                    return Err("already reversed");
                }
                if entry.completed {
                    return Err("pre-authorisation already settled");
                }
                entry.reversed = true;
                Ok(())
            }
            CardRequestType::PaymentRefund => {
                if let Some(stan) = stan {
                    let index = self
                        .ledger
                        .find_original(Some(stan), &["CardPayment", "CardFinancialAdvice"])
                        .ok_or("original transaction not found")?;
                    if let Some(entry) = self.ledger.entry_mut(index) {
                        entry.refunded = true;
                    }
                }
                Ok(())
            }
            CardRequestType::CardFinancialAdvice => {
                let index = self
                    .ledger
                    .find_original(stan, &["CardPreAuthorisation"])
                    .ok_or("pre-authorisation not found")?;
                let entry = self
                    .ledger
                    .entry_mut(index)
                    .ok_or("pre-authorisation not found")?;
                if entry.completed || entry.reversed {
                    return Err("pre-authorisation already settled");
                }
                let within = match (amount, entry.amount) {
                    (Some(final_amount), Some(reserved)) => {
                        final_amount.currency() == reserved.currency()
                            && final_amount.minor() <= reserved.minor()
                    }
                    _ => false,
                };
                if !within {
                    return Err("amount above the pre-authorisation");
                }
                entry.completed = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    pub(super) fn respond(&mut self, job: &mut Job, now: Instant) {
        let message: Message = match &job.kind {
            JobKind::Financial(request) => {
                let delivered = !job.receipts_failed && job.scenario != Scenario::PrintLastTicket;
                let Some(entry) = job.entry.and_then(|i| self.ledger.entry_mut(i)) else {
                    return;
                };
                entry.receipts_delivered = delivered && entry.result == OverallResult::Success;
                let mut response = entry.response.clone().unwrap_or_else(|| {
                    CardServiceResponse::new(
                        request.header.echo(),
                        request.request_type.clone(),
                        entry.result.clone(),
                    )
                });
                if entry.result == OverallResult::Success && !delivered {
                    response.overall_result = OverallResult::PrintLastTicket;
                }
                response.into()
            }
            JobKind::Reprint(request) => {
                let result = if job.receipts_failed {
                    OverallResult::Failure
                } else {
                    OverallResult::Success
                };
                let mut response = CardServiceResponse::new(
                    request.header.echo(),
                    request.request_type.clone(),
                    result,
                );
                response.terminal = Some(self.terminal_info());
                response.into()
            }
            JobKind::Reply(message) => (**message).clone(),
            JobKind::Reconciliation(request, closure) => {
                let currency = self.config.currency;
                let totals = self.ledger.open_totals(currency);
                let close_day = request.request_type == ServiceRequestType::CloseDay;
                let result = if job.scenario == Scenario::Decline {
                    OverallResult::Failure
                } else if close_day {
                    // ep2: the final balance, then the session ends (research notes §5.5, S2).
                    self.ledger.close_batch();
                    self.logged_in = false;
                    OverallResult::Other("DayClosed".to_owned())
                } else {
                    if *closure {
                        self.ledger.close_batch();
                    }
                    OverallResult::Success
                };
                let mut response = ServiceResponse::new(
                    request.header.echo(),
                    request.request_type.clone(),
                    result,
                );
                response.terminal = Some(self.terminal_info());
                response.authorisation = Some(Authorisation {
                    timestamp: Timestamp::from_datetime(self.wall_at(now)).ok(),
                    ..Authorisation::default()
                });
                response.reconciliation = Some(Reconciliation {
                    language_code: None,
                    totals: totals
                        .into_iter()
                        .map(|t| ReconciliationTotal {
                            amount: MonetaryAmount::Known(t.amount),
                            number_payments: Some(t.count),
                            payment_type: Some(t.payment_type.to_owned()),
                            card_circuit: Some(t.card_circuit),
                            acquirer: None,
                            number_held: None,
                            amount_held: None,
                        })
                        .collect(),
                });
                response.into()
            }
        };
        if let Some(link) = job.link {
            self.transmit(link, message, job.scenario);
        }
    }

    pub(super) fn repeat_last(&self, header: &Header, _now: Instant) -> CardServiceResponse {
        let Some(entry) = self.ledger.last() else {
            let mut response = CardServiceResponse::new(
                header.echo(),
                CardRequestType::RepeatLastMessage,
                OverallResult::Failure,
            );
            response.terminal = Some(self.terminal_info());
            return response;
        };
        let mut response = entry.response.clone().unwrap_or_else(|| {
            CardServiceResponse::new(
                header.echo(),
                CardRequestType::RepeatLastMessage,
                OverallResult::Success,
            )
        });
        response.header = header.echo();
        response.request_type = CardRequestType::RepeatLastMessage;
        response.overall_result = OverallResult::Success;
        response.original_header =
            RequestId::parse(&entry.request_id)
                .ok()
                .map(|request_id| OriginalHeader {
                    request_type: entry.request_type.clone(),
                    request_id,
                    workstation_id: entry
                        .response
                        .as_ref()
                        .map(|r| r.header.workstation_id.clone()),
                    pop_id: None,
                    application_sender: None,
                    overall_result: Some(entry.result.clone()),
                });
        response
    }

    pub(super) fn report_output(&self, closure: bool) -> Output {
        let mut lines = vec![
            if closure {
                "Kassenschnitt"
            } else {
                "Zwischensumme"
            }
            .to_owned(),
            format!("Terminal-ID {}", self.config.terminal_id),
            format!("Batch {}", self.ledger.open_batch()),
        ];
        for total in self.ledger.open_totals(self.config.currency) {
            lines.push(format!(
                "{} {} {}x {} {}",
                total.card_circuit,
                total.payment_type,
                total.count,
                total.amount.currency(),
                total.amount.value_text()
            ));
        }
        Output::lines(DeviceTarget::Printer, lines.into_iter().map(TextLine::new))
    }
}
