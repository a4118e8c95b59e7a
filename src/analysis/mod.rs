//! What a run is doing, detected from its stored series: softmax collapse,
//! memorisation, grokking, local-complexity phases, the first NaN/Inf, loss
//! spikes and stalls. docs/ANALYSIS.md gives every rule and threshold.
//!
//! [`analyze`] is a pure function of a [`RunStore`] and costs O(points of
//! the metrics it reads) (about 60 ms for a million-point run, see
//! docs/ANALYSIS.md); [`Analyzer`] caches its result
//! and only runs it again when the store has changed, so a dashboard can call
//! [`Analyzer::update`] after every ingest. Every segment of a run (a step
//! going backwards starts one) is analysed on its own; each [`Event`] says
//! which segment it belongs to.

mod anomalies;
mod complexity;
mod robust;
mod stall;
mod thresholds;

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

use std::ops::Range;
use std::time::{Duration, Instant};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::run::Num;
use crate::store::{RunStore, SeriesView};

pub use anomalies::{
    MAX_SPIKES_PER_SERIES, SPIKE_DEVIATIONS, SPIKE_HOP, SPIKE_MIN_HISTORY, SPIKE_MIN_RISE,
    SPIKE_WINDOW,
};
pub use complexity::{
    LC_BUCKETS, LC_MIN_FALL, LC_MIN_POINTS, LC_MIN_RISE_OF_RANGE, LC_MIN_RISE_REL, LC_NOISE_K,
    LC_PEAK_CONFIRM, LC_SMOOTH,
};
pub use stall::{
    STALL_MIN_POINTS, STALL_MIN_PROGRESS, STALL_NOISE_K, STALL_PRIOR_DROP, STALL_WINDOW,
};
pub use thresholds::{
    show as short_number, COLLAPSE_ONSET, COLLAPSE_SATURATION, GROKKED_ACC, GROK_MIN_DELAY_FACTOR,
    MEMORISED_ACC, PERSIST_POINTS,
};

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A metric held NaN or ±Infinity for the first time.
    NonFinite,
    /// `sc/collapsed` rose above [`COLLAPSE_ONSET`].
    CollapseOnset,
    /// `sc/collapsed` rose above [`COLLAPSE_SATURATION`].
    CollapseSaturation,
    /// `train/acc` reached 1.0.
    Memorisation,
    /// `test/acc` crossed [`GROKKED_ACC`] long after `train/acc` did.
    Grokking,
    /// `lc/train` peaked (regions crowd around the training points).
    LcPeak,
    /// `lc/train` fell a second time after its peak (region migration).
    LcSecondDescent,
    /// A loss jumped far above its recent median.
    LossSpike,
    /// `train/loss` made no progress for a long window.
    Stall,
}

impl EventKind {
    /// Every kind, in the order events of one step are listed.
    pub const ALL: [EventKind; 9] = [
        EventKind::NonFinite,
        EventKind::CollapseOnset,
        EventKind::CollapseSaturation,
        EventKind::Memorisation,
        EventKind::Grokking,
        EventKind::LcPeak,
        EventKind::LcSecondDescent,
        EventKind::LossSpike,
        EventKind::Stall,
    ];

    /// The name used in JSON and in the text summary (`collapse_onset`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::NonFinite => "non_finite",
            EventKind::CollapseOnset => "collapse_onset",
            EventKind::CollapseSaturation => "collapse_saturation",
            EventKind::Memorisation => "memorisation",
            EventKind::Grokking => "grokking",
            EventKind::LcPeak => "lc_peak",
            EventKind::LcSecondDescent => "lc_second_descent",
            EventKind::LossSpike => "loss_spike",
            EventKind::Stall => "stall",
        }
    }

    /// A label of a few characters for chart markers and the scrubber.
    pub fn short_label(self) -> &'static str {
        match self {
            EventKind::NonFinite => "NaN",
            EventKind::CollapseOnset => "SC",
            EventKind::CollapseSaturation => "SC!",
            EventKind::Memorisation => "mem",
            EventKind::Grokking => "grok",
            EventKind::LcPeak => "LC^",
            EventKind::LcSecondDescent => "LCv",
            EventKind::LossSpike => "spike",
            EventKind::Stall => "stall",
        }
    }

    /// How much the event calls for attention.
    pub fn severity(self) -> Severity {
        match self {
            EventKind::NonFinite | EventKind::CollapseSaturation => Severity::Alert,
            EventKind::CollapseOnset | EventKind::LossSpike | EventKind::Stall => Severity::Warning,
            EventKind::Memorisation
            | EventKind::Grokking
            | EventKind::LcPeak
            | EventKind::LcSecondDescent => Severity::Info,
        }
    }
}

