//! Stalls and stuck runs, judged on the logarithm of the train loss.
//!
//! A **stall**: the loss made progress and then stopped making any for a
//! long window. A window of [`STALL_WINDOW`] of the segment's points slides
//! over ln(loss). It is stalled when the medians of its four quarters all lie
//! within [`STALL_MAX_LOG_PROGRESS`] of each other *with confidence* (their
//! noise bar included: a loss too noisy to tell is not called stalled), the
//! loss had fallen before the window, and the accuracies are not climbing
//! either. A loss falling by orders of magnitude makes steady progress in
//! log space, so it never stalls; a network with train accuracy at 100% is
//! in a memorisation plateau, which the verdict diagnoses, not a stall.
//!
//! **Stuck**: the loss never moved from where the segment started, for a
//! long stretch from its start, and accuracy stayed where it was.

use super::robust::{median, noise_sigma};
use super::verdict::FITTED_ACC;
use super::{Event, EventKind, Scope};
use crate::numfmt::{percent, short, steps};

/// A stall lasts at least this fraction of the segment's points: "long
/// relative to the run", so a short plateau between phases is not one.
pub const STALL_WINDOW: f64 = 0.25;

/// …and at least this many points, so that short runs are not judged on a
/// handful of points (a segment needs `STALL_MIN_POINTS` / [`STALL_WINDOW`]
/// points before any stall is looked for).
pub const STALL_MIN_POINTS: usize = 40;

/// Progress (or regress) within this in ln(loss) over the window (5%), noise
/// bar included, counts as none; a power-law decay of a run still learning
/// makes tens of percent per quarter of the run.
pub const STALL_MAX_LOG_PROGRESS: f64 = 0.05;

/// The loss must have fallen by at least this in ln(loss) (20%) before the
/// window.
pub const STALL_PRIOR_LOG_DROP: f64 = 0.223;

/// The noise bar: this many standard errors of a difference of two
/// quarter-window medians of the window's noise. Prior progress must
/// exceed it; a stall's progress plus it must stay within
/// [`STALL_MAX_LOG_PROGRESS`].
pub const STALL_NOISE_K: f64 = 2.0;

/// A run is stuck while ln(loss) stays within this of its starting level
/// (5%) and the noise bar.
pub const STUCK_MAX_LOG_DROP: f64 = 0.05;

/// …and its accuracies rise by less than this (and the noise bar).
pub const STUCK_MAX_ACC_RISE: f64 = 0.05;

/// Standard error of a median of Gaussian samples is √(π/2)·σ/√m; of a
/// difference of two such medians √2 times that.
const MEDIAN_DIFF_SE: f64 = 1.7725;

/// ln of a loss value; an exact 0 (a collapsed softmax) becomes a very low
/// but finite level.
fn log_loss(v: f64) -> f64 {
    v.max(1e-30).ln()
}

/// One stalled stretch, in indices of the finite values.
struct Stretch {
    start: usize,
    end: usize,
    level: f64,
    progress: f64,
}

/// Whether an accuracy (train or test) climbs between `from` and `to`
/// (steps): by two points and beyond its noise.
fn accuracy_climbs(scope: &Scope<'_>, seg: usize, from: i64, to: i64, by: f64) -> bool {
    [scope.train_acc(), scope.test_acc()]
        .into_iter()
        .flatten()
        .any(|acc| {
            let q = (to - from) / 4;
            let a = acc.median_over(seg, from..from + q.max(1));
            let b = acc.median_over(seg, to - q.max(1)..to + 1);
            a.is_finite() && b.is_finite() && b - a >= by
        })
}

/// Stalls of the train loss, per segment.
pub(super) fn stalls(scope: &Scope<'_>, out: &mut Vec<Event>) {
    let Some(loss) = scope.train_loss() else {
        return;
    };
    let train_acc = scope.train_acc();
    for (seg, _) in loss.ranges.iter().enumerate() {
        let (idx, values) = loss.finite(seg);
        let logs: Vec<f64> = values.iter().map(|&v| log_loss(v)).collect();
        let excused = |a: usize, b: usize| {
            let (from, to) = (loss.step(idx[a]), loss.step(idx[b - 1]));
            let memorised = train_acc.as_ref().is_some_and(|acc| {
                acc.median_over(seg, to - (to - from) / 4..to + 1) >= FITTED_ACC
            });
            memorised || accuracy_climbs(scope, seg, from, to, 0.02)
        };
        for s in stretches(&logs, excused) {
            let (a, b) = (idx[s.start], idx[s.end - 1]);
            let span = loss.step(b) - loss.step(a);
            let level = s.level.exp();
            let at_zero = values[s.end - 1] == 0.0;
            let message = if at_zero {
                format!(
                    "Stall: {} has been exactly 0 for {} steps: with a softmax cross-entropy that is softmax collapse (every sample's softmax rounds to 1, so no gradient is left); remedies: StableMax, ⊥Grad, weight decay",
                    loss.name(),
                    steps(span)
                )
            } else {
                format!(
                    "Stall: {} has made no progress beyond noise for {} steps, near {}, after falling before, and accuracy is not climbing either; try a learning-rate schedule change (a lower rate often breaks a plateau, a higher one an early one) and check the data pipeline",
                    loss.name(),
                    steps(span),
                    short(level)
                )
            };
            out.push(Event::at(
                EventKind::Stall,
                &loss.series,
                a,
                seg,
                message,
                vec![
                    ("level", if at_zero { 0.0 } else { level }),
                    ("progress", s.progress),
                    ("steps", span as f64),
                    ("end_step", loss.step(b) as f64),
                ],
            ));
        }
    }
}

