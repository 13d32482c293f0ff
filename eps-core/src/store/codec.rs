//! Row encoding shared by both engines.
