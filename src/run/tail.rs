//! [`TailReader`]: incremental, crash-tolerant reading of a growing log.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::follow::FollowedFile;
use super::record::{parse_line, LineRecord};

/// Longest line the reader accepts. A longer one is reported as malformed
/// and skipped without being buffered.
pub const MAX_LINE_BYTES: usize = 16 << 20;

const READ_CHUNK: usize = 1 << 20;

/// Why the reader went back to the start of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetReason {
    /// The file is shorter than what was already read.
    Truncated {
        /// Bytes read before.
        offset: u64,
        /// Length of the file now.
        len: u64,
    },
    /// The path now names a different file (log rotation, atomic rewrite).
    Replaced,
    /// The same file was rewritten in place: bytes already read changed
    /// (see [`FollowedFile`](super::follow::FollowedFile)).
    Rewritten,
}

impl fmt::Display for ResetReason {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ResetReason::Truncated { offset, len } => write!(
                f,
                "file shrank from {offset} to {len} bytes; read again from the start"
            ),
            ResetReason::Replaced => f.write_str("file was replaced; read again from the start"),
            ResetReason::Rewritten => {
                f.write_str("file was rewritten in place; read again from the start")
            }
        }
    }
}

/// What the reader found.
#[derive(Debug)]
pub enum TailItem<'a> {
    /// A well-formed record and its 1-based line number.
    Record {
        /// 1-based line number in the file.
        line: u64,
        /// The parsed record, borrowing from the reader's buffers.
        record: LineRecord<'a>,
    },
    /// A record of exactly one scalar, no vectors and no notes: the same as
    /// a [`TailItem::Record`] of that, delivered without building a
    /// [`LineRecord`] (TensorBoard's event files are mostly such records,
    /// one per logged value).
    Scalar {
        /// 1-based record number.
        line: u64,
        /// Step of the record.
        step: i64,
        /// Wall-clock time, seconds since the epoch.
        time: Option<f64>,
        /// A number for `name`, the same for every item of that name until
        /// the next [`TailItem::Reset`], so that a consumer can look up
        /// what it keeps per name once (0, 1, 2, ... in order of first
        /// appearance).
        key: u32,
        /// Metric name.
        name: &'a str,
        /// Value.
        value: f64,
    },
    /// A line that is not a record; it is skipped.
    Malformed {
        /// 1-based line number in the file.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// Everything read so far is void: the file is read again from the start.
    /// Sent before any item of the new content.
    Reset(ResetReason),
    /// Something the user should know that is not tied to one record (a
    /// file given up because its framing is corrupt).
    Warning(String),
}

/// Counts of one [`TailReader::poll`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollStats {
    /// Bytes read from the file.
    pub bytes: u64,
    /// Records delivered.
    pub records: u64,
    /// Malformed lines delivered.
    pub malformed: u64,
    /// Whether the reader started over.
    pub reset: bool,
    /// Whether a byte budget ([`TailReader::poll_limited`]) ended the read
    /// before the end of the file: poll again for the rest.
    pub more: bool,
}

/// Reads a JSONL log incrementally from a remembered byte offset.
///
/// * A last line without its newline is held back until the newline arrives:
///   never parsed half, never dropped.
/// * A file that shrinks, a path that now names another file, or a file
///   rewritten in place is read again from the start, announced by
///   [`TailItem::Reset`].
/// * A malformed line is reported with its line number and skipped.
/// * A line over [`MAX_LINE_BYTES`] is reported without being buffered.
/// * The file is open only during [`TailReader::poll`]: an idle reader holds
///   no file descriptor ([`FollowedFile`]).
/// * Only a regular file is read: a FIFO or a device is an error, never a
///   read that blocks or never ends.
#[derive(Debug)]
pub struct TailReader {
    file: FollowedFile,
    lines: u64,
    pending: Vec<u8>,
    skipping_long_line: bool,
    scratch: Vec<u8>,
}

