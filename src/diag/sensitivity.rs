//! Neuron sensitivity: `sens/<layer>`, `sens/net_variability`,
//! `sens/top_share`, `sens/top_ids`.
//!
//! Source: Mohammadzadeh et al., "Hallucination Detox: Sensitive Neuron
//! Dropout (SeND)" (2024). A neuron is sensitive when its activation on the
//! same inputs swings a lot between consecutive checkpoints.

use std::collections::VecDeque;

use dfdx::prelude::*;

use super::model::to_matrix;
use super::{DiagError, ReluMlp};

/// Sensitivity of the neurons of one layer over a window of checkpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct SensitivityStats {
    /// `sens/<layer>`: s_i = mean_m (Δ_mi · V_mi), one value per neuron.
    pub per_neuron: Vec<f64>,
    /// `sens/net_variability`: mean_i mean_m V_mi.
    pub net_variability: f64,
    /// `sens/top_share`: share of sum_i s_i held by the top-k neurons
    /// (0 when every s_i is 0).
    pub top_share: f64,
    /// `sens/top_ids`: the top-k neurons, most sensitive first.
    pub top_ids: Vec<usize>,
}

/// Number of "top" neurons for a fraction of a layer of `width`:
/// ceil(fraction · width), clamped to 1..=width. A product within rounding
/// of an integer counts as that integer (0.07 · 200 is 14.000000000000002 in
/// f64, and the top 7 % of 200 neurons are 14, not 15).
pub fn top_count(fraction: f64, width: usize) -> usize {
    let x = fraction * width as f64;
    let nearest = x.round();
    let k = if (x - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        x.ceil()
    };
    (k as usize).clamp(1, width.max(1))
}

/// Sensitivity from K activation snapshots, each row-major `[M, W]`
/// (M probe inputs, W neurons), oldest first. The top
/// [`top_count`]`(top_fraction, W)` neurons (at least one) make up `top_ids`
/// and `top_share`; ties go to the lower index.
pub fn sensitivity(
    snapshots: &[&[f64]],
    width: usize,
    top_fraction: f64,
) -> Result<SensitivityStats, DiagError> {
    let k = snapshots.len();
    if k < 2 {
        return Err(DiagError::Config(format!(
            "sensitivity needs at least 2 checkpoints, got {k}"
        )));
    }
    if !(top_fraction > 0.0 && top_fraction <= 1.0) {
        return Err(DiagError::Config(format!(
            "top fraction must be in (0, 1], got {top_fraction}"
        )));
    }
    let len = snapshots[0].len();
    if width == 0
        || !len.is_multiple_of(width)
        || len == 0
        || snapshots.iter().any(|s| s.len() != len)
    {
        return Err(DiagError::Shape(format!(
            "snapshots must all be [M, {width}] with M > 0"
        )));
    }
    let m = len / width;
    let kf = k as f64;
    let mut s = vec![0.0; width];
    let mut var_sum = 0.0;
    for idx in 0..len {
        // SeND: Δ_mi = sum_{t=1..K-1} |H_{t+1,mi} - H_{t,mi}|.
        let delta: f64 = snapshots
            .windows(2)
            .map(|pair| (pair[1][idx] - pair[0][idx]).abs())
            .sum();
        // SeND: V_mi = Var_t H_{t,mi} (population variance over checkpoints).
        let mean = snapshots.iter().map(|h| h[idx]).sum::<f64>() / kf;
        let var = snapshots
            .iter()
            .map(|h| (h[idx] - mean).powi(2))
            .sum::<f64>()
            / kf;
        s[idx % width] += delta * var;
        var_sum += var;
    }
    // SeND: s_i = mean_m (Δ_mi · V_mi).
    s.iter_mut().for_each(|v| *v /= m as f64);
    let top_k = top_count(top_fraction, width);
    let mut order: Vec<usize> = (0..width).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
    order.truncate(top_k);
    let total: f64 = s.iter().sum();
    let top: f64 = order.iter().map(|&i| s[i]).sum();
    Ok(SensitivityStats {
        net_variability: var_sum / len as f64,
        top_share: if total > 0.0 { top / total } else { 0.0 },
        top_ids: order,
        per_neuron: s,
    })
}

/// A rolling window of the last K activation snapshots of one layer on a
/// fixed probe batch.
#[derive(Debug, Clone)]
pub struct SensitivityWindow {
    capacity: usize,
    width: usize,
    snapshots: VecDeque<Vec<f64>>,
}

impl SensitivityWindow {
    /// An empty window of `k` checkpoints (K ≥ 2; the default is 3).
    pub fn new(k: usize) -> Result<Self, DiagError> {
        if k < 2 {
            return Err(DiagError::Config(format!(
                "sensitivity window must hold at least 2 checkpoints, got {k}"
            )));
        }
        Ok(SensitivityWindow {
            capacity: k,
            width: 0,
            snapshots: VecDeque::with_capacity(k),
        })
    }

    /// Adds one snapshot `[M, width]`, dropping the oldest beyond K. A
    /// snapshot of a different shape than the previous ones restarts the
    /// window.
    pub fn push(&mut self, activations: Vec<f64>, width: usize) {
        let same_shape = self
            .snapshots
            .front()
            .is_some_and(|s| s.len() == activations.len() && self.width == width);
        if !same_shape {
            self.snapshots.clear();
            self.width = width;
        }
        if self.snapshots.len() == self.capacity {
            self.snapshots.pop_front();
        }
        self.snapshots.push_back(activations);
    }

