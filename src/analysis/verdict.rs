//! The verdict: one short state for a whole run, kept current, with the
//! reason in a few words — for the runs list, `summary` and the PNG title.
//!
//! It describes the last segment (the current attempt of a resumed run) at
//! its newest point, from the same series and events as the rest of the
//! analysis. docs/ANALYSIS.md lists the states and how each is decided, in
//! the order they are tried.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::collapse::collapse_margin;
use super::roles::Metric;
use super::thresholds::{
    TestAcc, COLLAPSE_ONSET, COLLAPSE_UNDER_WAY, GROKKED_ACC, MEMORISATION_GAP,
};
use super::{Event, EventKind, Scope, Severity};
use crate::numfmt::{percent, short, steps};

/// Train accuracy at or above which the training set counts as fitted for
/// the verdict (a minibatch accuracy rarely sits at exactly 1).
pub const FITTED_ACC: f64 = 0.99;

/// Test accuracy climbing by at least this over the last quarter of the
/// segment is generalisation under way (grokking, when train accuracy is
/// already at 100%).
pub const RISING_ACC: f64 = 0.05;

/// Fewest finite points of the train loss or accuracy before a verdict
/// other than "warming up".
const MIN_POINTS: usize = 10;

/// Points averaged (by their median) for "now".
const NOW_POINTS: usize = 5;

/// What state a run is in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Nothing to judge: no loss or accuracy under any known name.
    #[default]
    Unknown,
    /// Too few points yet.
    WarmingUp,
    /// Learning: the loss falls or the accuracy rises.
    Fitting,
    /// Train accuracy 100% with test accuracy close behind (or none logged).
    Fitted,
    /// Train accuracy 100%, test accuracy lagging and not climbing: the
    /// memorisation plateau, waiting for (or blocked from) generalisation.
    Memorised,
    /// Softmax collapse has set in: most samples give no gradient.
    Collapsing,
    /// Train accuracy 100% and test accuracy climbing late.
    Grokking,
    /// Test accuracy at or above 90%.
    Generalised,
    /// The loss stopped improving after improving.
    Stalled,
    /// The loss never moved.
    Stuck,
    /// The loss is NaN or infinite now.
    Diverged,
}

impl RunState {
    /// Every state.
    pub const ALL: [RunState; 11] = [
        RunState::Unknown,
        RunState::WarmingUp,
        RunState::Fitting,
        RunState::Fitted,
        RunState::Memorised,
        RunState::Collapsing,
        RunState::Grokking,
        RunState::Generalised,
        RunState::Stalled,
        RunState::Stuck,
        RunState::Diverged,
    ];