/// The stalled stretches of `x` (ln of the finite losses of one segment);
/// `excused(a, b)` says a window of points a..b is not a stall for another
/// reason (memorised, accuracy climbing).
fn stretches(x: &[f64], excused: impl Fn(usize, usize) -> bool) -> Vec<Stretch> {
    let n = x.len();
    let w = ((n as f64 * STALL_WINDOW).ceil() as usize).max(STALL_MIN_POINTS);
    if n < w {
        return Vec::new();
    }
    let q = (w / 4).max(1);
    let hop = (w / 8).max(1);
    let mut scratch = Vec::with_capacity(w);
    let initial = median(&x[..q], &mut scratch);
    let mut out: Vec<Stretch> = Vec::new();
    let mut open: Option<Stretch> = None;
    // Window starts every `hop` points, the last one flush with the end.
    let mut starts: Vec<usize> = (0..=n - w).step_by(hop).collect();
    if starts.last() != Some(&(n - w)) {
        starts.push(n - w);
    }
    for s in starts {
        let win = &x[s..s + w];
        // Medians of the window's four quarters: all of them level, not
        // just the first and the last (a V is no plateau).
        let quarters: Vec<f64> = (0..4)
            .map(|k| median(&win[k * w / 4..(k + 1) * w / 4], &mut scratch))
            .collect();
        let (start_level, end_level) = (quarters[0], quarters[3]);
        let spread = quarters.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            - quarters.iter().copied().fold(f64::INFINITY, f64::min);
        let sigma = noise_sigma(win, &mut scratch);
        let noise = STALL_NOISE_K * MEDIAN_DIFF_SE * sigma / (q as f64).sqrt();
        let fell_before = initial - start_level;
        let stalled = spread + noise <= STALL_MAX_LOG_PROGRESS
            && fell_before >= STALL_PRIOR_LOG_DROP.max(noise)
            && !excused(s, s + w);
        match (&mut open, stalled) {
            (Some(st), true) => {
                st.end = s + w;
                st.level = end_level;
            }
            (None, true) if out.last().is_none_or(|l| s >= l.end) => {
                open = Some(Stretch {
                    start: s,
                    end: s + w,
                    level: end_level,
                    progress: 0.0,
                })
            }
            (Some(_), false) => out.extend(open.take()),
            _ => {}
        }
    }
    out.extend(open);
    for st in &mut out {
        let a = median(&x[st.start..st.start + q], &mut scratch);
        let b = median(&x[st.end - q..st.end], &mut scratch);
        // Relative progress of the loss itself over the stretch.
        st.progress = 1.0 - (b - a).exp();
    }
    out
}

/// Where a stuck stretch from the start of `x` (ln of the finite losses of
/// one segment) ends: the number of points over which the loss stayed
/// within [`STUCK_MAX_LOG_DROP`] (and its noise bar) of where it started.
fn stuck_points(x: &[f64]) -> usize {
    let n = x.len();
    let q = (n / 16).clamp(5, 64).min(n);
    if n < STALL_MIN_POINTS {
        return 0;
    }
    let mut scratch = Vec::new();
    let initial = median(&x[..q], &mut scratch);
    let sigma = noise_sigma(x, &mut scratch);
    let bar = STUCK_MAX_LOG_DROP.max(STALL_NOISE_K * MEDIAN_DIFF_SE * sigma / (q as f64).sqrt());
    // Trailing medians of q points, every q/2 points.
    let hop = (q / 2).max(1);
    let mut end = q;
    while end + hop <= n {
        let m = median(&x[end + hop - q..end + hop], &mut scratch);
        if initial - m > bar {
            break;
        }
        end += hop;
    }
    if end + hop > n {
        end = n;
    }
    end
}

