//! Live ingest: a thread that owns the watcher's events and the run feeds,
//! reads new bytes into the stores and tells the UI that data changed.
//!
//! The UI thread only ever takes the read lock of [`SharedRuns`]; all file
//! I/O happens here, and the write lock is only ever held briefly:
//!
//! * Logs are read in slices of at most [`INGEST_SLICE`] bytes, the write
//!   lock released between slices, so a large first load or a re-read after
//!   a truncation never freezes the screen: it shows the run growing.
//! * The UI is told about new data as soon as the store holds it, before
//!   any analysis: a re-analysis never delays the new values on screen
//!   (the UI is told again when the analysis changed a run's events).
//! * Analysis ([`crate::analysis`]) runs holding only the read lock (this
//!   thread is the only writer, so the store cannot change meanwhile); the
//!   write lock is taken just to store its result. It is throttled per run
//!   ([`Analyzer::due`]): at most once per max(500 ms, 4× its last cost)
//!   while data keeps arriving, at once for a new or shrunk run, and a
//!   pending analysis still runs when data stops arriving (the loop wakes
//!   when the next one is due; with nothing stale it sleeps until an event).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::analysis::{Analyzer, Event, RunContext, Verdict};
use crate::source::{DiscoverError, RunFeed};
use crate::tui::run_state::Activity;
use crate::watch::{WatchEvent, WatchMode, Watcher};

/// Most ingest warnings kept (oldest dropped first).
const WARNINGS_KEPT: usize = 20;

/// Most bytes of a log read while holding the write lock (about 20 ms of
/// parsing).
pub const INGEST_SLICE: u64 = 8 << 20;

/// Pause between two slices of one read, so that a UI thread woken when the
/// write lock was released gets the read lock before it is taken again
/// (std's lock would otherwise let this thread re-take it first).
const SLICE_PAUSE: Duration = Duration::from_millis(1);

/// Every run the dashboard shows, in the order they appeared.
#[derive(Debug, Default)]
pub struct RunSet {
    /// The runs.
    pub feeds: Vec<RunFeed>,
    /// Warnings of the watcher (notify unavailable, ...), newest last.
    pub warnings: Vec<String>,
    /// What analysis found in each run (same order as `feeds`), kept up to
    /// date by the ingest thread.
    analyzers: Vec<Analyzer>,
    /// What was seen of each run's writes (same order as `feeds`).
    activity: Vec<Activity>,
    /// The feed of each log path: a watched folder may hold thousands of
    /// runs, and every event names one.
    by_log: HashMap<PathBuf, usize>,
}

impl RunSet {
    /// Adds a run, analysing what it holds.
    pub fn push(&mut self, feed: RunFeed) {
        let mut analyzer = Analyzer::with_context(RunContext::of(feed.source.meta.as_ref()));
        analyzer.update(&feed.store);
        self.push_analysed(feed, analyzer);
    }

    /// Adds a run with its analyzer (analysed before the lock was taken).
    fn push_analysed(&mut self, feed: RunFeed, analyzer: Analyzer) {
        let mut activity = Activity::default();
        activity.observe(&feed, std::time::SystemTime::now());
        self.by_log
            .insert(feed.source.log.clone(), self.feeds.len());
        self.feeds.push(feed);
        self.analyzers.push(analyzer);
        self.activity.push(activity);
    }

    /// What was seen of run `i`'s writes (nothing, for an unknown run).
    pub fn activity(&self, i: usize) -> Activity {
        self.activity.get(i).cloned().unwrap_or_default()
    }

    /// Takes note of run `i` after a read, at local time `now`.
    pub fn observe(&mut self, i: usize, now: std::time::SystemTime) {
        if let (Some(a), Some(feed)) = (self.activity.get_mut(i), self.feeds.get(i)) {
            a.observe(feed, now);
        }
    }

    /// The run whose log is at `log`.
    pub fn position(&self, log: &Path) -> Option<usize> {
        self.by_log
            .get(log)
            .copied()
            .filter(|&i| self.feeds.get(i).is_some_and(|f| f.source.log == log))
    }

    /// Re-analyses run `i` if its data changed, unthrottled; returns
    /// whether its events did.
    pub fn reanalyse(&mut self, i: usize) -> bool {
        match (self.analyzers.get_mut(i), self.feeds.get(i)) {
            (Some(a), Some(feed)) => a.update(&feed.store),
            _ => false,
        }
    }

