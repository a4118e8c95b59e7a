//! Local complexity (linear-region density): `lc/<set>` and `lc/<set>/<layer>`.
//!
//! Source: Humayun, Balestriero, Baraniuk, "Deep Networks Always Grok and Here
//! is Why" (ICML 2024). A ReLU network is piecewise linear; LC counts the
//! neurons whose zero set (a region boundary) passes through a small
//! cross-polytope around a point.

use dfdx::prelude::*;

use super::model::{to_matrix, Matrix};
use super::{DiagError, ReluMlp};

/// The three probe sets LC is logged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeSet {
    /// Training points.
    Train,
    /// Held-out points.
    Test,
    /// Uniform random points in the training data's bounding box.
    Random,
}

impl ProbeSet {
    /// Name used in metric names: `train`, `test`, `random`.
    pub fn name(self) -> &'static str {
        match self {
            ProbeSet::Train => "train",
            ProbeSet::Test => "test",
            ProbeSet::Random => "random",
        }
    }
}

/// Radius r of the cross-polytope.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Radius {
    /// r in input units.
    Absolute(f64),
    /// r = factor × the data's typical scale (the root-mean-square L2 norm
    /// of the training inputs; see [`typical_scale`]).
    Relative(f64),
}

/// Local-complexity settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LcConfig {
    /// Number P of orthonormal directions (2P vertices per point). Default 25.
    pub directions: usize,
    /// Cross-polytope radius. Default `Relative(0.005)`.
    pub radius: Radius,
    /// Number of probe points per set. Default 512.
    pub points: usize,
}

impl Default for LcConfig {
    fn default() -> Self {
        LcConfig {
            directions: 25,
            radius: Radius::Relative(0.005),
            points: 512,
        }
    }
}

/// P orthonormal directions in R^D, drawn once from a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Directions {
    dim: usize,
    rows: Vec<f64>,
}

impl Directions {
    /// Draws `count` Gaussian vectors in R^`dim` from `seed` and
    /// orthonormalises them (Gram–Schmidt, applied twice for accuracy). The
    /// same `(dim, count, seed)` always gives the same directions.
    pub fn new(dim: usize, count: usize, seed: u64) -> Result<Self, DiagError> {
        if count == 0 || count > dim {
            return Err(DiagError::Config(format!(
                "need 1..={dim} directions in {dim} dimensions, got {count}"
            )));
        }
        let dev = Cpu::seed_from_u64(seed);
        let gauss: Tensor<(usize, usize), f64, Cpu> = dev.sample_normal_like(&(count, dim));
        let mut rows = gauss.as_vec();
        for p in 0..count {
            for _pass in 0..2 {
                for q in 0..p {
                    let (done, rest) = rows.split_at_mut(p * dim);
                    let vq = &done[q * dim..(q + 1) * dim];
                    let vp = &mut rest[..dim];
                    let dot: f64 = vq.iter().zip(vp.iter()).map(|(a, b)| a * b).sum();
                    vp.iter_mut().zip(vq).for_each(|(b, a)| *b -= dot * a);
                }
            }
            let vp = &mut rows[p * dim..(p + 1) * dim];
            let norm = vp.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm < 1e-8 {
                return Err(DiagError::Config(format!(
                    "direction {p} is degenerate; try another seed"
                )));
            }
            vp.iter_mut().for_each(|v| *v /= norm);
        }
        Ok(Directions { dim, rows })
    }

    /// Dimension D.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of directions P.
    pub fn count(&self) -> usize {
        self.rows.len() / self.dim
    }

    /// Direction `p` (unit length).
    pub fn direction(&self, p: usize) -> &[f64] {
        &self.rows[p * self.dim..(p + 1) * self.dim]
    }

    /// The 2P vertex offsets `[+r v_1 .. +r v_P, -r v_1 .. -r v_P]` as a
    /// `[2P, D]` tensor.
    fn offsets<E: Dtype>(&self, dev: &Cpu, radius: f64) -> Matrix<E>
    where
        Cpu: Device<E>,
    {
        let mut data = Vec::with_capacity(2 * self.rows.len());
        for sign in [1.0, -1.0] {
            data.extend(
                self.rows
                    .iter()
                    .map(|v| E::from_f64(sign * radius * v).expect("finite offset")),
            );
        }
        dev.tensor_from_vec(data, (2 * self.count(), self.dim))
    }
}

/// Local complexity of a set of points.
#[derive(Debug, Clone, PartialEq)]
pub struct LcStats {
    /// `cut[l][b]`: number of cut neurons of linear layer `l` at point `b`.
    pub cut: Vec<Vec<usize>>,
    /// `lc/<set>/l<i>`: mean over points of the cut count of layer `l`.
    pub layer_mean: Vec<f64>,
    /// `lc/<set>`: mean over points of the total cut count.
    pub mean: f64,
}

