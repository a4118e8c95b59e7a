//! Local-complexity phases on `lc/train` (Humayun et al., ICML 2024): the
//! linear-region density around training points falls, rises to a peak,
//! holds, then falls a second time while regions migrate to the decision
//! boundary — the second fall comes with grokking.
//!
//! The series is reduced to at most [`LC_BUCKETS`] medians of consecutive
//! points (a NaN or an outlier cannot move a median) and smoothed with a
//! centred moving average of [`LC_SMOOTH`] buckets. Rises and falls are then
//! measured on the smoothed curve and must be large against the curve's
//! own range, its level and the noise of the bucket medians.

use super::robust::{finite_points, median_in_place, noise_sigma};
use super::thresholds::{TestAcc, GROKKED_ACC};
use super::{Event, EventKind, Scope};
use crate::numfmt::{percent, short as show};

/// Number of bucket medians the series is reduced to: enough to place a
/// phase within 0.4% of the run, and it bounds the cost of everything after
/// the reduction.
pub const LC_BUCKETS: usize = 256;

/// Width of the moving average over the bucket medians, in buckets.
pub const LC_SMOOTH: usize = 5;

/// Fewest finite points a segment needs before phases are looked for.
pub const LC_MIN_POINTS: usize = 20;

/// The rise to the peak must be at least this fraction of the smoothed
/// curve's range (max − min) from the trough on: the peak is a main feature
/// of the curve after its first descent (which can be far larger, as the
/// initial density of a fresh network is high).
pub const LC_MIN_RISE_OF_RANGE: f64 = 0.25;

/// …and at least this fraction of the peak value: a 1% bump of an
/// otherwise flat density is no phase.
pub const LC_MIN_RISE_REL: f64 = 0.05;

/// Rises and falls must exceed this many standard deviations of the bucket
/// medians' noise. Pure noise, after the moving average, spans about
/// ±3·σ/√5 ≈ ±1.3σ over 256 buckets, far below 6σ.
pub const LC_NOISE_K: f64 = 6.0;

/// A peak is reported once the curve has come down from it by this fraction
/// of the rise (a maximum at the newest point is not a peak yet).
pub const LC_PEAK_CONFIRM: f64 = 0.1;

/// The second descent is reported where the curve has fallen below the peak
/// by this fraction of the rise to it: the fall is then plainly under way.
pub const LC_MIN_FALL: f64 = 0.3;

/// Peak and second descent of `lc/train`, per segment.
pub(super) fn phases(scope: &Scope<'_>, out: &mut Vec<Event>) {
    let Some((series, ranges)) = scope.series("lc/train") else {
        return;
    };
    for (seg, range) in ranges.into_iter().enumerate() {
        let (idx, x) = finite_points(&series, range);
        for found in phases_in(&idx, &x) {
            out.push(Event::at(
            EventKind::LcPeak,
            &series,
            found.peak,
            seg,
            format!(
                "Local complexity peak: lc/train rose from {} to {}; linear regions crowd around the training points, the phase before they migrate",
                show(found.trough_value),
                show(found.peak_value)
            ),
            vec![
                ("value", found.peak_value),
                ("trough", found.trough_value),
                ("trough_step", series.step(found.trough) as f64),
            ],
        ));
            if let Some((i, level)) = found.descent {
                let peak_step = series.step(found.peak);
                let step = series.step(i);
                out.push(Event::at(
                EventKind::LcSecondDescent,
                &series,
                i,
                seg,
                format!(
                    "Second descent of local complexity: lc/train fell from its peak {} to {}; linear regions are leaving the training points (in Humayun et al. they migrate to the decision boundary){}",
                    show(found.peak_value),
                    show(level),
                    descent_outlook(scope, seg, peak_step, step)
                ),
                vec![
                    ("value", level),
                    ("peak", found.peak_value),
                    ("lowest_after", found.lowest_after),
                ],
            ));
            }
        }
    }
}

