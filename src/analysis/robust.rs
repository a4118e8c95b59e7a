//! Robust statistics shared by the detectors: medians, median absolute
//! deviations and noise estimates that a few outliers or NaNs cannot move.

use std::collections::VecDeque;
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
/// costs O(1) and the MAD O(capacity / 2) instead of a selection over a
/// copy: the spike detector asks for both at almost every point.
#[derive(Debug, Clone)]
pub struct SortedWindow {
    capacity: usize,
    ring: VecDeque<f64>,
    sorted: Vec<f64>,
}

impl SortedWindow {
    /// An empty window of `capacity` (≥ 1) values.
    pub fn new(capacity: usize) -> SortedWindow {
        let capacity = capacity.max(1);
        SortedWindow {
            capacity,
            ring: VecDeque::with_capacity(capacity + 1),
            sorted: Vec::with_capacity(capacity + 1),
        }
    }

    /// Number of values held.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Adds a finite value, dropping the oldest when full.
    pub fn push(&mut self, v: f64) {
        if self.ring.len() == self.capacity {
            if let Some(old) = self.ring.pop_front() {
                let i = self.sorted.partition_point(|x| x.total_cmp(&old).is_lt());
                self.sorted.remove(i);
            }
        }
        self.ring.push_back(v);
        let i = self.sorted.partition_point(|x| x.total_cmp(&v).is_lt());
        self.sorted.insert(i, v);
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
        // Deviations below the median, nearest first, and above it: two
        // sorted runs; merge them up to the middle one.
        let p = x.partition_point(|&v| v < m);
        let (mut lo, mut hi) = (p, p);
        let mut next = || {
            let below = (lo > 0).then(|| m - x[lo - 1]);
            let above = (hi < n).then(|| x[hi] - m);
            match (below, above) {
                (Some(b), Some(a)) if b <= a => {
                    lo -= 1;
                    b
                }
                (_, Some(a)) => {
                    hi += 1;
                    a
                }
                (Some(b), None) => {
                    lo -= 1;
                    b
                }
                (None, None) => f64::NAN,
            }
        };
        let mut prev = f64::NAN;
        for _ in 0..n / 2 {
            prev = next();
        }
        let kth = next();
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
