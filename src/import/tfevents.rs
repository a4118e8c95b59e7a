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
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

pub use super::crc::masked_crc32c;
use super::proto::{
    simple_scalar, summary_values, tensor_scalar, Event, Histogram, DATA_CLASS_SCALAR,
};
use crate::run::follow::FollowedFile;
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

/// Records longer than this are skipped without being read (TensorBoard's
/// own records are far smaller; a graph is at most a few hundred MB).
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
    /// The file, open only while it is read.
    follow: FollowedFile,
    /// Bytes not yet framed (starting at file offset `offset - buf.len()`).
    buf: Vec<u8>,
    /// Why the file was given up, if it was.
    stopped: Option<String>,
    /// The end of a record too long to hold, skipped without reading: reading
    /// goes on there once the file is that long.
    skip_until: Option<u64>,
    records: u64,
}

impl FileReader {
    fn new(path: PathBuf) -> Self {
        FileReader {
            follow: FollowedFile::new(path),
            buf: Vec::new(),
            stopped: None,
            skip_until: None,
            records: 0,
        }
    }

    fn path(&self) -> &Path {
        self.follow.path()
    }
}

/// grokscope's names ([`metric_name`]) of the tags seen so far. Writers log
/// their tags in the same order at every step, so the tag that followed the
/// previous one last time is tried first: one compare, no hashing and no
/// allocation for nearly every value.
#[derive(Debug, Default)]
struct TagNames {
    tags: Vec<Tag>,
    ids: FxHashMap<Box<str>, u32>,
    /// The tag looked up last ([`NO_TAG`] if none).
    last: u32,
}

#[derive(Debug)]
struct Tag {
    tag: Box<str>,
    name: Box<str>,
    /// The tag that followed this one last time ([`NO_TAG`] if none).
    next: u32,
}

const NO_TAG: u32 = u32::MAX;

impl TagNames {
    fn new() -> TagNames {
        TagNames {
            last: NO_TAG,
            ..TagNames::default()
        }
    }

    /// The number and metric name of `tag`.
    #[inline]
    fn name(&mut self, tag: &str) -> (u32, &str) {
        let prev = self.last;
        let guess = self.tags.get(prev as usize).map_or(NO_TAG, |t| t.next);
        let id = match self.tags.get(guess as usize) {
            Some(t) if *t.tag == *tag => guess,
            _ => self.intern(prev, tag),
        };
        self.last = id;
        (id, &self.tags[id as usize].name)
    }

    #[cold]
    fn intern(&mut self, prev: u32, tag: &str) -> u32 {
        let id = match self.ids.get(tag) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.tags.len()).expect("fewer than 2^32 tags");
                self.tags.push(Tag {
                    tag: tag.into(),
                    name: metric_name(tag).into(),
                    next: NO_TAG,
                });
                self.ids.insert(tag.into(), id);
                id
            }
        };
        if let Some(p) = self.tags.get_mut(prev as usize) {
            p.next = id;
        }
        id
    }
}

/// Follows every event file of one run (a folder of `*tfevents*` files, or
/// a single event file), delivering one record per event that carries
/// scalars, histograms or a session status.
#[derive(Debug)]
pub struct TfRunReader {
    root: PathBuf,
    files: Vec<FileReader>,
    tags: FxHashMap<String, TagKind>,
    names: TagNames,
    /// Ordinal of the next record across the run, for reports.
    ordinal: u64,
    /// Whether [`simple_scalar`] events skip the general decoder (off only
    /// in tests that compare the two).
    fast_path: bool,
}

