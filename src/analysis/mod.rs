//! What a run is doing, detected from its stored series: softmax collapse
//! (and its early warning), memorisation, grokking, local-complexity
//! phases, the first NaN/Inf, loss spikes, stalls and stuck runs — and a
//! [`Verdict`] on the run as a whole. docs/ANALYSIS.md gives every rule and
//! threshold, and the score of the rules on a labelled corpus.
//!
//! [`analyze`] is a pure function of a [`RunStore`] and costs O(points of
//! the metrics it reads) (see docs/ANALYSIS.md); [`Analyzer`] caches its
//! result and only runs it again when the store has changed, so a dashboard
//! can call [`Analyzer::update`] after every ingest. Every segment of a run
//! (a step going backwards starts one) is analysed on its own; each
//! [`Event`] says which segment it belongs to. The rules read trailing
//! windows and crossings of the series, so they can later be kept up to
//! date as data is appended rather than recomputed.
//!
//! Metrics are found by their part ([`Roles`]): grokscope's own names, and
//! the spellings of PyTorch, Keras and Lightning. A run's `meta.json` is
//! only a hint ([`RunContext`]); every rule works from the series alone.

mod anomalies;
mod collapse;
mod complexity;
mod robust;
mod roles;
mod stall;
mod thresholds;
mod verdict;

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
    MAX_SPIKES_PER_SERIES, SPIKE_DEVIATIONS, SPIKE_HOP, SPIKE_LOST_FIT, SPIKE_MERGE_GAP,
    SPIKE_MIN_HISTORY, SPIKE_MIN_LOG_RISE, SPIKE_MIN_RISE, SPIKE_SINGLE_DEVIATIONS, SPIKE_WINDOW,
};
pub use collapse::{
    collapse_margin, WARN_MIN_FIT, WARN_MIN_MARGIN_SHARE, WARN_MIN_POINTS, WARN_RESET_SHARE,
    WARN_WINDOW_SHARE,
};
pub use complexity::{
    LC_BUCKETS, LC_MIN_FALL, LC_MIN_POINTS, LC_MIN_RISE_OF_RANGE, LC_MIN_RISE_REL, LC_NOISE_K,
    LC_PEAK_CONFIRM, LC_SMOOTH,
};
pub use roles::Roles;
pub use stall::{
    STALL_MAX_LOG_PROGRESS, STALL_MIN_POINTS, STALL_NOISE_K, STALL_PRIOR_LOG_DROP, STALL_WINDOW,
    STUCK_MAX_ACC_RISE, STUCK_MAX_LOG_DROP,
};
pub use thresholds::{
    COLLAPSE_MAX_NOISE, COLLAPSE_ONSET, COLLAPSE_SATURATION, COLLAPSE_UNDER_WAY, GROKKED_ACC,
    GROK_MIN_DELAY_FACTOR, MEMORISATION_GAP, MEMORISED_ACC, PERSIST_POINTS,
};
pub use verdict::{RunState, Verdict, FITTED_ACC, RISING_ACC};

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A metric held NaN or ±Infinity for the first time.
    NonFinite,
    /// The logit margin is on course to reach the collapse margin soon.
    CollapseWarning,
    /// `sc/collapsed` rose above [`COLLAPSE_ONSET`].
    CollapseOnset,
    /// `sc/collapsed` rose above [`COLLAPSE_SATURATION`].
    CollapseSaturation,
    /// Train accuracy reached 1.0 while test accuracy lagged.
    Memorisation,
    /// Train accuracy reached 1.0 with test accuracy keeping up (or none logged).
    Fitted,
    /// Test accuracy crossed [`GROKKED_ACC`] long after train accuracy did.
    Grokking,
    /// `lc/train` peaked (regions crowd around the training points).
    LcPeak,
    /// `lc/train` fell a second time after its peak (region migration).
    LcSecondDescent,
    /// A loss jumped far above its recent level.
    LossSpike,
    /// The train loss made no progress for a long window after making some.
    Stall,
    /// The train loss never moved from where it started.
    Stuck,
}

