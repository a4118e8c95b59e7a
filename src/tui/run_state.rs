//! Whether a run is live, idle, stale or finished, and ages as shown.
//!
//! The rule (docs/WATCH.md, "Run states"):
//!
//! * **finished** — its last record carries the note `finished` (what
//!   [`crate::run::RunWriter::finish`] writes); or, for a TensorBoard run,
//!   which has no such note, its writer's files are complete (no record cut
//!   off) and were not written for [`TB_FINISHED_AFTER`];
//! * **live** — written within [`LIVE_WINDOW`];
//! * **stale** — seen live (in this session) and then silent for
//!   [`STALE_AFTER`] without finishing: its writer probably died;
//! * **idle** — everything else: quiet for a while, or a run whose end
//!   grokscope never saw (an old log without the note).
//!
//! "Written" means either that grokscope saw new records arrive (by its own
//! clock) or that the log's modification time says so. A modification time
//! in the future (a file server whose clock runs ahead) is not believed,
//! and a deleted log keeps the last time it was seen written: neither ever
//! makes a run live.

use std::time::{Duration, SystemTime};

use crate::source::{RunFeed, RunKind};

/// A run written less than this long ago is live.
pub const LIVE_WINDOW: Duration = Duration::from_secs(20);

/// A run seen live and silent for this long without finishing is stale.
pub const STALE_AFTER: Duration = Duration::from_secs(5 * 60);

/// A TensorBoard run with no record cut off and silent for this long is
/// taken as finished (TensorBoard writers leave no end marker).
pub const TB_FINISHED_AFTER: Duration = Duration::from_secs(5 * 60);

/// A modification time up to this far ahead of the local clock still counts
/// (coarse file-system timestamps, small clock drift).
pub const CLOCK_SKEW: Duration = Duration::from_secs(2);

/// What grokscope saw of a run's writes while watching it, by its own
/// clock. Kept by the ingest thread, one per run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// When new records last arrived (local clock).
    pub last_growth: Option<SystemTime>,
    /// The log's last known modification time (kept when the log goes away).
    pub last_mtime: Option<SystemTime>,
    /// Whether the run was ever live while watched.
    pub seen_live: bool,
    records: usize,
    loaded: bool,
}

impl Activity {
    /// Takes note of `feed` after a read at local time `now`.
    pub fn observe(&mut self, feed: &RunFeed, now: SystemTime) {
        let records = feed.store.records();
        if self.loaded && records > self.records {
            self.last_growth = Some(now);
        }
        self.records = records;
        self.loaded = true;
        if let Some(t) = feed.health.last_write {
            self.last_mtime = Some(t);
        }
        if quiet_for(feed, self, now).is_some_and(|q| q < LIVE_WINDOW) {
            self.seen_live = true;
        }
    }
}

/// The log's modification time: as last polled, else as last seen (the
/// log went away).
fn mtime(feed: &RunFeed, activity: &Activity) -> Option<SystemTime> {
    feed.health.last_write.or(activity.last_mtime)
}

/// The last write grokscope believes in: new records it saw arrive, or a
/// modification time that is not in the future.
pub fn last_write(feed: &RunFeed, activity: &Activity, now: SystemTime) -> Option<SystemTime> {
    let mtime = mtime(feed, activity).filter(|&t| t <= now + CLOCK_SKEW);
    match (activity.last_growth, mtime) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// How long the run has been quiet; `None` when nothing says when it was
/// last written.
fn quiet_for(feed: &RunFeed, activity: &Activity, now: SystemTime) -> Option<Duration> {
    last_write(feed, activity, now).map(|t| now.duration_since(t).unwrap_or_default())
}

/// The state of a run as shown in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Written within [`LIVE_WINDOW`].
    Live,
    /// Finished: the `finished` note, or a TensorBoard run long complete.
    Finished,
    /// Quiet, not known to have died.
    Idle,
    /// Was live, then silent for [`STALE_AFTER`] without finishing.
    Stale,
}

