//! Softmax collapse before it happens: the early warning, and whether a
//! run's `sc/collapsed` describes the loss it trains with at all.
//!
//! Prieto et al. (ICLR 2025): once a network fits its training set, the
//! gradient keeps scaling the logits up (naive loss minimisation) and the
//! logit margin grows steadily. A sample's softmax rounds to exactly 1 once
//! every other class's `exp(z_j − z_max)` is lost next to the 1 of the top
//! class: when the margin passes ln(2/ε) (ε the dtype's machine epsilon;
//! 16.64 in f32) if the terms are added to that 1 one at a time, and up to
//! ln(2/ε) + ln(C − 1) if they are summed among themselves first. The
//! shipped f32 runs collapse at a mean margin of 16.6–16.8, the low end, so
//! the warning predicts when the margin's trend reaches ln(2/ε).

use super::roles::Metric;
use super::thresholds::{TestAcc, COLLAPSE_UNDER_WAY};
use super::verdict::FITTED_ACC;
use super::{Event, EventKind, Scope, Severity, SoftmaxDtype};
use crate::numfmt::{short, steps};

/// Points of `sc/margin` a segment needs before any prediction.
pub const WARN_MIN_POINTS: usize = 10;

/// The trend is a least-squares line through the trailing window of this
/// share of the segment's points so far (at least [`WARN_MIN_POINTS`]):
/// long enough to ignore noise, short enough to follow a margin that grows
/// faster or slower than it did.
pub const WARN_WINDOW_SHARE: f64 = 0.25;

/// The line must explain at least this share of the window's variance (R²):
/// a margin that wanders is not on course for anything.
pub const WARN_MIN_FIT: f64 = 0.9;

/// The margin must already be at least this share of the collapse margin:
/// an early, fast rise says nothing about where it is heading.
pub const WARN_MIN_MARGIN_SHARE: f64 = 0.5;

/// The predicted crossing must be at most this share of the steps the
/// segment has run so far ahead: a warning names what is coming, not what
/// may come in ten times the run's length.
pub const WARN_HORIZON_SHARE: f64 = 0.5;

/// After a warning, another one in the same segment needs the margin to
/// have fallen by this share of the collapse margin first (a spike that
/// reset the logits, and a second approach).
pub const WARN_RESET_SHARE: f64 = 0.25;

/// The margin at which an f32 (or `dtype`) softmax starts to round to
/// exactly 1: ln(2/ε) (16.64 in f32). With C classes whose other logits are
/// level, up to ln(C − 1) more.
pub fn collapse_margin(dtype: SoftmaxDtype) -> f64 {
    (2.0 / dtype.epsilon()).ln()
}

/// Whether `sc/collapsed` describes the loss the run trains with.
///
/// It does not for a run trained with StableMax whose log predates
/// `sc/softmax_f32_collapsed` (its `sc/collapsed` is what an f32 softmax
/// would do with its logits), for a run whose loss is not a softmax
/// (`meta.json` hints), and — from the series alone — for a run in which
/// `sc/collapsed` reads exactly 1 while the train loss is above 0: every
/// sample at exactly zero loss makes the mean loss exactly 0.
pub(super) fn describes_training_loss(scope: &Scope<'_>) -> bool {
    let context = &scope.context;
    if context.no_softmax {
        return false;
    }
    if context.stablemax && scope.store.series("sc/softmax_f32_collapsed").is_none() {
        return false;
    }
    let (Some(sc), Some(loss)) = (scope.metric("sc/collapsed"), scope.train_loss()) else {
        return true;
    };
    let mut contradictions = 0;
    for (seg, range) in sc.ranges.iter().enumerate() {
        for i in range.clone() {
            if sc.value(i) == 1.0 && loss.at_step(seg, sc.step(i)).is_some_and(|l| l > 0.0) {
                contradictions += 1;
                if contradictions >= super::PERSIST_POINTS {
                    return false;
                }
            }
        }
    }
    true
}

/// Whether the run is one whose logits may grow without bound harmlessly:
/// its loss is not a softmax (StableMax, MSE), by the hints or by the
/// trainer logging `sc/softmax_f32_collapsed` (StableMax runs only).
fn unbounded_logits_are_fine(scope: &Scope<'_>) -> bool {
    scope.context.stablemax
        || scope.context.no_softmax
        || scope.store.series("sc/softmax_f32_collapsed").is_some()
        || !scope.collapse_is_real
}