/// Stuck runs: a train loss that has not moved from the start of a segment
/// for at least [`STALL_WINDOW`] of it (and [`STALL_MIN_POINTS`]).
pub(super) fn stuck(scope: &Scope<'_>, out: &mut Vec<Event>) {
    let Some(loss) = scope.train_loss() else {
        return;
    };
    for seg in 0..loss.ranges.len() {
        let (idx, values) = loss.finite(seg);
        let logs: Vec<f64> = values.iter().map(|&v| log_loss(v)).collect();
        let flat = stuck_points(&logs);
        if flat < STALL_MIN_POINTS || (flat as f64) < STALL_WINDOW * logs.len() as f64 {
            continue;
        }
        let (from, to) = (loss.step(idx[0]), loss.step(idx[flat - 1]));
        if accuracy_climbs(scope, seg, from, to, STUCK_MAX_ACC_RISE) {
            continue;
        }
        let level = median(&values[..flat], &mut Vec::new());
        let chance = chance_text(scope, seg, from, to, level);
        out.push(Event::at(
            EventKind::Stuck,
            &loss.series,
            idx[0],
            seg,
            format!(
                "Stuck: {} has not moved from {}{chance} in {} steps; the network is not learning at all — check that the labels match the inputs, that the loss gets the logits it expects, and the learning rate (too low to move, or so high the first steps broke it)",
                loss.name(),
                short(level),
                steps(to - from)
            ),
            vec![("level", level), ("steps", (to - from) as f64), ("end_step", to as f64)],
        ));
    }
}

