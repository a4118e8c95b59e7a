//! Cross-entropy losses evaluated on the host in a chosen float type.
//!
//! dfdx 0.13 cannot cast a taped tensor to another dtype, so the trainer
//! reads the f32 logits, computes the loss and its gradient with respect to
//! the logits here (softmax in f16/f32/f64, StableMax in f64), and
//! back-propagates that gradient through the f32 network with the surrogate
//! `sum(logits ⊙ dL/dlogits)`. The gradient therefore carries exactly the
//! rounding of the chosen dtype — which is what softmax collapse is about.

use half::f16;
use num_traits::{Float, NumCast};

use super::config::LossKind;
pub use crate::diag::{stablemax_ds, stablemax_s};

/// Loss and accuracy of one batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossEval {
    /// Mean loss per example.
    pub loss: f64,
    /// Number of examples whose largest logit is their label.
    pub correct: usize,
}

/// Mean loss of row-major `logits` `[N, classes]` against `labels`; with
/// `grad`, also writes dL/dlogits (of the mean loss) into it, as f32.
pub fn evaluate(
    kind: LossKind,
    logits: &[f32],
    classes: usize,
    labels: &[usize],
    grad: Option<&mut Vec<f32>>,
) -> LossEval {
    assert_eq!(logits.len(), classes * labels.len(), "logits vs labels");
    let mut grad = grad;
    if let Some(g) = grad.as_deref_mut() {
        g.clear();
        g.resize(logits.len(), 0.0);
    }
    let loss = match kind {
        LossKind::SoftmaxF16 => softmax_ce::<f16>(logits, classes, labels, grad),
        LossKind::SoftmaxF32 => softmax_ce::<f32>(logits, classes, labels, grad),
        LossKind::SoftmaxF64 => softmax_ce::<f64>(logits, classes, labels, grad),
        LossKind::Stablemax => stablemax_ce(logits, classes, labels, grad),
        LossKind::Mse => mse(logits, classes, labels, grad),
    };
    LossEval {
        loss,
        correct: correct(logits, classes, labels),
    }
}

/// Number of rows whose first largest logit is the label.
pub fn correct(logits: &[f32], classes: usize, labels: &[usize]) -> usize {
    logits
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, &y)| {
            let mut best = 0;
            for (j, v) in row.iter().enumerate() {
                if *v > row[best] {
                    best = j;
                }
            }
            best == y
        })
        .count()
}

fn cast<T: NumCast, U: NumCast>(v: T) -> U {
    U::from(v).expect("finite float cast")
}

/// Softmax cross-entropy with every operation in `T`, as PyTorch's
/// `log_softmax` + NLL in that dtype: log p = (z − max) − ln Σ exp(z − max),
/// dL/dz_j = (exp(log p_j) − [j = y]) / N.
fn softmax_ce<T: Float>(
    logits: &[f32],
    classes: usize,
    labels: &[usize],
    mut grad: Option<&mut Vec<f32>>,
) -> f64 {
    let n = labels.len();
    let inv_n: T = cast(1.0 / n as f64);
    let mut total = 0.0f64;
    let mut z: Vec<T> = Vec::with_capacity(classes);
    for (row, (chunk, &y)) in logits.chunks_exact(classes).zip(labels).enumerate() {
        z.clear();
        z.extend(chunk.iter().map(|&v| cast::<f32, T>(v)));
        let m = z.iter().copied().fold(T::neg_infinity(), T::max);
        let sum = z.iter().fold(T::zero(), |s, &v| s + (v - m).exp());
        let lse = sum.ln();
        let log_py = (z[y] - m) - lse;
        total -= cast::<T, f64>(log_py);
        if let Some(g) = grad.as_deref_mut() {
            let out = &mut g[row * classes..(row + 1) * classes];
            for (j, (o, &v)) in out.iter_mut().zip(&z).enumerate() {
                let p = ((v - m) - lse).exp();
                let d = if j == y { p - T::one() } else { p };
                *o = cast(d * inv_n);
            }
        }
    }
    total / n as f64
}

/// StableMax cross-entropy in f64 (Prieto et al. 2025): p_i = s(z_i) / Σ_j
/// s(z_j), loss = −ln p_y; dL/dz_j = s'(z_j) / S − [j = y] s'(z_y) / s(z_y).
fn stablemax_ce(
    logits: &[f32],
    classes: usize,
    labels: &[usize],
    mut grad: Option<&mut Vec<f32>>,
) -> f64 {
    let n = labels.len() as f64;
    let mut total = 0.0;
    for (row, (chunk, &y)) in logits.chunks_exact(classes).zip(labels).enumerate() {
        let sum: f64 = chunk.iter().map(|&v| stablemax_s(v as f64)).sum();
        let zy = chunk[y] as f64;
        total += sum.ln() - stablemax_s(zy).ln();
        if let Some(g) = grad.as_deref_mut() {
            let out = &mut g[row * classes..(row + 1) * classes];
            for (j, (o, &v)) in out.iter_mut().zip(chunk).enumerate() {
                let mut d = stablemax_ds(v as f64) / sum;
                if j == y {
                    d -= stablemax_ds(zy) / stablemax_s(zy);
                }
                *o = (d / n) as f32;
            }
        }
    }
    total / n
}

