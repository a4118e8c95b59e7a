//! Softmax collapse: `sc/collapsed`, `sc/zero_loss`, `sc/margin`, `norm/logits`.
//!
//! Source: Prieto, Barsbey, Mediano, Birdal, "Grokking at the Edge of
//! Numerical Stability" (ICLR 2025). Once the logits grow large, in floating
//! point `sum_j exp(z_j - max_k z_k)` rounds to exactly 1: the sample's loss
//! and gradient are exactly 0 and learning stops.

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

/// Softmax-collapse statistics of one forward pass over a data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollapseStats {
    /// `sc/collapsed`: fraction of samples whose `sum_j exp(z_j - max z)` is
    /// exactly 1.0 in the chosen dtype.
    pub collapsed: f64,
    /// `sc/zero_loss`: fraction of samples whose cross-entropy, computed in the
    /// chosen dtype, is exactly 0.0.
    pub zero_loss: f64,
    /// `sc/margin`: mean of `z_y - max_{j != y} z_j`.
    pub margin: f64,
    /// `norm/logits`: mean L2 norm of a sample's logit vector.
    pub logit_norm: f64,
}

/// Runs `model` on `x` `[N, D]` (no gradient) and computes the collapse
/// statistics of its logits against `labels` (length N) in `dtype`.
pub fn softmax_collapse<S: Shape, E: Dtype, M: ReluMlp<E>>(
    model: &M,
    x: &Tensor<S, E, Cpu>,
    labels: &[usize],
    dtype: SoftmaxDtype,
) -> Result<CollapseStats, DiagError>
where
    Cpu: Device<E>,
{
    let view = model.mlp_view()?;
    let logits = view.logits(to_matrix(x)?)?;
    collapse_from_logits(&logits.as_vec(), view.output_dim(), labels, dtype)
}

/// Collapse statistics of row-major logits `[N, classes]` against `labels`.
///
/// The logits are rounded once to `dtype` (exactly as a cast would) and every
/// softmax operation is then carried out in that dtype.
pub fn collapse_from_logits<T: ToPrimitive + Copy>(
    logits: &[T],
    classes: usize,
    labels: &[usize],
    dtype: SoftmaxDtype,
) -> Result<CollapseStats, DiagError> {
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
    let z: Vec<f64> = logits
        .iter()
        .map(|v| v.to_f64().unwrap_or(f64::NAN))
        .collect();
    let (collapsed, zero_loss) = match dtype {
        SoftmaxDtype::F16 => exact_counts::<f16>(&z, classes, labels),
        SoftmaxDtype::F32 => exact_counts::<f32>(&z, classes, labels),
        SoftmaxDtype::F64 => exact_counts::<f64>(&z, classes, labels),
    };
    let n = labels.len() as f64;
    let mut margin = 0.0;
    let mut norm = 0.0;
    for (row, &y) in z.chunks_exact(classes).zip(labels) {
        let runner_up = row
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != y)
            .map(|(_, &v)| v)
            .fold(f64::NEG_INFINITY, f64::max);
        margin += row[y] - runner_up;
        norm += row.iter().map(|v| v * v).sum::<f64>().sqrt();
    }
    Ok(CollapseStats {
        collapsed: collapsed as f64 / n,
        zero_loss: zero_loss as f64 / n,
        margin: margin / n,
        logit_norm: norm / n,
    })
}

/// Counts (collapsed, zero-loss) samples with every operation in `F`.
fn exact_counts<F: Float + FromPrimitive>(
    z: &[f64],
    classes: usize,
    labels: &[usize],
) -> (usize, usize) {
    let mut collapsed = 0;
    let mut zero_loss = 0;
    let mut row = Vec::with_capacity(classes);
    for (chunk, &y) in z.chunks_exact(classes).zip(labels) {
        row.clear();
        row.extend(chunk.iter().map(|&v| F::from_f64(v).unwrap_or_else(F::nan)));
        let max = row.iter().copied().fold(F::neg_infinity(), F::max);
        // Prieto et al. (2025), SC: sum_j exp(z_j - max_k z_k) == 1 exactly.
        let sum = row.iter().fold(F::zero(), |acc, &v| acc + (v - max).exp());
        if sum == F::one() {
            collapsed += 1;
        }
        // Cross-entropy as log-softmax computes it: -(z_y - max - ln sum).
        let loss = (max - row[y]) + sum.ln();
        if loss == F::zero() {
            zero_loss += 1;
        }
    }
    (collapsed, zero_loss)
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
        let f32s = collapse_from_logits(&z, 5, &y, SoftmaxDtype::F32).unwrap();
        assert_eq!(f32s.collapsed, 4.0 / 7.0);
        assert_eq!(f32s.zero_loss, f32s.collapsed);
        let f64s = collapse_from_logits(&z, 5, &y, SoftmaxDtype::F64).unwrap();
        assert_eq!(f64s.collapsed, 0.0);
        assert_eq!(f64s.zero_loss, 0.0);
        // f16 (eps 2^-10): exp(-10) ≈ 4.5e-5 is below half an ulp too.
        let f16s = collapse_from_logits(&z, 5, &y, SoftmaxDtype::F16).unwrap();
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
        let s = collapse_from_logits(&z, 3, &[0], SoftmaxDtype::F32).unwrap();
        assert_eq!(s.collapsed, 1.0);
        assert_eq!(s.zero_loss, 0.0);
        assert_eq!(s.margin, -30.0);
    }

    #[test]
    fn margin_and_norm_on_a_3_4_5_row() {
        let s = collapse_from_logits(&[3.0f64, -4.0], 2, &[0], SoftmaxDtype::F64).unwrap();
        assert_eq!(s.margin, 7.0);
        assert_eq!(s.logit_norm, 5.0);
        assert_eq!(s.collapsed, 0.0);
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(collapse_from_logits(&[0.0f32; 5], 2, &[0, 1], SoftmaxDtype::F32).is_err());
        assert!(collapse_from_logits(&[0.0f32; 4], 2, &[0, 2], SoftmaxDtype::F32).is_err());
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
        let before = softmax_collapse(&model, &x, &labels, SoftmaxDtype::F32).unwrap();
        assert!(before.collapsed < 1.0 && before.margin > 0.0);
        // The NLM direction: scaling the last layer scales logits and margins.
        model.2.weight = model.2.weight.clone() * 1e4;
        let after = softmax_collapse(&model, &x, &labels, SoftmaxDtype::F32).unwrap();
        assert!((after.margin / before.margin - 1e4).abs() < 1.0);
        assert!(after.collapsed > before.collapsed);
        assert_eq!(after.collapsed, after.zero_loss);
    }
}