/// How much an event calls for attention (the dashboard colours alerts by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A phase of training worth knowing about.
    Info,
    /// Something that may need action.
    Warning,
    /// The run is broken or cannot learn any more.
    Alert,
}

/// The numbers behind an event, in a fixed order (`("value", 0.52)`, ...).
/// Serialised as a JSON object; non-finite values as the format's strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence(pub Vec<(&'static str, f64)>);

impl Evidence {
    /// The value of the named number, if present.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, v) in &self.0 {
            map.serialize_entry(name, &Num(*v))?;
        }
        map.end()
    }
}

/// One detected fact about a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The step it happened at.
    pub step: i64,
    /// One plain-English line: what happened, what it means, what to do.
    pub message: String,
    /// How much it calls for attention.
    pub severity: Severity,
    /// The segment of the run (0 unless the run was resumed from earlier steps).
    pub segment: usize,
    /// The metric the event was read from (the first one, for [`EventKind::NonFinite`]).
    pub metric: String,
    /// The record of the store the step belongs to (for seeking and wall time).
    #[serde(skip)]
    pub record: usize,
    /// The numbers behind it.
    pub evidence: Evidence,
}

impl Event {
    /// An event at point `i` of `series`.
    fn at(
        kind: EventKind,
        series: &SeriesView<'_>,
        i: usize,
        segment: usize,
        message: String,
        evidence: Vec<(&'static str, f64)>,
    ) -> Event {
        Event {
            kind,
            step: series.step(i),
            message,
            severity: kind.severity(),
            segment,
            metric: series.name().to_string(),
            record: series.record(i),
            evidence: Evidence(evidence),
        }
    }
}

/// All events of a run, ordered by segment, step and kind.
pub fn analyze(store: &RunStore) -> Vec<Event> {
    analyze_until(store, store.records())
}

/// The events of a whole run, worded for its `context` (see [`RunContext`]).
pub fn analyze_with(store: &RunStore, context: RunContext) -> Vec<Event> {
    let mut events = analyze(store);
    context.apply(&mut events);
    events
}

/// The events of the run's first `records` records only: what a live view
/// would have shown when the run was that far (for replay).
pub fn analyze_until(store: &RunStore, records: usize) -> Vec<Event> {
    let scope = Scope::new(store, records);
    let mut events = Vec::new();
    anomalies::non_finite(&scope, &mut events);
    thresholds::collapse(&scope, &mut events);
    thresholds::accuracy(&scope, &mut events);
    complexity::phases(&scope, &mut events);
    anomalies::spikes(&scope, &mut events);
    stall::stalls(&scope, &mut events);
    events.sort_by(|a, b| {
        (a.segment, a.step, a.kind, &a.metric).cmp(&(b.segment, b.step, b.kind, &b.metric))
    });
    events
}

/// The part of a store being analysed: its segments, cut at a record count.
struct Scope<'a> {
    store: &'a RunStore,
    /// Record ranges of the segments, cut at the record limit.
    segments: Vec<Range<usize>>,
}

