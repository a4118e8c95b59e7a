//! The replay clock: a virtual time over a logged run, and which records of
//! the run are on show at that time.
//!
//! Each record gets a virtual time, computed once ([`Timeline`]): by default
//! the run's recorded wall time, so that 1× replays it as fast as it
//! trained; gaps that are missing, go backwards or are huge (a run resumed
//! hours later) are played as one ordinary gap instead ([`GAP_FACTOR`]),
//! unless long gaps are the run's rhythm (a writer that logs in bursts,
//! [`RHYTHM_GAPS`]). A log without usable times plays at a steady
//! [`STEADY_SECS`] per record.
//! Everything else — play, pause, speed, seeks, jumps to events — is
//! arithmetic on one position and a binary search over the timeline:
//! O(log n), never a pass over the data.

use std::time::Duration;

/// Speeds that `[` and `]` step through.
pub const SPEEDS: [f64; 12] = [
    0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
];
/// Slowest speed.
pub const MIN_SPEED: f64 = SPEEDS[0];
/// Fastest speed.
pub const MAX_SPEED: f64 = SPEEDS[SPEEDS.len() - 1];
/// A recorded gap between two records longer than this many median gaps
/// is played as one median gap (a run stopped and resumed later, a long
/// evaluation): replay shows training, not waiting.
pub const GAP_FACTOR: f64 = 100.0;
/// Long gaps (over [`GAP_FACTOR`] median gaps) are the run's rhythm, not
/// pauses to squeeze, when there are at least this many of them and
/// together they hold more than half of the run's time: a writer that
/// logs in bursts (1,000 records a second, flushed every few
/// milliseconds) has a tiny median gap and a long gap before every burst.
/// The median long gap is then the typical gap instead.
pub const RHYTHM_GAPS: usize = 10;
/// Virtual seconds per record when the log has no usable wall times.
pub const STEADY_SECS: f64 = 0.1;
/// Without `--speed`, the slowest speed (from 1× up) that plays the whole
/// run within this many seconds.
pub const AUTO_SPEED_TARGET_SECS: f64 = 60.0;

/// How virtual time is derived from the log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Recorded wall time. `squeezed` gaps (missing, backwards, or longer
    /// than [`GAP_FACTOR`] × `median`) are played as one `median` gap.
    WallTime {
        /// Median of the positive recorded gaps, in seconds.
        median: f64,
        /// Number of gaps replaced by the median.
        squeezed: usize,
    },
    /// [`STEADY_SECS`] per record: fewer than half of the gaps between
    /// records had usable times, or no time ever advanced.
    Steady,
}

/// The virtual time of every record of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Virtual seconds of each record since the first; non-decreasing.
    at: Vec<f64>,
    pacing: Pacing,
}

impl Timeline {
    /// The timeline of records with these wall times (`None`, NaN and
    /// infinities count as absent).
    pub fn from_times(times: impl ExactSizeIterator<Item = Option<f64>>) -> Timeline {
        let times: Vec<Option<f64>> = times.map(|t| t.filter(|t| t.is_finite())).collect();
        let n = times.len();
        // Gaps between consecutive records, where both have a time, the
        // clock did not go back and the difference fits an f64.
        let gap = |i: usize| match (times[i - 1], times[i]) {
            (Some(a), Some(b)) if b >= a && (b - a).is_finite() => Some(b - a),
            _ => None,
        };
        let steady = || Timeline {
            at: (0..n).map(|i| i as f64 * STEADY_SECS).collect(),
            pacing: Pacing::Steady,
        };
        let usable = (1..n).filter(|&i| gap(i).is_some()).count();
        let mut positive: Vec<f64> = (1..n).filter_map(gap).filter(|&d| d > 0.0).collect();
        if n < 2 || usable * 2 < n - 1 || positive.is_empty() {
            return steady();
        }
        let mid = positive.len() / 2;
        let median = *positive.select_nth_unstable_by(mid, f64::total_cmp).1;
        let mut cap = GAP_FACTOR * median;
        let mut long: Vec<f64> = positive.iter().copied().filter(|&d| d > cap).collect();
        let total: f64 = positive.iter().sum();
        if long.len() >= RHYTHM_GAPS && long.iter().sum::<f64>() > total / 2.0 {
            let mid = long.len() / 2;
            cap = GAP_FACTOR * *long.select_nth_unstable_by(mid, f64::total_cmp).1;
        }
        let mut squeezed = 0;
        let mut at = Vec::with_capacity(n);
        at.push(0.0);
        for i in 1..n {
            let d = match gap(i) {
                Some(d) if d <= cap => d,
                _ => {
                    squeezed += 1;
                    median
                }
            };
            at.push(at[i - 1] + d);
        }
        if !at[n - 1].is_finite() {
            // Times near the ends of the f64 range (a log written with
            // garbage times) add up to more than an f64 holds.
            return steady();
        }
        Timeline {
            at,
            pacing: Pacing::WallTime { median, squeezed },
        }
    }

