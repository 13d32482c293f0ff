//! The typed OPI messages: what the codec reads and writes, and what the protocol core handles.
//!
//! Field names follow the wire (research notes §3). Unknown enumeration values become `Other`,
//! amounts are [`eps_core::money::Amount`] when a currency is known and decimal text otherwise.

mod amount;
mod card_service;
mod common;
mod device;
mod service;
mod wire_enum;

pub use amount::{Decimal, MonetaryAmount, TotalAmount};
pub use card_service::{
    CardRequestType, CardServiceRequest, CardServiceResponse, CardValue, DeclineDiagnosis,
    OriginalTransaction, Tender,
};
pub use common::{
    Authorisation, CardPan, DiagnosisMethod, Header, OriginalHeader, OverallResult,
    PeripheralStatus, PosData, PrivateData, RawElement, RequestId, TerminalInfo, Timestamp,
    ValueError,
};
pub use device::{
    DeviceEvent, DeviceRequest, DeviceRequestType, DeviceResponse, DeviceTarget, EventType, Input,
    InputCommand, InputCommandKind, InputResult, InputValue, Output, OutputResult, TextLine,
};
pub use service::{
    CardCircuit, Reconciliation, ReconciliationTotal, ServiceRequest, ServiceRequestType,
    ServiceResponse,
};

/// Any OPI message, by its root element.
// One message per frame, moved a handful of times: boxing would only burden every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `CardServiceRequest` (channel 0, POS → terminal).
    CardServiceRequest(CardServiceRequest),
    /// `CardServiceResponse` (channel 0, terminal → POS).
    CardServiceResponse(CardServiceResponse),
    /// `ServiceRequest` (channel 0, POS → terminal).
    ServiceRequest(ServiceRequest),
    /// `ServiceResponse` (channel 0, terminal → POS).
    ServiceResponse(ServiceResponse),
    /// `DeviceRequest` (channel 1, terminal → POS).
    DeviceRequest(DeviceRequest),
    /// `DeviceResponse` (channel 1, POS → terminal).
    DeviceResponse(DeviceResponse),
}

impl Message {
    /// The root element's name.
    pub fn root_name(&self) -> &'static str {
        match self {
            Self::CardServiceRequest(_) => "CardServiceRequest",
            Self::CardServiceResponse(_) => "CardServiceResponse",
            Self::ServiceRequest(_) => "ServiceRequest",
            Self::ServiceResponse(_) => "ServiceResponse",
            Self::DeviceRequest(_) => "DeviceRequest",
            Self::DeviceResponse(_) => "DeviceResponse",
        }
    }

    /// The root attributes.
    pub fn header(&self) -> &Header {
        match self {
            Self::CardServiceRequest(m) => &m.header,
            Self::CardServiceResponse(m) => &m.header,
            Self::ServiceRequest(m) => &m.header,
            Self::ServiceResponse(m) => &m.header,
            Self::DeviceRequest(m) => &m.header,
            Self::DeviceResponse(m) => &m.header,
        }
    }

    /// The `RequestID`.
    pub fn request_id(&self) -> &RequestId {
        &self.header().request_id
    }

    /// The `RequestType` as written on the wire.
    pub fn request_type(&self) -> &str {
        match self {
            Self::CardServiceRequest(m) => m.request_type.as_str(),
            Self::CardServiceResponse(m) => m.request_type.as_str(),
            Self::ServiceRequest(m) => m.request_type.as_str(),
            Self::ServiceResponse(m) => m.request_type.as_str(),
            Self::DeviceRequest(m) => m.request_type.as_str(),
            Self::DeviceResponse(m) => m.request_type.as_str(),
        }
    }

    /// The `OverallResult` of a response; `None` for requests.
    pub fn overall_result(&self) -> Option<&OverallResult> {
        match self {
            Self::CardServiceResponse(m) => Some(&m.overall_result),
            Self::ServiceResponse(m) => Some(&m.overall_result),
            Self::DeviceResponse(m) => Some(&m.overall_result),
            Self::CardServiceRequest(_) | Self::ServiceRequest(_) | Self::DeviceRequest(_) => None,
        }
    }
}

macro_rules! from_variant {
    ($($name:ident),+) => {
        $(impl From<$name> for Message {
            fn from(value: $name) -> Self {
                Self::$name(value)
            }
        })+
    };
}

from_variant!(
    CardServiceRequest,
    CardServiceResponse,
    ServiceRequest,
    ServiceResponse,
    DeviceRequest,
    DeviceResponse
);
