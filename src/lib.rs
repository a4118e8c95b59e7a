//! grokscope: a terminal dashboard for training diagnostics.
//!
//! Data flows `diag` → [`run::RunWriter`] → `metrics.jsonl` → [`watch`] →
//! [`run::TailReader`] → [`store`] → the dashboard ([`tui`]) and [`summary`].

pub mod analysis;
pub mod cli;
pub mod diag;
pub mod export;
pub mod files;
pub mod import;
pub mod numfmt;
pub mod run;
pub mod source;
pub mod store;
pub mod summary;
pub mod text;
pub mod train;
pub mod tui;
pub mod watch;
