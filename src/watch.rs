//! File-system watching: "run X has new bytes", "new run Y", on a thread
//! of its own.
//!
//! With [`WatchMode::Notify`] the OS reports changes (inotify, FSEvents, ...)
//! and a slow re-check every [`RECHECK`] catches anything it missed. With
//! [`WatchMode::Poll`] (network file systems send no events) every log is
//! checked at the given period.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use notify::{RecursiveMode, Watcher as _};

use crate::source::{discover, DiscoverError, RunSource};

/// Period of the safety re-check in notify mode.
pub const RECHECK: Duration = Duration::from_secs(2);

/// How changes are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// OS notifications plus a re-check every [`RECHECK`].
    Notify,
    /// Checks every log at this period; no OS notifications.
    Poll(Duration),
}

/// What the watcher tells its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// A run appeared (every run present at start is announced too).
    NewRun(RunSource),
    /// The log at this path changed (grew, shrank or was replaced).
    Changed(PathBuf),
    /// Something the user should know (notify failed and polling took over, ...).
    Warning(String),
}

/// The watching thread; dropping this stops it.
#[derive(Debug)]
pub struct Watcher {
    stop: Sender<Internal>,
    thread: Option<JoinHandle<()>>,
}

enum Internal {
    Fs(notify::Result<notify::Event>),
    Stop,
}

/// What a log looked like at the last check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    if path.is_dir() {
        // A TensorBoard run: its event files taken together.
        let files = crate::import::tfevents::event_files(path);
        let mut fp = Fingerprint {
            len: 0,
            modified: None,
            inode: files.len() as u64,
        };
        for f in &files {
            let one = fingerprint(f)?;
            fp.len += one.len;
            fp.inode = fp.inode.wrapping_mul(31).wrapping_add(one.inode);
            fp.modified = fp.modified.max(one.modified);
        }
        return Some(fp);
    }
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Fingerprint {
        len: m.len(),
        modified: m.modified().ok(),
        inode,
    })
}

