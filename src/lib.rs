//! grokscope: a terminal dashboard for training diagnostics.
//!
//! Data flows `diag` → [`run::RunWriter`] → `metrics.jsonl` → [`watch`] →
//! [`run::TailReader`] → [`store`] → the dashboard and `summary`.

pub mod diag;
pub mod run;
