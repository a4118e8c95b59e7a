//! Threshold crossings: softmax collapse, memorisation and grokking.

use std::ops::Range;

use super::{Event, EventKind, Scope};
use crate::store::SeriesView;
use crate::summary::format_value;

/// `sc/collapsed` above which collapse has begun: half the training samples
/// have a softmax that rounds to exactly 1, so half the gradient is gone.
/// The seed paper reports this 50% crossing as the onset.
pub const COLLAPSE_ONSET: f64 = 0.5;

/// `sc/collapsed` above which collapse is complete: fewer than 1% of the
/// samples still produce any gradient.
pub const COLLAPSE_SATURATION: f64 = 0.99;

/// `train/acc` at or above which the training set counts as memorised:
/// 1.0 up to float rounding of count / N (and of f32 logging), but below
/// one wrong sample in a million.
pub const MEMORISED_ACC: f64 = 1.0 - 1e-6;

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
struct Crossing {
    /// Point where the persistent run past the threshold starts.
    index: usize,
    /// Whether a finite point before it in the range was on the other side
    /// (the crossing itself was seen, not just its result).
    observed: bool,
}

/// First point where `past(value)` holds for [`PERSIST_POINTS`] consecutive
/// finite points (non-finite points are skipped, they neither count nor
/// break a run).
fn crossing(
    series: &SeriesView<'_>,
    range: Range<usize>,
    past: impl Fn(f64) -> bool,
) -> Option<Crossing> {
    let values = series.values();
    let mut run_start = None;
    let mut run_len = 0;
    let mut seen_before = false;
    for i in range {
        let v = values[i];
        if !v.is_finite() {
            continue;
        }
        if past(v) {
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
fn reportable(c: &Crossing, segment: usize) -> bool {
    c.observed || segment == 0
}

/// The last finite value of `series` at or before `step`, within `range`.
fn value_at_step(series: &SeriesView<'_>, range: Range<usize>, step: i64) -> Option<f64> {
    let end = series.lower_bound(range.clone(), step.saturating_add(1));
    (range.start..end)
        .rev()
        .map(|i| series.value(i))
        .find(|v| v.is_finite())
}

fn percent(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// Builds an event's message from the percentage found past a threshold.
type Explain = fn(&str) -> String;

/// The two `sc/collapsed` thresholds: kind, threshold, and the message for
/// the percentage found past it.
const COLLAPSE_LEVELS: [(EventKind, f64, Explain); 2] = [
    (EventKind::CollapseOnset, COLLAPSE_ONSET, |pct| {
        format!("Softmax collapse: {pct} of training samples have a softmax that rounds to exactly 1, so their loss and gradient are 0 and learning stalls; remedies: StableMax, weight decay, ⊥Grad, or a wider softmax dtype (f64)")
    }),
    (EventKind::CollapseSaturation, COLLAPSE_SATURATION, |pct| {
        format!("Softmax collapse saturated: {pct} of training samples give no gradient; this run will not generalise unless retrained with StableMax, weight decay, ⊥Grad or a wider softmax dtype")
    }),
];

/// Softmax collapse onset and saturation on `sc/collapsed`.
pub(super) fn collapse(scope: &Scope<'_>, out: &mut Vec<Event>) {
    let Some((sc, ranges)) = scope.series("sc/collapsed") else {
        return;
    };
    for (seg, range) in ranges.into_iter().enumerate() {
        for (kind, threshold, message) in COLLAPSE_LEVELS {
            let Some(c) = crossing(&sc, range.clone(), |v| v > threshold) else {
                continue;
            };
            if reportable(&c, seg) {
                let v = sc.value(c.index);
                out.push(Event::at(
                    kind,
                    &sc,
                    c.index,
                    seg,
                    message(&percent(v)),
                    vec![("value", v), ("threshold", threshold)],
                ));
            }
        }
    }
}

/// Memorisation on `train/acc` and grokking on `test/acc` against it.
pub(super) fn accuracy(scope: &Scope<'_>, out: &mut Vec<Event>) {
    let Some((train, train_ranges)) = scope.series("train/acc") else {
        return;
    };
    let test = scope.series("test/acc");
    for (seg, range) in train_ranges.into_iter().enumerate() {
        let test_range = test.as_ref().map(|(t, r)| (t, r[seg].clone()));
        if let Some(c) = crossing(&train, range.clone(), |v| v >= MEMORISED_ACC) {
            if reportable(&c, seg) {
                let step = train.step(c.index);
                let test_acc = test_range
                    .as_ref()
                    .and_then(|(t, r)| value_at_step(t, r.clone(), step));
                let tail = match test_acc {
                    Some(t) if t < GROKKED_ACC => format!(
                        "; test accuracy is only {}, so the network has memorised without generalising (yet)",
                        percent(t)
                    ),
                    Some(t) => format!("; test accuracy is {}", percent(t)),
                    None => String::new(),
                };
                let mut evidence = vec![("value", train.value(c.index))];
                if let Some(t) = test_acc {
                    evidence.push(("test_acc", t));
                }
                out.push(Event::at(
                    EventKind::Memorisation,
                    &train,
                    c.index,
                    seg,
                    format!("Memorisation: train accuracy reached 100%{tail}"),
                    evidence,
                ));
            }
        }
        let Some((test, test_range)) = test_range else {
            continue;
        };
        let (Some(tr), Some(te)) = (
            crossing(&train, range.clone(), |v| v >= GROKKED_ACC),
            crossing(test, test_range.clone(), |v| v >= GROKKED_ACC),
        ) else {
            continue;
        };
        if !te.observed {
            continue;
        }
        let start = train.step(range.start).min(test.step(test_range.start));
        let (train_step, test_step) = (train.step(tr.index), test.step(te.index));
        let delay = test_step - train_step;
        let took = (train_step - start).max(1);
        if delay <= 0 || (delay as f64) < GROK_MIN_DELAY_FACTOR * took as f64 {
            continue;
        }
        out.push(Event::at(
            EventKind::Grokking,
            test,
            te.index,
            seg,
            format!(
                "Grokking: test accuracy crossed {} {} steps after train accuracy did (step {}): the network generalised long after fitting the training set",
                percent(GROKKED_ACC),
                delay,
                train_step
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

/// A number for a one-line message: four significant digits (the evidence
/// keeps the exact value).
pub fn show(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format_value(v);
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - magnitude).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{noisy, Synth};
    use super::super::{analyze, EventKind};

    #[test]
    fn message_numbers_are_short() {
        use super::show;
        assert_eq!(show(30.369949), "30.37");
        assert_eq!(show(0.001632), "0.001632");
        assert_eq!(show(1.2), "1.2");
        assert_eq!(show(123456.0), "123456");
        assert_eq!(show(2.5e-7), "2.500e-7");
        assert_eq!(show(f64::NAN), "NaN");
    }

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
        assert!(mem.message.contains("memorised"), "{}", mem.message);
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
