//! Where runs live on disk, and a run being read into its store.
//!
//! A run is a folder holding `metrics.jsonl` (and optionally `meta.json`),
//! or a bare `*.jsonl` file; or, from TensorBoard, a folder holding
//! `*tfevents*` files, or one such file. A folder that is none of these
//! holds runs: every run below it (to [`MAX_DEPTH`] levels) is found, each
//! real folder visited once however many symbolic links lead to it.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::import::tfevents::{event_files, is_event_file, TfRunReader};
use crate::run::{
    PartialLine, PollStats, ResetReason, RunMeta, TailItem, TailReader, META_FILE, METRICS_FILE,
};
use crate::store::{MetricId, RunStore};

/// How deep [`discover`] looks below a folder of runs.
pub const MAX_DEPTH: usize = 4;

/// How many malformed line numbers a run remembers (the count is exact).
pub const MALFORMED_LINES_KEPT: usize = 1000;

/// How many skipped maps are described in the warnings (the count is exact).
pub const SKIPPED_MAPS_DESCRIBED: u64 = 3;

/// What kind of log a run has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// grokscope's JSONL format (docs/FORMAT.md).
    Jsonl,
    /// TensorBoard event files.
    TfEvents,
}

/// A run's location.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSource {
    /// Display name: `meta.json`'s name, else the folder or file name.
    pub name: String,
    /// The run folder, or the `.jsonl` file of a bare run.
    pub path: PathBuf,
    /// The log: `metrics.jsonl`, a `.jsonl` file, a folder of event files or
    /// one event file. Watch events name this path.
    pub log: PathBuf,
    /// The log's kind.
    pub kind: RunKind,
    /// `meta.json`, if the run has a readable one.
    pub meta: Option<RunMeta>,
    /// Why `meta.json` could not be read, if it exists but is broken.
    pub meta_error: Option<String>,
}

impl RunSource {
    /// The run at `path` (a run folder or a `.jsonl` file), if it is one.
    pub fn at(path: &Path) -> Option<RunSource> {
        // A run folder's own log names the folder's run.
        if path.file_name().is_some_and(|n| n == METRICS_FILE) && is_log_entry(path) {
            if let Some(run) = path.parent().and_then(RunSource::at) {
                return Some(run);
            }
        }
        if path.is_dir() {
            let log = path.join(METRICS_FILE);
            if !is_log_entry(&log) {
                return RunSource::tfevents_dir(path);
            }
            // A dangling link named meta.json is reported too.
            let (meta, meta_error) = if fs::symlink_metadata(path.join(META_FILE)).is_ok() {
                match RunMeta::read(path) {
                    Ok(m) => (Some(m), None),
                    Err(e) => (None, Some(e.to_string())),
                }
            } else {
                (None, None)
            };
            let name = meta
                .as_ref()
                .map(|m| m.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| file_name(path));
            Some(RunSource {
                name,
                path: path.to_path_buf(),
                log,
                kind: RunKind::Jsonl,
                meta,
                meta_error,
            })
        } else if is_jsonl(path) {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| file_name(path));
            Some(RunSource {
                name,
                path: path.to_path_buf(),
                log: path.to_path_buf(),
                kind: RunKind::Jsonl,
                meta: None,
                meta_error: None,
            })
        } else if is_event_file(path) && is_log_entry(path) {
            // A file TensorBoard named (`events.out.tfevents.<time>.<host>`)
            // is named after its folder, as TensorBoard names the run; a
            // file someone named keeps that name.
            let generated = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("events.out.tfevents"));
            let folder = || {
                path.parent()
                    .map(|d| {
                        if d.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            d
                        }
                    })
                    .and_then(|d| d.canonicalize().ok())
                    .map(|d| file_name(&d))
            };
            let name = generated
                .then(folder)
                .flatten()
                .unwrap_or_else(|| file_name(path));
            Some(RunSource::tfevents(path, name))
        } else {
            None
        }
    }

    /// The TensorBoard run in folder `dir`, if it holds event files.
    fn tfevents_dir(dir: &Path) -> Option<RunSource> {
        if event_files(dir).is_empty() {
            return None;
        }
        Some(RunSource::tfevents(dir, file_name(dir)))
    }

    fn tfevents(path: &Path, name: String) -> RunSource {
        RunSource {
            name,
            path: path.to_path_buf(),
            log: path.to_path_buf(),
            kind: RunKind::TfEvents,
            meta: None,
            meta_error: None,
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Whether `path` names a JSONL log file.
pub fn is_jsonl(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "jsonl") && is_log_entry(path)
}

/// Whether `path` exists and is not a folder: a log, or something named
/// like one (a FIFO, a device) that reading will refuse with a clear
/// message rather than let vanish from the list.
fn is_log_entry(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| !m.is_dir())
}