    /// The name used in JSON (`warming_up`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Unknown => "unknown",
            RunState::WarmingUp => "warming_up",
            RunState::Fitting => "fitting",
            RunState::Fitted => "fitted",
            RunState::Memorised => "memorised",
            RunState::Collapsing => "collapsing",
            RunState::Grokking => "grokking",
            RunState::Generalised => "generalised",
            RunState::Stalled => "stalled",
            RunState::Stuck => "stuck",
            RunState::Diverged => "diverged",
        }
    }

    /// The state named `name` (as [`RunState::as_str`] writes it).
    pub fn from_name(name: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// A short label for a runs list or a title (at most 11 characters).
    pub fn label(self) -> &'static str {
        match self {
            RunState::Unknown => "no verdict",
            RunState::WarmingUp => "warming up",
            RunState::Fitting => "fitting",
            RunState::Fitted => "fitted",
            RunState::Memorised => "memorised",
            RunState::Collapsing => "collapsing",
            RunState::Grokking => "grokking",
            RunState::Generalised => "generalised",
            RunState::Stalled => "stalled",
            RunState::Stuck => "stuck",
            RunState::Diverged => "diverged",
        }
    }

    /// How much the state calls for attention (for its colour).
    pub fn severity(self) -> Severity {
        match self {
            RunState::Diverged => Severity::Alert,
            RunState::Collapsing | RunState::Stalled | RunState::Stuck => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

/// The state of a run now, since when, and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// The state.
    pub state: RunState,
    /// The step the state holds since, when known.
    pub step: Option<i64>,
    /// The segment it describes (the last one).
    pub segment: usize,
    /// The reason, in a few words, with the numbers it rests on.
    pub reason: String,
    /// What it means and what to do, in a sentence or two (may be empty).
    pub advice: String,
}

impl Verdict {
    fn new(state: RunState, step: Option<i64>, segment: usize, reason: String) -> Verdict {
        Verdict {
            state,
            step,
            segment,
            reason,
            advice: String::new(),
        }
    }

    fn advise(mut self, advice: impl Into<String>) -> Verdict {
        self.advice = advice.into();
        self
    }

    /// One line: `memorised since step 50: train 100%, test 0.1% …`.
    pub fn line(&self) -> String {
        match self.step {
            Some(s) => format!(
                "{} since step {}: {}",
                self.state.label(),
                steps(s),
                self.reason
            ),
            None => format!("{}: {}", self.state.label(), self.reason),
        }
    }

    /// The title of a figure or view of run `run`: its name, state and
    /// reason.
    pub fn title(&self, run: &str) -> String {
        format!("{run} — {}: {}", self.state.label(), self.reason)
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(7))?;
        map.serialize_entry("state", &self.state)?;
        map.serialize_entry("label", self.state.label())?;
        map.serialize_entry("severity", &self.state.severity())?;
        map.serialize_entry("step", &self.step)?;
        map.serialize_entry("segment", &self.segment)?;
        map.serialize_entry("reason", &self.reason)?;
        map.serialize_entry("advice", &self.advice)?;
        map.end()
    }
}

/// The median of the last [`NOW_POINTS`] finite values of a segment.
fn now(values: &[f64]) -> Option<f64> {
    let mut tail: Vec<f64> = values[values.len().saturating_sub(NOW_POINTS)..].to_vec();
    let m = super::robust::median_in_place(&mut tail);
    m.is_finite().then_some(m)
}

/// What one metric looks like in the last segment.
struct Latest {
    /// Its newest value (possibly non-finite).
    last: f64,
    last_step: i64,
    /// Median of its last finite values.
    now: Option<f64>,
    /// Finite points.
    count: usize,
    first_step: i64,
}

fn latest(m: &Metric<'_>, seg: usize) -> Option<Latest> {
    let range = m.ranges.get(seg)?.clone();
    if range.is_empty() {
        return None;
    }
    let (_, values) = m.finite(seg);
    Some(Latest {
        last: m.value(range.end - 1),
        last_step: m.step(range.end - 1),
        now: now(&values),
        count: values.len(),
        first_step: m.step(range.start),
    })
}

/// The last event of `kind` in segment `seg`.
fn last_event(events: &[Event], seg: usize, kind: EventKind) -> Option<&Event> {
    events
        .iter()
        .rev()
        .find(|e| e.segment == seg && e.kind == kind)
}

