//! `opi-sim`, an OPI terminal simulator.

mod scenario;

pub use scenario::{Scenario, ScriptMatch};
