//! Softmax collapse: `sc/collapsed`, `sc/zero_loss`, `sc/collapsed_grad_share`,
//! `sc/margin`, `norm/logits`.
//!
//! Source: Prieto, Barsbey, Mediano, Birdal, "Grokking at the Edge of
//! Numerical Stability" (ICLR 2025). Once the logits grow large, in floating
//! point `sum_j exp(z_j - max_k z_k)` rounds to exactly 1: the sample's loss
//! and its label's gradient are exactly 0, and learning from it stops.
//!
//! The test is made in the arithmetic of the loss that trains ([`CollapseLoss`]):
//! a softmax in f16, f32 or f64 with its sum taken **left to right over the
//! classes** — the order of the trainer's loss and of dfdx 0.13's CPU
//! `log_softmax` (its `sum` kernel accumulates sequentially), so for a dfdx
//! model a sample counts as collapsed exactly when dfdx's own log-softmax
//! gives it a loss of exactly 0 (tested). The order matters: at epoch 1,600
//! of the demo run, 770 of 1,392 samples are collapsed left to right, 510
//! with numpy's pairwise sum, 128 with a correctly rounded sum.
//! For StableMax the test is StableMax's own, in f64.

use dfdx::prelude::*;
use half::f16;
use num_traits::{Float, FromPrimitive, ToPrimitive};

use super::model::to_matrix;
use super::{DiagError, ReluMlp};

/// The floating-point type in which the softmax is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SoftmaxDtype {
    /// IEEE half precision.
    F16,
    /// IEEE single precision (the default, as in most training code).
    #[default]
    F32,
    /// IEEE double precision.
    F64,
}

impl SoftmaxDtype {
    /// Short name: `f16`, `f32` or `f64`.
    pub fn name(self) -> &'static str {
        match self {
            SoftmaxDtype::F16 => "f16",
            SoftmaxDtype::F32 => "f32",
            SoftmaxDtype::F64 => "f64",
        }
    }
}

/// The loss whose arithmetic the collapse test reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollapseLoss {
    /// Softmax cross-entropy in the given dtype: a sample is collapsed when
    /// `sum_j exp(z_j - max z)`, summed left to right, is exactly 1.
    Softmax(SoftmaxDtype),
    /// StableMax cross-entropy in f64 (s(x) = x + 1 for x ≥ 0, 1/(1 − x)
    /// below): a sample is collapsed when the StableMax probability of its
    /// top class, `s(z_max) / sum_j s(z_j)`, is exactly 1.
    Stablemax,
}

impl Default for CollapseLoss {
    fn default() -> Self {
        CollapseLoss::Softmax(SoftmaxDtype::F32)
    }
}

/// Softmax-collapse statistics of one forward pass over a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollapseStats {
    /// `sc/collapsed`: fraction of collapsed samples in the loss's own
    /// arithmetic (see [`CollapseLoss`]).
    pub collapsed: f64,
    /// `sc/zero_loss`: fraction of samples whose loss, computed as the
    /// trainer (and dfdx's `log_softmax`) computes it, is exactly 0.0.
    pub zero_loss: f64,
    /// `sc/collapsed_grad_share`: the share of the gradient with respect to
    /// the logits (its L2 norm over all samples) that collapsed samples
    /// carry. Their label component is exactly 0, but every other class
    /// still gets exp(z_j − max)/N: the residual that keeps pushing the
    /// other logits down (naive loss minimisation). 0 when nothing collapsed.
    pub collapsed_grad_share: f64,
    /// `sc/margin`: mean of `z_y - max_{j != y} z_j`.
    pub margin: f64,
    /// `norm/logits`: mean L2 norm of a sample's logit vector.
    pub logit_norm: f64,
}

/// Runs `model` on `x` `[N, D]` (no gradient) and computes the collapse
/// statistics of its logits against `labels` (length N) for `loss`.
pub fn softmax_collapse<S: Shape, E: Dtype, M: ReluMlp<E>>(
    model: &M,
    x: &Tensor<S, E, Cpu>,
    labels: &[usize],
    loss: CollapseLoss,
) -> Result<CollapseStats, DiagError>
where
    Cpu: Device<E>,
{
    let view = model.mlp_view()?;
    let logits = view.logits(to_matrix(x)?)?;
    collapse_from_logits(&logits.as_vec(), view.output_dim(), labels, loss)
}

