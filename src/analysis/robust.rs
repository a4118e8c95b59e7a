//! Robust statistics shared by the detectors: medians, median absolute
//! deviations and noise estimates that a few outliers or NaNs cannot move.

use std::ops::Range;

use crate::store::SeriesView;

/// 1.4826 × MAD estimates the standard deviation of Gaussian noise
/// (1 / Φ⁻¹(3/4)).
pub const MAD_TO_SIGMA: f64 = 1.4826;

/// Median of `values` (reordered in place); NaN when empty.
pub fn median_in_place(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let cmp = |a: &f64, b: &f64| a.total_cmp(b);
    let (lower, mid, _) = values.select_nth_unstable_by(n / 2, cmp);
    let hi = *mid;
    if n % 2 == 1 {
        hi
    } else {
        let lo = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        lo + (hi - lo) / 2.0
    }
}

/// Median of `values`, using `scratch` as working space.
pub fn median(values: &[f64], scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend_from_slice(values);
    median_in_place(scratch)
}

/// Median and median absolute deviation of `values`.
pub fn median_mad(values: &[f64], scratch: &mut Vec<f64>) -> (f64, f64) {
    let m = median(values, scratch);
    scratch.clear();
    scratch.extend(values.iter().map(|v| (v - m).abs()));
    (m, median_in_place(scratch))
}

/// Standard deviation of the noise around a slowly varying signal, from the
/// first differences: trends cancel in a difference (and the MAD is taken
/// around the median difference, so a steady slope cancels too), the noise
/// does not. Zero for fewer than three values.
pub fn noise_sigma(values: &[f64], scratch: &mut Vec<f64>) -> f64 {
    if values.len() < 3 {
        return 0.0;
    }
    let diffs: Vec<f64> = values.windows(2).map(|w| w[1] - w[0]).collect();
    let (_, mad) = median_mad(&diffs, scratch);
    MAD_TO_SIGMA * mad / std::f64::consts::SQRT_2
}

/// The last `capacity` values pushed, kept sorted as well, so the median
/// costs O(1) and the MAD O(log capacity) instead of a selection over a
/// copy: the spike detector asks for both at almost every point.
///
/// A push into a full window moves only the values between the slot of the
/// value leaving and that of the value arriving (one `copy_within`), and
/// the MAD is the middle element of two sorted runs (the deviations below
/// and above the median), found by bisection rather than by merging them.
#[derive(Debug, Clone)]
pub struct SortedWindow {
    capacity: usize,
    /// The values in arrival order, a ring once full; `next` is the oldest.
    ring: Vec<f64>,
    next: usize,
    sorted: Vec<f64>,
}

/// Where `v` goes among `sorted`: after every value that orders before it.
#[inline]
fn slot(sorted: &[f64], v: f64) -> usize {
    sorted.partition_point(|x| x.total_cmp(&v).is_lt())
}

impl SortedWindow {
    /// An empty window of `capacity` (≥ 1) values.
    pub fn new(capacity: usize) -> SortedWindow {
        let capacity = capacity.max(1);
        SortedWindow {
            capacity,
            ring: Vec::with_capacity(capacity),
            next: 0,
            sorted: Vec::with_capacity(capacity),
        }
    }

    /// Number of values held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Adds a finite value, dropping the oldest when full.
    pub fn push(&mut self, v: f64) {
        if self.ring.len() < self.capacity {
            self.ring.push(v);
            let j = slot(&self.sorted, v);
            self.sorted.insert(j, v);
            return;
        }
        let old = std::mem::replace(&mut self.ring[self.next], v);
        self.next += 1;
        if self.next == self.capacity {
            self.next = 0;
        }
        // Remove `old` and insert `v` in one move of the values between.
        let x = &mut self.sorted;
        let i = slot(x, old);
        let j = slot(x, v);
        if j > i {
            x.copy_within(i + 1..j, i);
            x[j - 1] = v;
        } else {
            x.copy_within(j..i, j + 1);
            x[j] = v;
        }
    }

