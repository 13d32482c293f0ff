//! `GET /admin/transactions`: operators' search over every site's transactions.

use eps_core::ids::{MerchantId, PoiId, TransactionId};
use eps_core::money::{Amount, Currency};
use eps_core::transaction::search::{AmountRange, TransactionSearch};
use eps_core::transaction::{TransactionKind, TransactionRecord, TransactionState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto::status::StatusReturn;
use crate::dto::timestamp;
use crate::dto::transaction::TransactionBody;
use crate::dto::transaction_request::{DEFAULT_PAGE, MAX_PAGE};
use crate::error::{ApiError, ApiResult};

/// The filters and page of `GET /admin/transactions`, as sent.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminTransactionQuery {
    /// Only this site.
    #[serde(rename = "merchantID")]
    #[param(rename = "merchantID")]
    pub merchant_id: Option<String>,
    /// Only this POI.
    #[serde(rename = "poiID")]
    #[param(rename = "poiID")]
    pub poi_id: Option<String>,
    /// Only this state; `unknown` lists the queue of outcomes waiting for a person, oldest first.
    #[param(example = "unknown")]
    pub state: Option<String>,
    /// Only this type (`payment`, `authorization`, `completion`, `reversal`, `refund`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Created at or after this date-time (UTC).
    pub from: Option<String>,
    /// Created before this date-time.
    pub to: Option<String>,
    /// The currency of `minAmount` and `maxAmount` (required with them).
    pub currency: Option<String>,
    /// Requested amount at least this (`12.34`).
    #[serde(rename = "minAmount")]
    #[param(rename = "minAmount")]
    pub min_amount: Option<String>,
    /// Requested amount at most this.
    #[serde(rename = "maxAmount")]
    #[param(rename = "maxAmount")]
    pub max_amount: Option<String>,
    /// Page size, 1..100 (default 20).
    pub limit: Option<String>,
    /// Only transactions after this one in the listing order (the cursor of the `next` link).
    pub after: Option<String>,
}

impl AdminTransactionQuery {
    /// Checks every filter, naming the one that is wrong; the search asks one row more than the
    /// page, to tell whether a next page exists.
    pub fn check(&self) -> ApiResult<(TransactionSearch, u32)> {
        let merchant_id = optional(&self.merchant_id, |v| {
            MerchantId::parse(v).map_err(|_| ApiError::field("merchantID", "must be a merchantID"))
        })?;
        let poi_id = optional(&self.poi_id, |v| {
            PoiId::parse(v).map_err(|_| ApiError::field("poiID", "must be a poiID"))
        })?;
        let state = optional(&self.state, |v| {
            TransactionState::parse(v).ok_or_else(|| {
                ApiError::field("state", format!("{v:?} is not a transaction state"))
            })
        })?;
        let kind = optional(&self.kind, |v| {
            kind(v)
                .ok_or_else(|| ApiError::field("type", format!("{v:?} is not a transaction type")))
        })?;
        let time = |field: &str, value: &Option<String>| {
            optional(value, |v| {
                timestamp::parse(v).map_err(|e| ApiError::field(field, e))
            })
        };
        let limit = match self.limit.as_deref() {
            None => DEFAULT_PAGE,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| ApiError::field("limit", "must be 1..100"))?,
        };
        let after = optional(&self.after, |v| {
            TransactionId::parse(v).map_err(|_| ApiError::field("after", "must be a transactionID"))
        })?;
        let search = TransactionSearch {
            merchant_id,
            poi_id,
            state,
            kind,
            created_from: time("from", &self.from)?,
            created_to: time("to", &self.to)?,
            amount: self.amount()?,
            after,
            limit: limit + 1,
        };
        Ok((search, limit))
    }

    fn amount(&self) -> ApiResult<Option<AmountRange>> {
        if self.min_amount.is_none() && self.max_amount.is_none() {
            if self.currency.is_some() {
                return Err(ApiError::field(
                    "currency",
                    "is given only with minAmount or maxAmount",
                ));
            }
            return Ok(None);
        }
        let code = self.currency.as_deref().ok_or_else(|| {
            ApiError::field("currency", "is required with minAmount or maxAmount")
        })?;
        let currency = Currency::parse(code).map_err(|e| ApiError::field("currency", e))?;
        let bound = |field: &str, value: &Option<String>| {
            optional(value, |v| {
                Amount::parse(v, currency)
                    .map(|a| a.minor())
                    .map_err(|e| ApiError::field(field, e))
            })
        };
        Ok(Some(AmountRange {
            currency,
            min: bound("minAmount", &self.min_amount)?,
            max: bound("maxAmount", &self.max_amount)?,
        }))
    }

    /// The link of the page after `after`, with the same filters.
    pub fn next_link(&self, limit: u32, after: &str) -> String {
        let mut pairs = vec![("limit", limit.to_string())];
        for (name, value) in [
            ("merchantID", &self.merchant_id),
            ("poiID", &self.poi_id),
            ("state", &self.state),
            ("type", &self.kind),
            ("from", &self.from),
            ("to", &self.to),
            ("currency", &self.currency),
            ("minAmount", &self.min_amount),
            ("maxAmount", &self.max_amount),
        ] {
            if let Some(value) = value {
                pairs.push((name, value.clone()));
            }
        }
        pairs.push(("after", after.to_owned()));
        let query: Vec<String> = pairs
            .iter()
            .map(|(name, value)| {
                format!(
                    "{name}={}",
                    percent_encoding::utf8_percent_encode(
                        value,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                )
            })
            .collect();
        format!("/admin/transactions?{}", query.join("&"))
    }
}

/// A transaction in an operator's listing: the site's view plus where it ran.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminTransactionRow {
    /// The transaction.
    #[serde(flatten)]
    pub transaction: TransactionBody,
    /// The site.
    #[serde(rename = "merchantID")]
    pub merchant_id: String,
    /// The terminal.
    #[serde(rename = "terminalID")]
    pub terminal_id: String,
    /// The OAuth2 client that asked for it.
    #[serde(rename = "clientID")]
    pub client_id: String,
}

impl From<&TransactionRecord> for AdminTransactionRow {
    fn from(record: &TransactionRecord) -> Self {
        Self {
            transaction: record.into(),
            merchant_id: record.merchant_id.to_string(),
            terminal_id: record.terminal_id.to_string(),
            client_id: record.client_id.to_string(),
        }
    }
}

/// `GET /admin/transactions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminTransactionList {
    /// The status block.
    #[serde(rename = "statusReturn")]
    pub status_return: StatusReturn,
    /// The page.
    pub transactions: Vec<AdminTransactionRow>,
    /// The next page, while there may be one.
    pub next: Option<String>,
}

/// A transaction type by its API name.
fn kind(name: &str) -> Option<TransactionKind> {
    Some(match name {
        "payment" => TransactionKind::Payment,
        "authorization" => TransactionKind::PreAuthorisation,
        "completion" => TransactionKind::Completion,
        "reversal" => TransactionKind::Reversal,
        "refund" => TransactionKind::Refund,
        _ => return None,
    })
}

/// `value` parsed by `parse` when sent.
pub(crate) fn optional<T>(
    value: &Option<String>,
    parse: impl FnOnce(&str) -> ApiResult<T>,
) -> ApiResult<Option<T>> {
    value.as_deref().map(parse).transpose()
}
