//! Threshold crossings: softmax collapse, memorisation (or a plain fit) and
//! grokking.

use std::ops::Range;

use super::robust::noise_sigma;
use super::roles::Metric;
use super::{Event, EventKind, Scope, Severity};
use crate::numfmt::{percent, steps};
use crate::store::SeriesView;

/// `sc/collapsed` above which collapse has begun: half the training samples
/// have a softmax that rounds to exactly 1, so half the gradient is gone.
/// The seed paper reports this 50% crossing as the onset.
pub const COLLAPSE_ONSET: f64 = 0.5;

/// `sc/collapsed` from which collapse is under way: a tenth of the training
/// samples give no label gradient. Past it, a collapse is no longer ahead
/// (no early warning) and a fitted run whose share keeps rising is
/// `collapsing`.
pub const COLLAPSE_UNDER_WAY: f64 = 0.1;

/// `sc/collapsed` above which collapse is complete: fewer than 1% of the
/// samples still produce any gradient.
pub const COLLAPSE_SATURATION: f64 = 0.99;

/// A collapse crossing counts only where `sc/collapsed` is a measurement,
/// not noise: the noise of its trailing 16 points (from their first
/// differences) must be below this. A full-batch count moves smoothly;
/// random numbers in the column move by ±0.3 from point to point.
pub const COLLAPSE_MAX_NOISE: f64 = 0.1;

/// Points the noise of `sc/collapsed` is judged over.
const COLLAPSE_NOISE_POINTS: usize = 16;

/// A collapsed sample is predicted with certainty, so (where `train/acc` is
/// logged) the collapsed share cannot exceed the train accuracy by more
/// than this.
const COLLAPSE_ACC_SLACK: f64 = 0.05;

/// `train/acc` at or above which the training set counts as memorised:
/// 1.0 up to float rounding of count / N (and of f32 logging), but below
/// one wrong sample in a million.
pub const MEMORISED_ACC: f64 = 1.0 - 1e-6;

/// Train accuracy 100% is *memorisation* when test accuracy is below
/// [`GROKKED_ACC`] and trails it by at least this much; otherwise the run
/// has simply *fitted* its training set.
pub const MEMORISATION_GAP: f64 = 0.2;

/// Accuracy that counts as "learned" for grokking: the usual 90% line.
pub const GROKKED_ACC: f64 = 0.9;

/// Grokking needs the test crossing to come at least this many times as
/// long after the train crossing as the train crossing took from the start
/// of the segment: test accuracy that simply trails train accuracy by a few
/// evaluations is ordinary learning, not delayed generalisation.
pub const GROK_MIN_DELAY_FACTOR: f64 = 1.0;

/// A crossing counts once this many consecutive finite points are past the
/// threshold: a single noisy point does not make an event.
pub const PERSIST_POINTS: usize = 3;

/// The first crossing of `threshold` in `range` of `series`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Crossing {
    /// Point where the persistent run past the threshold starts.
    pub index: usize,
    /// Whether a finite point before it in the range was on the other side
    /// (the crossing itself was seen, not just its result).
    pub observed: bool,
}

/// First point where `past(i, value)` holds for [`PERSIST_POINTS`]
/// consecutive finite points (non-finite points are skipped, they neither
/// count nor break a run).
pub(super) fn crossing(
    series: &SeriesView<'_>,
    range: Range<usize>,
    scale: f64,
    past: impl Fn(usize, f64) -> bool,
) -> Option<Crossing> {
    let values = series.values();
    let mut run_start = None;
    let mut run_len = 0;
    let mut seen_before = false;
    for i in range {
        let v = values[i] * scale;
        if !v.is_finite() {
            continue;
        }
        if past(i, v) {
            if run_start.is_none() {
                run_start = Some(i);
            }
            run_len += 1;
            if run_len >= PERSIST_POINTS {
                return run_start.map(|index| Crossing {
                    index,
                    observed: seen_before,
                });
            }
        } else {
            if run_start.is_some() {
                run_start = None;
                run_len = 0;
            }
            seen_before = true;
        }
    }
    None
}

/// Whether a crossing is reported: always in the first segment; in a later
/// one only if it was seen there (a run resumed past the threshold carries
/// an event the earlier segment already reported).
pub(super) fn reportable(c: &Crossing, segment: usize) -> bool {
    c.observed || segment == 0
}

