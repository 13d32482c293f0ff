//! Request bodies of the routes that start card transactions, the POI a request names, and the
//! filters of `GET /transactions`.

use eps_core::ids::{MerchantId, PoiId, TransactionId};
use eps_core::site::SiteDirectory;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::dto::amount::AmountBody;
use crate::dto::strict;
use crate::dto::timestamp;
use crate::error::{ApiError, ApiResult};
use crate::extract::PosReference;

/// Longest `reference` accepted.
pub const MAX_REFERENCE_LEN: usize = 100;

/// Which POI: `poiID`, or `logicalID` with `workstationType` (one form, not both), of the
/// caller's site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PoiSelector {
    /// The POI's id as `GET /POIs` lists it.
    #[serde(rename = "poiID", default, deserialize_with = "strict::text")]
    #[schema(nullable = false)]
    pub poi_id: Option<String>,
    /// The site's number for the position, with `workstationType`.
    #[serde(rename = "logicalID", default, deserialize_with = "strict::text")]
    #[schema(nullable = false, example = "001")]
    pub logical_id: Option<String>,
    /// `pointOfService`, `fuelingPoint`, … with `logicalID`.
    #[serde(rename = "workstationType", default, deserialize_with = "strict::text")]
    #[schema(nullable = false, example = "pointOfService")]
    pub workstation_type: Option<String>,
}

impl PoiSelector {
    /// The POI of `merchant`'s site this names, or `None` when it names none. Another site's
    /// POI is unknown (404), never revealed.
    pub fn resolve(
        &self,
        sites: &SiteDirectory,
        merchant: &MerchantId,
    ) -> ApiResult<Option<PoiId>> {
        match (&self.poi_id, &self.logical_id, &self.workstation_type) {
            (None, None, None) => Ok(None),
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(ApiError::BadRequest(
                "poiID, logicalID and workstationType: name the POI by poiID or by logicalID \
                 with workstationType, not both"
                    .to_owned(),
            )),
            (Some(id), None, None) => {
                let id = PoiId::parse(id).map_err(|_| {
                    ApiError::field("poiID", "must be a poiID as GET /POIs lists it")
                })?;
                sites
                    .poi(&id)
                    .filter(|poi| &poi.merchant_id == merchant)
                    .map(|poi| Some(poi.poi_id))
                    .ok_or_else(|| eps_core::Error::UnknownPoi.into())
            }
            (None, Some(logical), Some(kind)) => sites
                .poi_by_logical_id(merchant, kind, logical)
                .map(|poi| Some(poi.poi_id))
                .ok_or_else(|| eps_core::Error::UnknownPoi.into()),
            (None, _, _) => Err(ApiError::BadRequest(
                "logicalID and workstationType: give both to name a POI".to_owned(),
            )),
        }
    }

    /// Like [`PoiSelector::resolve`], for requests that must name a POI.
    pub fn required(&self, sites: &SiteDirectory, merchant: &MerchantId) -> ApiResult<PoiId> {
        self.resolve(sites, merchant)?.ok_or_else(|| {
            ApiError::BadRequest("poiID (or logicalID with workstationType) is required".to_owned())
        })
    }
}

/// `POST /payments`: a sale.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"poiID": "3e08c0a1-c08b-41b6-a9b9-78cb81b868d9",
    "amount": {"value": "12.34", "currency": "EUR"}, "reference": "receipt 4711",
    "posTransactionID": "lane1-0105-0042"}))]
pub struct PaymentRequest {
    /// The POI to pay at.
    #[serde(flatten)]
    pub poi: PoiSelector,
    /// The amount to charge (greater than zero).
    pub amount: AmountBody,
    /// The site system's own reference, kept with the transaction (at most 100 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub reference: Option<String>,
    /// The POS's own reference of this transaction, unique among this client's requests (a
    /// refund gets its own, even when it shares the sale's receipt `reference`). It is the
    /// request's idempotency key, like the `Idempotency-Key` header (send either, or both with
    /// the same value): a retry with the same value and body returns the same transaction without
    /// a second terminal request; another body is refused (409). Kept 24 h.
    #[serde(rename = "posTransactionID", default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        nullable = false,
        example = "lane1-0105-0042"
    )]
    pub pos_transaction_id: Option<String>,
}

/// `POST /authorizations`: reserve an amount (e.g. before fuelling), completed later.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"logicalID": "001", "workstationType": "fuelingPoint",
    "amount": {"value": "100.00", "currency": "EUR"}}))]
