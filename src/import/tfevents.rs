//! TensorBoard event files (`*tfevents*`) as grokscope runs.
//!
//! An event file is a sequence of TFRecords: a little-endian u64 length, the
//! masked CRC-32C of those 8 bytes, the data (a serialised `Event`), and the
//! masked CRC-32C of the data. [`TfRunReader`] follows every event file of a
//! run incrementally with the same guarantees as the JSONL reader: a record
//! cut off at the end of a growing file is held until complete; a bad data
//! CRC skips that record (counted and reported); a bad length CRC stops that
//! file with a warning, since nothing after it can be framed.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

pub use super::crc::masked_crc32c;
use super::proto::{summary_values, tensor_scalar, Event, Histogram, DATA_CLASS_SCALAR};
use crate::run::record::{ScalarList, VectorList};
use crate::run::{with_path, LineRecord, PollStats, ResetReason, TailItem};

/// Whether a file name is a TensorBoard event file's.
pub fn is_event_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().contains("tfevents"))
}

/// The event files directly in `dir`, in name order (which is creation
/// order: names start with `events.out.tfevents.<unix time>`).
pub fn event_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_event_file(p) && p.is_file())
        .collect();
    files.sort();
    files
}

/// Records longer than this are taken for corruption (TensorBoard's own
/// records are far smaller; a graph is at most a few hundred MB).
const MAX_RECORD: u64 = 1 << 30;
const READ_CHUNK: usize = 1 << 20;
const HEADER: usize = 12;

/// Where a tag's values belong, from the first metadata seen for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Scalar,
    Other,
}

/// One event file being followed.
#[derive(Debug)]
struct FileReader {
    path: PathBuf,
    file: Option<File>,
    inode: Option<u64>,
    /// Bytes of the file consumed into `buf` so far.
    read: u64,
    /// Bytes not yet framed (starting at file offset `read - buf.len()`).
    buf: Vec<u8>,
    /// Why the file was given up, if it was.
    stopped: Option<String>,
    records: u64,
}

impl FileReader {
    fn new(path: PathBuf) -> Self {
        FileReader {
            path,
            file: None,
            inode: None,
            read: 0,
            buf: Vec::new(),
            stopped: None,
            records: 0,
        }
    }
}

#[cfg(unix)]
fn inode(m: &fs::Metadata) -> Option<u64> {
    Some(std::os::unix::fs::MetadataExt::ino(m))
}

#[cfg(not(unix))]
fn inode(_: &fs::Metadata) -> Option<u64> {
    None
}

/// Follows every event file of one run (a folder of `*tfevents*` files, or
/// a single event file), delivering one record per event that carries
/// scalars, histograms or a session status.
#[derive(Debug)]
pub struct TfRunReader {
    root: PathBuf,
    files: Vec<FileReader>,
    tags: FxHashMap<String, TagKind>,
    /// Ordinal of the next record across the run, for reports.
    ordinal: u64,
}