impl EventKind {
    /// Every kind, in the order events of one step are listed.
    pub const ALL: [EventKind; 12] = [
        EventKind::NonFinite,
        EventKind::CollapseWarning,
        EventKind::CollapseOnset,
        EventKind::CollapseSaturation,
        EventKind::Memorisation,
        EventKind::Fitted,
        EventKind::Grokking,
        EventKind::LcPeak,
        EventKind::LcSecondDescent,
        EventKind::LossSpike,
        EventKind::Stall,
        EventKind::Stuck,
    ];

    /// The name used in JSON and in the text summary (`collapse_onset`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::NonFinite => "non_finite",
            EventKind::CollapseWarning => "collapse_warning",
            EventKind::CollapseOnset => "collapse_onset",
            EventKind::CollapseSaturation => "collapse_saturation",
            EventKind::Memorisation => "memorisation",
            EventKind::Fitted => "fitted",
            EventKind::Grokking => "grokking",
            EventKind::LcPeak => "lc_peak",
            EventKind::LcSecondDescent => "lc_second_descent",
            EventKind::LossSpike => "loss_spike",
            EventKind::Stall => "stall",
            EventKind::Stuck => "stuck",
        }
    }

    /// The kind named `name` (as [`EventKind::as_str`] writes it).
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// A label of a few characters for chart markers and the scrubber.
    pub fn short_label(self) -> &'static str {
        match self {
            EventKind::NonFinite => "NaN",
            EventKind::CollapseWarning => "SC?",
            EventKind::CollapseOnset => "SC",
            EventKind::CollapseSaturation => "SC!",
            EventKind::Memorisation => "mem",
            EventKind::Fitted => "fit",
            EventKind::Grokking => "grok",
            EventKind::LcPeak => "LC^",
            EventKind::LcSecondDescent => "LCv",
            EventKind::LossSpike => "spike",
            EventKind::Stall => "stall",
            EventKind::Stuck => "stuck",
        }
    }

    /// How much an event of this kind usually calls for attention; a rule
    /// may lower it for one event (a spike that left the fit intact, a
    /// collapse after the run had generalised) and says so in the message.
    pub fn severity(self) -> Severity {
        match self {
            EventKind::NonFinite | EventKind::CollapseSaturation => Severity::Alert,
            EventKind::CollapseWarning
            | EventKind::CollapseOnset
            | EventKind::LossSpike
            | EventKind::Stall
            | EventKind::Stuck => Severity::Warning,
            EventKind::Memorisation
            | EventKind::Fitted
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

/// All events of a run, ordered by segment, step and kind (no hints from
/// `meta.json`).
pub fn analyze(store: &RunStore) -> Vec<Event> {
    analyze_until(store, store.records())
}

/// The events of a whole run, read with the hints of its `meta.json` (see
/// [`RunContext`]).
pub fn analyze_with(store: &RunStore, context: RunContext) -> Vec<Event> {
    diagnose(store, context, store.records()).events
}

/// The events of the run's first `records` records only: what a live view
/// would have shown when the run was that far (for replay).
pub fn analyze_until(store: &RunStore, records: usize) -> Vec<Event> {
    diagnose(store, RunContext::default(), records).events
}

/// What analysis concludes about a run: its events and its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    /// The events, ordered by segment, step and kind.
    pub events: Vec<Event>,
    /// The state of the run now, with its reason.
    pub verdict: Verdict,
}

/// Events and verdict of the run's first `records` records, read with the
/// hints of `context`.
pub fn diagnose(store: &RunStore, context: RunContext, records: usize) -> Diagnosis {
    let scope = Scope::new(store, records, context);
    let mut events = Vec::new();
    anomalies::non_finite(&scope, &mut events);
    thresholds::collapse(&scope, &mut events);
    collapse::warnings(&scope, &mut events);
    thresholds::accuracy(&scope, &mut events);
    complexity::phases(&scope, &mut events);
    anomalies::spikes(&scope, &mut events);
    stall::stalls(&scope, &mut events);
    stall::stuck(&scope, &mut events);
    events.sort_by(|a, b| {
        (a.segment, a.step, a.kind, &a.metric).cmp(&(b.segment, b.step, b.kind, &b.metric))
    });
    let verdict = verdict::verdict(&scope, &events);
    Diagnosis { events, verdict }
}

/// The part of a store being analysed: its segments, cut at a record count,
/// the metrics that play each part, and the run's hints.
struct Scope<'a> {
    store: &'a RunStore,
    /// Record ranges of the segments, cut at the record limit.
    segments: Vec<Range<usize>>,
    /// Which metric is the train loss, the test accuracy, ...
    roles: Roles,
    /// Hints from `meta.json`.
    context: RunContext,
    /// Whether `sc/collapsed` describes the loss the run trains with (see
    /// [`collapse::describes_training_loss`]).
    collapse_is_real: bool,
}