    /// The events detected in run `i` (empty for an unknown run).
    pub fn events(&self, i: usize) -> &[Event] {
        self.analyzers.get(i).map_or(&[], |a| a.events())
    }

    /// The verdict on run `i` (`None` for an unknown run).
    pub fn verdict(&self, i: usize) -> Option<&Verdict> {
        self.analyzers.get(i).map(|a| a.verdict())
    }

    /// Whether run `i`'s events are out of date (a throttled analysis is
    /// pending).
    pub fn is_stale(&self, i: usize) -> bool {
        match (self.analyzers.get(i), self.feeds.get(i)) {
            (Some(a), Some(feed)) => a.is_stale(&feed.store),
            _ => false,
        }
    }

    /// When the earliest pending analysis is due; `None` when none is.
    fn next_analysis(&self) -> Option<Instant> {
        self.analyzers
            .iter()
            .zip(&self.feeds)
            .filter_map(|(a, f)| a.due_at(&f.store))
            .min()
    }
}

/// The run set shared between the ingest thread (writer) and the UI (reader).
#[derive(Debug, Clone, Default)]
pub struct SharedRuns(Arc<RwLock<RunSet>>);

impl SharedRuns {
    /// Shares `set`.
    pub fn new(set: RunSet) -> SharedRuns {
        SharedRuns(Arc::new(RwLock::new(set)))
    }

    /// Shares already loaded feeds (fixtures, benchmarks, replay).
    pub fn from_feeds(feeds: Vec<RunFeed>) -> SharedRuns {
        let mut set = RunSet::default();
        feeds.into_iter().for_each(|f| set.push(f));
        SharedRuns::new(set)
    }