/// Test accuracy around a step, for wording events: where it is, and
/// whether it is climbing.
#[derive(Debug, Clone, Copy)]
pub(super) struct TestAcc {
    /// The last value at or before the step.
    pub now: f64,
    /// The median over the quarter of the segment before the step.
    pub before: f64,
}

impl TestAcc {
    /// Test accuracy at `step` of segment `seg`, if logged.
    pub fn at(scope: &Scope<'_>, seg: usize, step: i64) -> Option<TestAcc> {
        let test = scope.test_acc()?;
        let now = test.at_step(seg, step)?;
        let range = test.ranges.get(seg)?;
        let start = if range.is_empty() {
            step
        } else {
            test.step(range.start)
        };
        let back = ((step - start) / 4).max(1);
        let before = test.median_over(seg, step - 2 * back..step - back);
        Some(TestAcc {
            now,
            before: if before.is_finite() { before } else { now },
        })
    }

    /// The network has generalised: test accuracy at or above [`GROKKED_ACC`].
    pub fn generalised(&self) -> bool {
        self.now >= GROKKED_ACC
    }

    /// Test accuracy climbed by at least 5 points over the last quarter of
    /// the segment: generalisation is under way.
    pub fn rising(&self) -> bool {
        self.now - self.before >= 0.05
    }
}

/// Whether the noise of `sc` over the points before and at `i` says it is a
/// measurement (see [`COLLAPSE_MAX_NOISE`]).
fn measured(sc: &Metric<'_>, range: &Range<usize>, i: usize) -> bool {
    let from = i.saturating_sub(COLLAPSE_NOISE_POINTS - 1).max(range.start);
    let window: Vec<f64> = (from..=i)
        .map(|k| sc.value(k))
        .filter(|v| v.is_finite())
        .collect();
    noise_sigma(&window, &mut Vec::new()) <= COLLAPSE_MAX_NOISE
}

/// Softmax collapse onset and saturation on `sc/collapsed`, where that
/// metric describes the training loss and is a measurement.
pub(super) fn collapse(scope: &Scope<'_>, out: &mut Vec<Event>) {
    if !scope.collapse_is_real {
        return;
    }
    let Some(sc) = scope.metric("sc/collapsed") else {
        return;
    };
    let train_acc = scope.train_acc();
    let grad_share = scope.metric("sc/collapsed_grad_share");
    let dtype = scope.context.dtype.name();
    for (seg, range) in sc.ranges.clone().into_iter().enumerate() {
        let levels = [
            (EventKind::CollapseOnset, COLLAPSE_ONSET),
            (EventKind::CollapseSaturation, COLLAPSE_SATURATION),
        ];
        for (kind, threshold) in levels {
            let plausible = |i: usize, v: f64| {
                v > threshold
                    && measured(&sc, &range, i)
                    && train_acc.as_ref().is_none_or(|a| {
                        a.at_step(seg, sc.step(i))
                            .is_none_or(|acc| v <= acc + COLLAPSE_ACC_SLACK)
                    })
            };
            let Some(c) = crossing(&sc.series, range.clone(), 1.0, plausible) else {
                continue;
            };
            if !reportable(&c, seg) {
                continue;
            }
            let v = sc.value(c.index);
            let step = sc.step(c.index);
            let test = TestAcc::at(scope, seg, step);
            let residual = grad_share
                .as_ref()
                .and_then(|g| g.at_step(seg, step))
                .map(|g| format!("; collapsed samples still carry {} of the logit gradient, the residual that only pushes the other logits down (naive loss minimisation)", percent(g)))
                .unwrap_or_default();
            let (what, outlook) = if kind == EventKind::CollapseOnset {
                (
                    format!("Softmax collapse: {} of training samples have an {dtype} softmax that rounds to exactly 1, so their loss and label gradient are exactly 0{residual}", percent(v)),
                    "learning slows to a halt",
                )
            } else {
                (
                    format!("Softmax collapse saturated: {} of training samples give no label gradient{residual}", percent(v)),
                    "this run will not learn any more",
                )
            };
            let (tail, severity) = match test {
                Some(t) if t.generalised() => (
                    format!("; test accuracy is already {}, so the run had generalised before it — nothing is lost unless you train on", percent(t.now)),
                    Severity::Info,
                ),
                Some(t) => (
                    format!("; test accuracy is {}: {outlook} before it generalises. Remedies: StableMax, ⊥Grad, weight decay, or a wider softmax dtype (f64)", percent(t.now)),
                    kind.severity(),
                ),
                None => (
                    format!("; {outlook}. Remedies: StableMax, ⊥Grad, weight decay, or a wider softmax dtype (f64)"),
                    kind.severity(),
                ),
            };
            let mut e = Event::at(
                kind,
                &sc.series,
                c.index,
                seg,
                format!("{what}{tail}"),
                vec![("value", v), ("threshold", threshold)],
            );
            e.severity = severity;
            if let Some(t) = test {
                e.evidence.0.push(("test_acc", t.now));
            }
            out.push(e);
        }
    }
}