impl TailReader {
    /// A reader of `path`, positioned at its start. Nothing is opened yet.
    pub fn new(path: impl Into<PathBuf>) -> TailReader {
        TailReader {
            file: FollowedFile::new(path),
            lines: 0,
            pending: Vec::new(),
            skipping_long_line: false,
            scratch: Vec::new(),
        }
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Bytes consumed so far (including a held partial line).
    pub fn offset(&self) -> u64 {
        self.file.offset()
    }

    /// Complete lines consumed so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Bytes of a partial last line held back, waiting for its newline.
    pub fn pending_bytes(&self) -> usize {
        self.pending.len()
    }

    /// Reads whatever was appended since the last call and hands each item to
    /// `sink`. Returns an error only when the file cannot be opened or read;
    /// the reader can be polled again afterwards.
    pub fn poll(&mut self, sink: &mut dyn FnMut(TailItem<'_>)) -> io::Result<PollStats> {
        self.poll_limited(sink, u64::MAX)
    }

    /// Like [`TailReader::poll`], but reads at most `max_bytes` bytes (at
    /// least one); [`PollStats::more`] says whether the budget stopped it
    /// before the end of the file. Polling again continues where it left off,
    /// so a sequence of budgeted polls delivers exactly the items of one
    /// unbudgeted poll (partial lines are held across polls as usual, and a
    /// file that shrinks or is replaced in between still resets).
    pub fn poll_limited(
        &mut self,
        sink: &mut dyn FnMut(TailItem<'_>),
        max_bytes: u64,
    ) -> io::Result<PollStats> {
        let max_bytes = max_bytes.max(1);
        let mut stats = PollStats::default();
        let Some(opened) = self.file.open()? else {
            return Ok(stats);
        };
        let mut file = opened.file;
        if let Some(reason) = opened.reset {
            self.restart();
            stats.reset = true;
            sink(TailItem::Reset(reason));
        }
        let offset = self.file.offset();
        if opened.len == offset && !stats.reset {
            return Ok(stats);
        }
        // Sized to what was appended, so that many idle readers hold no
        // large buffers between polls.
        let growth = opened.len.saturating_sub(offset).max(4096);
        let mut chunk = vec![0; growth.min(READ_CHUNK as u64).min(max_bytes) as usize];
        loop {
            let left = max_bytes - stats.bytes;
            if left == 0 {
                stats.more = true;
                break;
            }
            let want = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match file.read(&mut chunk[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(crate::files::with_path(e, self.file.path())),
            };
            self.file.consumed(&chunk[..n]);
            stats.bytes += n as u64;
            self.consume(&chunk[..n], &mut stats, sink);
        }
        Ok(stats)
    }

    /// Treats a held partial last line as complete: for headless readers of
    /// a finished run whose last line lacks its newline. A valid record is
    /// delivered; anything else is returned, not delivered as malformed: a
    /// writer may still be writing it, or have crashed mid-line.
    pub fn finish(&mut self, sink: &mut dyn FnMut(TailItem<'_>)) -> Option<PartialLine> {
        if self.skipping_long_line {
            self.skipping_long_line = false;
            self.lines += 1;
            return Some(PartialLine {
                line: self.lines,
                bytes: None,
                reason: too_long(),
            });
        }
        if self.pending.is_empty() {
            return None;
        }
        self.lines += 1;
        let line = self.lines;
        let mut stats = PollStats::default();
        let pending = std::mem::take(&mut self.pending);
        let mut partial = None;
        deliver(
            &pending,
            line,
            &mut self.scratch,
            &mut stats,
            &mut |item| match item {
                TailItem::Malformed { line, reason } => {
                    partial = Some(PartialLine {
                        line,
                        bytes: Some(pending.len()),
                        reason,
                    })
                }
                other => sink(other),
            },
        );
        partial
    }

    /// Forgets the lines read (the file was already restarted).
    fn restart(&mut self) {
        self.lines = 0;
        self.pending.clear();
        self.skipping_long_line = false;
    }

    /// Splits freshly read bytes into lines.
    fn consume(&mut self, data: &[u8], stats: &mut PollStats, sink: &mut dyn FnMut(TailItem<'_>)) {
        let TailReader {
            pending,
            scratch,
            lines,
            skipping_long_line,
            ..
        } = self;
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', data) {
            let piece = &data[start..nl];
            start = nl + 1;
            *lines += 1;
            if *skipping_long_line {
                *skipping_long_line = false;
                stats.malformed += 1;
                sink(TailItem::Malformed {
                    line: *lines,
                    reason: too_long(),
                });
            } else if pending.is_empty() {
                deliver(piece, *lines, scratch, stats, sink);
            } else if pending.len() + piece.len() > MAX_LINE_BYTES {
                release(pending);
                stats.malformed += 1;
                sink(TailItem::Malformed {
                    line: *lines,
                    reason: too_long(),
                });
            } else {
                pending.extend_from_slice(piece);
                deliver(pending, *lines, scratch, stats, sink);
                release(pending);
            }
        }
        let rest = &data[start..];
        if *skipping_long_line || rest.is_empty() {
            return;
        }
        if pending.len() + rest.len() > MAX_LINE_BYTES {
            release(pending);
            *skipping_long_line = true;
        } else {
            pending.extend_from_slice(rest);
        }
    }
}

/// A last line without its newline that is not a complete record, as
/// [`TailReader::finish`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialLine {
    /// Its 1-based line number.
    pub line: u64,
    /// Its length in bytes (`None` when it was too long to hold).
    pub bytes: Option<usize>,
    /// Why it is not a record.
    pub reason: String,
}

fn too_long() -> String {
    format!("line longer than {} MiB", MAX_LINE_BYTES >> 20)
}

/// Empties the partial-line buffer, giving back memory a huge line took.
fn release(pending: &mut Vec<u8>) {
    pending.clear();
    if pending.capacity() > READ_CHUNK {
        pending.shrink_to(READ_CHUNK);
    }
}

/// Parses one complete line and hands the result to `sink`.
fn deliver(
    line: &[u8],
    line_no: u64,
    scratch: &mut Vec<u8>,
    stats: &mut PollStats,
    sink: &mut dyn FnMut(TailItem<'_>),
) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // A byte-order mark, as some Windows editors write at the start of a file.
    let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    match parse_line(line, scratch) {
        Ok(record) => {
            stats.records += 1;
            sink(TailItem::Record {
                line: line_no,
                record,
            });
        }
        Err(e) => {
            stats.malformed += 1;
            sink(TailItem::Malformed {
                line: line_no,
                reason: e.0,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::Write;

    #[derive(Debug, PartialEq)]
    enum Seen {
        Rec(u64, i64),
        Bad(u64),
        Reset,
    }

    fn poll(r: &mut TailReader) -> Vec<Seen> {
        let mut out = Vec::new();
        r.poll(&mut |item| {
            out.push(match item {
                TailItem::Record { line, record } => Seen::Rec(line, record.step),
                TailItem::Scalar { line, step, .. } => Seen::Rec(line, step),
                TailItem::Malformed { line, .. } => Seen::Bad(line),
                TailItem::Reset(_) => Seen::Reset,
                TailItem::Warning(w) => panic!("unexpected warning {w}"),
            })
        })
        .unwrap();
        out
    }

    fn append(path: &Path, bytes: &[u8]) {
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    #[test]
    fn holds_a_partial_line_until_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        append(&p, b"{\"step\": 1}\n{\"step\": ");
        let mut r = TailReader::new(&p);
        assert_eq!(poll(&mut r), vec![Seen::Rec(1, 1)]);
        assert_eq!(r.pending_bytes(), 9);
        append(&p, b"2}");
        assert_eq!(poll(&mut r), vec![]);
        append(&p, b"\nnot json\n");
        assert_eq!(poll(&mut r), vec![Seen::Rec(2, 2), Seen::Bad(3)]);
        assert_eq!(r.pending_bytes(), 0);
    }

    #[test]
    fn truncation_and_replacement_restart_from_the_top() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        append(&p, b"{\"step\": 1}\n{\"step\": 2}\n");
        let mut r = TailReader::new(&p);
        assert_eq!(poll(&mut r).len(), 2);
        fs::write(&p, b"{\"step\": 9}\n").unwrap();
        assert_eq!(poll(&mut r), vec![Seen::Reset, Seen::Rec(1, 9)]);
        let q = dir.path().join("new.jsonl");
        fs::write(&q, b"{\"step\": 5}\n{\"step\": 6}\n").unwrap();
        fs::rename(&q, &p).unwrap();
        assert_eq!(
            poll(&mut r),
            vec![Seen::Reset, Seen::Rec(1, 5), Seen::Rec(2, 6)]
        );
    }

    #[test]
    fn an_over_long_line_is_reported_without_being_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        let mut big = b"{\"step\": 1, \"notes\": [\"".to_vec();
        big.resize(MAX_LINE_BYTES + 10, b'x');
        append(&p, &big);
        let mut r = TailReader::new(&p);
        assert_eq!(poll(&mut r), vec![]);
        assert!(r.pending_bytes() <= READ_CHUNK);
        append(&p, b"\"]}\n{\"step\": 2}\n");
        assert_eq!(poll(&mut r), vec![Seen::Bad(1), Seen::Rec(2, 2)]);
    }

    #[test]
    fn finish_reads_a_complete_last_line_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        append(&p, b"\n  \n{\"step\": 1}\r\n{\"step\": 2}");
        let mut r = TailReader::new(&p);
        assert_eq!(poll(&mut r), vec![Seen::Rec(3, 1)]);
        let mut steps = Vec::new();
        assert_eq!(
            r.finish(&mut |i| {
                if let TailItem::Record { record, .. } = i {
                    steps.push(record.step)
                }
            }),
            None
        );
        assert_eq!(steps, vec![2]);
    }

    #[test]
    fn a_budgeted_read_stops_early_and_still_resets() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        append(&p, b"{\"step\": 1}\n{\"step\": 2}\n{\"step\": 3}\n");
        let mut r = TailReader::new(&p);
        let mut seen = 0;
        let stats = r.poll_limited(&mut |_| seen += 1, 15).unwrap();
        assert_eq!((stats.bytes, stats.more, seen), (15, true, 1));
        assert_eq!(r.pending_bytes(), 3);
        // Truncated before the rest was read: the reader starts over.
        fs::write(&p, b"{\"step\": 7}\n").unwrap();
        let mut items = Vec::new();
        let stats = r
            .poll_limited(
                &mut |i| {
                    items.push(match i {
                        TailItem::Reset(_) => Seen::Reset,
                        TailItem::Record { line, record } => Seen::Rec(line, record.step),
                        _ => Seen::Bad(0),
                    })
                },
                1 << 20,
            )
            .unwrap();
        assert!(stats.reset && !stats.more);
        assert_eq!(items, vec![Seen::Reset, Seen::Rec(1, 7)]);
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        append(&p, b"\xef\xbb\xbf{\"step\": 1}\n{\"step\": 2}\n");
        let mut r = TailReader::new(&p);
        assert_eq!(poll(&mut r), vec![Seen::Rec(1, 1), Seen::Rec(2, 2)]);
    }

    #[test]
    fn an_unfinished_last_line_is_returned_not_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        append(&p, b"{\"step\": 1}\n{\"step\": 2, \"sca");
        let mut r = TailReader::new(&p);
        assert_eq!(poll(&mut r), vec![Seen::Rec(1, 1)]);
        let partial = r
            .finish(&mut |i| panic!("nothing delivered: {i:?}"))
            .unwrap();
        assert_eq!((partial.line, partial.bytes), (2, Some(16)));
        assert!(!partial.reason.is_empty());
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let mut r = TailReader::new("/nonexistent/grokscope/m.jsonl");
        let e = r.poll(&mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/grokscope/m.jsonl"));
    }
}