/// The verdict on the run in `scope`, given its events.
pub(super) fn verdict(scope: &Scope<'_>, events: &[Event]) -> Verdict {
    let Some(seg) = scope.segments.len().checked_sub(1) else {
        return Verdict::new(RunState::Unknown, None, 0, "no records yet".into());
    };
    let loss = scope.train_loss();
    let train = scope.train_acc();
    let test = scope.test_acc();
    let loss_now = loss.as_ref().and_then(|m| latest(m, seg));
    let train_now = train.as_ref().and_then(|m| latest(m, seg));
    let test_now = test.as_ref().and_then(|m| latest(m, seg));
    if loss_now.is_none() && train_now.is_none() && test_now.is_none() {
        let reason = if loss.is_none() && train.is_none() && test.is_none() {
            "no loss or accuracy is logged under a name grokscope knows (train/loss, test/acc, Loss/train, val_loss, …)"
        } else {
            "no loss or accuracy in the current segment yet"
        };
        return Verdict::new(RunState::Unknown, None, seg, reason.into());
    }
    let verdict = |state, step, reason| Verdict::new(state, step, seg, reason);

    // Diverged: the newest loss is NaN or infinite.
    if let (Some(l), Some(m)) = (&loss_now, &loss) {
        if !l.last.is_finite() {
            let since = last_event(events, seg, EventKind::NonFinite).map(|e| e.step);
            let what = if l.last.is_nan() { "NaN" } else { "infinite" };
            return verdict(
                RunState::Diverged,
                since,
                format!("{} {what} at step {}", m.name(), steps(l.last_step)),
            )
            .advise("the run has diverged: restart from a checkpoint before it with a lower learning rate or gradient clipping");
        }
    }
    let points = [&loss_now, &train_now]
        .into_iter()
        .flatten()
        .map(|l| l.count)
        .max()
        .unwrap_or(0);
    if points < MIN_POINTS {
        return verdict(
            RunState::WarmingUp,
            None,
            format!("{points} point(s) so far; a verdict needs {MIN_POINTS}"),
        );
    }
    let last_step = [&loss_now, &train_now, &test_now]
        .into_iter()
        .flatten()
        .map(|l| l.last_step)
        .max()
        .unwrap_or(0);
    // Stuck: the loss has not moved since the segment began.
    if let Some(e) = last_event(events, seg, EventKind::Stuck) {
        let end = e.evidence.get("end_step").unwrap_or(f64::NAN);
        if loss_now.as_ref().is_some_and(|l| end >= l.last_step as f64) {
            return verdict(
                RunState::Stuck,
                Some(e.step),
                format!(
                    "loss flat at {} from the start",
                    short(e.evidence.get("level").unwrap_or(f64::NAN)),
                ),
            )
            .advise(e.message.clone());
        }
    }
    let train_acc = train_now.as_ref().and_then(|l| l.now);
    let test_acc = test_now.as_ref().and_then(|l| l.now);
    let test_trend = TestAcc::at(scope, seg, last_step);
    // Collapse counts once an onset was detected (the metric is then a
    // measurement that describes the training loss) and while it lasts.
    let onset_seen = events.iter().any(|e| e.kind == EventKind::CollapseOnset);
    // A collapse in a sawtooth (each unstable step resets part of it) counts
    // by its median over the last quarter of the segment, so a reset just
    // before the newest point does not hide it.
    let collapsed = if scope.collapse_is_real && onset_seen {
        scope.metric("sc/collapsed").and_then(|m| {
            let l = latest(&m, seg)?;
            let back = (l.last_step - l.first_step) / 4;
            let quarter = m.median_over(seg, l.last_step - back..l.last_step + 1);
            match (l.now, quarter.is_finite()) {
                (Some(now), true) => Some(now.max(quarter)),
                (now, _) => now,
            }
        })
    } else {
        None
    };
    let accs = |t: Option<f64>| match (train_acc, t) {
        (Some(a), Some(b)) => format!("train {}, test {}", percent(a), percent(b)),
        (Some(a), None) => format!("train accuracy {}", percent(a)),
        (None, Some(b)) => format!("test accuracy {}", percent(b)),
        (None, None) => String::new(),
    };

    // Generalised: test accuracy at 90% or more.
    if let Some(t) = test_acc.filter(|&t| t >= GROKKED_ACC) {
        let since = test
            .as_ref()
            .and_then(|m| crossing_step(m, seg, GROKKED_ACC))
            .or(test_now.as_ref().map(|l| l.first_step));
        let advice = match collapsed.filter(|&c| c > COLLAPSE_ONSET) {
            Some(c) => format!(
                "its softmax has collapsed since ({} of samples): harmless now, but it learns nothing more",
                percent(c)
            ),
            None => String::new(),
        };
        return verdict(RunState::Generalised, since, accs(Some(t))).advise(advice);
    }
    // Collapsing: most samples' softmax rounds to exactly 1.
    if let Some(c) = collapsed.filter(|&c| c > COLLAPSE_ONSET) {
        let since = last_event(events, seg, EventKind::CollapseOnset).map(|e| e.step);
        let test_text = test_acc
            .map(|t| format!(", test {}", percent(t)))
            .unwrap_or_default();
        return verdict(
            RunState::Collapsing,
            since,
            format!("{} of samples collapsed{test_text}", percent(c)),
        )
        .advise("most samples' softmax rounds to exactly 1, so they give no gradient and learning stops before the network generalises; retrain with StableMax, ⊥Grad, weight decay or an f64 softmax");
    }
    // Collapsing, under way: on a fitted run the collapsed share (a smooth
    // measurement) has passed 10% and climbed by 5 points over the last
    // quarter of the segment.
    if let Some((c, since)) = train_acc
        .filter(|&a| a >= FITTED_ACC)
        .and_then(|_| collapse_under_way(scope, seg, last_step))
    {
        let test_text = test_acc
            .map(|t| format!(", test {}", percent(t)))
            .unwrap_or_default();
        return verdict(
            RunState::Collapsing,
            since,
            format!("{} of samples collapsed and rising{test_text}", percent(c)),
        )
        .advise("the softmax of more and more samples rounds to exactly 1, so they stop giving a gradient; learning will stop before the network generalises unless you switch to StableMax, ⊥Grad, weight decay or an f64 softmax");
    }
    if let Some(a) = train_acc.filter(|&a| a >= FITTED_ACC) {
        let fit_since = [EventKind::Memorisation, EventKind::Fitted]
            .into_iter()
            .filter_map(|k| last_event(events, seg, k))
            .map(|e| e.step)
            .min()
            .or_else(|| {
                train
                    .as_ref()
                    .and_then(|m| crossing_step(m, seg, FITTED_ACC))
            });
        let Some(t) = test_acc else {
            return verdict(
                RunState::Fitted,
                fit_since,
                format!("train accuracy {}", percent(a)),
            )
            .advise("no test accuracy is logged to tell memorisation from generalisation");
        };
        if let Some(trend) = test_trend.filter(|tr| tr.now - tr.before >= RISING_ACC) {
            let since = last_step - (last_step - first_step(&test_now)) / 4;
            return verdict(
                RunState::Grokking,
                Some(since),
                format!(
                    "test {} → {}, train {}",
                    percent(trend.before),
                    percent(trend.now),
                    percent(a)
                ),
            )
            .advise("test accuracy is climbing long after the training set was fitted: generalisation is under way");
        }
        if 1.0 - t < MEMORISATION_GAP {
            return verdict(RunState::Fitted, fit_since, accs(Some(t)));
        }
        let (cause, advice) = plateau_cause(scope, seg, events, last_step);
        return verdict(
            RunState::Memorised,
            fit_since,
            format!("{}; {cause}", accs(Some(t))),
        )
        .advise(advice);
    }
    // Stalled: a stall that lasts to the newest point.
    if let Some(e) = last_event(events, seg, EventKind::Stall) {
        let end = e.evidence.get("end_step").unwrap_or(f64::NAN);
        if loss_now.as_ref().is_some_and(|l| end >= l.last_step as f64) {
            return verdict(
                RunState::Stalled,
                Some(e.step),
                format!(
                    "loss flat near {} for {} steps",
                    short(e.evidence.get("level").unwrap_or(f64::NAN)),
                    steps(last_step - e.step)
                ),
            )
            .advise(e.message.clone());
        }
    }
    // Fitting: anything else that is learning.
    let mut parts = Vec::new();
    if let (Some(l), Some(m)) = (&loss_now, &loss) {
        let (_, values) = m.finite(seg);
        let first = now(&values[..values.len().min(NOW_POINTS)]);
        if let (Some(a), Some(b)) = (first, l.now) {
            parts.push(format!("loss {} → {}", short(a), short(b)));
        }
    }
    let acc_text = accs(test_acc);
    if !acc_text.is_empty() {
        parts.push(acc_text);
    }
    verdict(RunState::Fitting, None, parts.join(", "))
}

