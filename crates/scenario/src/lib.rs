//! Scenario files.
pub mod diag;
pub mod yaml;