impl RunState {
    /// Of a feed at local time `now`, given what was seen of its writes.
    pub fn of(feed: &RunFeed, activity: &Activity, now: SystemTime) -> RunState {
        if has_finished_note(feed) {
            return RunState::Finished;
        }
        let Some(quiet) = quiet_for(feed, activity, now) else {
            return RunState::Idle;
        };
        if quiet < LIVE_WINDOW {
            return RunState::Live;
        }
        let log_gone = feed.health.last_write.is_none();
        if feed.source.kind == RunKind::TfEvents
            && quiet >= TB_FINISHED_AFTER
            && feed.health.pending_bytes == 0
            && !log_gone
        {
            return RunState::Finished;
        }
        if activity.seen_live && quiet >= STALE_AFTER {
            return RunState::Stale;
        }
        RunState::Idle
    }

    /// Word shown in the list.
    pub fn label(self) -> &'static str {
        match self {
            RunState::Live => "live",
            RunState::Finished => "done",
            RunState::Idle => "idle",
            RunState::Stale => "stale",
        }
    }
}

/// Whether the run's last record carries the note `finished`.
pub fn has_finished_note(feed: &RunFeed) -> bool {
    let Some(last) = feed.store.records().checked_sub(1) else {
        return false;
    };
    feed.store.notes().any(|(rec, text)| {
        rec == last && text.trim().eq_ignore_ascii_case(crate::run::FINISHED_NOTE)
    })
}

/// Age as shown: seconds in steps of 5 under a minute, then minutes, hours.
pub fn format_age(age: Duration) -> String {
    let s = age.as_secs();
    if s < 5 {
        "now".into()
    } else if s < 60 {
        format!("{}s ago", s / 5 * 5)
    } else if s < 3600 {
        format!("{}m ago", s / 60)
    } else if s < 86400 {
        format!("{}h ago", s / 3600)
    } else {
        format!("{}d ago", s / 86400)
    }
}