/// One sample's collapse test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleCollapse {
    /// Collapsed in the loss's arithmetic.
    pub collapsed: bool,
    /// Its loss is exactly 0.
    pub zero_loss: bool,
    /// Squared L2 norm of its gradient with respect to its logits (times
    /// N², the batch factor every sample shares).
    pub grad_sq: f64,
}

fn check_shapes<T>(logits: &[T], classes: usize, labels: &[usize]) -> Result<(), DiagError> {
    if classes < 2 {
        return Err(DiagError::Shape(format!(
            "need at least 2 classes, got {classes}"
        )));
    }
    if labels.is_empty() || logits.len() != labels.len() * classes {
        return Err(DiagError::Shape(format!(
            "{} logits do not form {} rows of {classes} classes",
            logits.len(),
            labels.len()
        )));
    }
    if let Some(&bad) = labels.iter().find(|&&y| y >= classes) {
        return Err(DiagError::Shape(format!(
            "label {bad} out of range for {classes} classes"
        )));
    }
    Ok(())
}

/// The collapse test of every sample of row-major logits `[N, classes]`.
///
/// The logits are rounded once to the loss's dtype (exactly as a cast
/// would) and every operation is then carried out in that dtype, in the
/// order the trainer's loss uses.
pub fn sample_collapse<T: ToPrimitive + Copy>(
    logits: &[T],
    classes: usize,
    labels: &[usize],
    loss: CollapseLoss,
) -> Result<Vec<SampleCollapse>, DiagError> {
    check_shapes(logits, classes, labels)?;
    let z: Vec<f64> = logits
        .iter()
        .map(|v| v.to_f64().unwrap_or(f64::NAN))
        .collect();
    Ok(match loss {
        CollapseLoss::Softmax(SoftmaxDtype::F16) => softmax_samples::<f16>(&z, classes, labels),
        CollapseLoss::Softmax(SoftmaxDtype::F32) => softmax_samples::<f32>(&z, classes, labels),
        CollapseLoss::Softmax(SoftmaxDtype::F64) => softmax_samples::<f64>(&z, classes, labels),
        CollapseLoss::Stablemax => stablemax_samples(&z, classes, labels),
    })
}

/// Collapse statistics of row-major logits `[N, classes]` against `labels`
/// (see [`sample_collapse`]).
pub fn collapse_from_logits<T: ToPrimitive + Copy>(
    logits: &[T],
    classes: usize,
    labels: &[usize],
    loss: CollapseLoss,
) -> Result<CollapseStats, DiagError> {
    let samples = sample_collapse(logits, classes, labels, loss)?;
    let n = labels.len() as f64;
    let collapsed = samples.iter().filter(|s| s.collapsed).count() as f64;
    let zero_loss = samples.iter().filter(|s| s.zero_loss).count() as f64;
    // Folds from +0.0 (an empty `sum` of floats is −0.0).
    let grad_all = samples.iter().fold(0.0, |acc, s| acc + s.grad_sq);
    let grad_collapsed = samples
        .iter()
        .filter(|s| s.collapsed)
        .fold(0.0, |acc, s| acc + s.grad_sq);
    let collapsed_grad_share = if grad_all > 0.0 {
        (grad_collapsed / grad_all).sqrt()
    } else {
        0.0
    };
    let mut margin = 0.0;
    let mut norm = 0.0;
    for (row, &y) in logits.chunks_exact(classes).zip(labels) {
        let value = |v: &T| v.to_f64().unwrap_or(f64::NAN);
        let runner_up = row
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != y)
            .map(|(_, v)| value(v))
            .fold(f64::NEG_INFINITY, f64::max);
        margin += value(&row[y]) - runner_up;
        norm += row.iter().map(|v| value(v).powi(2)).sum::<f64>().sqrt();
    }
    Ok(CollapseStats {
        collapsed: collapsed / n,
        zero_loss: zero_loss / n,
        collapsed_grad_share,
        margin: margin / n,
        logit_norm: norm / n,
    })
}