    /// Read access; a poisoned lock (the ingest thread panicked) still reads.
    pub fn read(&self) -> RwLockReadGuard<'_, RunSet> {
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access, for the ingest side (and tests that fake it).
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, RunSet> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The watcher and the ingest thread; dropping this stops both.
#[derive(Debug)]
pub struct Ingest {
    watcher: Option<Watcher>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Ingest {
    fn drop(&mut self) {
        // Dropping the watcher closes the event channel, which ends the thread.
        self.watcher.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts watching `root` into `runs`; `changed` is called (on the ingest
/// thread) after each burst of events that changed something, between the
/// slices of a large read, and when a pending analysis changed a run's
/// events. Fails at once when `root` cannot be read.
pub fn spawn_ingest(
    root: &Path,
    mode: WatchMode,
    runs: SharedRuns,
    changed: impl Fn() + Send + 'static,
) -> Result<Ingest, DiscoverError> {
    let (tx, rx) = mpsc::channel();
    let watcher = Watcher::spawn(root, mode, tx)?;
    let thread = std::thread::Builder::new()
        .name("grokscope-ingest".into())
        .spawn(move || ingest_loop(&rx, &runs, &changed))
        .expect("spawn ingest thread");
    Ok(Ingest {
        watcher: Some(watcher),
        thread: Some(thread),
    })
}

fn ingest_loop(rx: &Receiver<WatchEvent>, runs: &SharedRuns, changed: &dyn Fn()) {
    loop {
        // Sleep until the next event, or until a pending analysis is due.
        let due = runs.read().next_analysis();
        let first = match due {
            None => match rx.recv() {
                Ok(e) => Some(e),
                Err(_) => return,
            },
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(e) => Some(e),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
        };
        let mut any = false;
        if let Some(first) = first {
            any |= apply(first, runs, changed, INGEST_SLICE);
            // Coalesce a burst into one notification.
            while let Ok(next) = rx.try_recv() {
                any |= apply(next, runs, changed, INGEST_SLICE);
            }
        }
        // The new data goes to the screen first; a due analysis runs after,
        // and the screen is told again only if it changed the events.
        if any {
            changed();
        }
        if analyse_due(runs) {
            changed();
        }
    }
}

/// Applies one watcher event, reading at most `slice` bytes per hold of the
/// write lock; returns whether anything visible changed. `progress` is
/// called between the slices of a large read.
fn apply(event: WatchEvent, runs: &SharedRuns, progress: &dyn Fn(), slice: u64) -> bool {
    match event {
        WatchEvent::NewRun(source) => {
            if runs.read().position(&source.log).is_some() {
                return false;
            }
            // The first slice and its analysis happen before the run is
            // shared, without any lock.
            let mut feed = RunFeed::new(source);
            let more = feed.poll_some(slice).is_ok_and(|(_, more)| more); // errors are kept in feed.health
            let mut analyzer = Analyzer::with_context(RunContext::of(feed.source.meta.as_ref()));
            analyzer.update(&feed.store);
            let i = {
                let mut set = runs.write();
                set.push_analysed(feed, analyzer);
                set.feeds.len() - 1
            };
            if more {
                progress();
                std::thread::sleep(SLICE_PAUSE);
                read_run(runs, i, progress, slice);
            }
            true
        }
        WatchEvent::Changed(log) => {
            let i = runs.read().position(&log);
            i.is_some_and(|i| read_run(runs, i, progress, slice))
        }
        WatchEvent::Warning(w) => {
            let mut set = runs.write();
            set.warnings.push(w);
            if set.warnings.len() > WARNINGS_KEPT {
                set.warnings.remove(0);
            }
            true
        }
    }
}

/// Reads what was appended to run `i`, `slice` bytes per hold of the write
/// lock; between slices the UI may read (and is told to redraw) and a due
/// analysis runs. Returns whether the run's data or health changed.
fn read_run(runs: &SharedRuns, i: usize, progress: &dyn Fn(), slice: u64) -> bool {
    let mut any = false;
    loop {
        let more = {
            let mut set = runs.write();
            let feed = &mut set.feeds[i];
            let before = (feed.health.clone(), feed.store.records());
            let more = feed.poll_some(slice).is_ok_and(|(_, more)| more); // errors are kept in feed.health
            any |= before != (feed.health.clone(), feed.store.records());
            set.observe(i, std::time::SystemTime::now());
            more
        };
        if !more {
            return any;
        }
        progress();
        analyse_one(runs, i);
        std::thread::sleep(SLICE_PAUSE);
    }
}

/// Analyses every run whose analysis is due; returns whether any run's
/// events changed.
fn analyse_due(runs: &SharedRuns) -> bool {
    let n = runs.read().feeds.len();
    let mut any = false;
    for i in 0..n {
        any |= analyse_one(runs, i);
    }
    any
}

/// Analyses run `i` if due: the analysis holds only the read lock, the
/// write lock is taken to store the result. Returns whether its events
/// changed.
fn analyse_one(runs: &SharedRuns, i: usize) -> bool {
    let analysis = {
        let set = runs.read();
        let (Some(a), Some(feed)) = (set.analyzers.get(i), set.feeds.get(i)) else {
            return false;
        };
        if !a.due(&feed.store, Instant::now()) {
            return false;
        }
        a.compute(&feed.store)
    };
    // This thread is the only writer: the store is still what was analysed.
    runs.write().analyzers[i].accept(analysis, Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    /// Ingest of `dir` polled every 5 ms, with a count of `changed` calls.
    fn ingest_counting(dir: &Path) -> (SharedRuns, Arc<AtomicUsize>, Ingest) {
        let runs = SharedRuns::default();
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let ingest = spawn_ingest(
            dir,
            WatchMode::Poll(Duration::from_millis(5)),
            runs.clone(),
            move || {
                c.fetch_add(1, Ordering::SeqCst);
            },
        )
        .unwrap();
        (runs, count, ingest)
    }

    #[test]
    fn appended_records_reach_the_shared_store() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("metrics.jsonl");
        std::fs::write(&log, "{\"step\": 1, \"scalars\": {\"train/loss\": 1}}\n").unwrap();
        let (runs, count, _ingest) = ingest_counting(dir.path());
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        writeln!(f, "{{\"step\": 2, \"scalars\": {{\"train/loss\": 0.5}}}}").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs.read().feeds.first().map(|f| f.store.records()) != Some(2) {
            assert!(Instant::now() < deadline, "record never arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(count.load(Ordering::SeqCst) >= 1);
    }

    /// `records` JSONL lines of four scalars each (about 150 bytes a line).
    fn jsonl(records: usize, scale: f64) -> String {
        let mut s = String::with_capacity(records * 160);
        for step in 0..records {
            let v = scale / (step as f64 + 1.0);
            s.push_str(&format!(
                "{{\"step\": {step}, \"time\": 1700000000.{step:06}, \"scalars\": {{\"train/loss\": {v}, \"test/loss\": {v}, \"train/acc\": 0.{step:06}, \"test/acc\": 0.{step:06}}}}}\n"
            ));
        }
        s
    }

    #[test]
    fn a_big_reread_releases_the_read_lock_between_slices() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("metrics.jsonl");
        std::fs::write(&log, jsonl(220_000, 1.0)).unwrap();
        let source = crate::source::RunSource::at(dir.path()).unwrap();
        let mut feed = RunFeed::new(source);
        feed.poll().unwrap();
        let runs = SharedRuns::from_feeds(vec![feed]);
        // Truncated and rewritten: shorter, so the reader starts over.
        let rewritten = jsonl(200_000, 2.0);
        let bytes = rewritten.len() as u64;
        assert!(bytes > 30 << 20, "{bytes}");
        std::fs::write(&log, rewritten).unwrap();

        // A UI-like reader takes the read lock over and over meanwhile.
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (runs, done) = (runs.clone(), done.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let mut longest = Duration::ZERO;
                while !done.load(Ordering::SeqCst) {
                    let t = Instant::now();
                    let set = runs.read();
                    longest = longest.max(t.elapsed());
                    seen.push(set.feeds[0].store.records());
                    drop(set);
                    std::thread::sleep(Duration::from_micros(200));
                }
                (longest, seen)
            })
        };
        let slice = 1 << 20;
        let releases = AtomicUsize::new(0);
        let t = Instant::now();
        let changed = apply(
            WatchEvent::Changed(log.clone()),
            &runs,
            &|| {
                releases.fetch_add(1, Ordering::SeqCst);
            },
            slice,
        );
        let whole = t.elapsed();
        done.store(true, Ordering::SeqCst);
        let (longest, seen) = reader.join().unwrap();
        assert!(changed);
        {
            let set = runs.read();
            assert_eq!(set.feeds[0].store.records(), 200_000);
            assert_eq!(set.feeds[0].health.resets.len(), 1);
            assert_eq!(
                set.feeds[0].store.series("train/loss").unwrap().value(0),
                2.0
            );
        }
        // The lock was released after every slice ...
        let slices = bytes.div_ceil(slice) as usize;
        assert!(
            releases.load(Ordering::SeqCst) + 1 >= slices,
            "{} releases for {slices} slices",
            releases.load(Ordering::SeqCst)
        );
        // ... the reader saw the run grow back progressively ...
        let mut partial: Vec<usize> = seen
            .iter()
            .copied()
            .filter(|&n| n > 0 && n < 200_000)
            .collect();
        partial.dedup();
        assert!(partial.len() >= 3, "saw only {partial:?}");
        // ... and never waited for more than a small part of the re-read.
        assert!(
            longest * 4 < whole,
            "longest read-lock wait {longest:?} of a {whole:?} re-read"
        );
    }

    #[test]
    fn a_throttled_analysis_still_runs_when_data_stops() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("metrics.jsonl");
        std::fs::write(&log, jsonl(50, 1.0)).unwrap();
        let (runs, count, _ingest) = ingest_counting(dir.path());
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs.read().feeds.first().map(|f| f.store.records()) != Some(50) {
            assert!(Instant::now() < deadline, "run never loaded");
            std::thread::sleep(Duration::from_millis(1));
        }
        // Just analysed: this change arrives before the next analysis is
        // due, and nothing follows it.
        let appended = Instant::now();
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        writeln!(
            f,
            "{{\"step\": 50, \"scalars\": {{\"train/loss\": \"NaN\"}}}}"
        )
        .unwrap();
        drop(f);
        let non_finite = |runs: &SharedRuns| {
            let set = runs.read();
            set.events(0)
                .iter()
                .any(|e| e.kind == crate::analysis::EventKind::NonFinite)
        };
        while !non_finite(&runs) {
            assert!(Instant::now() < deadline, "the pending analysis never ran");
            std::thread::sleep(Duration::from_millis(5));
        }
        let took = appended.elapsed();
        assert!(!runs.read().is_stale(0));
        assert_eq!(runs.read().feeds[0].store.records(), 51);
        let notified = count.load(Ordering::SeqCst);
        assert!(notified >= 2, "{notified}");
        // Throttled, but not for longer than the interval (and some slack).
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
}
