//! The OAuth2 gate: the built-in client-credentials issuer (signing key, tokens, clients, the
//! token endpoint's throttle), the validation of tokens from it or from an external issuer, and
//! the scope extractor.

pub mod clients;
pub mod jwks;
pub mod keys;
pub mod scope;
pub mod throttle;
pub mod token;
pub mod token_cache;
pub mod verify;

pub use scope::{Admin, Auth, Read, RequiredScope, Write};
pub use verify::Principal;