pub struct AuthorizationRequest {
    /// The POI.
    #[serde(flatten)]
    pub poi: PoiSelector,
    /// The amount to reserve (greater than zero).
    pub amount: AmountBody,
    /// The site system's own reference (at most 100 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub reference: Option<String>,
    /// The POS's own reference of this transaction, unique among this client's requests (a
    /// refund gets its own, even when it shares the sale's receipt `reference`). It is the
    /// request's idempotency key, like the `Idempotency-Key` header (send either, or both with
    /// the same value): a retry with the same value and body returns the same transaction without
    /// a second terminal request; another body is refused (409). Kept 24 h.
    #[serde(rename = "posTransactionID", default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        nullable = false,
        example = "lane1-0105-0042"
    )]
    pub pos_transaction_id: Option<String>,
}

/// `POST /transactions/{transactionID}/completion`: settle an approved authorization.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"amount": {"value": "43.21", "currency": "EUR"}}))]
pub struct CompletionRequest {
    /// Optional: the authorization's POI (another one is refused).
    #[serde(flatten)]
    pub poi: PoiSelector,
    /// The final amount, at most the authorised one, in its currency.
    pub amount: AmountBody,
    /// The site system's own reference (at most 100 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub reference: Option<String>,
    /// The POS's own reference of this transaction, unique among this client's requests (a
    /// refund gets its own, even when it shares the sale's receipt `reference`). It is the
    /// request's idempotency key, like the `Idempotency-Key` header (send either, or both with
    /// the same value): a retry with the same value and body returns the same transaction without
    /// a second terminal request; another body is refused (409). Kept 24 h.
    #[serde(rename = "posTransactionID", default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        nullable = false,
        example = "lane1-0105-0042"
    )]
    pub pos_transaction_id: Option<String>,
}

/// `POST /transactions/{transactionID}/reversal`: cancel an approved transaction. The body may
/// be empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ReversalRequest {
    /// Optional: the original's POI (another one is refused).
    #[serde(flatten)]
    pub poi: PoiSelector,
    /// Optional: the whole original amount (a reversal is never partial).
    #[serde(default)]
    #[schema(nullable = false)]
    pub amount: Option<AmountBody>,
    /// The site system's own reference (at most 100 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub reference: Option<String>,
    /// The POS's own reference of this transaction, unique among this client's requests (a
    /// refund gets its own, even when it shares the sale's receipt `reference`). It is the
    /// request's idempotency key, like the `Idempotency-Key` header (send either, or both with
    /// the same value): a retry with the same value and body returns the same transaction without
    /// a second terminal request; another body is refused (409). Kept 24 h.
    #[serde(rename = "posTransactionID", default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        nullable = false,
        example = "lane1-0105-0042"
    )]
    pub pos_transaction_id: Option<String>,
}

/// `POST /refunds`: return money, standalone or against an approved payment or completion.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"originalTransactionID": "0193a6f4-5c1e-7d2a-9b1e-0c2d3e4f5a6b",
    "amount": {"value": "5.00", "currency": "EUR"}}))]
pub struct RefundRequest {
    /// The POI; optional with `originalTransactionID` (then the original's POI).
    #[serde(flatten)]
    pub poi: PoiSelector,
    /// The amount to return; refunds of one original never exceed it in total.
    pub amount: AmountBody,
    /// The approved payment or completion refunded, if any.
    #[serde(rename = "originalTransactionID", default)]
    #[schema(nullable = false)]
    pub original_transaction_id: Option<String>,
    /// The site system's own reference (at most 100 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    pub reference: Option<String>,
    /// The POS's own reference of this transaction, unique among this client's requests (a
    /// refund gets its own, even when it shares the sale's receipt `reference`). It is the
    /// request's idempotency key, like the `Idempotency-Key` header (send either, or both with
    /// the same value): a retry with the same value and body returns the same transaction without
    /// a second terminal request; another body is refused (409). Kept 24 h.
    #[serde(rename = "posTransactionID", default)]
    #[schema(
        min_length = 1,
        max_length = 255,
        nullable = false,
        example = "lane1-0105-0042"
    )]
    pub pos_transaction_id: Option<String>,
}

impl PosReference for PaymentRequest {
    fn pos_transaction_id(&self) -> Option<&str> {
        self.pos_transaction_id.as_deref()
    }
}