/// Softmax cross-entropy with every operation in `F`, as the trainer's loss
/// and dfdx's `log_softmax`: tm = z − max, S = Σ exp(tm) left to right,
/// loss = ln S − tm_y, dL/dz_j = exp(tm_j − ln S) − [j = y].
fn softmax_samples<F: Float + FromPrimitive>(
    z: &[f64],
    classes: usize,
    labels: &[usize],
) -> Vec<SampleCollapse> {
    let mut row = Vec::with_capacity(classes);
    z.chunks_exact(classes)
        .zip(labels)
        .map(|(chunk, &y)| {
            row.clear();
            row.extend(chunk.iter().map(|&v| F::from_f64(v).unwrap_or_else(F::nan)));
            let max = row.iter().copied().fold(F::neg_infinity(), F::max);
            // Prieto et al. (2025), SC: sum_j exp(z_j - max_k z_k) == 1 exactly.
            let sum = row.iter().fold(F::zero(), |acc, &v| acc + (v - max).exp());
            let lse = sum.ln();
            let loss = lse - (row[y] - max);
            let grad_sq = row
                .iter()
                .enumerate()
                .map(|(j, &v)| {
                    let p = ((v - max) - lse).exp();
                    let d = if j == y { p - F::one() } else { p };
                    d.to_f64().unwrap_or(f64::NAN).powi(2)
                })
                .sum();
            SampleCollapse {
                collapsed: sum == F::one(),
                zero_loss: loss == F::zero(),
                grad_sq,
            }
        })
        .collect()
}

/// StableMax's s(x) = x + 1 for x ≥ 0, 1 / (1 − x) for x < 0 (Prieto et
/// al. 2025).
pub fn stablemax_s(x: f64) -> f64 {
    if x >= 0.0 {
        x + 1.0
    } else {
        1.0 / (1.0 - x)
    }
}

/// s'(x) = 1 for x ≥ 0, 1 / (1 − x)² for x < 0.
pub fn stablemax_ds(x: f64) -> f64 {
    if x >= 0.0 {
        1.0
    } else {
        1.0 / ((1.0 - x) * (1.0 - x))
    }
}

