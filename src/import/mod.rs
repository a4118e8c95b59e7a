//! Logs written by other tools, read as grokscope runs.

mod crc;
pub mod proto;
pub mod tfevents;

pub use tfevents::{is_event_file, masked_crc32c, metric_name, TfRunReader};