/// What makes two paths the same file or folder.
#[cfg(unix)]
type Identity = (u64, u64);
#[cfg(not(unix))]
type Identity = PathBuf;

#[cfg(unix)]
fn identity(path: &Path) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(path: &Path) -> Option<Identity> {
    fs::canonicalize(path).ok()
}

/// Why a path holds no runs.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The path does not exist or cannot be read.
    #[error("{path}: {error}")]
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// What the OS said.
        error: io::Error,
    },
    /// A file that is not a `.jsonl` log or an event file.
    #[error("{0}: not a run (expected a folder with {METRICS_FILE}, a .jsonl file, TensorBoard event files, or a folder of runs)")]
    NotARun(PathBuf),
}

/// Every run at or below `path`, sorted by path. An existing folder with no
/// runs yet gives an empty list (a watcher waits for them to appear).
pub fn discover(path: &Path) -> Result<Vec<RunSource>, DiscoverError> {
    let meta = fs::metadata(path).map_err(|error| DiscoverError::Unreadable {
        path: path.to_path_buf(),
        error,
    })?;
    if !meta.is_dir() {
        return RunSource::at(path)
            .map(|r| vec![r])
            .ok_or_else(|| DiscoverError::NotARun(path.to_path_buf()));
    }
    let mut out = Vec::new();
    let mut parent = None;
    if let Some(run) = RunSource::at(path) {
        let tensorboard = run.kind == RunKind::TfEvents;
        parent = tensorboard.then(|| run.name.clone());
        out.push(run);
        if !tensorboard {
            return Ok(out);
        }
    }
    fs::read_dir(path).map_err(|error| DiscoverError::Unreadable {
        path: path.to_path_buf(),
        error,
    })?;
    let mut seen = HashSet::new();
    seen.extend(identity(path));
    collect(path, 0, parent.as_deref(), &mut out, &mut seen);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Adds the runs below `dir` to `out`; `parent` is the name of the
/// TensorBoard run `dir` is, if it is one: runs inside it (`add_scalars`
/// sub-folders) are named `parent/child`, as TensorBoard names them.
/// `seen` holds every folder visited and every run found, so that a
/// symbolic link to a folder already seen (a loop such as `ln -s . again`,
/// or a second name for a run) adds nothing.
fn collect(
    dir: &Path,
    depth: usize,
    parent: Option<&str>,
    out: &mut Vec<RunSource>,
    seen: &mut HashSet<Identity>,
) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    // In name order, so that of two names for one run the same is kept
    // every time.
    let mut entries: Vec<fs::DirEntry> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let p = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if is_event_file(&p) {
            continue; // Part of the folder's own TensorBoard run.
        }
        let Some(id) = identity(&p) else {
            continue; // Vanished, or a dangling link.
        };
        if !seen.insert(id) {
            continue;
        }
        let mut run = RunSource::at(&p);
        // TensorBoard log folders nest runs (SummaryWriter.add_scalars
        // writes one sub-folder per series), so look inside those too.
        let descend = run.as_ref().is_none_or(|r| r.kind == RunKind::TfEvents);
        let mut name = None;
        if let Some(run) = run.as_mut() {
            if let (Some(parent), RunKind::TfEvents) = (parent, run.kind) {
                run.name = format!("{parent}/{}", run.name);
            }
            if run.kind == RunKind::TfEvents {
                name = Some(run.name.clone());
            }
        }
        if let Some(run) = run {
            out.push(run);
        }
        if descend && depth < MAX_DEPTH && p.is_dir() {
            // A plain folder passes its TensorBoard parent's name on.
            let inner = name.as_deref().or(parent).map(|n| match &name {
                Some(_) => n.to_string(),
                None => format!("{n}/{}", file_name(&p)),
            });
            collect(&p, depth + 1, inner.as_deref(), out, seen);
        }
    }
}

/// What went wrong or was odd while reading a run, for the status line and
/// `summary`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestHealth {
    /// Records read.
    pub records: u64,
    /// Malformed lines skipped.
    pub malformed: u64,
    /// Line numbers of the first [`MALFORMED_LINES_KEPT`] malformed lines.
    pub malformed_lines: Vec<u64>,
    /// The first malformed line and why.
    pub first_malformed: Option<(u64, String)>,
    /// Every time the log was read again from the start, and why.
    pub resets: Vec<String>,
    /// Other warnings (an event file given up because of a corrupt length).
    pub warnings: Vec<String>,
    /// The last read error (the file vanished, permission denied, ...).
    pub read_error: Option<String>,
    /// Bytes of an incomplete last line held back.
    pub pending_bytes: usize,
    /// A last line without its newline that is not a complete record, as
    /// a one-off read of a run ([`RunFeed::load`]) found it: a writer may
    /// still be writing it, or have crashed mid-line.
    pub partial_last_line: Option<PartialLine>,
    /// Maps skipped because they were malformed (their records were kept;
    /// the first [`SKIPPED_MAPS_DESCRIBED`] are described in `warnings`).
    pub skipped_maps: u64,
    /// Modification time of the log at the last poll.
    pub last_write: Option<SystemTime>,
}