/// Memorisation (or a plain fit) on the train accuracy, and grokking on the
/// test accuracy against it.
pub(super) fn accuracy(scope: &Scope<'_>, out: &mut Vec<Event>) {
    let Some(train) = scope.train_acc() else {
        return;
    };
    let test = scope.test_acc();
    for (seg, range) in train.ranges.clone().into_iter().enumerate() {
        let memorised = crossing(&train.series, range.clone(), train.scale, |_, v| {
            v >= MEMORISED_ACC
        });
        if let Some(c) = memorised.filter(|c| reportable(c, seg)) {
            out.push(fit_event(&train, test.as_ref(), seg, c.index));
        }
        let Some(test) = &test else {
            continue;
        };
        let test_range = test.ranges[seg].clone();
        let (Some(tr), Some(te)) = (
            crossing(&train.series, range.clone(), train.scale, |_, v| {
                v >= GROKKED_ACC
            }),
            crossing(&test.series, test_range.clone(), test.scale, |_, v| {
                v >= GROKKED_ACC
            }),
        ) else {
            continue;
        };
        if !te.observed {
            continue;
        }
        // Training began at the run's first step: a resumed segment
        // continues the count of the one before.
        let start = scope.store.record_step(0).min(train.step(range.start));
        let (train_step, test_step) = (train.step(tr.index), test.step(te.index));
        let delay = test_step - train_step;
        let took = (train_step - start).max(1);
        if delay <= 0 || (delay as f64) < GROK_MIN_DELAY_FACTOR * took as f64 {
            continue;
        }
        // Generalisation was delayed only if test accuracy lagged far
        // behind when the training set was fitted.
        let lagged = test
            .at_step(seg, train_step)
            .is_none_or(|t| t <= GROKKED_ACC - MEMORISATION_GAP);
        if !lagged {
            continue;
        }
        out.push(Event::at(
            EventKind::Grokking,
            &test.series,
            te.index,
            seg,
            format!(
                "Grokking: test accuracy crossed {} {} steps after train accuracy did (step {}): the network generalised long after fitting the training set",
                percent(GROKKED_ACC),
                steps(delay),
                steps(train_step)
            ),
            vec![
                ("value", test.value(te.index)),
                ("train_step", train_step as f64),
                ("delay_steps", delay as f64),
                ("threshold", GROKKED_ACC),
            ],
        ));
    }
}