/// Mean squared error against one-hot labels in f64, averaged over all
/// N·C entries as PyTorch's `MSELoss()` (the loss of Humayun et al.'s MNIST
/// MLP): dL/dz_j = 2 (z_j − [j = y]) / (N·C).
fn mse(logits: &[f32], classes: usize, labels: &[usize], mut grad: Option<&mut Vec<f32>>) -> f64 {
    let count = logits.len() as f64;
    let mut total = 0.0;
    for (row, (chunk, &y)) in logits.chunks_exact(classes).zip(labels).enumerate() {
        for (j, &v) in chunk.iter().enumerate() {
            let d = v as f64 - if j == y { 1.0 } else { 0.0 };
            total += d * d;
            if let Some(g) = grad.as_deref_mut() {
                g[row * classes + j] = (2.0 * d / count) as f32;
            }
        }
    }
    total / count
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGITS: [f32; 8] = [2.0, -1.0, 0.5, -3.0, -0.25, 4.0, 0.0, 1.5];
    const LABELS: [usize; 2] = [2, 1];

    #[test]
    fn stablemax_matches_a_direct_f64_computation() {
        let direct = |z: &[f64], y: usize| {
            let s: Vec<f64> = z
                .iter()
                .map(|&x| if x >= 0.0 { x + 1.0 } else { 1.0 / (1.0 - x) })
                .collect();
            -(s[y] / s.iter().sum::<f64>()).ln()
        };
        let z: Vec<f64> = LOGITS.iter().map(|&v| v as f64).collect();
        let expected = (direct(&z[..4], 2) + direct(&z[4..], 1)) / 2.0;
        let mut g = Vec::new();
        let e = evaluate(LossKind::Stablemax, &LOGITS, 4, &LABELS, Some(&mut g));
        assert!(
            (e.loss - expected).abs() < 1e-12,
            "{} vs {expected}",
            e.loss
        );
        // Row 2's label 1 holds its largest logit.
        assert_eq!(e.correct, 1);
        // The gradient against central differences of the direct formula.
        for i in 0..8 {
            let h = 1e-4;
            let mut up = z.clone();
            up[i] += h;
            let mut down = z.clone();
            down[i] -= h;
            let f = |v: &[f64]| (direct(&v[..4], 2) + direct(&v[4..], 1)) / 2.0;
            let numeric = (f(&up) - f(&down)) / (2.0 * h);
            assert!((g[i] as f64 - numeric).abs() < 1e-5, "dz{i}");
        }
    }

    #[test]
    fn softmax_matches_log_sum_exp_in_each_dtype() {
        let direct = |z: &[f64], y: usize| {
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            lse - z[y]
        };
        let z: Vec<f64> = LOGITS.iter().map(|&v| v as f64).collect();
        let expected = (direct(&z[..4], 2) + direct(&z[4..], 1)) / 2.0;
        for (kind, tol) in [
            (LossKind::SoftmaxF64, 1e-12),
            (LossKind::SoftmaxF32, 1e-6),
            (LossKind::SoftmaxF16, 5e-3),
        ] {
            let mut g = Vec::new();
            let e = evaluate(kind, &LOGITS, 4, &LABELS, Some(&mut g));
            assert!((e.loss - expected).abs() < tol, "{kind:?}");
            // Each row of (softmax − onehot) sums to zero.
            for row in g.chunks(4) {
                assert!(row.iter().sum::<f32>().abs() < 1e-3);
            }
        }
    }

    #[test]
    fn mse_is_pytorchs_mean_over_every_entry() {
        // Row 1: (2−0)² + (−1−0)² + (0.5−1)² + (−3−0)² = 14.25;
        // row 2: 0.0625 + (4−1)² + 0 + 2.25 = 11.3125; mean over 8 entries.
        let mut g = Vec::new();
        let e = evaluate(LossKind::Mse, &LOGITS, 4, &LABELS, Some(&mut g));
        assert!((e.loss - (14.25 + 11.3125) / 8.0).abs() < 1e-12);
        assert_eq!(e.correct, 1);
        let expected = [0.5, -0.25, -0.125, -0.75, -0.0625, 0.75, 0.0, 0.375];
        for (got, want) in g.iter().zip(expected) {
            assert!((*got as f64 - want).abs() < 1e-7, "{got} vs {want}");
        }
    }

    #[test]
    fn collapsed_rows_have_zero_loss_and_gradient_in_f32_not_f64() {
        let logits = [20.0f32, 0.0, 0.0];
        let mut g = Vec::new();
        let e = evaluate(LossKind::SoftmaxF32, &logits, 3, &[0], Some(&mut g));
        assert_eq!(e.loss, 0.0);
        assert_eq!(g[0], 0.0);
        let e = evaluate(LossKind::SoftmaxF64, &logits, 3, &[0], Some(&mut g));
        assert!(e.loss > 0.0);
        assert!(g[0] < 0.0);
        // StableMax still has a gradient.
        let e = evaluate(LossKind::Stablemax, &logits, 3, &[0], Some(&mut g));
        assert!(e.loss > 0.0 && g[0] < 0.0);
    }
}