impl<'a> Scope<'a> {
    fn new(store: &'a RunStore, records: usize) -> Scope<'a> {
        let limit = records.min(store.records());
        let segments = store
            .segment_records()
            .into_iter()
            .filter(|r| r.start < limit)
            .map(|r| r.start..r.end.min(limit))
            .collect();
        Scope { store, segments }
    }

    /// A series and its point range in each segment (possibly empty).
    fn series(&self, name: &str) -> Option<(SeriesView<'a>, Vec<Range<usize>>)> {
        let view = self.store.series(name)?;
        let ranges = self
            .segments
            .iter()
            .map(|recs| point_index(&view, recs.start)..point_index(&view, recs.end))
            .collect();
        Some((view, ranges))
    }
}

/// The first point of `view` whose record is ≥ `record`.
fn point_index(view: &SeriesView<'_>, record: usize) -> usize {
    let (mut lo, mut hi) = (0, view.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if view.record(mid) < record {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// What identifies the content of a store cheaply: appending, clearing and
/// re-reading all change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StoreKey {
    records: usize,
    points: usize,
    metrics: usize,
    segments: usize,
    last_step: Option<i64>,
}

impl StoreKey {
    fn of(store: &RunStore) -> StoreKey {
        StoreKey {
            records: store.records(),
            points: store.points(),
            metrics: store.metric_count(),
            segments: store.segment_count(),
            last_step: store.last_step(),
        }
    }
}

/// The shortest interval between two analyses of a live run while its data
/// keeps arriving ([`Analyzer::due`]).
pub const MIN_REANALYSIS_INTERVAL: Duration = Duration::from_millis(500);

/// A live run is analysed again at most once per this many times the cost of
/// its last analysis (and [`MIN_REANALYSIS_INTERVAL`]), so analysis takes at
/// most about a fifth of a core however big the run is.
pub const REANALYSIS_COST_FACTOR: u32 = 4;

/// The result of [`Analyzer::compute`]: events of one state of a store, to
/// be handed to [`Analyzer::accept`].
#[derive(Debug, Clone)]
pub struct Analysis {
    key: StoreKey,
    /// The events found.
    pub events: Vec<Event>,
    /// How long the analysis took (it sets the next throttle interval).
    pub took: Duration,
}

/// What a run's `meta.json` says that changes how its events read.
///
/// A run trained with StableMax cross-entropy logs `sc/collapsed` for the
/// f32 *softmax* of its logits (docs/TRAINING.md): near 1 there says the
/// logits are huge, not that this run stopped learning. Its collapse events
/// are therefore worded for that and demoted to info.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunContext {
    /// The run's training loss is StableMax (`config.loss` = `"stablemax"`).
    pub stablemax: bool,
}

impl RunContext {
    /// The context of a run with this `meta.json` (none: the default).
    pub fn of(meta: Option<&crate::run::RunMeta>) -> RunContext {
        let loss = meta
            .and_then(|m| m.config.get("loss"))
            .and_then(|v| v.as_str());
        RunContext {
            stablemax: loss.is_some_and(|l| l.eq_ignore_ascii_case("stablemax")),
        }
    }

    /// Rewords `events` for this run.
    pub fn apply(&self, events: &mut [Event]) {
        if !self.stablemax {
            return;
        }
        for e in events {
            let state = match e.kind {
                EventKind::CollapseOnset => "would begin to collapse",
                EventKind::CollapseSaturation => "would be fully collapsed",
                _ => continue,
            };
            let share = e.evidence.get("value").unwrap_or(f64::NAN) * 100.0;
            e.severity = Severity::Info;
            e.message = format!(
                "Logits this large: an f32 softmax of them {state} ({share:.1}% of training samples at exactly zero loss); this run trains with StableMax, which does not saturate this way, so nothing stalled — sc/collapsed here tracks how fast the logits grow"
            );
        }
    }
}

/// Cached [`analyze`] results for one run: cheap to ask again when nothing
/// changed.
///
/// A live dashboard splits an update in three so that the analysis itself
/// can run while the store is only read-locked: [`Analyzer::due`] (is the
/// store changed and the throttle interval over?), [`Analyzer::compute`] (a
/// pure function of the store) and [`Analyzer::accept`] (store the result).
#[derive(Debug, Clone, Default)]
pub struct Analyzer {
    key: Option<StoreKey>,
    events: Vec<Event>,
    analysed_at: Option<Instant>,
    cost: Duration,
    context: RunContext,
}

impl Analyzer {
    /// An analyzer that has seen nothing yet.
    pub fn new() -> Analyzer {
        Analyzer::default()
    }

    /// An analyzer whose events are worded for a run in `context`.
    pub fn with_context(context: RunContext) -> Analyzer {
        Analyzer {
            context,
            ..Analyzer::default()
        }
    }

    /// Analyses `store` again if it changed since the last call; returns
    /// whether the list of events changed.
    pub fn update(&mut self, store: &RunStore) -> bool {
        if !self.is_stale(store) {
            return false;
        }
        self.accept(Analyzer::compute(store), Instant::now())
    }

    /// Like [`Analyzer::update`], but while data keeps arriving re-runs at
    /// most once per `min_interval` (a live run of millions of points then
    /// costs a bounded share of a core). A store that shrank (the log was
    /// replaced) is analysed at once. `now` is passed in so callers and
    /// tests control the clock.
    pub fn update_throttled(
        &mut self,
        store: &RunStore,
        now: Instant,
        min_interval: Duration,
    ) -> bool {
        if !self.due_after(store, now, min_interval) {
            return false;
        }
        self.accept(Analyzer::compute(store), now)
    }

    /// How long after the last analysis the next one may run while data
    /// keeps arriving: [`MIN_REANALYSIS_INTERVAL`], or
    /// [`REANALYSIS_COST_FACTOR`] times the last analysis' cost if longer.
    pub fn interval(&self) -> Duration {
        MIN_REANALYSIS_INTERVAL.max(self.cost * REANALYSIS_COST_FACTOR)
    }

    /// Whether `store` should be analysed now: it changed since the last
    /// analysis and either was never analysed, shrank (the log was
    /// truncated or replaced), or [`Analyzer::interval`] has passed.
    pub fn due(&self, store: &RunStore, now: Instant) -> bool {
        self.due_after(store, now, self.interval())
    }

    /// When a stale store becomes [`Analyzer::due`] (`None` when it is not
    /// stale); at or before `now` means at once.
    pub fn due_at(&self, store: &RunStore) -> Option<Instant> {
        if !self.is_stale(store) {
            return None;
        }
        match (self.analysed_at, self.shrank(&StoreKey::of(store))) {
            (Some(t), false) => Some(t + self.interval()),
            // Never analysed or shrank: due at once.
            _ => Some(Instant::now()),
        }
    }

    fn due_after(&self, store: &RunStore, now: Instant, min_interval: Duration) -> bool {
        let key = StoreKey::of(store);
        if self.key == Some(key) {
            return false;
        }
        let recent = self
            .analysed_at
            .is_some_and(|t| now.saturating_duration_since(t) < min_interval);
        !recent || self.shrank(&key)
    }

    fn shrank(&self, key: &StoreKey) -> bool {
        self.key.is_some_and(|k| key.records < k.records)
    }

    /// Analyses `store`: a pure function of it, which only needs to read it
    /// (a shared lock is enough).
    pub fn compute(store: &RunStore) -> Analysis {
        let t = Instant::now();
        let events = analyze(store);
        Analysis {
            key: StoreKey::of(store),
            events,
            took: t.elapsed(),
        }
    }

    /// Keeps the result of [`Analyzer::compute`], finished at `now`;
    /// returns whether the list of events changed.
    pub fn accept(&mut self, mut analysis: Analysis, now: Instant) -> bool {
        self.key = Some(analysis.key);
        self.analysed_at = Some(now);
        self.cost = analysis.took;
        self.context.apply(&mut analysis.events);
        let changed = analysis.events != self.events;
        self.events = analysis.events;
        changed
    }

    /// Whether the store has changed since the events were computed (a
    /// throttled update is pending).
    pub fn is_stale(&self, store: &RunStore) -> bool {
        self.key != Some(StoreKey::of(store))
    }

    /// The events of the last analysed state.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
}