impl PosReference for AuthorizationRequest {
    fn pos_transaction_id(&self) -> Option<&str> {
        self.pos_transaction_id.as_deref()
    }
}

impl PosReference for CompletionRequest {
    fn pos_transaction_id(&self) -> Option<&str> {
        self.pos_transaction_id.as_deref()
    }
}

impl PosReference for ReversalRequest {
    fn pos_transaction_id(&self) -> Option<&str> {
        self.pos_transaction_id.as_deref()
    }
}

impl PosReference for RefundRequest {
    fn pos_transaction_id(&self) -> Option<&str> {
        self.pos_transaction_id.as_deref()
    }
}

/// A body that carries nothing (`abort`); empty or `{}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct EmptyRequest {}

impl PosReference for EmptyRequest {}

/// Checks a `reference`.
pub fn reference(value: Option<String>) -> ApiResult<Option<String>> {
    match value {
        Some(text)
            if text.is_empty()
                || text.chars().count() > MAX_REFERENCE_LEN
                || text.chars().any(char::is_control) =>
        {
            Err(ApiError::field(
                "reference",
                "must be 1..100 characters without control characters",
            ))
        }
        other => Ok(other),
    }
}

/// A transaction id in a path or body; anything this EPS cannot have issued is unknown.
pub fn transaction_id(value: &str) -> ApiResult<TransactionId> {
    TransactionId::parse(value).map_err(|_| eps_core::Error::UnknownTransaction.into())
}

/// The filters and page of `GET /transactions`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransactionListQuery {
    /// Only transactions in this state (`approved`, `unknown`, …).
    #[param(value_type = Option<crate::dto::transaction::TransactionStateName>, example = "approved")]
    pub state: Option<String>,
    /// Only transactions of this POI.
    #[serde(rename = "poiID")]
    #[param(rename = "poiID", value_type = Option<uuid::Uuid>)]
    pub poi_id: Option<String>,
    /// Only transactions created at or after this date-time (`dateTimeType`; UTC without offset).
    #[param(value_type = Option<String>, format = DateTime, min_length = 10, max_length = 30, example = "2026-01-05T00:00:00Z")]
    pub from: Option<String>,
    /// Only transactions created before this date-time.
    #[param(value_type = Option<String>, format = DateTime, min_length = 10, max_length = 30)]
    pub to: Option<String>,
    /// Page size, 1..100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Only transactions older than this one (the cursor of the `next` link).
    #[param(value_type = Option<uuid::Uuid>)]
    pub before: Option<String>,
}

/// Default page size of `GET /transactions`.
pub const DEFAULT_PAGE: u32 = 20;
/// Largest page size of `GET /transactions`.
pub const MAX_PAGE: u32 = 100;

/// `GET /transactions` filters, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFilter {
    /// State filter.
    pub state: Option<eps_core::transaction::TransactionState>,
    /// POI filter.
    pub poi_id: Option<PoiId>,
    /// Created at or after.
    pub from: Option<OffsetDateTime>,
    /// Created before.
    pub to: Option<OffsetDateTime>,
    /// Page size.
    pub limit: u32,
    /// Cursor.
    pub before: Option<TransactionId>,
}

impl TransactionListQuery {
    /// Checks every filter, naming the one that is wrong.
    pub fn check(&self) -> ApiResult<ListFilter> {
        let state = self
            .state
            .as_deref()
            .map(|s| {
                eps_core::transaction::TransactionState::parse(s).ok_or_else(|| {
                    ApiError::field("state", format!("{s:?} is not a transaction state"))
                })
            })
            .transpose()?;
        let poi_id = self
            .poi_id
            .as_deref()
            .map(|id| PoiId::parse(id).map_err(|_| ApiError::field("poiID", "must be a poiID")))
            .transpose()?;
        let time = |field: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| timestamp::parse(v).map_err(|e| ApiError::field(field, e)))
                .transpose()
        };
        let limit = match self.limit.as_deref() {
            None => DEFAULT_PAGE,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| ApiError::field("limit", "must be 1..100"))?,
        };
        let before = self
            .before
            .as_deref()
            .map(|id| {
                TransactionId::parse(id)
                    .map_err(|_| ApiError::field("before", "must be a transactionID"))
            })
            .transpose()?;
        Ok(ListFilter {
            state,
            poi_id,
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
            limit,
            before,
        })
    }
}