/// The collapsed share now and the step it passed 10%, when collapse is
/// under way: `sc/collapsed` describes the training loss, is smooth (a
/// measurement), is at least 10% and rose by 5 points or more over the last
/// quarter of the segment.
fn collapse_under_way(scope: &Scope<'_>, seg: usize, last_step: i64) -> Option<(f64, Option<i64>)> {
    if !scope.collapse_is_real {
        return None;
    }
    let sc = scope.metric("sc/collapsed")?;
    let (_, values) = sc.finite(seg);
    let c = now(&values)?;
    let tail = &values[values.len().saturating_sub(16)..];
    let smooth =
        super::robust::noise_sigma(tail, &mut Vec::new()) <= super::thresholds::COLLAPSE_MAX_NOISE;
    let l = latest(&sc, seg)?;
    let back = (last_step - l.first_step) / 4;
    let before = sc.median_over(seg, last_step - 2 * back..last_step - back);
    let rising = before.is_finite() && c - before >= RISING_ACC;
    (c >= COLLAPSE_UNDER_WAY && smooth && rising)
        .then(|| (c, first_crossing(&sc, seg, COLLAPSE_UNDER_WAY)))
}

/// The step at which `m` first reached `level` for [`super::PERSIST_POINTS`]
/// points in a row: when a collapse began, though a sawtooth dipped below
/// since.
fn first_crossing(m: &Metric<'_>, seg: usize, level: f64) -> Option<i64> {
    let (idx, values) = m.finite(seg);
    let n = super::PERSIST_POINTS;
    (0..values.len().saturating_sub(n - 1))
        .find(|&k| values[k..k + n].iter().all(|&v| v >= level))
        .map(|k| m.step(idx[k]))
}