    /// Records the hidden activations `h<layer>` of `model` on `probe`.
    pub fn observe<S: Shape, E: Dtype, M: ReluMlp<E>>(
        &mut self,
        model: &M,
        probe: &Tensor<S, E, Cpu>,
        layer: usize,
    ) -> Result<(), DiagError>
    where
        Cpu: Device<E>,
    {
        let h = model.mlp_view()?.hidden(to_matrix(probe)?, layer)?;
        let width = h.shape().1;
        let values = h
            .as_vec()
            .iter()
            .map(|v| v.to_f64().unwrap_or(f64::NAN))
            .collect();
        self.push(values, width);
        Ok(())
    }

    /// Number of snapshots held.
    pub fn len(&self) -> usize {
        self.snapshots.len()
    }

    /// True when no snapshot is held.
    pub fn is_empty(&self) -> bool {
        self.snapshots.is_empty()
    }

    /// The sensitivity over the window, once it holds K snapshots.
    pub fn stats(&self, top_fraction: f64) -> Result<Option<SensitivityStats>, DiagError> {
        if self.snapshots.len() < self.capacity {
            return Ok(None);
        }
        let views: Vec<&[f64]> = self.snapshots.iter().map(Vec::as_slice).collect();
        sensitivity(&views, self.width, top_fraction).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_case() {
        // One input, two neurons over K = 3 checkpoints:
        // neuron 0: 0, 1, 3 → Δ = 3, mean 4/3, V = 14/9, s = 14/3;
        // neuron 1: 2, 2, 2 → Δ = 0, V = 0, s = 0.
        let h = [[0.0, 2.0], [1.0, 2.0], [3.0, 2.0]];
        let views: Vec<&[f64]> = h.iter().map(|r| r.as_slice()).collect();
        let s = sensitivity(&views, 2, 0.2).unwrap();
        assert!((s.per_neuron[0] - 14.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.per_neuron[1], 0.0);
        assert!((s.net_variability - 7.0 / 9.0).abs() < 1e-12);
        assert_eq!(s.top_ids, vec![0]);
        assert_eq!(s.top_share, 1.0);
    }

    /// Deterministic pseudo-random values in [0, 4).
    fn synthetic(k: usize, len: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut state = seed;
        (0..k)
            .map(|_| {
                (0..len)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        (state >> 11) as f64 / (1u64 << 53) as f64 * 4.0
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn synthetic_window_matches_the_formula() {
        let (k, m, w) = (4, 6, 10);
        let h = synthetic(k, m * w, 42);
        let views: Vec<&[f64]> = h.iter().map(Vec::as_slice).collect();
        let got = sensitivity(&views, w, 0.2).unwrap();
        // Direct computation, index by index: H[t][m][i].
        let at = |t: usize, mi: usize, i: usize| h[t][mi * w + i];
        let mut want = vec![0.0; w];
        let mut v_total = 0.0;
        for (i, want_i) in want.iter_mut().enumerate() {
            for mi in 0..m {
                let delta: f64 = (0..k - 1)
                    .map(|t| (at(t + 1, mi, i) - at(t, mi, i)).abs())
                    .sum();
                let mean: f64 = (0..k).map(|t| at(t, mi, i)).sum::<f64>() / k as f64;
                let mean_sq: f64 = (0..k).map(|t| at(t, mi, i).powi(2)).sum::<f64>() / k as f64;
                let var = mean_sq - mean * mean;
                *want_i += delta * var / m as f64;
                v_total += var;
            }
        }
        for (g, e) in got.per_neuron.iter().zip(&want) {
            assert!((g - e).abs() < 1e-10, "{g} vs {e}");
        }
        assert!((got.net_variability - v_total / (m * w) as f64).abs() < 1e-10);
        let mut sorted = want.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let share = (sorted[0] + sorted[1]) / want.iter().sum::<f64>();
        assert!((got.top_share - share).abs() < 1e-10);
        assert_eq!(got.top_ids.len(), 2);
        assert_eq!(want[got.top_ids[0]], sorted[0]);
        assert_eq!(want[got.top_ids[1]], sorted[1]);
    }

    #[test]
    fn top_count_is_the_ceiling_without_rounding_noise() {
        assert_eq!(top_count(0.07, 200), 14);
        assert_eq!(top_count(0.07, 100), 7);
        assert_eq!(top_count(0.55, 200), 110);
        assert_eq!(top_count(0.2, 200), 40);
        assert_eq!(top_count(0.071, 200), 15);
        assert_eq!(top_count(0.001, 200), 1);
        assert_eq!(top_count(1.0, 6), 6);
        assert_eq!(top_count(0.2, 6), 2);
    }

    #[test]
    fn window_rolls_and_waits_for_k_snapshots() {
        let mut win = SensitivityWindow::new(3).unwrap();
        let h = synthetic(5, 8, 1);
        for snap in &h[..2] {
            win.push(snap.clone(), 4);
            assert_eq!(win.stats(0.2).unwrap(), None);
        }
        for snap in &h[2..] {
            win.push(snap.clone(), 4);
        }
        assert_eq!(win.len(), 3);
        let views: Vec<&[f64]> = h[2..].iter().map(Vec::as_slice).collect();
        assert_eq!(
            win.stats(0.2).unwrap(),
            Some(sensitivity(&views, 4, 0.2).unwrap())
        );
        // A new shape restarts the window.
        win.push(vec![0.0; 6], 3);
        assert_eq!(win.len(), 1);
        assert!(SensitivityWindow::new(1).is_err());
    }
}