/// A least-squares line through `(x, y)`: slope, value at the last x, R².
fn fit_line(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if sxx == 0.0 {
        return (0.0, my, 0.0);
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        0.0
    } else {
        sxy * sxy / (sxx * syy)
    };
    let last = my + slope * (x[x.len() - 1] - mx);
    (slope, last, r2)
}

/// Early warnings of softmax collapse on `sc/margin`.
pub(super) fn warnings(scope: &Scope<'_>, out: &mut Vec<Event>) {
    if unbounded_logits_are_fine(scope) {
        return;
    }
    let Some(margin) = scope.metric("sc/margin") else {
        return;
    };
    let threshold = collapse_margin(scope.context.dtype);
    let sc = scope.metric("sc/collapsed");
    let train_acc = scope.train_acc();
    let nlm = scope.metric("sc/nlm_cos");
    for seg in 0..margin.ranges.len() {
        let (idx, y) = margin.finite(seg);
        if y.len() < WARN_MIN_POINTS {
            continue;
        }
        let x: Vec<f64> = idx.iter().map(|&i| margin.step(i) as f64).collect();
        let start = x[0];
        // While `armed`, a warning may be given; after one, the margin must
        // fall by WARN_RESET_SHARE of the threshold below its highest since.
        let mut armed = true;
        let mut high = f64::NEG_INFINITY;
        let mut k = WARN_MIN_POINTS - 1;
        while k < y.len() {
            let w = ((WARN_WINDOW_SHARE * (k + 1) as f64).ceil() as usize).max(WARN_MIN_POINTS);
            let hop = (w / 8).max(1);
            if !armed {
                high = high.max(y[k]);
                if y[k] <= high - WARN_RESET_SHARE * threshold {
                    armed = true;
                }
            }
            if armed {
                let lo = k + 1 - w.min(k + 1);
                let (slope, level, r2) = fit_line(&x[lo..=k], &y[lo..=k]);
                let step = margin.step(idx[k]);
                let ahead = if slope > 0.0 {
                    (threshold - level) / slope
                } else {
                    f64::INFINITY
                };
                let on_course = r2 >= WARN_MIN_FIT
                    && level < threshold
                    && level >= WARN_MIN_MARGIN_SHARE * threshold
                    && ahead <= WARN_HORIZON_SHARE * (x[k] - start);
                let fitted = train_acc
                    .as_ref()
                    .is_none_or(|a| a.at_step(seg, step).is_none_or(|v| v >= FITTED_ACC));
                // Collapse under way within the window the trend is read
                // from is past warning about: the onset, the verdict and the
                // spikes of its sawtooth say the rest. (A collapse that a
                // spike reset long before is not: the margin may approach
                // the edge again.)
                let collapsed = sc.as_ref().is_some_and(|s| {
                    s.highest_between(seg, x[lo] as i64, step)
                        .is_some_and(|v| v >= COLLAPSE_UNDER_WAY)
                });
                if on_course && fitted && !collapsed {
                    let predicted = step + ahead.round() as i64;
                    let nlm_now = nlm.as_ref().and_then(|n| n.at_step(seg, step));
                    out.push(warning(
                        scope, &margin, seg, idx[k], level, slope, predicted, nlm_now,
                    ));
                    armed = false;
                    high = y[k];
                }
            }
            k += if armed { hop } else { 1 };
        }
    }
}