/// What test accuracy says about a second descent between the peak (at
/// `peak_step`) and `step`: the paper ties the descent to grokking, so the
/// message says whether this run's test accuracy bears that out.
fn descent_outlook(scope: &Scope<'_>, seg: usize, peak_step: i64, step: i64) -> String {
    let Some(test) = scope.test_acc() else {
        return "; there it comes with grokking of test accuracy, which this run does not log"
            .into();
    };
    let (Some(at_peak), Some(now)) = (test.at_step(seg, peak_step), TestAcc::at(scope, seg, step))
    else {
        return String::new();
    };
    let later = test
        .ranges
        .get(seg)
        .and_then(|r| (r.end > r.start).then(|| test.value(r.end - 1)))
        .filter(|v| v.is_finite())
        .unwrap_or(now.now);
    if at_peak >= GROKKED_ACC {
        format!(
            "; test accuracy was already {} at the peak, so here it reorganises a network that had generalised",
            percent(at_peak)
        )
    } else if now.now - at_peak >= 0.05 || later - at_peak >= 0.1 {
        format!(
            "; test accuracy climbs with it ({} at the peak, {} now): the grokking the paper describes",
            percent(at_peak),
            percent(now.now.max(later).min(1.0))
        )
    } else {
        format!(
            "; but test accuracy stays at {}: this descent does not come with generalisation",
            percent(now.now)
        )
    }
}

/// What [`phases_in`] found, in point indices of the series.
#[derive(Debug, Clone, PartialEq)]
struct Phases {
    trough: usize,
    trough_value: f64,
    peak: usize,
    peak_value: f64,
    /// Where the second descent is under way, and the smoothed level there.
    descent: Option<(usize, f64)>,
    lowest_after: f64,
}

/// Phases of one segment, from its finite values `x` at points `idx`: every
/// rise-peak-descent cycle, in order (a network can go through more than
/// one: weight decay that shrinks it back after grokking, then a new rise).
fn phases_in(idx: &[usize], x: &[f64]) -> Vec<Phases> {
    let n = x.len();
    if n < LC_MIN_POINTS {
        return Vec::new();
    }
    // Bucket medians, each placed at its bucket's middle point.
    let buckets = n.min(LC_BUCKETS);
    let mut med = Vec::with_capacity(buckets);
    let mut at = Vec::with_capacity(buckets);
    let mut scratch = Vec::new();
    for b in 0..buckets {
        let (lo, hi) = (b * n / buckets, (b + 1) * n / buckets);
        scratch.clear();
        scratch.extend_from_slice(&x[lo..hi]);
        med.push(median_in_place(&mut scratch));
        at.push(idx[lo + (hi - lo) / 2]);
    }
    let sigma = noise_sigma(&med, &mut scratch);
    let half = LC_SMOOTH / 2;
    let s: Vec<f64> = (0..buckets)
        .map(|b| {
            let w = &med[b.saturating_sub(half)..(b + half + 1).min(buckets)];
            w.iter().sum::<f64>() / w.len() as f64
        })
        .collect();
    let curve = Curve {
        med: &med,
        s: &s,
        at: &at,
        noise: LC_NOISE_K * sigma,
    };
    let mut found = Vec::new();
    curve.cycles(0..buckets, LC_MAX_CYCLES, 0.0, &mut found);
    found.sort_by_key(|p| p.peak);
    found
}

/// At most this many rise-peak-descent cycles are looked for per segment.
pub const LC_MAX_CYCLES: usize = 4;

/// The reduced curve of one segment.
struct Curve<'a> {
    /// Bucket medians.
    med: &'a [f64],
    /// Their moving average.
    s: &'a [f64],
    /// The point index each bucket stands for.
    at: &'a [usize],
    /// [`LC_NOISE_K`] σ of the bucket medians.
    noise: f64,
}

