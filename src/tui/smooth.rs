//! Smoothing as TensorBoard does it: a debiased exponential moving average.
//!
//! `acc_t = w·acc_{t-1} + (1-w)·v_t`, shown as `acc_t / (1 - w^k)` where `k`
//! counts the finite values so far (non-finite values are skipped and the
//! last smoothed value carries over). The smoothed copy of each series is
//! kept and extended as points arrive (O(new points)); it is rebuilt when
//! the weight changes or the store was reset.

use std::collections::HashMap;

use crate::source::RunFeed;
use crate::store::SeriesView;

/// Smoothing weights the `s`/`S` keys step through.
pub const WEIGHTS: [f64; 7] = [0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99];

#[derive(Debug, Clone, Default)]
struct Smoothed {
    resets: usize,
    acc: f64,
    finite: i32,
    debias: f64,
    values: Vec<f64>,
}

/// Smoothed copies of series, per (run number, metric).
#[derive(Debug, Clone, Default)]
pub struct SmoothCache {
    weight: f64,
    series: HashMap<(usize, String), Smoothed>,
}

impl SmoothCache {
    /// The current weight (0: off).
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Sets the weight and brings every series up to date.
    pub fn set_weight(&mut self, weight: f64, feeds: &[RunFeed]) {
        if weight != self.weight {
            self.weight = weight;
            self.series.clear();
        }
        self.refresh(feeds);
    }

    /// Extends the smoothed copies with points that arrived since.
    pub fn refresh(&mut self, feeds: &[RunFeed]) {
        if self.weight == 0.0 {
            self.series.clear();
            return;
        }
        let w = self.weight;
        for (run, feed) in feeds.iter().enumerate() {
            let resets = feed.health.resets.len();
            for name in feed.store.metric_names() {
                let view = feed.store.series(name).expect("listed metric");
                let s = self.series.entry((run, name.to_string())).or_default();
                if s.resets != resets || s.values.len() > view.len() {
                    *s = Smoothed {
                        resets,
                        ..Smoothed::default()
                    };
                }
                extend(s, &view, w);
            }
        }
    }

    /// The smoothed values of a series, when smoothing is on and known.
    pub fn get(&self, run: usize, metric: &str) -> Option<&[f64]> {
        if self.weight == 0.0 {
            return None;
        }
        self.series
            .get(&(run, metric.to_string()))
            .map(|s| s.values.as_slice())
    }
}

fn extend(s: &mut Smoothed, view: &SeriesView<'_>, w: f64) {
    if s.values.is_empty() {
        s.debias = 1.0;
    }
    let values = view.values();
    s.values.reserve(values.len() - s.values.len());
    for &v in &values[s.values.len()..] {
        if v.is_finite() {
            s.acc = s.acc * w + (1.0 - w) * v;
            s.finite += 1;
            s.debias *= w;
        }
        let shown = if s.finite == 0 {
            v
        } else {
            s.acc / (1.0 - s.debias)
        };
        s.values.push(shown);
    }
}

/// The debiased EMA of `values` with weight `w`, in one go (for tests and
/// reference).
pub fn ema(values: &[f64], w: f64) -> Vec<f64> {
    let mut acc = 0.0;
    let mut debias = 1.0;
    let mut last = f64::NAN;
    values
        .iter()
        .map(|&v| {
            if v.is_finite() {
                acc = acc * w + (1.0 - w) * v;
                debias *= w;
                last = acc / (1.0 - debias);
                last
            } else if last.is_nan() {
                v
            } else {
                last
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debiased_ema_starts_at_the_first_value_and_skips_nan() {
        let s = ema(&[2.0, f64::NAN, 4.0], 0.5);
        assert_eq!(s[0], 2.0);
        assert_eq!(s[1], 2.0);
        // (0.5·(0.5·2) + 0.5·4) / (1 - 0.25) = 2.5 / 0.75
        assert!((s[2] - 2.5 / 0.75).abs() < 1e-12);
        assert_eq!(ema(&[1.0, 5.0], 0.0), vec![1.0, 5.0]);
    }
}