    /// Median and median absolute deviation, as [`median_mad`] computes
    /// them; NaN when empty.
    pub fn median_mad(&self) -> (f64, f64) {
        let x = &self.sorted;
        let n = x.len();
        if n == 0 {
            return (f64::NAN, f64::NAN);
        }
        let mid = |a: f64, b: f64| a + (b - a) / 2.0;
        let m = if n % 2 == 1 {
            x[n / 2]
        } else {
            mid(x[n / 2 - 1], x[n / 2])
        };
        // The deviations are two ascending runs: below[a] = m − x[p−1−a]
        // for the values under the median, above[b] = x[p+b] − m for the
        // others. The MAD is the (n/2)-th smallest of their union (with the
        // one before it for even n): the largest of the first n/2 + 1
        // elements of the merge. Bisect how many of those come from below.
        let p = x.partition_point(|&v| v < m);
        let below = |a: usize| m - x[p - 1 - a];
        let above = |b: usize| x[p + b] - m;
        let (n_below, n_above) = (p, n - p);
        let take = n / 2 + 1;
        // The merge takes `t` from below when the next value below is no
        // smaller than the last one taken from above: the least such `t`.
        let (mut lo, mut hi) = (take.saturating_sub(n_above), take.min(n_below));
        while lo < hi {
            let t = lo + (hi - lo) / 2;
            if above(take - t - 1) <= below(t) {
                hi = t;
            } else {
                lo = t + 1;
            }
        }
        let t = lo;
        // The first `take` of the merge: below[..t] and above[..take - t].
        // Their largest is the MAD's element, the next largest the one
        // before it.
        let last_below = (t > 0).then(|| below(t - 1));
        let last_above = (take > t).then(|| above(take - t - 1));
        let (kth, prev) = match (last_below, last_above) {
            (Some(b), Some(a)) if b >= a => {
                let before = (t > 1).then(|| below(t - 2));
                (b, before.map_or(a, |c| c.max(a)))
            }
            (Some(b), Some(a)) => {
                let before = (take - t > 1).then(|| above(take - t - 2));
                (a, before.map_or(b, |c| c.max(b)))
            }
            (Some(b), None) => (b, if t > 1 { below(t - 2) } else { f64::NAN }),
            (None, Some(a)) => (
                a,
                if take - t > 1 {
                    above(take - t - 2)
                } else {
                    f64::NAN
                },
            ),
            (None, None) => (f64::NAN, f64::NAN),
        };
        let mad = if n % 2 == 1 { kth } else { mid(prev, kth) };
        (m, mad)
    }
}

/// The finite points of `series` in `range`, as (point index, value).
pub fn finite_points(series: &SeriesView<'_>, range: Range<usize>) -> (Vec<usize>, Vec<f64>) {
    let values = &series.values()[range.clone()];
    let mut idx = Vec::with_capacity(values.len());
    let mut out = Vec::with_capacity(values.len());
    for (k, &v) in values.iter().enumerate() {
        if v.is_finite() {
            idx.push(range.start + k);
            out.push(v);
        }
    }
    (idx, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_mads() {
        let mut s = Vec::new();
        assert_eq!(median(&[3.0, 1.0, 2.0], &mut s), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0], &mut s), 2.5);
        assert!(median(&[], &mut s).is_nan());
        let (m, mad) = median_mad(&[1.0, 2.0, 3.0, 4.0, 100.0], &mut s);
        assert_eq!((m, mad), (3.0, 1.0));
    }

    #[test]
    fn the_sorted_window_agrees_with_selection() {
        let mut rng = super::super::testkit::Rng::new(3);
        let mut s = Vec::new();
        for cap in [1, 2, 5, 64] {
            let mut w = SortedWindow::new(cap);
            let mut all = Vec::new();
            for k in 0..500 {
                // Repeated values too, as quantised losses have.
                let v = if k % 7 == 0 {
                    1.0
                } else {
                    (rng.normal() * 4.0).round()
                };
                w.push(v);
                all.push(v);
                let tail = &all[all.len().saturating_sub(cap)..];
                assert_eq!(w.len(), tail.len());
                assert_eq!(w.median_mad(), median_mad(tail, &mut s), "cap {cap} k {k}");
            }
        }
        assert!(SortedWindow::new(3).median_mad().0.is_nan());
    }

    #[test]
    fn the_sorted_window_agrees_on_ties_outliers_and_every_capacity() {
        let mut rng = super::super::testkit::Rng::new(17);
        let mut s = Vec::new();
        for cap in (1..=20).chain([31, 32, 33, 63, 64, 65]) {
            let mut w = SortedWindow::new(cap);
            let mut all = Vec::new();
            for k in 0..400 {
                let v = match k % 5 {
                    0 => (rng.normal() * 2.0).round(), // heavy ties, ±0
                    1 => rng.normal() * 1e-3,
                    2 => 1e6 * rng.normal(),
                    3 => -2.5,
                    _ => rng.normal(),
                };
                w.push(v);
                all.push(v);
                let tail = &all[all.len().saturating_sub(cap)..];
                assert_eq!(w.median_mad(), median_mad(tail, &mut s), "cap {cap} k {k}");
            }
        }
    }

    #[test]
    fn noise_sigma_ignores_a_steady_trend() {
        let mut s = Vec::new();
        let line: Vec<f64> = (0..100).map(|i| 5.0 + 0.3 * i as f64).collect();
        assert!(noise_sigma(&line, &mut s) < 1e-9);
        // Gaussian noise of sigma 0.5 on a trend.
        let noisy = super::super::testkit::noisy(2000, 1, |i| 0.3 * i as f64, 0.5);
        let sigma = noise_sigma(&noisy, &mut s);
        assert!((sigma - 0.5).abs() < 0.05, "{sigma}");
    }
}
