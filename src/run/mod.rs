//! The log format: records, the append-only writer and the tailing reader.
//! docs/FORMAT.md is the normative description.

pub mod fastpath;
pub mod follow;
pub mod map;
pub mod record;
pub mod tail;
pub mod writer;

pub use map::{GridMap, MapError, MapMark};
pub use record::{parse_line, LineError, LineRecord, Num, Record};
pub use tail::{PartialLine, PollStats, ResetReason, TailItem, TailReader, MAX_LINE_BYTES};
pub use writer::{RunMeta, RunWriter, FINISHED_NOTE, META_FILE, METRICS_FILE, SCHEMA_VERSION};

pub(crate) use crate::files::with_path;