impl IngestHealth {
    fn malformed(&mut self, line: u64, reason: String) {
        self.malformed += 1;
        if self.malformed_lines.len() < MALFORMED_LINES_KEPT {
            self.malformed_lines.push(line);
        }
        if self.first_malformed.is_none() {
            self.first_malformed = Some((line, reason));
        }
    }

    fn maps(&mut self, line: u64, maps: &crate::run::map::MapList<'_>) {
        for (name, map) in &maps.0 {
            if let Err(e) = map {
                self.skipped_maps += 1;
                if self.skipped_maps <= SKIPPED_MAPS_DESCRIBED {
                    self.warnings
                        .push(format!("line {line}: map {name} skipped: {e}"));
                }
            }
        }
    }

    fn reset(&mut self, why: &ResetReason) {
        self.resets.push(why.to_string());
        self.records = 0;
        self.malformed = 0;
        self.malformed_lines.clear();
        self.first_malformed = None;
        self.partial_last_line = None;
    }
}

/// The reader of one kind of log.
#[derive(Debug)]
enum Reader {
    Jsonl(TailReader),
    TfEvents(TfRunReader),
}

impl Reader {
    /// One poll of at most `max_bytes` (JSONL; an event-file reader reads
    /// all it can).
    fn poll(
        &mut self,
        sink: &mut impl FnMut(TailItem<'_>),
        max_bytes: u64,
    ) -> io::Result<PollStats> {
        match self {
            Reader::Jsonl(r) => r.poll_limited(sink, max_bytes),
            Reader::TfEvents(r) => r.poll(sink),
        }
    }

    fn pending_bytes(&self) -> usize {
        match self {
            Reader::Jsonl(r) => r.pending_bytes(),
            Reader::TfEvents(r) => r.pending_bytes(),
        }
    }
}

/// A run being read: its reader, its store and what the reading found.
#[derive(Debug)]
pub struct RunFeed {
    /// Where the run lives.
    pub source: RunSource,
    /// Its data.
    pub store: RunStore,
    /// Ingest warnings and counts.
    pub health: IngestHealth,
    reader: Reader,
    /// The store's metric of each [`TailItem::Scalar`] key seen.
    scalar_ids: Vec<Option<MetricId>>,
}

impl RunFeed {
    /// A feed of `source`, nothing read yet.
    pub fn new(source: RunSource) -> RunFeed {
        let reader = match source.kind {
            RunKind::Jsonl => Reader::Jsonl(TailReader::new(&source.log)),
            RunKind::TfEvents => Reader::TfEvents(TfRunReader::new(&source.log)),
        };
        RunFeed {
            reader,
            source,
            store: RunStore::new(),
            health: IngestHealth::default(),
            scalar_ids: Vec::new(),
        }
    }

    /// Reads what was appended since the last call into the store. On error
    /// the store keeps what it had and the error is also kept in `health`.
    pub fn poll(&mut self) -> io::Result<PollStats> {
        self.poll_bounded(u64::MAX)
    }

    /// Like [`RunFeed::poll`], but reads at most about `max_bytes` of the log;
    /// the flag says whether more is left to read (poll again). A caller that
    /// shares the store behind a lock can so release it between slices of a
    /// large first load or re-read. TensorBoard runs are read in one whole
    /// poll regardless of the budget (their framing reader has no budget), so
    /// the flag is always `false` for them.
    pub fn poll_some(&mut self, max_bytes: u64) -> io::Result<(PollStats, bool)> {
        self.poll_bounded(max_bytes).map(|s| {
            let more = s.more;
            (s, more)
        })
    }

    fn poll_bounded(&mut self, max_bytes: u64) -> io::Result<PollStats> {
        let RunFeed {
            reader,
            store,
            health,
            source,
            scalar_ids,
        } = self;
        // TensorBoard writes one event per tag; events of one step share a
        // record, which keeps memory per point low.
        let merge = source.kind == RunKind::TfEvents;
        let mut ingest = Ingest {
            store,
            health,
            scalar_ids,
            merge,
        };
        let result = reader.poll(&mut |item| ingest.item(item), max_bytes);
        match &result {
            Ok(_) => health.read_error = None,
            Err(e) => health.read_error = Some(e.to_string()),
        }
        health.pending_bytes = reader.pending_bytes();
        health.last_write = last_write(&source.log);
        result
    }

