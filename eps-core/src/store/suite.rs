//! The store test suite, run against both engines.