impl<'a> Scope<'a> {
    fn new(store: &'a RunStore, records: usize, context: RunContext) -> Scope<'a> {
        let limit = records.min(store.records());
        let segments = store
            .segment_records()
            .into_iter()
            .filter(|r| r.start < limit)
            .map(|r| r.start..r.end.min(limit))
            .collect();
        let mut scope = Scope {
            store,
            segments,
            roles: Roles::find(store.metric_names()),
            context,
            collapse_is_real: true,
        };
        scope.collapse_is_real = collapse::describes_training_loss(&scope);
        scope
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

    /// The metric playing a part, read as that part is read (accuracies
    /// as shares of 1).
    fn train_loss(&self) -> Option<roles::Metric<'a>> {
        roles::Metric::of(self, self.roles.train_loss.as_deref()?)
    }

    fn train_acc(&self) -> Option<roles::Metric<'a>> {
        roles::Metric::accuracy(self, self.roles.train_acc.as_deref()?)
    }

    fn test_acc(&self) -> Option<roles::Metric<'a>> {
        roles::Metric::accuracy(self, self.roles.test_acc.as_deref()?)
    }

    /// A diagnostic metric by its grokscope name (`sc/margin`).
    fn metric(&self, name: &str) -> Option<roles::Metric<'a>> {
        roles::Metric::of(self, name)
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

/// The result of [`Analyzer::compute`]: events and verdict of one state of
/// a store, to be handed to [`Analyzer::accept`].
#[derive(Debug, Clone)]
pub struct Analysis {
    key: StoreKey,
    /// The events found.
    pub events: Vec<Event>,
    /// The state of the run, with its reason (for the runs list, `summary`
    /// and the PNG title).
    pub verdict: Verdict,
    /// How long the analysis took (it sets the next throttle interval).
    pub took: Duration,
}

/// The floating-point type a run's softmax is computed in, which sets the
/// margin at which it collapses ([`collapse_margin`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SoftmaxDtype {
    /// Half precision (`softmax-f16`).
    F16,
    /// Single precision: the default of every framework.
    #[default]
    F32,
    /// Double precision (`softmax-f64`).
    F64,
}

impl SoftmaxDtype {
    /// The machine epsilon of the type (2⁻¹⁰, 2⁻²³, 2⁻⁵²).
    pub fn epsilon(self) -> f64 {
        match self {
            SoftmaxDtype::F16 => 2f64.powi(-10),
            SoftmaxDtype::F32 => 2f64.powi(-23),
            SoftmaxDtype::F64 => 2f64.powi(-52),
        }
    }

    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            SoftmaxDtype::F16 => "f16",
            SoftmaxDtype::F32 => "f32",
            SoftmaxDtype::F64 => "f64",
        }
    }
}