impl Curve<'_> {
    /// The largest cycle within the buckets `range` whose rise is at least
    /// `min_rise`, then those before its trough and after its descent, up to
    /// `budget` cycles in all. A further cycle must rise by
    /// [`LC_MIN_RISE_OF_RANGE`] of the range the largest one's test used: a
    /// main feature of the whole curve, not a wobble of a noisy stretch.
    fn cycles(
        &self,
        range: std::ops::Range<usize>,
        budget: usize,
        min_rise: f64,
        out: &mut Vec<Phases>,
    ) {
        if budget == 0 || range.len() < LC_SMOOTH {
            return;
        }
        let Some(c) = self.largest(range.clone(), min_rise) else {
            return;
        };
        let min_rise = min_rise.max(LC_MIN_RISE_OF_RANGE * c.span);
        out.push(c.phases);
        let left = budget - 1;
        self.cycles(
            range.start..c.trough + 1,
            left / 2 + left % 2,
            min_rise,
            out,
        );
        if let Some(d) = c.descent {
            self.cycles(d..range.end, left / 2, min_rise, out);
        }
    }

    /// The cycle with the largest confirmed rise in `range`, with the
    /// buckets of its trough and of its second descent.
    fn largest(&self, range: std::ops::Range<usize>, min_rise: f64) -> Option<Cycle> {
        let s = &self.s[range.clone()];
        let base = range.start;
        // Lowest point after each bucket (to confirm a peak by the fall after it).
        let mut low_after = s.to_vec();
        for b in (0..s.len().saturating_sub(1)).rev() {
            low_after[b] = low_after[b].min(low_after[b + 1]);
        }
        // The peak: of the points the curve has come down from, the one with
        // the largest rise above the lowest point before it (a rise still
        // under way at the newest point is not a peak yet).
        let (mut best_rise, mut peak, mut trough) = (0.0, None, 0);
        let mut low = 0;
        for b in 0..s.len() {
            if s[b] < s[low] {
                low = b;
            }
            let rise = s[b] - s[low];
            let confirmed = s[b] - low_after[b] >= (LC_PEAK_CONFIRM * rise).max(self.noise);
            if rise > best_rise && confirmed {
                (best_rise, peak, trough) = (rise, Some(b), low);
            }
        }
        let peak = peak?;
        let (lo, hi) = s[trough..]
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let rise_ok = best_rise >= LC_MIN_RISE_OF_RANGE * (hi - lo)
            && best_rise >= min_rise
            && best_rise >= LC_MIN_RISE_REL * s[peak].abs()
            && best_rise > self.noise;
        if !rise_ok {
            return None;
        }
        // The descent: the first bucket after the peak where both the
        // smoothed curve and the bucket's own median are below the peak by
        // the bar (the moving average alone would place it a few buckets
        // early, where it already averages in the fall to come).
        let fall_bar = (LC_MIN_FALL * best_rise).max(self.noise);
        let descent = (peak..s.len())
            .find(|&b| s[peak] - s[b] >= fall_bar && s[peak] - self.med[base + b] >= fall_bar);
        let phases = Phases {
            trough: self.at[base + trough],
            trough_value: s[trough],
            peak: self.at[base + peak],
            peak_value: s[peak],
            descent: descent.map(|b| (self.at[base + b], self.med[base + b])),
            lowest_after: low_after[peak],
        };
        Some(Cycle {
            phases,
            trough: base + trough,
            descent: descent.map(|b| base + b),
            span: hi - lo,
        })
    }
}

/// One cycle found by [`Curve::largest`], with its buckets.
struct Cycle {
    phases: Phases,
    trough: usize,
    descent: Option<usize>,
    /// The smoothed curve's range from the trough on, within the search.
    span: f64,
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{noisy, Synth};
    use super::super::{analyze, EventKind};

    /// The paper's shape: 40 → 25 (early fall), up to 80 at point 2000,
    /// hold to 3000, down to 30 by 5000, flat to 6000.
    fn lc_shape(i: usize) -> f64 {
        let x = i as f64;
        match i {
            0..300 => 40.0 - 15.0 * x / 300.0,
            300..2000 => 25.0 + 55.0 * (x - 300.0) / 1700.0,
            2000..3000 => 80.0,
            3000..5000 => 80.0 - 50.0 * (x - 3000.0) / 2000.0,
            _ => 30.0,
        }
    }

    #[test]
    fn peak_and_second_descent_of_a_noisy_curve() {
        let lc = noisy(6000, 21, lc_shape, 4.0);
        let store = Synth::new(2).series("lc/train", &lc).build();
        let events = analyze(&store);
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![EventKind::LcPeak, EventKind::LcSecondDescent],
            "{events:#?}"
        );
        // The peak lies on the plateau (points 2000..3000).
        assert!(
            (3900..=6100).contains(&events[0].step),
            "{}",
            events[0].step
        );
        assert!((events[0].evidence.get("value").unwrap() - 80.0).abs() < 2.0);
        assert!((events[0].evidence.get("trough").unwrap() - 25.0).abs() < 3.0);
        // 30% of the rise (≈ 16.5) below the peak: near point 3660.
        assert!(
            (6900..=7800).contains(&events[1].step),
            "{}",
            events[1].step
        );
    }

    #[test]
    fn a_rise_without_a_fall_is_not_a_peak_yet() {
        let lc = noisy(2000, 22, |i| lc_shape(i.min(1999)), 2.0);
        let store = Synth::new(1).series("lc/train", &lc).build();
        assert!(analyze(&store).is_empty());
    }

    #[test]
    fn peak_without_second_descent_yet() {
        // Up to 80 and back down only 15% of the rise.
        let lc = noisy(
            3000,
            23,
            |i| {
                if i < 2000 {
                    lc_shape(i)
                } else {
                    80.0 - 0.008 * (i - 2000) as f64
                }
            },
            1.0,
        );
        let store = Synth::new(1).series("lc/train", &lc).build();
        let events = analyze(&store);
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0].kind, EventKind::LcPeak);
    }
}
