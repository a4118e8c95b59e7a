//! `grokscope replay`: the dashboard over a finished log, driven by a
//! virtual clock ([`clock`]) instead of new data.
//!
//! The run is read once and analysed once; the dashboard then shows only
//! its records up to the clock's position, through the same record limit
//! that pausing `watch` uses. Nothing is copied or read again when the
//! position moves.

pub mod clock;

use std::io;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

pub use clock::{
    auto_speed, check_speed, format_clock, format_speed, parse_speed, Pacing, ReplayClock,
    Timeline, MAX_SPEED, MIN_SPEED, SPEEDS,
};

use super::app::App;
use super::live::SharedRuns;
use super::theme::Theme;
use crate::analysis::Event;
use crate::source::{discover, DiscoverError, RunFeed};
use crate::store::RunStore;

/// What `grokscope replay` was asked for.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// A run folder, a `.jsonl` file or TensorBoard event files.
    pub run: PathBuf,
    /// Speed (virtual seconds per second); `None`: [`auto_speed`].
    pub speed: Option<f64>,
    /// Start at the first record at or after this step.
    pub from: Option<i64>,
    /// Theme name or path to a `.toml` file.
    pub theme: Option<String>,
}

/// Why a run cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The path does not exist, cannot be read or is not a run.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// A folder without runs.
    #[error("{0}: no run found (expected a folder with metrics.jsonl, a .jsonl file or TensorBoard event files)")]
    NoRun(PathBuf),
    /// A folder of several runs.
    #[error("{path}: replay takes one run; found {count}: {names}")]
    SeveralRuns {
        /// The path given.
        path: PathBuf,
        /// How many runs it holds.
        count: usize,
        /// Their paths.
        names: String,
    },
    /// The log could not be read (the error names the file).
    #[error("cannot read the run: {error}")]
    Read {
        /// The log.
        path: PathBuf,
        /// What the OS said (in the message, so not a `source()`: a chain
        /// printed with `{:#}` names it once).
        error: io::Error,
    },
    /// The log holds no record.
    #[error("{path}: nothing to replay, the log holds no records{why}")]
    Empty {
        /// The log.
        path: PathBuf,
        /// What was wrong with its lines, if anything.
        why: String,
    },
    /// `--speed` outside the range.
    #[error("--speed {0}")]
    Speed(String),
    /// `--from` past the last step.
    #[error("--from {from} is past the end of the run: its steps go from {first} to {last}")]
    FromPastEnd {
        /// The step asked for.
        from: i64,
        /// The run's smallest step.
        first: i64,
        /// The run's largest step.
        last: i64,
    },
}

/// Replay state of the dashboard: the clock and where the events are.
#[derive(Debug, Clone)]
pub struct Replay {
    /// Position, speed, play state.
    pub clock: ReplayClock,
    /// Records of the run's events, sorted, each once (for `n` / `N`).
    pub marks: Vec<usize>,
    /// Real time of the last tick while playing.
    anchor: Option<Instant>,
}

impl Replay {
    /// Replay state over `clock`, with the run's `events`.
    pub fn new(clock: ReplayClock, events: &[Event]) -> Replay {
        let mut marks: Vec<usize> = events.iter().map(|e| e.record).collect();
        marks.sort_unstable();
        marks.dedup();
        Replay {
            clock,
            marks,
            anchor: None,
        }
    }

    /// Real time `now` has come: the clock moves on by the time since the
    /// last tick (the first tick after play only sets the reference).
    /// Returns whether the records on show or the play state changed.
    pub fn tick(&mut self, now: Instant) -> bool {
        if !self.clock.playing() {
            self.anchor = None;
            return false;
        }
        let changed = match self.anchor {
            Some(then) => self.clock.advance(now.saturating_duration_since(then)),
            None => false,
        };
        self.anchor = self.clock.playing().then_some(now);
        changed
    }

    /// Play or pause; the next tick starts timing afresh.
    pub fn toggle(&mut self) {
        self.clock.toggle();
        self.anchor = None;
    }
}