/// The warning event at point `i` of `margin`.
#[allow(clippy::too_many_arguments)]
fn warning(
    scope: &Scope<'_>,
    margin: &Metric<'_>,
    seg: usize,
    i: usize,
    level: f64,
    slope: f64,
    predicted: i64,
    nlm: Option<f64>,
) -> Event {
    let dtype = scope.context.dtype;
    let threshold = collapse_margin(dtype);
    let step = margin.step(i);
    let upper = match scope.context.classes {
        Some(c) if c > 2 => format!(
            "; up to {} if the other {} logits are level",
            short(threshold + f64::from(c - 1).ln()),
            c - 1
        ),
        _ => "; up to ln(C − 1) more with C classes whose other logits are level".to_string(),
    };
    let nlm_text = match nlm {
        Some(c) if c >= 0.5 => format!(
            ". sc/nlm_cos is {}: the updates mostly scale the logits (naive loss minimisation)",
            short(c)
        ),
        _ => String::new(),
    };
    let test = TestAcc::at(scope, seg, step);
    let (tail, severity) = match test {
        Some(t) if t.generalised() => (
            format!(
                ". Test accuracy is already {}: the run has generalised, collapse only matters if you train on",
                crate::numfmt::percent(t.now)
            ),
            Severity::Info,
        ),
        Some(t) if t.rising() => (
            format!(
                ". Test accuracy is climbing ({} → {}): generalisation is under way and may outrun the collapse",
                crate::numfmt::percent(t.before),
                crate::numfmt::percent(t.now)
            ),
            Severity::Info,
        ),
        _ => (
            ". Remedies before learning stops: StableMax, ⊥Grad, weight decay, or an f64 softmax".to_string(),
            Severity::Warning,
        ),
    };
    let message = format!(
        "Softmax collapse ahead: the logit margin is {} and rising {} a step; at this pace it reaches {} (ln 2/ε, where an {} softmax starts rounding to exactly 1{upper}) near step {} — in about {} steps{nlm_text}{tail}",
        short(level),
        short(slope),
        short(threshold),
        dtype.name(),
        steps(predicted),
        steps(predicted - step),
    );
    let mut evidence = vec![
        ("margin", level),
        ("slope", slope),
        ("threshold", threshold),
        ("predicted_step", predicted as f64),
        ("lead_steps", (predicted - step) as f64),
    ];
    if let Some(c) = nlm {
        evidence.push(("nlm_cos", c));
    }
    let mut e = Event::at(
        EventKind::CollapseWarning,
        &margin.series,
        i,
        seg,
        message,
        evidence,
    );
    e.severity = severity;
    e
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Synth;
    use super::super::{analyze, EventKind, Severity, SoftmaxDtype};
    use super::*;

    #[test]
    fn the_collapse_margin_is_ln_2_over_epsilon() {
        assert!((collapse_margin(SoftmaxDtype::F32) - 16.6355).abs() < 1e-3);
        assert!((collapse_margin(SoftmaxDtype::F16) - 7.6246).abs() < 1e-3);
        assert!((collapse_margin(SoftmaxDtype::F64) - 36.7368).abs() < 1e-3);
    }

    #[test]
    fn a_steadily_growing_margin_warns_ahead_of_the_crossing() {
        // Margin 0.01 per step from 5 at step 0: reaches 16.64 at step 1164.
        let margin: Vec<f64> = (0..150).map(|i| 5.0 + 0.1 * i as f64).collect();
        let acc = vec![1.0; 150];
        let store = Synth::new(10)
            .series("sc/margin", &margin)
            .series("train/acc", &acc)
            .build();
        let events = analyze(&store);
        let warnings: Vec<_> = events
            .iter()
            .filter(|e| e.kind == EventKind::CollapseWarning)
            .collect();
        assert_eq!(warnings.len(), 1, "{events:#?}");
        let w = warnings[0];
        assert_eq!(w.severity, Severity::Warning);
        let predicted = w.evidence.get("predicted_step").unwrap();
        assert!((predicted - 1164.0).abs() <= 10.0, "{predicted}");
        // Within half the elapsed steps: 1164 - s <= s / 2, s >= 776.
        assert!((770..=800).contains(&w.step), "{}", w.step);
        assert!(w.message.contains("StableMax"), "{}", w.message);
    }

    #[test]
    fn a_wandering_or_flat_margin_warns_of_nothing() {
        let mut rng = super::super::testkit::Rng::new(5);
        let wander: Vec<f64> = (0..300).map(|_| 12.0 + 3.0 * rng.normal()).collect();
        let flat = vec![12.0; 300];
        for m in [wander, flat] {
            let store = Synth::new(10).series("sc/margin", &m).build();
            assert!(analyze(&store).is_empty());
        }
    }

    #[test]
    fn a_margin_already_collapsed_or_under_stablemax_warns_of_nothing() {
        let margin: Vec<f64> = (0..150).map(|i| 5.0 + 0.1 * i as f64).collect();
        let store = Synth::new(10)
            .series("sc/margin", &margin)
            .series("sc/softmax_f32_collapsed", &vec![1.0; 150])
            .build();
        assert!(analyze(&store).is_empty());
    }
}