/// What a run's `meta.json` says that helps read its series: hints only,
/// every rule also works without them (user and TensorBoard runs have none).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunContext {
    /// The training loss is StableMax (`config.loss` = `"stablemax"`). A
    /// log of this kind written before `sc/softmax_f32_collapsed` existed
    /// holds that f32-softmax figure under `sc/collapsed`.
    pub stablemax: bool,
    /// The training loss is not a softmax at all (`"mse"`).
    pub no_softmax: bool,
    /// The dtype of the softmax (`softmax-f16`, `softmax-f32`, `softmax-f64`).
    pub dtype: SoftmaxDtype,
    /// Number of classes (`config.task.p` of a modular-arithmetic task,
    /// `config.task.classes` otherwise).
    pub classes: Option<u32>,
    /// Decoupled weight decay (`config.weight_decay`).
    pub weight_decay: Option<f64>,
    /// Whether ⊥Grad was on (`config.perp_grad`).
    pub perp_grad: bool,
}

impl RunContext {
    /// The hints of a run with this `meta.json` (none: the default).
    pub fn of(meta: Option<&crate::run::RunMeta>) -> RunContext {
        let Some(config) = meta.map(|m| &m.config) else {
            return RunContext::default();
        };
        let loss = config
            .get("loss")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let task = config.get("task");
        let classes = ["p", "classes", "num_classes"]
            .iter()
            .find_map(|k| task.and_then(|t| t.get(*k)).and_then(|v| v.as_u64()))
            .and_then(|c| u32::try_from(c).ok());
        let dtype = if loss.contains("f16") {
            SoftmaxDtype::F16
        } else if loss.contains("f64") {
            SoftmaxDtype::F64
        } else {
            SoftmaxDtype::F32
        };
        RunContext {
            stablemax: loss == "stablemax",
            no_softmax: loss == "mse",
            dtype,
            classes,
            weight_decay: config.get("weight_decay").and_then(|v| v.as_f64()),
            perp_grad: config
                .get("perp_grad")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        }
    }
}

/// Cached [`analyze`] results for one run: cheap to ask again when nothing
/// changed.
///
/// A live dashboard splits an update in three so that the analysis itself
/// can run while the store is only read-locked: [`Analyzer::due`] (is the
/// store changed and the throttle interval over?), [`Analyzer::compute`] (a
/// pure function of the store and the run's hints) and [`Analyzer::accept`]
/// (store the result).
#[derive(Debug, Clone, Default)]
pub struct Analyzer {
    key: Option<StoreKey>,
    events: Vec<Event>,
    verdict: Verdict,
    analysed_at: Option<Instant>,
    cost: Duration,
    context: RunContext,
}

impl Analyzer {
    /// An analyzer that has seen nothing yet.
    pub fn new() -> Analyzer {
        Analyzer::default()
    }

    /// An analyzer for a run with these hints (from its `meta.json`).
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
        self.accept(self.compute(store), Instant::now())
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
        self.accept(self.compute(store), now)
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

    /// Analyses `store` with this run's hints: a pure function of them,
    /// which only needs to read the store (a shared lock is enough).
    pub fn compute(&self, store: &RunStore) -> Analysis {
        let t = Instant::now();
        let Diagnosis { events, verdict } = diagnose(store, self.context, store.records());
        Analysis {
            key: StoreKey::of(store),
            events,
            verdict,
            took: t.elapsed(),
        }
    }

    /// Keeps the result of [`Analyzer::compute`], finished at `now`;
    /// returns whether the list of events or the verdict changed.
    pub fn accept(&mut self, analysis: Analysis, now: Instant) -> bool {
        self.key = Some(analysis.key);
        self.analysed_at = Some(now);
        self.cost = analysis.took;
        let changed = analysis.events != self.events || analysis.verdict != self.verdict;
        self.events = analysis.events;
        self.verdict = analysis.verdict;
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

    /// The verdict on the last analysed state.
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }
}