/// The event of train accuracy reaching 100% at point `i`: memorisation
/// when test accuracy lags, a plain fit otherwise.
fn fit_event(train: &Metric<'_>, test: Option<&Metric<'_>>, seg: usize, i: usize) -> Event {
    let step = train.step(i);
    let test_acc = test.and_then(|t| t.at_step(seg, step));
    let mut evidence = vec![("value", train.value(i))];
    if let Some(t) = test_acc {
        evidence.push(("test_acc", t));
    }
    let (kind, message) = match test_acc {
        Some(t) if t < GROKKED_ACC && 1.0 - t >= MEMORISATION_GAP => (
            EventKind::Memorisation,
            format!(
                "Memorisation: train accuracy reached 100% while test accuracy is {}: the network has fitted the training set without generalising — a memorisation plateau begins",
                percent(t)
            ),
        ),
        Some(t) => (
            EventKind::Fitted,
            format!(
                "Fitted: train accuracy reached 100% with test accuracy at {}: the network learned the task, it did not merely memorise",
                percent(t)
            ),
        ),
        None => (
            EventKind::Fitted,
            "Fitted: train accuracy reached 100%; no test accuracy is logged to tell memorisation from generalisation".to_string(),
        ),
    };
    Event::at(kind, &train.series, i, seg, message, evidence)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{noisy, Synth};
    use super::super::{analyze, EventKind};

    #[test]
    fn collapse_onset_and_saturation_at_their_steps() {
        // sc/collapsed: 0 until step 400, then a ramp to 1 by step 600.
        let sc: Vec<f64> = (0..100)
            .map(|i| ((i as f64 - 40.0) / 20.0).clamp(0.0, 1.0))
            .collect();
        let store = Synth::new(10).series("sc/collapsed", &sc).build();
        let events = analyze(&store);
        let onset: Vec<_> = events
            .iter()
            .filter(|e| e.kind == EventKind::CollapseOnset)
            .collect();
        assert_eq!(onset.len(), 1);
        // First value > 0.5: i = 51 (0.55).
        assert_eq!(onset[0].step, 510);
        assert!(onset[0].message.contains("StableMax"));
        assert!(onset[0].message.contains("⊥Grad"));
        let sat: Vec<_> = events
            .iter()
            .filter(|e| e.kind == EventKind::CollapseSaturation)
            .collect();
        assert_eq!(sat.len(), 1);
        assert_eq!(sat[0].step, 600);
        assert_eq!(events.len(), 2, "{events:#?}");
    }

    #[test]
    fn a_single_noisy_point_past_the_threshold_is_not_an_onset() {
        let mut sc = vec![0.1; 50];
        sc[20] = 0.7;
        sc[30] = f64::NAN;
        let store = Synth::new(1).series("sc/collapsed", &sc).build();
        let kinds: Vec<_> = analyze(&store).iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventKind::NonFinite]);
    }

    #[test]
    fn memorisation_then_grokking_with_the_delay() {
        // Train accuracy: 0.92 at step 230, 1.0 from step 250.
        // Test accuracy: near chance until step 3000, then up to 0.98.
        let n = 500;
        let train: Vec<f64> = (0..n).map(|i| (i as f64 / 25.0).min(1.0)).collect();
        let test = noisy(
            n,
            3,
            |i| {
                if i < 300 {
                    0.05
                } else {
                    (0.05 + (i - 300) as f64 / 100.0).min(0.98)
                }
            },
            0.01,
        );
        let store = Synth::new(10)
            .series("train/acc", &train)
            .series("test/acc", &test)
            .build();
        let events = analyze(&store);
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![EventKind::Memorisation, EventKind::Grokking],
            "{events:#?}"
        );
        let mem = &events[0];
        let train_09 = train.iter().position(|&v| v >= 0.9).unwrap() as i64 * 10;
        assert_eq!(
            mem.step,
            train.iter().position(|&v| v >= 1.0).unwrap() as i64 * 10
        );
        assert!(
            mem.message.contains("without generalising"),
            "{}",
            mem.message
        );
        let grok = &events[1];
        assert!((3800..=3920).contains(&grok.step), "{}", grok.step);
        assert_eq!(grok.evidence.get("train_step"), Some(train_09 as f64));
        assert_eq!(
            grok.evidence.get("delay_steps"),
            Some((grok.step - train_09) as f64)
        );
    }

    #[test]
    fn test_accuracy_that_trails_train_closely_is_not_grokking() {
        let train: Vec<f64> = (0..200).map(|i| (i as f64 / 100.0).min(0.95)).collect();
        let test: Vec<f64> = (0..200)
            .map(|i| ((i as f64 - 5.0) / 100.0).clamp(0.0, 0.93))
            .collect();
        let store = Synth::new(10)
            .series("train/acc", &train)
            .series("test/acc", &test)
            .build();
        assert!(analyze(&store).is_empty());
    }

    #[test]
    fn a_resumed_segment_starting_collapsed_repeats_nothing() {
        let first: Vec<f64> = (0..60).map(|i| (i as f64 / 30.0).min(1.0)).collect();
        let second = vec![1.0; 30];
        let store = Synth::new(10)
            .series("sc/collapsed", &first)
            .resume_at(300)
            .series("sc/collapsed", &second)
            .build();
        let events = analyze(&store);
        assert_eq!(events.len(), 2, "{events:#?}");
        assert!(events.iter().all(|e| e.segment == 0));
    }
}