    /// For a finished run: also reads a last line that lacks its newline.
    pub fn finish(&mut self) {
        let RunFeed {
            reader,
            store,
            health,
            scalar_ids,
            ..
        } = self;
        if let Reader::Jsonl(r) = reader {
            let mut ingest = Ingest {
                store,
                health,
                scalar_ids,
                merge: false,
            };
            let partial = r.finish(&mut |item| ingest.item(item));
            health.partial_last_line = partial;
        }
        health.pending_bytes = reader.pending_bytes();
    }

    /// Reads the whole run once, as `summary` and `export` do.
    pub fn load(source: RunSource) -> io::Result<RunFeed> {
        let mut feed = RunFeed::new(source);
        feed.poll()?;
        feed.finish();
        feed.store.shrink_to_fit();
        Ok(feed)
    }

    /// Reads the whole run once like [`RunFeed::load`], but a read error
    /// is kept in the feed's `health.read_error` instead of returned, with
    /// whatever was read before it: for reports over many runs, where one
    /// unreadable run must not hide the others.
    pub fn load_or_report(source: RunSource) -> RunFeed {
        let mut feed = RunFeed::new(source);
        if feed.poll().is_ok() {
            feed.finish();
        }
        feed.store.shrink_to_fit();
        feed
    }
}

/// Newest modification time of a log (of any event file, for a folder).
fn last_write(log: &Path) -> Option<SystemTime> {
    if log.is_dir() {
        event_files(log)
            .iter()
            .filter_map(|p| fs::metadata(p).and_then(|m| m.modified()).ok())
            .max()
    } else {
        fs::metadata(log).and_then(|m| m.modified()).ok()
    }
}

/// Where a reader's items go.
struct Ingest<'a> {
    store: &'a mut RunStore,
    health: &'a mut IngestHealth,
    scalar_ids: &'a mut Vec<Option<MetricId>>,
    /// Whether records of the same step are merged (TensorBoard).
    merge: bool,
}

impl Ingest<'_> {
    #[inline]
    fn item(&mut self, item: TailItem<'_>) {
        match item {
            TailItem::Scalar {
                step,
                time,
                key,
                name,
                value,
                ..
            } => {
                self.health.records += 1;
                let id = match self.scalar_ids.get(key as usize) {
                    Some(&Some(id)) => Some(id),
                    _ => self.scalar_id(key, name),
                };
                // A name over a limit is counted by the store, not kept.
                if let Some(id) = id {
                    self.store.push_scalar(step, time, id, value, self.merge);
                }
            }
            TailItem::Record { record, line } => {
                self.health.records += 1;
                if !record.maps.0.is_empty() {
                    self.health.maps(line, &record.maps);
                }
                if self.merge {
                    self.store.push_merging(&record);
                } else {
                    self.store.push(&record);
                }
            }
            TailItem::Malformed { line, reason } => self.health.malformed(line, reason),
            TailItem::Reset(why) => {
                self.health.reset(&why);
                self.store.clear();
                self.scalar_ids.clear();
            }
            TailItem::Warning(w) => self.health.warnings.push(w),
        }
    }

    #[cold]
    fn scalar_id(&mut self, key: u32, name: &str) -> Option<MetricId> {
        let id = self.store.metric_id_or_insert(name)?;
        let key = key as usize;
        if self.scalar_ids.len() <= key {
            self.scalar_ids.resize(key + 1, None);
        }
        self.scalar_ids[key] = Some(id);
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_folders_files_and_nested_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        fs::create_dir_all(root.join("a")).unwrap();
        fs::write(root.join("a/metrics.jsonl"), "").unwrap();
        fs::write(
            root.join("a/meta.json"),
            r#"{"schema": 1, "name": "alpha"}"#,
        )
        .unwrap();
        fs::create_dir_all(root.join("group/b")).unwrap();
        fs::write(root.join("group/b/metrics.jsonl"), "").unwrap();
        fs::write(root.join("c.jsonl"), "").unwrap();
        fs::write(root.join("notes.txt"), "").unwrap();
        fs::create_dir_all(root.join(".hidden/d")).unwrap();
        fs::write(root.join(".hidden/d/metrics.jsonl"), "").unwrap();
        let names: Vec<_> = discover(root)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, vec!["alpha", "c", "b"]);
        assert_eq!(discover(&root.join("a")).unwrap().len(), 1);
        assert!(matches!(
            discover(&root.join("notes.txt")),
            Err(DiscoverError::NotARun(_))
        ));
        assert!(matches!(
            discover(&root.join("missing")),
            Err(DiscoverError::Unreadable { .. })
        ));
    }

    #[test]
    fn broken_meta_is_reported_not_fatal() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("metrics.jsonl"), "").unwrap();
        fs::write(tmp.path().join("meta.json"), "{oops").unwrap();
        let run = RunSource::at(tmp.path()).unwrap();
        assert!(run.meta.is_none());
        assert!(run.meta_error.unwrap().contains("meta.json"));
    }
}
