//! Widgets ratatui lacks: the envelope line chart and the heatmap.

pub mod envelope;
pub mod heatmap;

pub use envelope::{EnvelopeChart, Trace};
pub use heatmap::Heatmap;