impl TfRunReader {
    /// A reader of the run at `root` (a folder or one event file).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        TfRunReader {
            root: root.into(),
            files: Vec::new(),
            tags: FxHashMap::default(),
            ordinal: 0,
        }
    }

    /// The run's folder or file.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Bytes held back: incomplete records at the ends of files.
    pub fn pending_bytes(&self) -> usize {
        self.files.iter().map(|f| f.buf.len()).sum()
    }

    fn restart(&mut self) {
        self.files.clear();
        self.tags.clear();
        self.ordinal = 0;
    }

    /// Reads what was appended to the run's event files since the last call.
    pub fn poll(&mut self, sink: &mut dyn FnMut(TailItem<'_>)) -> io::Result<PollStats> {
        let mut stats = PollStats::default();
        let paths = if self.root.is_dir() {
            event_files(&self.root)
        } else {
            fs::metadata(&self.root).map_err(|e| with_path(e, &self.root))?;
            vec![self.root.clone()]
        };
        // A file that shrank or was replaced voids what was read: start over.
        let reset = self.files.iter().find_map(|f| {
            let m = fs::metadata(&f.path).ok()?;
            if f.inode.is_some() && inode(&m) != f.inode {
                Some(ResetReason::Replaced)
            } else if m.len() < f.read {
                Some(ResetReason::Truncated {
                    offset: f.read,
                    len: m.len(),
                })
            } else {
                None
            }
        });
        if let Some(reason) = reset {
            self.restart();
            stats.reset = true;
            sink(TailItem::Reset(reason));
        }
        for p in paths {
            if !self.files.iter().any(|f| f.path == p) {
                self.files.push(FileReader::new(p));
            }
        }
        for i in 0..self.files.len() {
            self.poll_file(i, &mut stats, sink)?;
        }
        Ok(stats)
    }

    fn poll_file(
        &mut self,
        i: usize,
        stats: &mut PollStats,
        sink: &mut dyn FnMut(TailItem<'_>),
    ) -> io::Result<()> {
        if self.files[i].stopped.is_some() {
            return Ok(());
        }
        let f = &mut self.files[i];
        if f.file.is_none() {
            let mut file = File::open(&f.path).map_err(|e| with_path(e, &f.path))?;
            f.inode = file.metadata().ok().as_ref().and_then(inode);
            file.seek(SeekFrom::Start(f.read))?;
            f.file = Some(file);
        }
        loop {
            let f = &mut self.files[i];
            // Read straight behind the bytes still waiting to be framed
            // (read_to_end on a bounded reader appends without zero-filling).
            let have = f.buf.len();
            let file = f.file.as_mut().expect("opened");
            let result = file.take(READ_CHUNK as u64).read_to_end(&mut f.buf);
            // Bytes read before an error stay queued for framing.
            let n = f.buf.len() - have;
            f.read += n as u64;
            stats.bytes += n as u64;
            if let Err(e) = result {
                return Err(with_path(e, &f.path));
            }
            if n == 0 {
                break;
            }
            let mut buf = std::mem::take(&mut f.buf);
            let used = self.frame(i, &buf, stats, sink);
            buf.drain(..used);
            self.files[i].buf = buf;
            if self.files[i].stopped.is_some() {
                self.files[i].buf = Vec::new();
                break;
            }
        }
        // Idle readers keep only their held partial record, not a chunk.
        self.files[i].buf.shrink_to_fit();
        Ok(())
    }

    /// Decodes every complete record in `buf` (file `i`); returns the bytes used.
    fn frame(
        &mut self,
        i: usize,
        buf: &[u8],
        stats: &mut PollStats,
        sink: &mut dyn FnMut(TailItem<'_>),
    ) -> usize {
        let mut pos = 0;
        let base = self.files[i].read - buf.len() as u64;
        while buf.len() - pos >= HEADER {
            let head = &buf[pos..pos + HEADER];
            let len = u64::from_le_bytes(head[..8].try_into().expect("8"));
            let len_crc = u32::from_le_bytes(head[8..12].try_into().expect("4"));
            let at = base + pos as u64;
            if masked_crc32c(&head[..8]) != len_crc || len > MAX_RECORD {
                let why = format!(
                    "{}: bad record length CRC at byte {at}; the rest of this file is unreadable and was skipped",
                    self.files[i].path.display()
                );
                self.files[i].stopped = Some(why.clone());
                sink(TailItem::Warning(why));
                return buf.len();
            }
            let len = len as usize;
            let total = HEADER + len + 4;
            if buf.len() - pos < total {
                break; // Held until the rest of the record arrives.
            }
            let data = &buf[pos + HEADER..pos + HEADER + len];
            let data_crc =
                u32::from_le_bytes(buf[pos + HEADER + len..pos + total].try_into().expect("4"));
            pos += total;
            self.ordinal += 1;
            self.files[i].records += 1;
            if masked_crc32c(data) != data_crc {
                stats.malformed += 1;
                sink(TailItem::Malformed {
                    line: self.ordinal,
                    reason: format!(
                        "{}: bad data CRC in the record at byte {at}; record skipped",
                        self.files[i].path.display()
                    ),
                });
                continue;
            }
            match self.convert(data) {
                Ok(Some(record)) => {
                    stats.records += 1;
                    sink(TailItem::Record {
                        line: self.ordinal,
                        record,
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    stats.malformed += 1;
                    sink(TailItem::Malformed {
                        line: self.ordinal,
                        reason: format!(
                            "{}: record at byte {at}: {e}",
                            self.files[i].path.display()
                        ),
                    });
                }
            }
        }
        pos
    }

    /// One event as a record; `None` for events with nothing to plot.
    fn convert<'a>(
        &mut self,
        data: &'a [u8],
    ) -> Result<Option<LineRecord<'a>>, super::proto::DecodeError> {
        let event = Event::decode(data)?;
        let mut scalars: Vec<(Cow<'a, str>, f64)> = Vec::new();
        let mut vectors: Vec<(Cow<'a, str>, Vec<f64>)> = Vec::new();
        let mut notes = Vec::new();
        if let Some(summary) = event.summary {
            for value in summary_values(summary) {
                let value = value?;
                // A tag's plugin comes with its first value only: remember it.
                if let Some(m) = value.metadata {
                    if !self.tags.contains_key(value.tag) {
                        let scalar =
                            m.plugin == Some("scalars") || m.data_class == DATA_CLASS_SCALAR;
                        let kind = if scalar {
                            TagKind::Scalar
                        } else {
                            TagKind::Other
                        };
                        self.tags.insert(value.tag.to_string(), kind);
                    }
                }
                let name = metric_name(value.tag);
                if let Some(v) = value.simple_value {
                    scalars.push((name, f64::from(v)));
                } else if let Some(h) = value.histo {
                    let h = Histogram::decode(h)?;
                    let limits_name = Cow::Owned(format!("{name}/limits"));
                    vectors.push((name, h.counts));
                    vectors.push((limits_name, h.limits));
                } else if let Some(t) = value.tensor {
                    if self.tags.get(value.tag) == Some(&TagKind::Scalar) {
                        if let Some(v) = tensor_scalar(t)? {
                            scalars.push((name, v));
                        }
                    }
                }
            }
        }
        match event.session_status {
            Some(1) => notes.push("TensorBoard session start".to_string()),
            Some(2) => notes.push("TensorBoard session stop".to_string()),
            Some(3) => notes.push("TensorBoard checkpoint".to_string()),
            _ => {}
        }
        if scalars.is_empty() && vectors.is_empty() && notes.is_empty() {
            return Ok(None);
        }
        Ok(Some(LineRecord {
            step: event.step,
            time: Some(event.wall_time),
            scalars: ScalarList(scalars),
            vectors: VectorList(vectors),
            notes,
        }))
    }
}

/// grokscope's name for a TensorBoard tag. Tags already of the form
/// `train/loss` keep it; PyTorch-tutorial style `Loss/train`,
/// `Accuracy/test` map onto `train/loss`, `test/acc` so the diagnostic
/// panels find them. Anything else is kept as is (generic panel).
pub fn metric_name(tag: &str) -> Cow<'_, str> {
    let Some((what, split)) = tag.split_once('/') else {
        return Cow::Borrowed(tag);
    };
    let is = |s: &str, names: &[&str]| names.iter().any(|n| s.eq_ignore_ascii_case(n));
    let group = if is(split, &["train"]) {
        "train"
    } else if is(split, &["test", "val", "valid", "validation"]) {
        "test"
    } else {
        return Cow::Borrowed(tag);
    };
    let metric = if is(what, &["loss"]) {
        "loss"
    } else if is(what, &["accuracy", "acc"]) {
        "acc"
    } else {
        return Cow::Borrowed(tag);
    };
    Cow::Owned(format!("{group}/{metric}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytorch_tags_map_onto_groups() {
        assert_eq!(metric_name("Loss/train"), "train/loss");
        assert_eq!(metric_name("Accuracy/val"), "test/acc");
        assert_eq!(metric_name("train/loss"), "train/loss");
        assert_eq!(metric_name("lr"), "lr");
        assert_eq!(metric_name("Loss/other"), "Loss/other");
    }
}
