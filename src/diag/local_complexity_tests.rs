//! Known-answer tests for local complexity.

use super::*;
use dfdx::nn::builders as b;

#[test]
fn directions_are_orthonormal_and_reproducible() {
    let a = Directions::new(40, 25, 7).unwrap();
    for p in 0..25 {
        for q in 0..25 {
            let dot: f64 = a
                .direction(p)
                .iter()
                .zip(a.direction(q))
                .map(|(x, y)| x * y)
                .sum();
            let want = if p == q { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-12, "<v{p}, v{q}> = {dot}");
        }
    }
    assert_eq!(a, Directions::new(40, 25, 7).unwrap());
    assert_ne!(a, Directions::new(40, 25, 8).unwrap());
    assert!(Directions::new(4, 5, 0).is_err());
    assert!(Directions::new(4, 0, 0).is_err());
}

/// One hidden layer of vertical lines x_0 = c_i, and a constant logit.
#[test]
fn planted_hyperplanes_are_counted() {
    let dev: Cpu = Default::default();
    let r = 0.1;
    // With P = D = 2 the directions are an orthonormal basis of the plane, so
    // the vertices' x_0 coordinates span x_0 ± r·max_p |v_p[0]|, with
    // max_p |v_p[0]| in [1/√2, 1]. A line at distance < r/√2 from the point
    // is therefore always cut, one at distance > r never is.
    let offsets = [0.0, 0.3 * r, -0.5 * r, 0.65 * r, 1.2 * r, -2.0 * r, 5.0 * r];
    let centre = 0.25;
    let mut model = dev.build_module::<(b::Linear<2, 7>, b::ReLU, b::Linear<7, 1>), f64>();
    let mut w = Vec::new();
    let mut bias = Vec::new();
    for (i, off) in offsets.iter().enumerate() {
        // Alternate the orientation: the count must not depend on it.
        let s = if i % 2 == 0 { 1.0 } else { -1.0 };
        w.extend([s, 0.0]);
        bias.push(-s * (centre + off));
    }
    model.0.weight = dev.tensor_from_vec(w, (Const::<7>, Const::<2>));
    model.0.bias = dev.tensor_from_vec(bias, (Const::<7>,));
    model.2.weight = dev.zeros();
    model.2.bias = dev.ones();
    let dirs = Directions::new(2, 2, 3).unwrap();
    // Point 0 sits at x_0 = centre: 4 lines within r/√2. Point 1 is far away.
    let x = dev.tensor_from_vec(vec![centre, -0.7, 40.0, 1.0], (2usize, 2usize));
    let lc = local_complexity(&model, &x, &dirs, r).unwrap();
    assert_eq!(lc.cut, vec![vec![4, 0], vec![0, 0]]);
    assert_eq!(lc.layer_mean, vec![2.0, 0.0]);
    assert_eq!(lc.mean, 2.0);
}

/// (weight `[out, in]`, bias, out, in) copied to the host.
type HostLayer = (Vec<f64>, Option<Vec<f64>>, usize, usize);

/// Evaluates every vertex one at a time and every neuron one at a time.
fn brute_force(
    model: &impl ReluMlp<f64>,
    x: &[f64],
    d: usize,
    dirs: &Directions,
    r: f64,
) -> Vec<Vec<usize>> {
    let view = model.mlp_view().unwrap();
    let layers: Vec<HostLayer> = view
        .layers()
        .iter()
        .map(|l| {
            (
                l.weight.as_vec(),
                l.bias.as_ref().map(|b| b.as_vec()),
                l.out_dim(),
                l.in_dim(),
            )
        })
        .collect();
    let mut cut = vec![Vec::new(); layers.len()];
    for point in x.chunks_exact(d) {
        // signs[l][i] = set of signs seen: bit 0 = non-positive, bit 1 = positive.
        let mut seen: Vec<Vec<u8>> = layers.iter().map(|l| vec![0u8; l.2]).collect();
        for sign in [1.0, -1.0] {
            for p in 0..dirs.count() {
                let mut h: Vec<f64> = point
                    .iter()
                    .zip(dirs.direction(p))
                    .map(|(a, v)| a + sign * r * v)
                    .collect();
                for (l, (w, bias, out, inp)) in layers.iter().enumerate() {
                    let mut z = vec![0.0; *out];
                    for i in 0..*out {
                        let mut acc = bias.as_ref().map_or(0.0, |b| b[i]);
                        for j in 0..*inp {
                            acc += w[i * inp + j] * h[j];
                        }
                        z[i] = acc;
                        seen[l][i] |= if acc > 0.0 { 2 } else { 1 };
                    }
                    h = z.iter().map(|v| v.max(0.0)).collect();
                }
            }
        }
        for (l, s) in seen.iter().enumerate() {
            cut[l].push(s.iter().filter(|&&b| b == 3).count());
        }
    }
    cut
}

#[test]
fn batched_count_matches_brute_force_on_a_random_network() {
    let dev = Cpu::seed_from_u64(11);
    type M = (
        b::Linear<6, 16>,
        b::ReLU,
        b::Linear<16, 12>,
        b::ReLU,
        b::UnbiasedLinear<12, 5>,
    );
    let model = dev.build_module::<M, f64>();
    let x: Tensor<(usize, usize), f64, _> = dev.sample_normal_like(&(20, 6));
    let dirs = Directions::new(6, 4, 5).unwrap();
    // A radius large enough that many, but not all, neurons are cut.
    let r = 0.3;
    let lc = local_complexity(&model, &x, &dirs, r).unwrap();
    let expected = brute_force(&model, &x.as_vec(), 6, &dirs, r);
    assert_eq!(lc.cut, expected);
    let total: usize = expected.iter().flatten().sum();
    assert!(total > 0 && total < 20 * (16 + 12 + 5), "{total}");
}

#[test]
fn random_points_stay_in_the_bounding_box() {
    let dev: Cpu = Default::default();
    let x = dev.tensor_from_vec(vec![0.0f32, 1.0, 2.0, -1.0, 1.0, 3.0], (3usize, 2usize));
    let pts = uniform_in_bounding_box(&x, 50, 1).unwrap();
    assert_eq!(*pts.shape(), (50, 2));
    for row in pts.as_vec().chunks(2) {
        assert!((0.0..=2.0).contains(&row[0]) && (-1.0..=3.0).contains(&row[1]));
    }
    assert_eq!(
        pts.as_vec(),
        uniform_in_bounding_box(&x, 50, 1).unwrap().as_vec()
    );
    let scale = typical_scale(&x).unwrap();
    assert!((scale - ((1.0 + 5.0 + 10.0) / 3.0f64).sqrt()).abs() < 1e-6);
}
