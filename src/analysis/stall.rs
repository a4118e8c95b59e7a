//! Stalls: `train/loss` that made progress and then stopped making any for
//! a long window.
//!
//! A window of [`STALL_WINDOW`] of the segment's points slides over the
//! finite values. Its progress is the median of its first quarter minus the
//! median of its last quarter. It is stalled when that progress is below
//! both [`STALL_MIN_PROGRESS`] of the level and what noise alone could
//! produce, *and* the loss had fallen before the window (a loss that never
//! moved is noise or a broken run, not a stall; other events cover those).

use super::robust::{median, noise_sigma};
use super::thresholds::show;
use super::{Event, EventKind, Scope};

/// A stall lasts at least this fraction of the segment's points: "long
/// relative to the run", so a short plateau between phases is not one.
pub const STALL_WINDOW: f64 = 0.25;

/// …and at least this many points, so that short runs are not judged on a
/// handful of points (a segment needs `STALL_MIN_POINTS` / [`STALL_WINDOW`]
/// points before any stall is looked for).
pub const STALL_MIN_POINTS: usize = 40;

/// Progress below this fraction of the loss level over the window counts as
/// none (a power-law decay still makes tens of percent per window).
pub const STALL_MIN_PROGRESS: f64 = 0.01;

/// The loss must have fallen by at least this fraction of its initial level
/// before the window.
pub const STALL_PRIOR_DROP: f64 = 0.2;

/// Progress must also exceed this many standard errors of a difference of
/// two quarter-window medians of pure noise (so noise alone never passes
/// for progress, nor a noisy plateau for prior progress).
pub const STALL_NOISE_K: f64 = 4.0;

/// Standard error of a median of Gaussian samples is √(π/2)·σ/√m; of a
/// difference of two such medians √2 times that.
const MEDIAN_DIFF_SE: f64 = 1.7725;

/// One stalled stretch, in indices of the finite values.
struct Stretch {
    start: usize,
    end: usize,
    level: f64,
    progress: f64,
}

/// Stalls of `train/loss`, per segment.
pub(super) fn stalls(scope: &Scope<'_>, out: &mut Vec<Event>) {
    let Some((series, ranges)) = scope.series("train/loss") else {
        return;
    };
    for (seg, range) in ranges.into_iter().enumerate() {
        let (idx, values) = super::robust::finite_points(&series, range);
        for s in stretches(&values) {
            let (a, b) = (idx[s.start], idx[s.end - 1]);
            let steps = series.step(b) - series.step(a);
            out.push(Event::at(
                EventKind::Stall,
                &series,
                a,
                seg,
                format!(
                    "Stall: train/loss has made no progress beyond noise for {steps} steps, near {}; training is stuck — try a higher learning rate or a schedule change, and check for softmax collapse",
                    show(s.level)
                ),
                vec![
                    ("level", s.level),
                    ("progress", s.progress),
                    ("steps", steps as f64),
                    ("end_step", series.step(b) as f64),
                ],
            ));
        }
    }
}

/// The stalled stretches of `x` (finite values of one segment).
fn stretches(x: &[f64]) -> Vec<Stretch> {
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
        let start_level = median(&win[..q], &mut scratch);
        let end_level = median(&win[w - q..], &mut scratch);
        let sigma = noise_sigma(win, &mut scratch);
        let noise = STALL_NOISE_K * MEDIAN_DIFF_SE * sigma / (q as f64).sqrt();
        let progress = start_level - end_level;
        let fell_before = initial - start_level;
        let stalled = progress <= (STALL_MIN_PROGRESS * start_level.abs()).max(noise)
            && fell_before >= (STALL_PRIOR_DROP * initial.abs()).max(noise)
            && fell_before > 0.0;
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
        st.progress = if a != 0.0 { (a - b) / a.abs() } else { 0.0 };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{noisy, Synth};
    use super::super::{analyze, EventKind};
    use super::*;

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
        let found = stretches(&loss);
        assert_eq!(found.len(), 1);
        assert!((60..=110).contains(&found[0].start), "{}", found[0].start);
        assert_eq!(found[0].level, 0.0);
    }

    #[test]
    fn steady_power_law_progress_is_not_a_stall() {
        let loss = noisy(5000, 6, |i| 3.0 / (1.0 + i as f64 / 20.0).sqrt(), 0.002);
        assert!(stretches(&loss).is_empty());
        let exp = noisy(5000, 6, |i| 2.0 * (-(i as f64) / 800.0).exp(), 0.0);
        assert!(stretches(&exp).is_empty());
    }

    #[test]
    fn a_loss_that_never_moved_is_not_a_stall() {
        let loss = noisy(3000, 8, |_| 1.0, 0.05);
        assert!(stretches(&loss).is_empty());
        assert!(stretches(&[0.5; 400]).is_empty());
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
        let found = stretches(&loss);
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
}