/// StableMax cross-entropy in f64, as the trainer's loss: S = Σ s(z_j) left
/// to right, loss = ln S − ln s(z_y).
fn stablemax_samples(z: &[f64], classes: usize, labels: &[usize]) -> Vec<SampleCollapse> {
    let (s, ds) = (stablemax_s, stablemax_ds);
    z.chunks_exact(classes)
        .zip(labels)
        .map(|(row, &y)| {
            let sum: f64 = row.iter().map(|&v| s(v)).sum();
            let top = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let loss = sum.ln() - s(row[y]).ln();
            let grad_sq = row
                .iter()
                .enumerate()
                .map(|(j, &v)| {
                    let mut d = ds(v) / sum;
                    if j == y {
                        d -= ds(row[y]) / s(row[y]);
                    }
                    d * d
                })
                .sum();
            SampleCollapse {
                collapsed: s(top) / sum == 1.0,
                zero_loss: loss == 0.0,
                grad_sq,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::nn::builders as b;

    /// Rows with the true class ahead of the other classes (all 0) by `margin`.
    fn rows(margins: &[f64], classes: usize) -> (Vec<f32>, Vec<usize>) {
        let mut z = Vec::new();
        let mut y = Vec::new();
        for (n, &m) in margins.iter().enumerate() {
            let label = n % classes;
            for j in 0..classes {
                z.push(if j == label { m as f32 } else { 0.0 });
            }
            y.push(label);
        }
        (z, y)
    }

    #[test]
    fn margins_past_the_f32_edge_collapse_in_f32_not_f64() {
        // exp(-25) ≈ 1.4e-11 is below half an f32 ulp of 1 (6e-8) but far
        // above half an f64 ulp (1.1e-16); exp(-10) ≈ 4.5e-5 is above both.
        let margins = [10.0, 25.0, 25.0, 10.0, 25.0, 3.0, 25.0];
        let (z, y) = rows(&margins, 5);
        let f32s =
            collapse_from_logits(&z, 5, &y, CollapseLoss::Softmax(SoftmaxDtype::F32)).unwrap();
        assert_eq!(f32s.collapsed, 4.0 / 7.0);
        assert_eq!(f32s.zero_loss, f32s.collapsed);
        let f64s =
            collapse_from_logits(&z, 5, &y, CollapseLoss::Softmax(SoftmaxDtype::F64)).unwrap();
        assert_eq!(f64s.collapsed, 0.0);
        assert_eq!(f64s.zero_loss, 0.0);
        // f16 (eps 2^-10): exp(-10) ≈ 4.5e-5 is below half an ulp too.
        let f16s =
            collapse_from_logits(&z, 5, &y, CollapseLoss::Softmax(SoftmaxDtype::F16)).unwrap();
        assert_eq!(f16s.collapsed, 6.0 / 7.0);
        assert_eq!(f16s.zero_loss, f16s.collapsed);
        let mean_margin = margins.iter().sum::<f64>() / 7.0;
        assert!((f32s.margin - mean_margin).abs() < 1e-9);
        assert!((f32s.logit_norm - mean_margin).abs() < 1e-9);
    }

    #[test]
    fn misclassified_collapsed_sample_keeps_its_loss() {
        // Class 1 wins by 30: the softmax has collapsed, but onto the wrong
        // class, so the loss is 30, not 0.
        let z = [0.0f32, 30.0, 0.0];
        let s =
            collapse_from_logits(&z, 3, &[0], CollapseLoss::Softmax(SoftmaxDtype::F32)).unwrap();
        assert_eq!(s.collapsed, 1.0);
        assert_eq!(s.zero_loss, 0.0);
        assert_eq!(s.margin, -30.0);
    }

    #[test]
    fn margin_and_norm_on_a_3_4_5_row() {
        let s = collapse_from_logits(
            &[3.0f64, -4.0],
            2,
            &[0],
            CollapseLoss::Softmax(SoftmaxDtype::F64),
        )
        .unwrap();
        assert_eq!(s.margin, 7.0);
        assert_eq!(s.logit_norm, 5.0);
        assert_eq!(s.collapsed, 0.0);
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(collapse_from_logits(
            &[0.0f32; 5],
            2,
            &[0, 1],
            CollapseLoss::Softmax(SoftmaxDtype::F32)
        )
        .is_err());
        assert!(collapse_from_logits(
            &[0.0f32; 4],
            2,
            &[0, 2],
            CollapseLoss::Softmax(SoftmaxDtype::F32)
        )
        .is_err());
    }

    #[test]
    fn model_logits_scaled_up_collapse() {
        let dev: Cpu = Default::default();
        let mut model =
            dev.build_module::<(b::UnbiasedLinear<4, 8>, b::ReLU, b::UnbiasedLinear<8, 3>), f32>();
        let x = dev.sample_normal_like(&(16usize, 4usize));
        let labels: Vec<usize> = {
            let z = model
                .mlp_view()
                .unwrap()
                .logits(x.clone())
                .unwrap()
                .as_vec();
            z.chunks(3)
                .map(|r| (0..3).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap())
                .collect()
        };
        let before = softmax_collapse(
            &model,
            &x,
            &labels,
            CollapseLoss::Softmax(SoftmaxDtype::F32),
        )
        .unwrap();
        assert!(before.collapsed < 1.0 && before.margin > 0.0);
        // The NLM direction: scaling the last layer scales logits and margins.
        model.2.weight = model.2.weight.clone() * 1e4;
        let after = softmax_collapse(
            &model,
            &x,
            &labels,
            CollapseLoss::Softmax(SoftmaxDtype::F32),
        )
        .unwrap();
        assert!((after.margin / before.margin - 1e4).abs() < 1.0);
        assert!(after.collapsed > before.collapsed);
        assert_eq!(after.collapsed, after.zero_loss);
    }

    #[test]
    fn collapsed_exactly_when_dfdx_log_softmax_gives_zero_loss() {
        // A model whose logits are scaled until some samples collapse in
        // f32 and others not: per sample, the diagnostic's flags must be
        // what dfdx 0.13's own `log_softmax` gives on the model's own
        // forward.
        let dev = Cpu::seed_from_u64(11);
        type M = (b::UnbiasedLinear<16, 32>, b::ReLU, b::UnbiasedLinear<32, 7>);
        let mut model = dev.build_module::<M, f32>();
        let x = dev.sample_normal_like(&(400usize, Const::<16>));
        let logits = model.forward(x.clone()).as_vec();
        // Labels: the argmax for most rows, another class for every 5th.
        let labels: Vec<usize> = logits
            .chunks(7)
            .enumerate()
            .map(|(n, r)| {
                let top = (0..7).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
                if n % 5 == 0 {
                    (top + 1) % 7
                } else {
                    top
                }
            })
            .collect();
        let mut seen = (0, 0);
        for scale in [1.0f32, 20.0, 40.0, 60.0, 100.0, 300.0] {
            model.2.weight = model.2.weight.clone() * scale;
            let z = model.forward(x.clone());
            let log_p = z.clone().log_softmax::<Axis<1>>().as_vec();
            let tm = z.clone() - z.clone().max::<_, Axis<1>>().broadcast_like(z.shape());
            let sums = tm.exp().sum::<_, Axis<1>>().as_vec();
            let flags = sample_collapse(&z.as_vec(), 7, &labels, CollapseLoss::default()).unwrap();
            for (n, f) in flags.iter().enumerate() {
                let dfdx_zero_loss = -log_p[n * 7 + labels[n]] == 0.0;
                assert_eq!(f.zero_loss, dfdx_zero_loss, "sample {n} at scale {scale}");
                assert_eq!(f.collapsed, sums[n] == 1.0, "sample {n} at scale {scale}");
                seen.0 += usize::from(f.collapsed);
                seen.1 += usize::from(!f.collapsed);
            }
            // Through the model view (the diagnostic's own forward) too.
            let s = softmax_collapse(&model, &x, &labels, CollapseLoss::default()).unwrap();
            let zero = log_p
                .chunks(7)
                .zip(&labels)
                .filter(|(r, &y)| -r[y] == 0.0)
                .count();
            assert_eq!(s.zero_loss, zero as f64 / 400.0);
            model.2.weight = model.2.weight.clone() * (1.0 / scale);
        }
        assert!(
            seen.0 > 100 && seen.1 > 100,
            "both cases exercised: {seen:?}"
        );
    }

    #[test]
    fn collapsed_samples_carry_the_residual_gradient_share() {
        // Two rows of 3 classes: row 0 collapsed in f32 (margin 25), row 1
        // not (margin 1). Row 0's gradient is exp(-25) on each other class
        // (its label component is 0); row 1's is (p − onehot).
        let z = [25.0f32, 0.0, 0.0, 1.0, 0.0, 0.0];
        let s = collapse_from_logits(&z, 3, &[0, 0], CollapseLoss::default()).unwrap();
        assert_eq!(s.collapsed, 0.5);
        let e = (-25.0f32).exp() as f64;
        let row0 = 2.0 * e * e;
        let sum1 = 1.0 + 2.0 * (-1.0f64).exp();
        let (p0, p1) = (1.0 / sum1, (-1.0f64).exp() / sum1);
        let row1 = (p0 - 1.0).powi(2) + 2.0 * p1 * p1;
        let want = (row0 / (row0 + row1)).sqrt();
        assert!(
            (s.collapsed_grad_share - want).abs() < 1e-6 * want,
            "{}",
            s.collapsed_grad_share
        );
        // Nothing collapsed: share 0.
        let none = collapse_from_logits(&z[3..], 3, &[0], CollapseLoss::default()).unwrap();
        assert_eq!(
            none.collapsed_grad_share.to_bits(),
            0.0f64.to_bits(),
            "+0, not −0"
        );
    }

    #[test]
    fn stablemax_does_not_collapse_where_the_f32_softmax_does() {
        // Margins far past the f32 softmax's edge: StableMax's probability
        // of the top class stays below 1 in f64.
        let (z, y) = rows(&[30.0, 1e3, 1e6, 1e9], 113);
        let soft = collapse_from_logits(&z, 113, &y, CollapseLoss::default()).unwrap();
        assert_eq!(soft.collapsed, 1.0);
        let stable = collapse_from_logits(&z, 113, &y, CollapseLoss::Stablemax).unwrap();
        assert_eq!(stable.collapsed, 0.0);
        assert_eq!(stable.zero_loss, 0.0);
        // Only astronomically large logits round StableMax's top
        // probability to 1 in f64: s(1e18) = 1e18 + 1 against 112 others
        // of 1 each.
        let (z, y) = rows(&[1e18], 113);
        let huge = collapse_from_logits(&z, 113, &y, CollapseLoss::Stablemax).unwrap();
        assert_eq!(huge.collapsed, 1.0);
    }
}
