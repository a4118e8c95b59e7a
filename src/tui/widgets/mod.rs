//! Widgets ratatui lacks: the envelope line chart, the heatmap and the
//! replay scrubber.

pub mod envelope;
pub mod heatmap;
pub mod scrubber;

pub use envelope::{EnvelopeChart, EventMark, Trace};
pub use heatmap::Heatmap;
pub use scrubber::{ScrubMark, Scrubber};