/// "≈ ln 10, chance for 10 classes …" when the level is that of a uniform
/// guess over the run's classes (from the hints, or from an accuracy at
/// 1/C), empty otherwise.
fn chance_text(scope: &Scope<'_>, seg: usize, from: i64, to: i64, level: f64) -> String {
    let acc = scope
        .train_acc()
        .map(|a| a.median_over(seg, from..to + 1))
        .filter(|a| a.is_finite());
    let classes = scope.context.classes.map(f64::from).or_else(|| {
        // An accuracy at 1/C and a loss at ln C say the same C.
        let c = level.exp();
        acc.filter(|&a| (a * c - 1.0).abs() < 0.3)
            .map(|_| c.round())
    });
    match classes {
        Some(c) if (level - c.ln()).abs() < 0.1 * c.ln() => {
            let acc_text = acc
                .map(|a| format!(", accuracy {} at chance", percent(a)))
                .unwrap_or_default();
            format!(" (≈ ln {c:.0}, a uniform guess over {c:.0} classes{acc_text})")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{noisy, Rng, Synth};
    use super::super::{analyze, EventKind};
    use super::*;

    fn logs(v: &[f64]) -> Vec<f64> {
        v.iter().map(|&x| log_loss(x)).collect()
    }

    fn never(_: usize, _: usize) -> bool {
        false
    }

    #[test]
    fn a_loss_that_flattens_for_half_the_run_is_a_stall() {
        // Falls from 2.0 to 0.3 by point 400, then flat (noisy) to 1000.
        let loss = noisy(
            1000,
            5,
            |i| 0.3 + 1.7 * (1.0 - (i as f64 / 400.0)).max(0.0).powi(2),
            0.01,
        );
        let store = Synth::new(10).series("train/loss", &loss).build();
        let events = analyze(&store);
        assert_eq!(events.len(), 1, "{events:#?}");
        let e = &events[0];
        assert_eq!(e.kind, EventKind::Stall);
        assert!((3000..=4500).contains(&e.step), "{}", e.step);
        assert_eq!(e.evidence.get("end_step"), Some(9990.0));
        assert!((e.evidence.get("level").unwrap() - 0.3).abs() < 0.01);
    }

    #[test]
    fn a_loss_stuck_at_exactly_zero_is_a_stall() {
        // Softmax collapse: the loss rounds to 0 and stays there.
        let loss: Vec<f64> = (0..400)
            .map(|i| (1.0 - i as f64 / 100.0).max(0.0))
            .collect();
        let found = stretches(&logs(&loss), never);
        assert_eq!(found.len(), 1);
        assert!((60..=110).contains(&found[0].start), "{}", found[0].start);
        let store = Synth::new(1).series("train/loss", &loss).build();
        let events = analyze(&store);
        assert_eq!(events.len(), 1, "{events:#?}");
        assert!(
            events[0].message.contains("exactly 0"),
            "{}",
            events[0].message
        );
    }

    #[test]
    fn decay_by_orders_of_magnitude_is_progress_not_a_stall() {
        // The weight-decay run of the issue: 1e-2 to 1e-6 in 1,100 steps
        // looked "flat" on raw values.
        let exp = noisy(5000, 6, |i| -4.6 - i as f64 / 500.0, 0.05)
            .into_iter()
            .map(f64::exp)
            .collect::<Vec<_>>();
        assert!(stretches(&logs(&exp), never).is_empty());
        let power = noisy(5000, 6, |i| 3.0 / (1.0 + i as f64 / 20.0).sqrt(), 0.002);
        assert!(stretches(&logs(&power), never).is_empty());
    }

    #[test]
    fn a_loss_too_noisy_to_tell_is_not_called_stalled() {
        // A slow power law under 25% log-normal noise: its progress per
        // window is below the noise bar, so no stall can be established.
        let mut rng = Rng::new(3);
        let loss: Vec<f64> = (0..400)
            .map(|i| 7.0 * (1.0 + i as f64 / 8.0).powf(-0.25) * (0.25 * rng.normal()).exp())
            .collect();
        assert!(stretches(&logs(&loss), never).is_empty());
    }

    #[test]
    fn a_loss_that_never_moved_is_stuck_not_stalled() {
        let loss = noisy(3000, 8, |_| 1.0, 0.05);
        assert!(stretches(&logs(&loss), never).is_empty());
        assert!(stretches(&logs(&[0.5; 400]), never).is_empty());
        let store = Synth::new(1).series("train/loss", &loss).build();
        let kinds: Vec<_> = analyze(&store).iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventKind::Stuck]);
    }

    #[test]
    fn a_rising_loss_is_no_stall() {
        let loss: Vec<f64> = (0..400)
            .map(|i| {
                if i < 200 {
                    2.0 - i as f64 / 200.0
                } else {
                    (i as f64 - 199.0) * 0.05 + 1.0
                }
            })
            .collect();
        assert!(stretches(&logs(&loss), never).is_empty());
    }

    #[test]
    fn a_memorised_run_or_climbing_accuracy_excuses_a_flat_loss() {
        let loss = noisy(
            1000,
            5,
            |i| 0.3 + 1.7 * (1.0 - (i as f64 / 400.0)).max(0.0).powi(2),
            0.01,
        );
        let memorised: Vec<f64> = (0..1000).map(|i| (i as f64 / 300.0).min(1.0)).collect();
        let store = Synth::new(10)
            .series("train/loss", &loss)
            .series("train/acc", &memorised)
            .build();
        assert!(analyze(&store).iter().all(|e| e.kind != EventKind::Stall));
        let climbing: Vec<f64> = (0..1000).map(|i| 0.1 + 0.8 * i as f64 / 1000.0).collect();
        let store = Synth::new(10)
            .series("train/loss", &loss)
            .series("test/acc", &climbing)
            .build();
        assert!(analyze(&store).iter().all(|e| e.kind != EventKind::Stall));
    }

    #[test]
    fn progress_that_resumes_ends_the_stall_and_a_second_one_is_found() {
        // 2.0 → 1.0 (points 0..200), flat to 600, → 0.2 by 800, flat to 1400.
        let f = |i: usize| match i {
            0..200 => 2.0 - i as f64 / 200.0,
            200..600 => 1.0,
            600..800 => 1.0 - 0.8 * (i - 600) as f64 / 200.0,
            _ => 0.2,
        };
        let loss = noisy(1400, 9, f, 0.002);
        let found = stretches(&logs(&loss), never);
        assert_eq!(
            found.len(),
            2,
            "{:?}",
            found.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>()
        );
        assert!((150..=260).contains(&found[0].start));
        assert!(found[0].end <= 700);
        assert!((750..=860).contains(&found[1].start));
        assert_eq!(found[1].end, 1400);
    }

    #[test]
    fn a_stuck_run_names_its_chance_level() {
        let mut rng = Rng::new(4);
        let loss: Vec<f64> = (0..300)
            .map(|_| std::f64::consts::LN_10 * (0.004 * rng.normal()).exp())
            .collect();
        let acc: Vec<f64> = (0..300).map(|_| 0.1 + 0.01 * rng.normal()).collect();
        let store = Synth::new(20)
            .series("train/loss", &loss)
            .series("train/acc", &acc)
            .build();
        let events = analyze(&store);
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!((events[0].kind, events[0].step), (EventKind::Stuck, 0));
        assert!(events[0].message.contains("ln 10"), "{}", events[0].message);
        // A warm-up of a few percent of the run is not stuck.
        let warm: Vec<f64> = (0..300)
            .map(|i| {
                if i < 20 {
                    2.3
                } else {
                    2.3 * (1.0 + (i - 20) as f64 / 10.0).powf(-0.5)
                }
            })
            .collect();
        let store = Synth::new(20).series("train/loss", &warm).build();
        assert!(analyze(&store).is_empty());
    }
}