/// The first record at or after `step`, in record order (in a resumed
/// run, the first segment that reaches it). O(segments · log n).
pub fn record_at_step(store: &RunStore, step: i64) -> Option<usize> {
    store.segment_records().into_iter().find_map(|seg| {
        // Steps never decrease within a segment.
        let (mut lo, mut hi) = (seg.start, seg.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if store.record_step(mid) < step {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < seg.end).then_some(lo)
    })
}

/// Reads the run of `opts`, analyses it and returns a dashboard that
/// replays it, playing from `--from` (or the start). Every problem is an
/// error before any terminal is touched.
pub fn prepare(opts: &ReplayOptions, theme: Theme, now: SystemTime) -> Result<App, ReplayError> {
    let speed = opts
        .speed
        .map(check_speed)
        .transpose()
        .map_err(ReplayError::Speed)?;
    let mut sources = discover(&opts.run)?;
    match sources.len() {
        0 => return Err(ReplayError::NoRun(opts.run.clone())),
        1 => {}
        count => {
            let names = sources
                .iter()
                .map(|s| s.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ReplayError::SeveralRuns {
                path: opts.run.clone(),
                count,
                names,
            });
        }
    }
    let source = sources.remove(0);
    let log = source.log.clone();
    let feed = RunFeed::load(source).map_err(|error| ReplayError::Read {
        path: log.clone(),
        error,
    })?;
    let store = &feed.store;
    if store.records() == 0 {
        let h = &feed.health;
        let why = match &h.first_malformed {
            Some((line, reason)) => format!(
                ": {} malformed line(s), the first at line {line}: {reason}",
                h.malformed
            ),
            None => String::new(),
        };
        return Err(ReplayError::Empty { path: log, why });
    }
    let timeline = Timeline::from_times((0..store.records()).map(|r| store.record_time(r)));
    let speed = speed.unwrap_or_else(|| auto_speed(timeline.duration()));
    let mut clock = ReplayClock::new(timeline, speed);
    if let Some(from) = opts.from {
        match record_at_step(store, from) {
            Some(r) => clock.seek_record(r),
            None => {
                let segments = store.segment_records();
                let steps = segments
                    .iter()
                    .flat_map(|s| [store.record_step(s.start), store.record_step(s.end - 1)]);
                let first = steps.clone().min().unwrap_or(0);
                let last = steps.max().unwrap_or(0);
                return Err(ReplayError::FromPastEnd { from, first, last });
            }
        }
    }
    clock.set_playing(true);
    let runs = SharedRuns::from_feeds(vec![feed]);
    let replay = Replay::new(clock, runs.read().events(0));
    let mut app = App::new(runs, theme, now);
    app.replay = Some(replay);
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::from_lines as store;
    use std::time::Duration;

    #[test]
    fn from_finds_the_first_record_at_or_after_a_step_in_any_segment() {
        let s = store(&[
            r#"{"step": 0, "scalars": {"a/x": 1}}"#,
            r#"{"step": 10, "scalars": {"a/x": 1}}"#,
            r#"{"step": 20, "scalars": {"a/x": 1}}"#,
            r#"{"step": 15, "scalars": {"a/x": 1}}"#,
            r#"{"step": 30, "scalars": {"a/x": 1}}"#,
        ]);
        assert_eq!(record_at_step(&s, -5), Some(0));
        assert_eq!(record_at_step(&s, 10), Some(1));
        assert_eq!(record_at_step(&s, 11), Some(2));
        assert_eq!(record_at_step(&s, 21), Some(4), "the resumed segment");
        assert_eq!(record_at_step(&s, 31), None);
        assert_eq!(record_at_step(&RunStore::new(), 0), None);
    }

    #[test]
    fn ticks_advance_by_real_time_only_while_playing() {
        let times = (0..100).map(|i| Some(i as f64));
        let mut r = Replay::new(ReplayClock::new(Timeline::from_times(times), 10.0), &[]);
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert!(!r.tick(at(0)), "paused");
        r.toggle();
        assert!(!r.tick(at(1000)), "the first tick only starts timing");
        assert!(r.tick(at(1500)));
        assert_eq!(r.clock.position(), 5.0);
        r.toggle();
        assert!(!r.tick(at(9000)));
        r.toggle();
        r.tick(at(20_000));
        r.tick(at(20_100));
        assert_eq!(r.clock.position(), 6.0, "paused time does not count");
        assert!(r.tick(at(200_000)));
        assert!(!r.clock.playing(), "stopped at the end");
        assert_eq!(r.clock.records(), 100);
    }
}