impl TfRunReader {
    /// A reader of the run at `root` (a folder or one event file).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        TfRunReader {
            root: root.into(),
            files: Vec::new(),
            tags: FxHashMap::default(),
            names: TagNames::new(),
            ordinal: 0,
            fast_path: true,
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
        self.names = TagNames::new();
        self.ordinal = 0;
    }

    /// Reads what was appended to the run's event files since the last call.
    /// A file that shrank, was replaced or was rewritten voids everything
    /// read: the reader starts over, announced by [`TailItem::Reset`].
    ///
    /// `sink` is generic so that a caller's handling of the common scalar
    /// event compiles into the decoding loop (it also takes `&mut dyn FnMut`).
    pub fn poll<F>(&mut self, sink: &mut F) -> io::Result<PollStats>
    where
        F: FnMut(TailItem<'_>) + ?Sized,
    {
        let mut stats = PollStats::default();
        let paths = if self.root.is_dir() {
            event_files(&self.root)
        } else {
            let m = fs::metadata(&self.root).map_err(|e| with_path(e, &self.root))?;
            if !m.is_file() {
                return Err(crate::files::not_regular(&self.root, &m));
            }
            vec![self.root.clone()]
        };
        for p in paths {
            if !self.files.iter().any(|f| f.path() == p) {
                self.files.push(FileReader::new(p));
            }
        }
        let mut i = 0;
        while i < self.files.len() {
            let Some(reason) = self.poll_file(i, &mut stats, sink)? else {
                i += 1;
                continue;
            };
            let paths: Vec<PathBuf> = self.files.iter().map(|f| f.path().to_owned()).collect();
            self.restart();
            self.files = paths.into_iter().map(FileReader::new).collect();
            sink(TailItem::Reset(reason));
            if stats.reset {
                // Changed again while being read again: the next poll goes on.
                return Ok(stats);
            }
            stats.reset = true;
            i = 0;
        }
        Ok(stats)
    }

    /// Reads what is new in file `i`; returns why the run must be read again
    /// from the start, if it must.
    fn poll_file<F>(
        &mut self,
        i: usize,
        stats: &mut PollStats,
        sink: &mut F,
    ) -> io::Result<Option<ResetReason>>
    where
        F: FnMut(TailItem<'_>) + ?Sized,
    {
        let f = &mut self.files[i];
        let Some(opened) = f.follow.open()? else {
            return Ok(None);
        };
        if opened.reset.is_some() {
            return Ok(opened.reset);
        }
        if f.stopped.is_some() {
            return Ok(None);
        }
        let mut file = opened.file;
        loop {
            let f = &mut self.files[i];
            if let Some(end) = f.skip_until {
                let len = file.metadata().map_err(|e| with_path(e, f.path()))?.len();
                if len < end {
                    break; // The rest of the skipped record is not written yet.
                }
                file.seek(SeekFrom::Start(end))
                    .map_err(|e| with_path(e, f.path()))?;
                f.follow.skip_to(end);
                f.skip_until = None;
            }
            // Read straight behind the bytes still waiting to be framed
            // (read_to_end on a bounded reader appends without zero-filling).
            let have = f.buf.len();
            let result = (&mut file).take(READ_CHUNK as u64).read_to_end(&mut f.buf);
            // Bytes read before an error stay queued for framing.
            let n = f.buf.len() - have;
            f.follow.consumed(&f.buf[have..]);
            stats.bytes += n as u64;
            if let Err(e) = result {
                return Err(with_path(e, f.path()));
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
        Ok(None)
    }

    /// Decodes every complete record in `buf` (file `i`); returns the bytes used.
    fn frame<F>(&mut self, i: usize, buf: &[u8], stats: &mut PollStats, sink: &mut F) -> usize
    where
        F: FnMut(TailItem<'_>) + ?Sized,
    {
        let mut pos = 0;
        let base = self.files[i].follow.offset() - buf.len() as u64;
        while buf.len() - pos >= HEADER {
            let head = &buf[pos..pos + HEADER];
            let len = u64::from_le_bytes(head[..8].try_into().expect("8"));
            let len_crc = u32::from_le_bytes(head[8..12].try_into().expect("4"));
            let at = base + pos as u64;
            if masked_crc32c(&head[..8]) != len_crc {
                let why = format!(
                    "{}: bad record length CRC at byte {at}; the rest of this file is unreadable and was skipped",
                    self.files[i].path().display()
                );
                self.files[i].stopped = Some(why.clone());
                sink(TailItem::Warning(why));
                return buf.len();
            }
            if len > MAX_RECORD {
                self.skip_long_record(i, at, len, stats, sink);
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
                        self.files[i].path().display()
                    ),
                });
                continue;
            }
            if self.fast_path {
                if let Some(e) = simple_scalar(data) {
                    stats.records += 1;
                    let (key, name) = self.names.name(e.tag);
                    sink(TailItem::Scalar {
                        line: self.ordinal,
                        step: e.step,
                        time: Some(e.wall_time),
                        key,
                        name,
                        value: f64::from(e.value),
                    });
                    continue;
                }
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
                            self.files[i].path().display()
                        ),
                    });
                }
            }
        }
        pos
    }

    /// A record of file `i` at byte `at` whose intact header declares `len`
    /// bytes, over [`MAX_RECORD`]: reported and skipped without being read.
    #[cold]
    fn skip_long_record<F>(
        &mut self,
        i: usize,
        at: u64,
        len: u64,
        stats: &mut PollStats,
        sink: &mut F,
    ) where
        F: FnMut(TailItem<'_>) + ?Sized,
    {
        let f = &mut self.files[i];
        let path = f.path().display().to_string();
        let Some(end) = at
            .checked_add(HEADER as u64 + 4)
            .and_then(|e| e.checked_add(len))
        else {
            let why = format!(
                "{path}: the record at byte {at} claims {len} bytes, more than a file can hold; the rest of this file was skipped"
            );
            f.stopped = Some(why.clone());
            sink(TailItem::Warning(why));
            return;
        };
        f.skip_until = Some(end);
        f.records += 1;
        self.ordinal += 1;
        stats.malformed += 1;
        sink(TailItem::Malformed {
            line: self.ordinal,
            reason: format!(
                "{path}: the record at byte {at} is {len} bytes long, over the {} limit for one record; skipped",
                crate::files::bytes(MAX_RECORD)
            ),
        });
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
            maps: Default::default(),
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
    use crate::store::RunStore;
    use proptest::prelude::*;

    use crate::import::proto::encode::{fixed32, fixed64, len_field, varint_field};

    /// Fields in the order given, or shuffled.
    fn message(fields: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            3 => Just(fields.concat()),
            1 => Just(fields).prop_shuffle().prop_map(|f| f.concat()),
        ]
    }

    /// A field grokscope does not read, of any wire type.
    fn unknown_field() -> impl Strategy<Value = Vec<u8>> {
        (
            3u32..40,
            0u8..4,
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..6),
        )
            .prop_map(|(n, wire, v, bytes)| match wire {
                0 => varint_field(n, v),
                1 => fixed64(n, v),
                2 => len_field(n, &bytes),
                _ => fixed32(n, v as u32),
            })
    }

    fn tag() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"train/loss".to_vec()),
            Just(b"test/loss".to_vec()),
            Just(b"Loss/train".to_vec()),
            Just(b"Accuracy/VAL".to_vec()),
            Just(b"lr".to_vec()),
            Just("größe/√x".as_bytes().to_vec()),
            Just(b"".to_vec()),
            Just(vec![b'a', 0xff, b'/', 0xfe]), // not UTF-8
        ]
    }

    fn f32_bits() -> impl Strategy<Value = u32> {
        prop_oneof![
            any::<f32>().prop_map(f32::to_bits),
            any::<u32>(),      // NaN payloads, infinities, subnormals
            Just(0x8000_0000), // -0
        ]
    }

    /// `SummaryMetadata` naming a plugin and/or a data class.
    fn metadata() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![Just("scalars"), Just("histograms"), Just("text")],
            0u64..4,
        )
            .prop_map(|(plugin, class)| {
                let plugin_data = len_field(1, plugin.as_bytes());
                let mut m = len_field(1, &plugin_data);
                if class != 0 {
                    m.extend(varint_field(4, class));
                }
                len_field(9, &m)
            })
    }

    /// A rank-0 float or int64 tensor, or a float vector.
    fn tensor() -> impl Strategy<Value = Vec<u8>> {
        (f32_bits(), any::<i64>(), 0u8..3).prop_map(|(f, i, kind)| {
            let t = match kind {
                0 => [varint_field(1, 1), fixed32(5, f)].concat(),
                1 => [varint_field(1, 9), varint_field(10, i as u64)].concat(),
                _ => {
                    let dim = varint_field(1, 3);
                    let shape = len_field(2, &dim);
                    [varint_field(1, 1), len_field(2, &shape), fixed32(5, f)].concat()
                }
            };
            len_field(8, &t)
        })
    }

    fn histogram() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u32>(), 0..4).prop_map(|buckets| {
            let limits: Vec<u8> = buckets
                .iter()
                .flat_map(|&b| f64::from(b).to_le_bytes())
                .collect();
            let counts: Vec<u8> = buckets
                .iter()
                .flat_map(|&b| f64::from(b % 7).to_le_bytes())
                .collect();
            let h = [len_field(6, &limits), len_field(7, &counts)].concat();
            len_field(5, &h)
        })
    }

    /// A `Summary.Value` of any shape grokscope reads, or not.
    fn value() -> impl Strategy<Value = Vec<u8>> {
        (
            tag(),
            prop::option::of(f32_bits()),
            prop::option::weighted(0.15, tensor()),
            prop::option::weighted(0.1, histogram()),
            prop::option::weighted(0.15, metadata()),
            prop::option::weighted(0.1, unknown_field()),
            any::<bool>(),
        )
            .prop_flat_map(|(tag, simple, tensor, histo, meta, unknown, has_tag)| {
                let mut fields = Vec::new();
                if has_tag || simple.is_none() {
                    fields.push(len_field(1, &tag));
                }
                fields.extend(simple.map(|b| fixed32(2, b)));
                fields.extend(tensor);
                fields.extend(histo);
                fields.extend(meta);
                fields.extend(unknown);
                message(fields)
            })
            .prop_map(|v| len_field(1, &v))
    }

    /// An event: mostly the common `wall_time, step, summary{value{tag,
    /// simple_value}}` shape, often something else.
    fn event() -> impl Strategy<Value = Vec<u8>> {
        // Few distinct steps, so that events share records and steps go
        // backwards (new segments).
        let step = || prop_oneof![4 => 0i64..4, 1 => any::<i64>()];
        let common = (any::<u64>(), step(), tag(), f32_bits(), 0u8..4)
            .prop_map(|(time, step, tag, value, omit)| {
                let v = [len_field(1, &tag), fixed32(2, value)].concat();
                let summary = len_field(1, &v);
                let mut e = Vec::new();
                if omit != 1 {
                    e.extend(fixed64(1, (time % 2_000_000_000) as f64 as u64));
                }
                if omit != 2 {
                    e.extend(varint_field(2, step as u64));
                }
                e.extend(len_field(5, &summary));
                e
            })
            .boxed();
        let general = (
            prop::option::of(any::<f64>()),
            prop::option::of(step()),
            prop::option::weighted(0.1, Just(len_field(3, b"brain.Event:2"))),
            prop::option::weighted(
                0.8,
                (
                    prop::collection::vec(value(), 0..4),
                    prop::option::weighted(0.1, unknown_field()),
                ),
            ),
            prop::option::weighted(0.1, 0u64..5),
            prop::collection::vec(unknown_field(), 0..2),
            any::<bool>(),
        )
            .prop_flat_map(|(time, step, version, summary, session, unknown, twice)| {
                let mut fields = Vec::new();
                fields.extend(time.map(|t| fixed64(1, t.to_bits())));
                fields.extend(step.map(|s| varint_field(2, s as u64)));
                fields.extend(version);
                if let Some((values, extra)) = summary {
                    let mut s = values.concat();
                    s.extend(extra.unwrap_or_default());
                    fields.push(len_field(5, &s));
                }
                if let Some(status) = session {
                    fields.push(len_field(7, &varint_field(1, status)));
                }
                fields.extend(unknown);
                if twice && !fields.is_empty() {
                    fields.push(fields[0].clone()); // a repeated field: last wins
                }
                message(fields)
            });
        // The common shape with one byte changed, inserted or removed: keys,
        // lengths and ends that are almost right.
        let near_common = (
            common.clone(),
            any::<prop::sample::Index>(),
            any::<u8>(),
            0u8..3,
        )
            .prop_map(|(mut e, at, byte, how)| {
                let i = at.index(e.len());
                match how {
                    0 => e[i] = byte,
                    1 => e.insert(i, byte),
                    _ => {
                        e.remove(i);
                    }
                }
                e
            });
        prop_oneof![
            4 => common,
            4 => general,
            2 => near_common,
            1 => prop::collection::vec(any::<u8>(), 0..40), // garbage
        ]
    }

    fn record(data: &[u8], bad_crc: bool) -> Vec<u8> {
        let len = (data.len() as u64).to_le_bytes();
        let mut out = len.to_vec();
        out.extend(masked_crc32c(&len).to_le_bytes());
        out.extend_from_slice(data);
        out.extend((masked_crc32c(data) ^ u32::from(bad_crc)).to_le_bytes());
        out
    }

    /// What a reader delivered, owned: records as (line, step, time bits,
    /// scalars, vectors, notes), fed into a store the way `source` does.
    #[derive(Debug, PartialEq)]
    enum Seen {
        Rec(
            u64,
            i64,
            Option<u64>,
            Vec<(String, u64)>,
            Vec<(String, Vec<u64>)>,
            Vec<String>,
        ),
        Bad(u64, String),
        Warning(String),
    }

    fn read(path: &Path, fast_path: bool) -> (Vec<Seen>, RunStore) {
        let mut reader = TfRunReader::new(path);
        reader.fast_path = fast_path;
        let mut seen = Vec::new();
        let mut store = RunStore::new();
        let mut ids: Vec<Option<usize>> = Vec::new();
        reader
            .poll(&mut |item| match item {
                TailItem::Record { line, record } => {
                    store.push_merging(&record);
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect();
                    seen.push(Seen::Rec(
                        line,
                        record.step,
                        record.time.map(f64::to_bits),
                        record
                            .scalars
                            .0
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_bits()))
                            .collect(),
                        record
                            .vectors
                            .0
                            .iter()
                            .map(|(k, v)| (k.to_string(), bits(v)))
                            .collect(),
                        record.notes.clone(),
                    ));
                }
                TailItem::Scalar {
                    line,
                    step,
                    time,
                    key,
                    name,
                    value,
                } => {
                    // As `source` does it: the metric of a key is looked up once.
                    let key = key as usize;
                    if ids.len() <= key {
                        ids.resize(key + 1, None);
                    }
                    let id =
                        *ids[key].get_or_insert_with(|| store.metric_id_or_insert(name).unwrap());
                    assert_eq!(store.metric_names().nth(id), Some(name));
                    store.push_scalar(step, time, id, value, true);
                    seen.push(Seen::Rec(
                        line,
                        step,
                        time.map(f64::to_bits),
                        vec![(name.to_string(), value.to_bits())],
                        Vec::new(),
                        Vec::new(),
                    ));
                }
                TailItem::Malformed { line, reason } => seen.push(Seen::Bad(line, reason)),
                TailItem::Warning(w) => seen.push(Seen::Warning(w)),
                TailItem::Reset(r) => panic!("unexpected reset: {r}"),
            })
            .unwrap();
        (seen, store)
    }

    /// Everything a store holds, as bits.
    fn contents(s: &RunStore) -> Vec<String> {
        let mut out = vec![format!(
            "{} records, {} segments",
            s.records(),
            s.segment_count()
        )];
        for r in 0..s.records() {
            out.push(format!(
                "{} {:?}",
                s.record_step(r),
                s.record_time(r).map(f64::to_bits)
            ));
        }
        for name in s.metric_names() {
            let v = s.series(name).unwrap();
            let points: Vec<(usize, u64)> = (0..v.len())
                .map(|i| (v.record(i), v.value(i).to_bits()))
                .collect();
            out.push(format!("{name}: {points:?}"));
        }
        for name in s.vector_names() {
            let v = s.vector(name).unwrap();
            let all: Vec<(i64, Vec<u64>)> = (0..v.len())
                .map(|i| (v.step(i), v.get(i).iter().map(|x| x.to_bits()).collect()))
                .collect();
            out.push(format!("{name}: {all:?}"));
        }
        out.extend(s.notes().map(|(r, n)| format!("{r}: {n}")));
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The single-pass decoder of the common event and the general one
        /// deliver the same records, and build the same store, on any mix
        /// of events (tensors, histograms, metadata, session logs, several
        /// values, unknown, repeated and shuffled fields, garbage, bad CRCs).
        #[test]
        fn fast_path_and_general_decoder_agree(
            events in prop::collection::vec((event(), prop::bool::weighted(0.05)), 1..40),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("events.out.tfevents.1.test");
            let bytes: Vec<u8> = events.iter().flat_map(|(e, bad)| record(e, *bad)).collect();
            std::fs::write(&path, bytes).unwrap();
            let (fast, fast_store) = read(&path, true);
            let (general, general_store) = read(&path, false);
            prop_assert_eq!(&fast, &general);
            prop_assert_eq!(contents(&fast_store), contents(&general_store));
        }
    }

    #[test]
    fn the_common_event_takes_the_fast_path_and_others_do_not() {
        let v = [len_field(1, b"Loss/train"), fixed32(2, 0.5f32.to_bits())].concat();
        let summary = len_field(1, &v);
        let common = [
            fixed64(1, 2.5f64.to_bits()),
            varint_field(2, 7),
            len_field(5, &summary),
        ]
        .concat();
        let e = simple_scalar(&common).unwrap();
        assert_eq!(
            (e.wall_time, e.step, e.tag, e.value),
            (2.5, 7, "Loss/train", 0.5)
        );
        // Also without the defaults proto3 leaves out.
        assert!(simple_scalar(&len_field(5, &summary)).is_some());
        // A second value, metadata, or a field after the summary: general.
        let two = len_field(5, &[summary.clone(), summary.clone()].concat());
        assert!(simple_scalar(&two).is_none());
        let meta = [
            v.clone(),
            len_field(9, &len_field(1, &len_field(1, b"scalars"))),
        ]
        .concat();
        assert!(simple_scalar(&len_field(5, &len_field(1, &meta))).is_none());
        let after = [common.clone(), len_field(7, &varint_field(1, 1))].concat();
        assert!(simple_scalar(&after).is_none());
        let mut names = TagNames::new();
        assert_eq!(names.name("Loss/train"), (0, "train/loss"));
        assert_eq!(names.name("lr"), (1, "lr"));
        assert_eq!(names.name("Loss/train"), (0, "train/loss"));
        assert_eq!(names.name("lr"), (1, "lr"));
        assert_eq!(names.name("Accuracy/val"), (2, "test/acc"));
        assert_eq!(names.name("lr"), (1, "lr"));
        assert_eq!(names.tags.len(), 3);
    }

    #[test]
    fn pytorch_tags_map_onto_groups() {
        assert_eq!(metric_name("Loss/train"), "train/loss");
        assert_eq!(metric_name("Accuracy/val"), "test/acc");
        assert_eq!(metric_name("train/loss"), "train/loss");
        assert_eq!(metric_name("lr"), "lr");
        assert_eq!(metric_name("Loss/other"), "Loss/other");
    }
}