    /// How the times were derived.
    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// Whether the run has no records.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Virtual seconds of record `r` since the first.
    pub fn at(&self, r: usize) -> f64 {
        self.at[r]
    }

    /// Virtual length of the run (0 for fewer than two records).
    pub fn duration(&self) -> f64 {
        self.at.last().copied().unwrap_or(0.0)
    }

    /// Number of records at or before virtual time `t` (at least 1 when
    /// the run has any).
    pub fn records_at(&self, t: f64) -> usize {
        self.at
            .partition_point(|&a| a <= t)
            .max(1)
            .min(self.at.len())
    }
}

/// Play, pause, speed and position over a [`Timeline`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayClock {
    timeline: Timeline,
    /// Virtual seconds since the first record, in `0..=duration`.
    pos: f64,
    speed: f64,
    playing: bool,
}

impl ReplayClock {
    /// A clock at the first record, paused, at `speed` (clamped to
    /// [`MIN_SPEED`]..=[`MAX_SPEED`]).
    pub fn new(timeline: Timeline, speed: f64) -> ReplayClock {
        ReplayClock {
            timeline,
            pos: 0.0,
            speed: clamp_speed(speed),
            playing: false,
        }
    }

    /// The timeline.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Records on show: those at or before the position.
    pub fn records(&self) -> usize {
        self.timeline.records_at(self.pos)
    }

    /// The newest record on show.
    pub fn current(&self) -> Option<usize> {
        self.records().checked_sub(1)
    }

    /// Position in virtual seconds.
    pub fn position(&self) -> f64 {
        self.pos
    }

    /// Where the newest record on show lies in the run, from 0 to 1 (1 for
    /// a run of one record).
    pub fn shown_fraction(&self) -> f64 {
        let d = self.timeline.duration();
        match self.current() {
            Some(r) if d > 0.0 => self.timeline.at(r) / d,
            _ => 1.0,
        }
    }

    /// Virtual seconds per second of real time.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Whether the clock runs.
    pub fn playing(&self) -> bool {
        self.playing
    }

    /// Whether the position is at the last record.
    pub fn at_end(&self) -> bool {
        self.pos >= self.timeline.duration()
    }

    /// Lets `real` time pass. At the end of the run the clock stops.
    /// Returns whether the records on show or the play state changed.
    pub fn advance(&mut self, real: Duration) -> bool {
        if !self.playing {
            return false;
        }
        let before = self.records();
        let end = self.timeline.duration();
        self.pos = (self.pos + real.as_secs_f64() * self.speed).min(end);
        if self.pos >= end {
            self.playing = false;
        }
        !self.playing || self.records() != before
    }

    /// Play or pause. Play at the end starts again from the first record.
    /// Does nothing for a run without records.
    pub fn toggle(&mut self) {
        if self.timeline.is_empty() {
            return;
        }
        if self.playing {
            self.playing = false;
        } else {
            if self.at_end() {
                self.pos = 0.0;
            }
            self.playing = true;
        }
    }

    /// Play (`true`) or pause.
    pub fn set_playing(&mut self, playing: bool) {
        self.playing = playing && !self.timeline.is_empty();
    }

    /// The next speed of [`SPEEDS`] up (stays at the fastest).
    pub fn faster(&mut self) {
        self.speed = SPEEDS
            .iter()
            .copied()
            .find(|&s| s > self.speed * (1.0 + 1e-9))
            .unwrap_or(MAX_SPEED);
    }