/// Local complexity of `model` at each point of `x` `[B, D]`.
///
/// All B·2P cross-polytope vertices `x ± radius·v_p` go through the model in
/// one batched forward. Neuron i of linear layer l (the logits layer
/// included) is cut at a point when its pre-activation is positive on some
/// of the 2P vertices and non-positive on others.
pub fn local_complexity<S: Shape, E: Dtype, M: ReluMlp<E>>(
    model: &M,
    x: &Tensor<S, E, Cpu>,
    directions: &Directions,
    radius: f64,
) -> Result<LcStats, DiagError>
where
    Cpu: Device<E>,
{
    let view = model.mlp_view()?;
    let x = to_matrix(x)?;
    let (b, d) = *x.shape();
    if d != directions.dim() {
        return Err(DiagError::Shape(format!(
            "points have {d} features, the directions {}",
            directions.dim()
        )));
    }
    if b == 0 {
        return Err(DiagError::Shape("no probe points".into()));
    }
    let v = 2 * directions.count();
    // Humayun et al. (2024): vertices x ± r v_p, centre excluded.
    let offsets = directions.offsets::<E>(x.device(), radius);
    let vertices = x.broadcast_like::<(usize, usize, usize), Axis<1>>(&(b, v, d))
        + offsets.broadcast_like::<(usize, usize, usize), Axis<0>>(&(b, v, d));
    let z = view.pre_activations(vertices.reshape_like(&(b * v, d)))?;
    let zero = E::default();
    let mut cut = Vec::with_capacity(z.len());
    for z_l in z {
        let w = z_l.shape().1;
        // Rows are [point][vertex][neuron]: one pass records, per neuron,
        // whether a positive (bit 2) and a non-positive (bit 1)
        // pre-activation was seen among the point's 2P vertices.
        let data = z_l.as_vec();
        let mut seen = vec![0u8; w];
        let counts = data
            .chunks_exact(v * w)
            .map(|block| {
                seen.fill(0);
                for row in block.chunks_exact(w) {
                    for (s, z) in seen.iter_mut().zip(row) {
                        *s |= if *z > zero { 2 } else { 1 };
                    }
                }
                // Cut: the sign differs between two of the 2P vertices.
                seen.iter().filter(|&&s| s == 3).count()
            })
            .collect::<Vec<_>>();
        cut.push(counts);
    }
    // LC_l(x) = cut neurons of layer l; LC(x) = sum_l LC_l(x).
    let layer_mean: Vec<f64> = cut
        .iter()
        .map(|c| c.iter().sum::<usize>() as f64 / b as f64)
        .collect();
    let mean = layer_mean.iter().sum();
    Ok(LcStats {
        cut,
        layer_mean,
        mean,
    })
}

/// Typical scale of a data set: the root-mean-square L2 norm of its rows.
pub fn typical_scale<S: Shape, E: Dtype>(x: &Tensor<S, E, Cpu>) -> Result<f64, DiagError>
where
    Cpu: Device<E>,
{
    let x = to_matrix(x)?;
    let n = x.shape().0.max(1);
    let sq: f64 = x
        .as_vec()
        .iter()
        .map(|v| v.to_f64().unwrap_or(0.0).powi(2))
        .sum();
    Ok((sq / n as f64).sqrt())
}

/// `count` points drawn uniformly (from `seed`) in the per-feature bounding
/// box of the rows of `x`.
pub fn uniform_in_bounding_box<S: Shape, E: Dtype>(
    x: &Tensor<S, E, Cpu>,
    count: usize,
    seed: u64,
) -> Result<Matrix<E>, DiagError>
where
    Cpu: Device<E>,
{
    let x = to_matrix(x)?;
    let (n, d) = *x.shape();
    if n == 0 {
        return Err(DiagError::Shape("empty data set".into()));
    }
    let data = x.as_vec();
    let mut lo = vec![f64::INFINITY; d];
    let mut hi = vec![f64::NEG_INFINITY; d];
    for row in data.chunks_exact(d) {
        for (j, v) in row.iter().enumerate() {
            let v = v.to_f64().unwrap_or(0.0);
            lo[j] = lo[j].min(v);
            hi[j] = hi[j].max(v);
        }
    }
    let dev = Cpu::seed_from_u64(seed);
    let u: Tensor<(usize, usize), f64, Cpu> =
        SampleTensor::<f64>::sample_uniform_like(&dev, &(count, d));
    let points = u
        .as_vec()
        .chunks_exact(d)
        .flat_map(|row| {
            row.iter()
                .enumerate()
                .map(|(j, &t)| E::from_f64(lo[j] + t * (hi[j] - lo[j])).expect("finite"))
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(x.device().tensor_from_vec(points, (count, d)))
}

#[cfg(test)]
#[path = "local_complexity_tests.rs"]
mod tests;