impl Watcher {
    /// Starts watching `root` (a run, a `.jsonl` file or a folder of runs).
    /// Fails at once if `root` cannot be read; every run already there is
    /// announced with [`WatchEvent::NewRun`] before any change.
    pub fn spawn(
        root: &Path,
        mode: WatchMode,
        events: Sender<WatchEvent>,
    ) -> Result<Watcher, DiscoverError> {
        let runs = discover(root)?;
        let (tx, rx) = mpsc::channel();
        let mut state = State {
            root: root.to_path_buf(),
            known: HashMap::new(),
            events,
        };
        for run in runs {
            state.add(run);
        }
        let mut fs_watcher = None;
        let mut period = match mode {
            WatchMode::Poll(p) => p.max(Duration::from_millis(1)),
            WatchMode::Notify => RECHECK,
        };
        if mode == WatchMode::Notify {
            match start_notify(root, tx.clone()) {
                Ok(w) => fs_watcher = Some(w),
                Err(e) => {
                    period = Duration::from_millis(500);
                    let _ = state.events.send(WatchEvent::Warning(format!(
                        "file notifications unavailable ({e}); polling every 500 ms"
                    )));
                }
            }
        }
        let thread = std::thread::Builder::new()
            .name("grokscope-watch".into())
            .spawn(move || {
                // Keep the OS watcher alive as long as the thread runs.
                let _fs_watcher = fs_watcher;
                let rescan_every = period.max(Duration::from_secs(1));
                let mut next_check = Instant::now() + period;
                let mut next_rescan = Instant::now() + rescan_every;
                loop {
                    let wait = next_check.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(wait) {
                        Ok(Internal::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                        Ok(Internal::Fs(Ok(event))) => {
                            if !state.on_event(&event) {
                                return;
                            }
                        }
                        Ok(Internal::Fs(Err(e))) => {
                            let msg = format!("file watcher error: {e}");
                            if state.events.send(WatchEvent::Warning(msg)).is_err() {
                                return;
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {
                            let now = Instant::now();
                            next_check = now + period;
                            if now >= next_rescan {
                                next_rescan = now + rescan_every;
                                if !state.rescan() {
                                    return;
                                }
                            }
                            if !state.recheck() {
                                return;
                            }
                        }
                    }
                }
            })
            .expect("spawning the watch thread");
        Ok(Watcher {
            stop: tx,
            thread: Some(thread),
        })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.stop.send(Internal::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start_notify(root: &Path, tx: Sender<Internal>) -> notify::Result<notify::RecommendedWatcher> {
    let mut w = notify::recommended_watcher(move |res| {
        let _ = tx.send(Internal::Fs(res));
    })?;
    if root.is_dir() {
        w.watch(root, RecursiveMode::Recursive)?;
    } else {
        // Watch the folder so that a replaced (renamed-over) file is seen.
        let parent = root
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        w.watch(parent, RecursiveMode::NonRecursive)?;
    }
    Ok(w)
}

struct State {
    root: PathBuf,
    known: HashMap<PathBuf, Option<Fingerprint>>,
    events: Sender<WatchEvent>,
}

impl State {
    /// Announces a run; false once nobody listens.
    fn add(&mut self, run: RunSource) -> bool {
        let fp = fingerprint(&run.log);
        self.known.insert(run.log.clone(), fp);
        self.events.send(WatchEvent::NewRun(run)).is_ok()
    }

    fn on_event(&mut self, event: &notify::Event) -> bool {
        if event.kind.is_access() {
            return true;
        }
        let mut unknown = false;
        for path in &event.paths {
            // A log itself, or an event file inside a TensorBoard run folder.
            let log = if self.known.contains_key(path) {
                Some(path.clone())
            } else {
                path.parent()
                    .filter(|p| self.known.contains_key(*p))
                    .map(Path::to_path_buf)
            };
            match log {
                Some(log) => {
                    let fp = fingerprint(&log);
                    self.known.insert(log.clone(), fp);
                    if self.events.send(WatchEvent::Changed(log)).is_err() {
                        return false;
                    }
                }
                None => unknown = true,
            }
        }
        !unknown || self.rescan()
    }

    /// Looks for runs that appeared; false once nobody listens.
    fn rescan(&mut self) -> bool {
        let Ok(runs) = discover(&self.root) else {
            return true;
        };
        for run in runs {
            if !self.known.contains_key(&run.log) && !self.add(run) {
                return false;
            }
        }
        true
    }

    /// Compares every log with its last fingerprint; false once nobody listens.
    fn recheck(&mut self) -> bool {
        for (path, old) in self.known.iter_mut() {
            let new = fingerprint(path);
            if new != *old {
                *old = new;
                if self.events.send(WatchEvent::Changed(path.clone())).is_err() {
                    return false;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn next_matching(
        rx: &mpsc::Receiver<WatchEvent>,
        f: impl Fn(&WatchEvent) -> bool,
    ) -> Option<WatchEvent> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(e) if f(&e) => return Some(e),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    }

    fn check_mode(mode: WatchMode) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir(root.join("a")).unwrap();
        let log_a = root.join("a/metrics.jsonl");
        std::fs::write(&log_a, "").unwrap();
        let (tx, rx) = mpsc::channel();
        let _w = Watcher::spawn(root, mode, tx).unwrap();
        assert!(next_matching(
            &rx,
            |e| matches!(e, WatchEvent::NewRun(r) if r.log == log_a)
        )
        .is_some());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&log_a)
            .unwrap();
        f.write_all(b"{\"step\": 1}\n").unwrap();
        assert!(next_matching(&rx, |e| *e == WatchEvent::Changed(log_a.clone())).is_some());
        std::fs::create_dir(root.join("b")).unwrap();
        std::fs::write(root.join("b/metrics.jsonl"), "{\"step\": 1}\n").unwrap();
        let b = next_matching(&rx, |e| matches!(e, WatchEvent::NewRun(_))).unwrap();
        assert!(matches!(b, WatchEvent::NewRun(r) if r.name == "b"));
    }

    #[test]
    fn notify_mode_sees_growth_and_new_runs() {
        check_mode(WatchMode::Notify);
    }

    #[test]
    fn poll_mode_sees_growth_and_new_runs() {
        check_mode(WatchMode::Poll(Duration::from_millis(20)));
    }

    #[test]
    fn a_missing_root_fails_before_spawning() {
        let (tx, _rx) = mpsc::channel();
        assert!(Watcher::spawn(Path::new("/no/such/grokscope"), WatchMode::Notify, tx).is_err());
    }
}
