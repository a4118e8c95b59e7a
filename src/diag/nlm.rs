//! Naive-loss-minimisation alignment and norms: `sc/nlm_cos/<layer>`,
//! `sc/nlm_cos`, `norm/weights`, `norm/weights/<layer>`, `norm/grad`.
//!
//! Source: Prieto, Barsbey, Mediano, Birdal, "Grokking at the Edge of
//! Numerical Stability" (ICLR 2025). Once the training set is fitted, the
//! gradient mostly scales the weights up (the NLM direction, `-g ∥ W`),
//! which lowers the loss without changing any prediction.

use dfdx::prelude::*;

use super::{DiagError, ReluMlp};

/// NLM alignment and norms of one training gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct NlmStats {
    /// `sc/nlm_cos/l<i>`: cos(-g_l, W_l) for each linear layer's weight matrix.
    pub layer_cos: Vec<f64>,
    /// `sc/nlm_cos`: cos(-g, θ) with all parameters (weights and biases)
    /// concatenated.
    pub cos: f64,
    /// `norm/weights/l<i>`: Frobenius norm of each weight matrix.
    pub layer_weight_norms: Vec<f64>,
    /// `norm/weights`: sqrt(sum_l |W_l|^2) over the weight matrices.
    pub weight_norm: f64,
    /// `norm/grad`: L2 norm of the whole gradient (weights and biases).
    pub grad_norm: f64,
}

/// Dot product and squared norms, accumulated in f64.
#[derive(Default, Clone, Copy)]
struct Sums {
    wg: f64,
    ww: f64,
    gg: f64,
}

impl Sums {
    fn add<E: Dtype>(&mut self, w: &[E], g: &[E]) {
        for (w, g) in w.iter().zip(g) {
            let (w, g) = (
                w.to_f64().unwrap_or(f64::NAN),
                g.to_f64().unwrap_or(f64::NAN),
            );
            self.wg += w * g;
            self.ww += w * w;
            self.gg += g * g;
        }
    }

    fn merge(&mut self, other: Sums) {
        self.wg += other.wg;
        self.ww += other.ww;
        self.gg += other.gg;
    }

    /// cos(-g, w) = <-g, w> / (|g| |w|); 0 when either is zero.
    fn cos_neg_grad(&self) -> f64 {
        let denom = (self.ww * self.gg).sqrt();
        if denom == 0.0 {
            0.0
        } else {
            -self.wg / denom
        }
    }
}

/// NLM alignment of the gradient `grads` of `model`'s parameters, and norms.
///
/// # Panics
/// If `grads` holds no gradient for one of the model's parameters (dfdx
/// offers no fallible lookup): pass the gradients of a backward pass through
/// this same model.
pub fn nlm_alignment<E: Dtype, M: ReluMlp<E>>(
    model: &M,
    grads: &Gradients<E, Cpu>,
) -> Result<NlmStats, DiagError>
where
    Cpu: Device<E>,
{
    let view = model.mlp_view()?;
    let mut total = Sums::default();
    let mut weights_sq = 0.0;
    let mut layer_cos = Vec::with_capacity(view.num_layers());
    let mut layer_weight_norms = Vec::with_capacity(view.num_layers());
    for layer in view.layers() {
        let mut s = Sums::default();
        s.add(&layer.weight.as_vec(), &grads.get(&layer.weight).as_vec());
        // Prieto et al. (2025): cos(-g_l, W_l) = <-g_l, W_l> / (|g_l| |W_l|).
        layer_cos.push(s.cos_neg_grad());
        layer_weight_norms.push(s.ww.sqrt());
        weights_sq += s.ww;
        total.merge(s);
        if let Some(bias) = &layer.bias {
            let mut sb = Sums::default();
            sb.add(&bias.as_vec(), &grads.get(bias).as_vec());
            total.merge(sb);
        }
    }
    Ok(NlmStats {
        layer_cos,
        cos: total.cos_neg_grad(),
        layer_weight_norms,
        weight_norm: weights_sq.sqrt(),
        grad_norm: total.gg.sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::nn::builders as b;

    type Model = (b::Linear<6, 4>, b::ReLU, b::UnbiasedLinear<4, 3>);

    /// Gradients whose value for each parameter tensor is `f(its values)`.
    fn grads_from(
        model: &<Model as BuildOnDevice<Cpu, f64>>::Built,
        f: impl Fn(&[f64]) -> Vec<f64>,
    ) -> Gradients<f64, Cpu> {
        let mut grads = model.alloc_grads();
        let view = model.mlp_view().unwrap();
        for layer in view.layers() {
            let g = f(&layer.weight.as_vec());
            grads
                .get_or_alloc_mut(&layer.weight)
                .unwrap()
                .copy_from_slice(&g);
            if let Some(bias) = &layer.bias {
                let g = f(&bias.as_vec());
                grads.get_or_alloc_mut(bias).unwrap().copy_from_slice(&g);
            }
        }
        grads
    }

    #[test]
    fn cosine_is_one_for_minus_w_and_zero_for_orthogonal() {
        let dev: Cpu = Default::default();
        let model = dev.build_module::<Model, f64>();
        let minus_w = grads_from(&model, |w| w.iter().map(|v| -v).collect());
        let s = nlm_alignment(&model, &minus_w).unwrap();
        for c in &s.layer_cos {
            assert!((c - 1.0).abs() < 1e-12, "{c}");
        }
        assert!((s.cos - 1.0).abs() < 1e-12);
        assert!((s.grad_norm - s_total_norm(&model)).abs() < 1e-12);

        // Rotate each pair (a, b) to (-b, a): orthogonal to W, same norm.
        // All tensors here have an even number of elements.
        let rotated = grads_from(&model, |w| {
            w.chunks(2).flat_map(|p| [-p[1], p[0]]).collect()
        });
        let s = nlm_alignment(&model, &rotated).unwrap();
        for c in &s.layer_cos {
            assert!(c.abs() < 1e-12, "{c}");
        }
        assert!(s.cos.abs() < 1e-12);
    }

    /// |θ| over all parameters, which equals |g| when g = -θ.
    fn s_total_norm(model: &<Model as BuildOnDevice<Cpu, f64>>::Built) -> f64 {
        let sq = |v: Vec<f64>| v.iter().map(|x| x * x).sum::<f64>();
        (sq(model.0.weight.as_vec()) + sq(model.0.bias.as_vec()) + sq(model.2.weight.as_vec()))
            .sqrt()
    }

    #[test]
    fn weight_norms_add_in_quadrature() {
        let dev: Cpu = Default::default();
        let model = dev.build_module::<Model, f64>();
        let g = grads_from(&model, |w| w.to_vec());
        let s = nlm_alignment(&model, &g).unwrap();
        assert!((s.cos + 1.0).abs() < 1e-12);
        let w0: f64 = model.0.weight.as_vec().iter().map(|x| x * x).sum();
        let w1: f64 = model.2.weight.as_vec().iter().map(|x| x * x).sum();
        assert!((s.layer_weight_norms[0] - w0.sqrt()).abs() < 1e-12);
        assert!((s.weight_norm - (w0 + w1).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn real_backward_pass_gradients_are_found() {
        let dev: Cpu = Default::default();
        let model = dev.build_module::<Model, f32>();
        let x = dev.sample_normal_like(&(5usize, Const::<6>));
        let y = model.forward(x.trace(model.alloc_grads()));
        let grads = y.square().mean().backward();
        let s = nlm_alignment(&model, &grads).unwrap();
        assert!(s.grad_norm > 0.0 && s.cos.abs() <= 1.0);
    }
}
