//! Live ingest: a thread that owns the watcher's events and the run feeds,
//! reads new bytes into the stores and tells the UI that data changed.
//!
//! The UI thread only ever takes the read lock of [`SharedRuns`]; all file
//! I/O happens here. A new run is read in full *before* it is added to the
//! shared set, so a large first load never holds the lock.

use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;

use crate::analysis::{Analyzer, Event};
use crate::source::{DiscoverError, RunFeed};
use crate::watch::{WatchEvent, WatchMode, Watcher};

/// Most ingest warnings kept (oldest dropped first).
const WARNINGS_KEPT: usize = 20;

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
}

impl RunSet {
    /// Adds a run, analysing what it holds.
    pub fn push(&mut self, feed: RunFeed) {
        let mut analyzer = Analyzer::new();
        analyzer.update(&feed.store);
        self.feeds.push(feed);
        self.analyzers.push(analyzer);
    }

    /// Re-analyses run `i` if its data changed; returns whether its events did.
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
/// thread) after each burst of events that changed something. Fails at
/// once when `root` cannot be read.
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
    while let Ok(first) = rx.recv() {
        let mut any = apply(first, runs);
        // Coalesce a burst into one notification.
        while let Ok(next) = rx.try_recv() {
            any |= apply(next, runs);
        }
        if any {
            changed();
        }
    }
}

/// Applies one watcher event; returns whether anything visible changed.
fn apply(event: WatchEvent, runs: &SharedRuns) -> bool {
    match event {
        WatchEvent::NewRun(source) => {
            if runs.read().feeds.iter().any(|f| f.source.log == source.log) {
                return false;
            }
            let mut feed = RunFeed::new(source);
            let _ = feed.poll(); // errors are kept in feed.health
            runs.write().push(feed);
            true
        }
        WatchEvent::Changed(log) => {
            let mut set = runs.write();
            match set.feeds.iter().position(|f| f.source.log == log) {
                Some(i) => {
                    let feed = &mut set.feeds[i];
                    let before = (feed.health.clone(), feed.store.records());
                    let _ = feed.poll();
                    let changed = before != (feed.health.clone(), feed.store.records());
                    set.reanalyse(i) || changed
                }
                None => false,
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    #[test]
    fn appended_records_reach_the_shared_store() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("metrics.jsonl");
        std::fs::write(&log, "{\"step\": 1, \"scalars\": {\"train/loss\": 1}}\n").unwrap();
        let runs = SharedRuns::default();
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let _ingest = spawn_ingest(
            dir.path(),
            WatchMode::Poll(Duration::from_millis(5)),
            runs.clone(),
            move || {
                c.fetch_add(1, Ordering::SeqCst);
            },
        )
        .unwrap();
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        writeln!(f, "{{\"step\": 2, \"scalars\": {{\"train/loss\": 0.5}}}}").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while runs.read().feeds.first().map(|f| f.store.records()) != Some(2) {
            assert!(Instant::now() < deadline, "record never arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(count.load(Ordering::SeqCst) >= 1);
    }
}