    /// The next speed of [`SPEEDS`] down (stays at the slowest).
    pub fn slower(&mut self) {
        self.speed = SPEEDS
            .iter()
            .rev()
            .copied()
            .find(|&s| s < self.speed * (1.0 - 1e-9))
            .unwrap_or(MIN_SPEED);
    }

    /// Moves by `fraction` of the run's duration (negative: back),
    /// clamped to the run. The play state is kept; playing into the end
    /// stops at the next [`ReplayClock::advance`].
    pub fn seek_by(&mut self, fraction: f64) {
        self.seek_to(self.pos + fraction * self.timeline.duration());
    }

    /// Moves to `fraction` (0 to 1) of the run's duration.
    pub fn seek_fraction(&mut self, fraction: f64) {
        self.seek_to(fraction * self.timeline.duration());
    }

    /// To the first record.
    pub fn home(&mut self) {
        self.pos = 0.0;
    }

    /// To the last record.
    pub fn end(&mut self) {
        self.pos = self.timeline.duration();
    }

    /// To record `r` (clamped to the run).
    pub fn seek_record(&mut self, r: usize) {
        if let Some(last) = self.timeline.len().checked_sub(1) {
            self.pos = self.timeline.at(r.min(last));
        }
    }

    fn seek_to(&mut self, t: f64) {
        if t.is_finite() {
            self.pos = t.clamp(0.0, self.timeline.duration());
        }
    }

    /// To the first of `marks` (sorted record numbers) not yet on show.
    /// Returns whether there was one.
    pub fn next_mark(&mut self, marks: &[usize]) -> bool {
        let shown = self.records();
        let i = marks.partition_point(|&m| m < shown);
        match marks.get(i) {
            Some(&m) if m < self.timeline.len() => {
                self.seek_record(m);
                true
            }
            _ => false,
        }
    }

    /// To the last of `marks` (sorted record numbers) before the newest
    /// record on show (earlier in virtual time, so records logged at the
    /// same instant count as one). Returns whether there was one.
    pub fn prev_mark(&mut self, marks: &[usize]) -> bool {
        let Some(cur) = self.current() else {
            return false;
        };
        let now = self.timeline.at(cur);
        let before = marks.partition_point(|&m| m < cur);
        match marks[..before]
            .iter()
            .rev()
            .find(|&&m| self.timeline.at(m) < now)
        {
            Some(&m) => {
                self.seek_record(m);
                true
            }
            None => false,
        }
    }
}

fn clamp_speed(speed: f64) -> f64 {
    if speed.is_nan() {
        1.0
    } else {
        speed.clamp(MIN_SPEED, MAX_SPEED)
    }
}

/// The speed to use without `--speed`: the slowest of [`SPEEDS`] from 1×
/// up that plays `duration` virtual seconds within
/// [`AUTO_SPEED_TARGET_SECS`].
pub fn auto_speed(duration: f64) -> f64 {
    SPEEDS
        .iter()
        .copied()
        .filter(|&s| s >= 1.0)
        .find(|&s| duration / s <= AUTO_SPEED_TARGET_SECS)
        .unwrap_or(MAX_SPEED)
}

/// Reads a speed as `--speed` takes it: a number from [`MIN_SPEED`] to
/// [`MAX_SPEED`], with or without a trailing `x`.
pub fn parse_speed(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix(['x', 'X', '×'])
        .map(str::trim_end)
        .unwrap_or(t);
    let v: f64 = t.parse().map_err(|_| {
        format!("'{text}' is not a number (a speed from {MIN_SPEED} to {MAX_SPEED})")
    })?;
    check_speed(v)
}

/// `speed` if it is one replay plays at, else why not.
pub fn check_speed(speed: f64) -> Result<f64, String> {
    if (MIN_SPEED..=MAX_SPEED).contains(&speed) {
        Ok(speed)
    } else {
        Err(format!(
            "{speed} is outside the speeds replay plays at: {MIN_SPEED} to {MAX_SPEED}"
        ))
    }
}

/// A speed as the scrubber shows it: `×0.25`, `×1`, `×1000`.
pub fn format_speed(speed: f64) -> String {
    format!("×{}", (speed * 100.0).round() / 100.0)
}

/// Virtual seconds as `m:ss`, or `h:mm:ss` from an hour.
pub fn format_clock(secs: f64) -> String {
    let s = secs.max(0.0).floor() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
#[path = "clock_tests.rs"]
mod tests;
