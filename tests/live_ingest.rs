//! The live path end to end, without a terminal: a watcher on a folder, feeds
//! polled on its events, and a log that grows, gets truncated and replaced.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use grokscope::run::{Record, RunMeta, RunWriter};
use grokscope::source::RunFeed;
use grokscope::watch::{WatchEvent, WatchMode, Watcher};

/// Feeds keyed by log path, updated from watcher events like the dashboard's
/// ingest thread does.
struct Live {
    rx: Receiver<WatchEvent>,
    feeds: HashMap<PathBuf, RunFeed>,
    _watcher: Watcher,
}

impl Live {
    fn start(root: &Path, mode: WatchMode) -> Live {
        let (tx, rx) = mpsc::channel();
        let watcher = Watcher::spawn(root, mode, tx).unwrap();
        Live {
            rx,
            feeds: HashMap::new(),
            _watcher: watcher,
        }
    }

    /// Handles events until `done` holds, or fails after 10 s.
    fn until(&mut self, what: &str, done: impl Fn(&HashMap<PathBuf, RunFeed>) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&self.feeds) {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("timed out waiting for: {what}"));
            match self.rx.recv_timeout(left) {
                Ok(WatchEvent::NewRun(source)) => {
                    let log = source.log.clone();
                    let mut feed = RunFeed::new(source);
                    let _ = feed.poll();
                    self.feeds.insert(log, feed);
                }
                Ok(WatchEvent::Changed(log)) => {
                    if let Some(feed) = self.feeds.get_mut(&log) {
                        let _ = feed.poll();
                    }
                }
                Ok(WatchEvent::Warning(w)) => eprintln!("watch warning: {w}"),
                Err(_) => panic!("timed out waiting for: {what}"),
            }
        }
    }
}

fn records(feeds: &HashMap<PathBuf, RunFeed>, name: &str) -> Option<usize> {
    feeds
        .values()
        .find(|f| f.source.name == name)
        .map(|f| f.store.records())
}

fn check(mode: WatchMode) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = root.join("run-a");
    let mut w = RunWriter::create(&dir, &RunMeta::new("a", serde_json::json!({}))).unwrap();
    for s in 0..3 {
        w.append(&Record::new(s).scalar("train/loss", 1.0)).unwrap();
    }
    let mut live = Live::start(root, mode);
    live.until("3 records of a", |f| records(f, "a") == Some(3));

    // Growth, including a line written in two halves.
    let log = dir.join("metrics.jsonl");
    let mut raw = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    raw.write_all(b"{\"step\": 3, \"scalars\": {\"train/lo")
        .unwrap();
    raw.flush().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    raw.write_all(b"ss\": 0.5}}\n").unwrap();
    live.until("4 records of a", |f| records(f, "a") == Some(4));

    // Truncation: the run is read again from the start and says so.
    std::fs::write(&log, "{\"step\": 0, \"scalars\": {\"train/loss\": 9}}\n").unwrap();
    live.until("a re-read after truncation", |f| {
        f.values()
            .any(|f| f.source.name == "a" && f.store.records() == 1 && !f.health.resets.is_empty())
    });
    let feed = live.feeds.values().find(|f| f.source.name == "a").unwrap();
    assert!(
        feed.health.resets[0].contains("shrank"),
        "{:?}",
        feed.health.resets
    );
    assert_eq!(feed.store.series("train/loss").unwrap().value(0), 9.0);

    // Replacement (write elsewhere, rename over): read again from the start.
    let tmp_log = dir.join("metrics.jsonl.new");
    let mut text = String::new();
    for s in 0..5 {
        text.push_str(&Record::new(s).scalar("train/loss", 2.0).to_json_line());
        text.push('\n');
    }
    std::fs::write(&tmp_log, text).unwrap();
    std::fs::rename(&tmp_log, &log).unwrap();
    live.until("5 records after replacement", |f| {
        records(f, "a") == Some(5)
    });
    let feed = live.feeds.values().find(|f| f.source.name == "a").unwrap();
    assert!(feed.health.resets.iter().any(|r| r.contains("replaced")));

    // A new run appearing under the watched folder is picked up.
    let mut b = RunWriter::create(
        root.join("run-b"),
        &RunMeta::new("b", serde_json::json!({})),
    )
    .unwrap();
    b.append(&Record::new(0).scalar("train/loss", 1.0)).unwrap();
    live.until("run b", |f| records(f, "b") == Some(1));
}

#[test]
fn notify_mode_follows_growth_truncation_replacement_and_new_runs() {
    check(WatchMode::Notify);
}

#[test]
fn poll_mode_follows_growth_truncation_replacement_and_new_runs() {
    check(WatchMode::Poll(Duration::from_millis(25)));
}