/// The first step of a latest-view, or 0.
fn first_step(l: &Option<Latest>) -> i64 {
    l.as_ref().map_or(0, |l| l.first_step)
}

/// The step at which `m` first reached `level` for good (the start of the
/// last stretch of the segment at or above it).
fn crossing_step(m: &Metric<'_>, seg: usize, level: f64) -> Option<i64> {
    let (idx, values) = m.finite(seg);
    let below = values.iter().rposition(|&v| v < level);
    let first = below.map_or(0, |k| k + 1);
    idx.get(first).map(|&i| m.step(i))
}

/// Why a memorised run is not generalising, from its diagnostics: the
/// logits heading for softmax collapse, the weight norm falling under weight
/// decay, or naive loss minimisation; the test accuracy's flatness if none
/// shows. A few words, then what it means and what to do.
fn plateau_cause(
    scope: &Scope<'_>,
    seg: usize,
    events: &[Event],
    last_step: i64,
) -> (String, String) {
    let threshold = collapse_margin(scope.context.dtype);
    let margin = scope
        .metric("sc/margin")
        .and_then(|m| latest(&m, seg))
        .and_then(|l| l.now);
    let warned = last_event(events, seg, EventKind::CollapseWarning);
    if let (Some(m), Some(w)) = (margin, warned) {
        let at = w.evidence.get("predicted_step").unwrap_or(f64::NAN) as i64;
        if m < threshold && m >= 0.5 * threshold {
            // A prediction already past (the margin slowed down) names no step.
            let when = if at > last_step {
                format!(" near step {}", steps(at))
            } else {
                String::new()
            };
            return (
                format!("logits heading for collapse{when}"),
                format!(
                    "the logit margin is {} of the {} at which the softmax collapses: naive loss minimisation is scaling the logits instead of generalising; StableMax, ⊥Grad or weight decay stop it",
                    short(m),
                    short(threshold)
                ),
            );
        }
    }
    if let Some(weights) = scope.metric("norm/weights") {
        let (_, values) = weights.finite(seg);
        let peak = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let n = values.len();
        if n >= 2 * NOW_POINTS && peak > 0.0 {
            let current = now(&values).unwrap_or(peak);
            let earlier = now(&values[..n - n / 4]).unwrap_or(peak);
            if current <= 0.95 * peak && current < earlier {
                let decay = scope
                    .context
                    .weight_decay
                    .filter(|&wd| wd > 0.0)
                    .map(|wd| format!(" under weight decay {}", short(wd)))
                    .unwrap_or_default();
                return (
                    "weight norm falling".to_string(),
                    format!(
                        "the weight norm is {} and falling from its peak {}{decay}: the network is simplifying, and grokking is likely on its way — keep training",
                        short(current),
                        short(peak)
                    ),
                );
            }
        }
    }
    if let Some(c) = scope
        .metric("sc/nlm_cos")
        .and_then(|m| latest(&m, seg))
        .and_then(|l| l.now)
        .filter(|&c| c >= 0.5)
    {
        return (
            "updates scale the logits".to_string(),
            format!(
                "sc/nlm_cos is {}: the updates mostly scale the logits (naive loss minimisation) and nothing stops it; weight decay, ⊥Grad or StableMax would",
                short(c)
            ),
        );
    }
    let since = last_event(events, seg, EventKind::Memorisation)
        .map(|e| format!(" for {} steps", steps(last_step - e.step)))
        .unwrap_or_default();
    (
        format!("test flat{since}"),
        "the training set is fitted and test accuracy is not moving; grokking can take many times longer than fitting — weight decay speeds it up".to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{noisy, Synth};
    use super::super::{diagnose, RunContext};
    use super::*;

    fn verdict_of(synth: Synth) -> Verdict {
        let store = synth.build();
        diagnose(&store, RunContext::default(), store.records()).verdict
    }

    /// Train accuracy that reaches 1 at point 50.
    fn fit(n: usize) -> Vec<f64> {
        (0..n).map(|i| (0.1 + i as f64 / 55.0).min(1.0)).collect()
    }

    #[test]
    fn nothing_to_judge_and_too_little_to_judge() {
        let v = verdict_of(Synth::new(1).series("lr", &[0.1; 50]));
        assert_eq!(v.state, RunState::Unknown);
        assert!(v.reason.contains("train/loss"), "{}", v.reason);
        let v = verdict_of(Synth::new(1).series("train/loss", &[2.0, 1.9, 1.8]));
        assert_eq!(v.state, RunState::WarmingUp);
        assert_eq!(Verdict::default().state, RunState::Unknown);
    }

    #[test]
    fn a_nan_at_the_newest_point_is_divergence() {
        let mut loss = noisy(100, 1, |i| 2.0 / (1.0 + i as f64), 0.0);
        loss[99] = f64::NAN;
        let v = verdict_of(Synth::new(10).series("train/loss", &loss));
        assert_eq!((v.state, v.step), (RunState::Diverged, Some(990)));
        assert!(v.reason.contains("NaN"), "{}", v.reason);
        assert_eq!(v.state.severity(), Severity::Alert);
    }

    #[test]
    fn fitted_with_and_without_a_test_accuracy() {
        let v = verdict_of(Synth::new(10).series("train/acc", &fit(200)));
        assert_eq!(v.state, RunState::Fitted);
        assert!(v.advice.contains("no test accuracy"), "{}", v.advice);
        let test: Vec<f64> = fit(200).iter().map(|a| a * 0.85).collect();
        let v = verdict_of(
            Synth::new(10)
                .series("train/acc", &fit(200))
                .series("test/acc", &test),
        );
        assert_eq!(v.state, RunState::Fitted);
        assert_eq!(v.reason, "train 100%, test 85%");
    }

    #[test]
    fn test_accuracy_climbing_after_a_fit_is_grokking() {
        let test: Vec<f64> = (0..400)
            .map(|i| {
                if i < 300 {
                    0.02
                } else {
                    0.02 + (i - 300) as f64 / 200.0
                }
            })
            .collect();
        let v = verdict_of(
            Synth::new(10)
                .series("train/acc", &fit(400))
                .series("test/acc", &test),
        );
        assert_eq!(v.state, RunState::Grokking, "{v:?}");
        assert!(v.reason.starts_with("test 2% → 51.5%"), "{}", v.reason);
    }

    #[test]
    fn a_memorised_run_names_its_cause() {
        let flat_test = vec![0.01; 400];
        // The weight norm falling from its peak: weight decay at work.
        let weights: Vec<f64> = (0..400)
            .map(|i| {
                if i < 100 {
                    10.0 + i as f64
                } else {
                    110.0 - 0.2 * (i - 100) as f64
                }
            })
            .collect();
        let v = verdict_of(
            Synth::new(10)
                .series("train/acc", &fit(400))
                .series("test/acc", &flat_test)
                .series("norm/weights", &weights),
        );
        assert_eq!((v.state, v.step), (RunState::Memorised, Some(500)));
        assert!(v.reason.contains("weight norm falling"), "{}", v.reason);
        assert!(v.advice.contains("grokking is likely"), "{}", v.advice);
        // Updates along the weights: naive loss minimisation.
        let v = verdict_of(
            Synth::new(10)
                .series("train/acc", &fit(400))
                .series("test/acc", &flat_test)
                .series("sc/nlm_cos", &[0.8; 400]),
        );
        assert!(
            v.reason.contains("updates scale the logits"),
            "{}",
            v.reason
        );
        // A margin on course for collapse.
        let margin: Vec<f64> = (0..400).map(|i| 2.0 + 0.03 * i as f64).collect();
        let v = verdict_of(
            Synth::new(10)
                .series("train/acc", &fit(400))
                .series("test/acc", &flat_test)
                .series("sc/margin", &margin),
        );
        assert!(v.reason.contains("heading for collapse"), "{}", v.reason);
        assert!(v.advice.contains("StableMax"), "{}", v.advice);
        // Nothing else: test accuracy flat. Never "a higher learning rate".
        let v = verdict_of(
            Synth::new(10)
                .series("train/acc", &fit(400))
                .series("test/acc", &flat_test),
        );
        assert!(
            v.reason.contains("test flat for 3,490 steps"),
            "{}",
            v.reason
        );
        assert!(!v.advice.contains("learning rate"), "{}", v.advice);
    }

    #[test]
    fn collapse_under_way_before_its_onset_is_collapsing() {
        // sc/collapsed climbs smoothly from 0 (point 200) to 0.4 (point 400).
        let sc: Vec<f64> = (0..400)
            .map(|i| (i as f64 - 200.0).max(0.0) / 500.0)
            .collect();
        let v = verdict_of(
            Synth::new(10)
                .series("train/acc", &fit(400))
                .series("test/acc", &[0.01; 400])
                .series("sc/collapsed", &sc),
        );
        assert_eq!(v.state, RunState::Collapsing, "{v:?}");
        assert_eq!(v.step, Some(2500));
        assert!(
            v.reason
                .starts_with("39.4% of samples collapsed and rising"),
            "{}",
            v.reason
        );
        // The same numbers at random are no collapse.
        let mut rng = super::super::testkit::Rng::new(9);
        let random: Vec<f64> = (0..400).map(|_| 0.4 * rng.uniform()).collect();
        let v = verdict_of(
            Synth::new(10)
                .series("train/acc", &fit(400))
                .series("test/acc", &[0.01; 400])
                .series("sc/collapsed", &random),
        );
        assert_eq!(v.state, RunState::Memorised, "{v:?}");
    }

    #[test]
    fn a_stall_lasting_to_the_end_and_plain_fitting() {
        let loss = noisy(
            1000,
            5,
            |i| 0.3 + 1.7 * (1.0 - (i as f64 / 400.0)).max(0.0).powi(2),
            0.01,
        );
        let v = verdict_of(Synth::new(10).series("train/loss", &loss));
        assert_eq!(v.state, RunState::Stalled, "{v:?}");
        let falling = noisy(1000, 5, |i| 2.0 / (1.0 + i as f64 / 50.0), 0.001);
        let v = verdict_of(Synth::new(10).series("train/loss", &falling));
        assert_eq!(v.state, RunState::Fitting);
        assert!(v.reason.starts_with("loss 1.923 → 0.09"), "{}", v.reason);
    }

    #[test]
    fn labels_are_short_and_names_round_trip() {
        for s in RunState::ALL {
            assert!(s.label().chars().count() <= 11, "{}", s.label());
            assert_eq!(RunState::from_name(s.as_str()), Some(s));
        }
        let v = Verdict::new(
            RunState::Memorised,
            Some(50),
            0,
            "train 100%, test 0%".into(),
        );
        assert_eq!(v.line(), "memorised since step 50: train 100%, test 0%");
        assert_eq!(v.title("r"), "r — memorised: train 100%, test 0%");
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["state"], "memorised");
        assert_eq!(json["label"], "memorised");
        assert_eq!(json["step"], 50);
    }
}
