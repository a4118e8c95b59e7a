//! ⊥Grad (Prieto et al. 2025): remove from each parameter's gradient its
//! component along the weights (the naive-loss-minimisation direction that
//! only scales the logits), keeping the gradient's norm.

use dfdx::prelude::*;

use crate::diag::{DiagError, ReluMlp};

/// In place: g ← g − (⟨w,g⟩ / (⟨w,w⟩ + 1e-30)) w, then g ← g · |g₀| / (|g| +
/// 1e-30), where g₀ is the gradient before the projection. Sums in f64.
pub fn project_out(grad: &mut [f32], weight: &[f32]) {
    assert_eq!(grad.len(), weight.len(), "gradient vs weight length");
    let (mut wg, mut ww, mut gg) = (0.0f64, 0.0f64, 0.0f64);
    for (&g, &w) in grad.iter().zip(weight) {
        let (g, w) = (g as f64, w as f64);
        wg += w * g;
        ww += w * w;
        gg += g * g;
    }
    let coef = wg / (ww + 1e-30);
    let mut pp = 0.0f64;
    for (g, &w) in grad.iter_mut().zip(weight) {
        let v = *g as f64 - coef * w as f64;
        pp += v * v;
        *g = v as f32;
    }
    let scale = gg.sqrt() / (pp.sqrt() + 1e-30);
    for g in grad.iter_mut() {
        *g = (*g as f64 * scale) as f32;
    }
}

/// Applies [`project_out`] to the gradient of every weight and bias tensor
/// of `model` in `grads` (parameters without a gradient are skipped).
pub fn apply<M: ReluMlp<f32>>(model: &M, grads: &mut Gradients<f32, Cpu>) -> Result<(), DiagError> {
    let view = model.mlp_view()?;
    for layer in view.layers() {
        let w = layer.weight.as_vec();
        project_tensor(&layer.weight, &w, grads);
        if let Some(b) = &layer.bias {
            project_tensor(b, &b.as_vec(), grads);
        }
    }
    Ok(())
}

fn project_tensor<S: Shape>(t: &Tensor<S, f32, Cpu>, w: &[f32], grads: &mut Gradients<f32, Cpu>) {
    // The view's tensors share their ids with the model's parameters, so
    // this finds (or, for an unused parameter, allocates) the model's own
    // gradient buffer.
    if let Ok(g) = grads.get_or_alloc_mut(t) {
        project_out(g, w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    #[test]
    fn projected_gradient_is_orthogonal_and_keeps_its_norm() {
        let w = [0.5f32, -1.0, 2.0, 0.25];
        let mut g = [1.0f32, 0.5, 3.0, -2.0];
        let before = dot(&g, &g).sqrt();
        project_out(&mut g, &w);
        assert!(dot(&g, &w).abs() < 1e-5, "not orthogonal: {}", dot(&g, &w));
        assert!((dot(&g, &g).sqrt() - before).abs() < 1e-5);
    }

    #[test]
    fn applies_to_every_parameter_of_a_model() {
        let dev = Cpu::seed_from_u64(1);
        let model = dev.build_module::<(Linear<4, 6>, ReLU, Linear<6, 3>), f32>();
        let x = dev.sample_normal::<Rank2<5, 4>>();
        let grads = model.alloc_grads();
        let y = model.forward(x.trace(grads));
        let mut grads = y.square().sum().backward();
        let norms_before: Vec<f64> = model
            .mlp_view()
            .unwrap()
            .layers()
            .iter()
            .map(|l| {
                let g = grads.get(&l.weight).as_vec();
                dot(&g, &g).sqrt()
            })
            .collect();
        apply(&model, &mut grads).unwrap();
        for (l, before) in model.mlp_view().unwrap().layers().iter().zip(norms_before) {
            let g = grads.get(&l.weight).as_vec();
            let w = l.weight.as_vec();
            assert!(dot(&g, &w).abs() < 1e-4 * before.max(1.0));
            assert!((dot(&g, &g).sqrt() - before).abs() < 1e-4 * before.max(1.0));
            let b = l.bias.as_ref().unwrap();
            let gb = grads.get(b).as_vec();
            assert!(dot(&gb, &b.as_vec()).abs() < 1e-4);
        }
    }
}