/// The age the status line shows for a run: since its last believed write,
/// or a note that its log's time is in the future.
pub fn age_text(feed: &RunFeed, activity: &Activity, now: SystemTime) -> Option<String> {
    match last_write(feed, activity, now) {
        Some(t) => Some(format_age(now.duration_since(t).unwrap_or_default())),
        None if mtime(feed, activity).is_some_and(|t| t > now + CLOCK_SKEW) => {
            Some("log time is in the future (clock skew?)".into())
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::parse_line;
    use crate::source::RunSource;

    const T0: u64 = 1_800_000_000;

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    fn feed(kind: RunKind, lines: &[&str]) -> RunFeed {
        let mut f = RunFeed::new(RunSource {
            name: "r".into(),
            path: "/nowhere/r".into(),
            log: "/nowhere/r/metrics.jsonl".into(),
            kind,
            meta: None,
            meta_error: None,
        });
        for l in lines {
            f.store
                .push(&parse_line(l.as_bytes(), &mut Vec::new()).unwrap());
        }
        f
    }

    fn grow(f: &mut RunFeed, step: i64) {
        let l = format!(r#"{{"step": {step}, "scalars": {{"a/b": 1}}}}"#);
        f.store
            .push(&parse_line(l.as_bytes(), &mut Vec::new()).unwrap());
    }

    #[test]
    fn ages_read_well() {
        assert_eq!(format_age(Duration::from_secs(3)), "now");
        assert_eq!(format_age(Duration::from_secs(17)), "15s ago");
        assert_eq!(format_age(Duration::from_secs(125)), "2m ago");
    }

    #[test]
    fn a_watched_run_goes_live_idle_stale() {
        let mut f = feed(RunKind::Jsonl, &[r#"{"step": 0}"#]);
        let mut a = Activity::default();
        f.health.last_write = Some(at(T0));
        a.observe(&f, at(T0 + 1));
        assert_eq!(RunState::of(&f, &a, at(T0 + 1)), RunState::Live);
        grow(&mut f, 1);
        f.health.last_write = Some(at(T0 + 10));
        a.observe(&f, at(T0 + 10));
        assert_eq!(RunState::of(&f, &a, at(T0 + 25)), RunState::Live);
        assert_eq!(RunState::of(&f, &a, at(T0 + 40)), RunState::Idle);
        assert_eq!(RunState::of(&f, &a, at(T0 + 10 + 299)), RunState::Idle);
        assert_eq!(RunState::of(&f, &a, at(T0 + 10 + 300)), RunState::Stale);
        // The note ends it for good.
        let mut done = feed(
            RunKind::Jsonl,
            &[r#"{"step": 0}"#, r#"{"step": 1, "notes": ["finished"]}"#],
        );
        done.health.last_write = Some(at(T0));
        assert_eq!(RunState::of(&done, &a, at(T0 + 99_999)), RunState::Finished);
    }

    #[test]
    fn an_old_log_without_the_note_is_idle_not_stale() {
        let mut f = feed(RunKind::Jsonl, &[r#"{"step": 0}"#]);
        f.health.last_write = Some(at(T0));
        let mut a = Activity::default();
        a.observe(&f, at(T0 + 86_400));
        assert_eq!(RunState::of(&f, &a, at(T0 + 86_400)), RunState::Idle);
        assert_eq!(age_text(&f, &a, at(T0 + 86_400)).unwrap(), "1d ago");
    }

    #[test]
    fn tensorboard_runs_finish_when_complete_and_quiet() {
        let mut f = feed(RunKind::TfEvents, &[r#"{"step": 0}"#]);
        f.health.last_write = Some(at(T0));
        let mut a = Activity::default();
        a.observe(&f, at(T0 + 1));
        assert_eq!(RunState::of(&f, &a, at(T0 + 60)), RunState::Idle);
        assert_eq!(RunState::of(&f, &a, at(T0 + 301)), RunState::Finished);
        // A record cut off: the writer died mid-write.
        f.health.pending_bytes = 7;
        assert_eq!(RunState::of(&f, &a, at(T0 + 301)), RunState::Stale);
    }

    #[test]
    fn a_future_mtime_is_never_live_forever() {
        let mut f = feed(RunKind::Jsonl, &[r#"{"step": 0}"#]);
        f.health.last_write = Some(at(T0 + 3600));
        let mut a = Activity::default();
        a.observe(&f, at(T0));
        assert_eq!(RunState::of(&f, &a, at(T0)), RunState::Idle);
        assert_eq!(RunState::of(&f, &a, at(T0 + 100)), RunState::Idle);
        assert!(age_text(&f, &a, at(T0)).unwrap().contains("future"));
        // Records arriving are believed, by the local clock ...
        grow(&mut f, 1);
        a.observe(&f, at(T0 + 200));
        assert_eq!(RunState::of(&f, &a, at(T0 + 201)), RunState::Live);
        assert_eq!(age_text(&f, &a, at(T0 + 201)).unwrap(), "now");
        // ... and stop being live when they stop.
        assert_eq!(RunState::of(&f, &a, at(T0 + 230)), RunState::Idle);
        assert_eq!(RunState::of(&f, &a, at(T0 + 600)), RunState::Stale);
    }

    #[test]
    fn a_deleted_log_keeps_its_last_write() {
        let mut f = feed(RunKind::Jsonl, &[r#"{"step": 0}"#]);
        f.health.last_write = Some(at(T0));
        let mut a = Activity::default();
        a.observe(&f, at(T0 + 1));
        assert_eq!(RunState::of(&f, &a, at(T0 + 400)), RunState::Stale);
        // The log is deleted: the next poll finds no modification time.
        f.health.last_write = None;
        a.observe(&f, at(T0 + 401));
        assert_eq!(RunState::of(&f, &a, at(T0 + 402)), RunState::Stale);
        // Never seen at all: idle, not live.
        let g = feed(RunKind::Jsonl, &[]);
        assert_eq!(
            RunState::of(&g, &Activity::default(), at(T0)),
            RunState::Idle
        );
    }
}
