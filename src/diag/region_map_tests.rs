//! Region map: exactness against brute force, a known answer, stable labels
//! and the anchors.

use super::*;
use crate::diag::MlpView;
use dfdx::nn::builders as b;

/// Two hidden neurons n0 = x, n1 = y (regions: the four quadrants) and
/// logits (relu x, relu y).
#[test]
fn two_neurons_cut_the_map_into_its_four_quarters() {
    let dev: Cpu = Default::default();
    let mut model = dev.build_module::<(b::Linear<2, 2>, b::ReLU, b::Linear<2, 2>), f64>();
    model.0.weight = dev.tensor([[1.0, 0.0], [0.0, 1.0]]);
    model.0.bias = dev.zeros();
    model.2.weight = dev.tensor([[1.0, 0.0], [0.0, 1.0]]);
    model.2.bias = dev.zeros();
    // A and B mirror each other across x = 0 and C is on it: x = 0 is the
    // vertical centre line of the map. y = 0 is half-way between AB (y = −1)
    // and C (y = 1): the horizontal centre line.
    let (a, b, c) = ([-1.0, -1.0], [1.0, -1.0], [0.0, 1.0]);
    let labels = ["A".to_string(), "B".to_string(), "C".to_string()];
    let slice = Slice::through([&a, &b, &c], 20, 10, 0.25, labels).unwrap();
    let map = region_map(&model, &slice).unwrap();
    assert_eq!(map.region_count(), 4);
    let quadrant = |i: usize, j: usize| (i < 10, j < 5);
    for j in 0..10 {
        for i in 0..20 {
            for jj in 0..10 {
                for ii in 0..20 {
                    let same = map.regions[j * 20 + i] == map.regions[jj * 20 + ii];
                    assert_eq!(
                        same,
                        quadrant(i, j) == quadrant(ii, jj),
                        "({i},{j}) ({ii},{jj})"
                    );
                }
            }
            // Left of x = 0 and above y = 0: only y > 0, class 1. Below
            // y = 0 on the right: class 0; bottom left: both 0, the first.
            let class = map.classes[j * 20 + i];
            match quadrant(i, j) {
                (true, true) => assert_eq!(class, 1),
                (false, false) | (true, false) => assert_eq!(class, 0),
                (false, true) => {}
            }
        }
    }
    // The anchors sit where the slice says, at the margin's distance from
    // the edges: 0.25 / 1.5 of the map.
    let [pa, pb, pc] = slice.anchor_cells();
    assert!((pa.0 - 20.0 / 6.0).abs() < 1e-12 && (pa.1 - 10.0 * 5.0 / 6.0).abs() < 1e-12);
    assert!((pb.0 - 20.0 * 5.0 / 6.0).abs() < 1e-12 && pb.1 == pa.1);
    assert!((pc.0 - 10.0).abs() < 1e-12 && (pc.1 - 10.0 / 6.0).abs() < 1e-12);
    // And the anchors' own map positions give back the anchor points.
    for ((x, y), want) in [pa, pb, pc].into_iter().zip([a, b, c]) {
        let (s, t) = slice.coordinates(x / 20.0, y / 10.0);
        let p = [
            a[0] + s * (b[0] - a[0]) + t * (c[0] - a[0]),
            a[1] + s * (b[1] - a[1]) + t * (c[1] - a[1]),
        ];
        assert!((p[0] - want[0]).abs() < 1e-12 && (p[1] - want[1]).abs() < 1e-12);
    }
}

/// `(weight [out][in], bias)` of every layer, on the host.
fn layers(view: &MlpView<f64>) -> Vec<(Vec<Vec<f64>>, Vec<f64>)> {
    view.layers()
        .iter()
        .map(|l| {
            let w = l.weight.as_vec();
            let rows = w.chunks(l.in_dim()).map(<[f64]>::to_vec).collect();
            let bias = l
                .bias
                .as_ref()
                .map_or(vec![0.0; l.out_dim()], |b| b.as_vec());
            (rows, bias)
        })
        .collect()
}

/// The sign pattern (hidden layers) and predicted class at `x`, one neuron
/// at a time.
fn brute_force(layers: &[(Vec<Vec<f64>>, Vec<f64>)], x: &[f64]) -> (Vec<bool>, usize) {
    let mut h = x.to_vec();
    let mut signs = Vec::new();
    for (l, (w, bias)) in layers.iter().enumerate() {
        let z: Vec<f64> = w
            .iter()
            .zip(bias)
            .map(|(row, b)| row.iter().zip(&h).map(|(a, b)| a * b).sum::<f64>() + b)
            .collect();
        if l + 1 == layers.len() {
            let mut best = 0;
            for (j, v) in z.iter().enumerate() {
                if *v > z[best] {
                    best = j;
                }
            }
            return (signs, best);
        }
        signs.extend(z.iter().map(|&v| v > 0.0));
        h = z.iter().map(|&v| v.max(0.0)).collect();
    }
    unreachable!("the last layer returns")
}

#[test]
fn cells_share_a_region_iff_their_activation_patterns_are_equal() {
    let dev = Cpu::seed_from_u64(11);
    type M = (
        (b::Linear<5, 7>, b::ReLU),
        (b::Linear<7, 6>, b::ReLU),
        b::Linear<6, 4>,
    );
    let model = dev.build_module::<M, f64>();
    let view = model.mlp_view().unwrap();
    let host = layers(&view);
    let pts: Tensor<Rank2<3, 5>, f64, _> = dev.sample_normal();
    let p = pts.as_vec();
    let labels = ["A".to_string(), "B".to_string(), "C".to_string()];
    let slice = Slice::through([&p[0..5], &p[5..10], &p[10..15]], 24, 16, 0.5, labels).unwrap();
    let map = region_map(&model, &slice).unwrap();
    let truth: Vec<(Vec<bool>, usize)> = (0..24 * 16)
        .map(|k| brute_force(&host, &slice.point(k % 24, k / 24)))
        .collect();
    let mut distinct: Vec<&Vec<bool>> = truth.iter().map(|t| &t.0).collect();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() > 4, "a slice with few regions tests little");
    assert_eq!(map.region_count(), distinct.len());
    for (p, tp) in truth.iter().enumerate() {
        assert_eq!(map.classes[p] as usize, tp.1, "class of cell {p}");
        for (q, tq) in truth.iter().enumerate() {
            assert_eq!(
                map.regions[p] == map.regions[q],
                tp.0 == tq.0,
                "cells {p} and {q}"
            );
        }
        // The stored pattern is the cell's.
        let bits = &map.patterns[map.regions[p] as usize];
        for (k, &on) in tp.0.iter().enumerate() {
            assert_eq!(bits[k / 64] >> (k % 64) & 1 == 1, on);
        }
    }
    // Stable labels are a relabelling: the same partition.
    let stable = RegionLabels::new().assign(&map);
    for p in 0..stable.len() {
        for q in 0..stable.len() {
            assert_eq!(stable[p] == stable[q], map.regions[p] == map.regions[q]);
        }
    }
}

fn toy(regions: Vec<u32>, patterns: &[u64]) -> RegionMap {
    RegionMap {
        width: regions.len(),
        height: 1,
        classes: vec![0; regions.len()],
        regions,
        patterns: patterns
            .iter()
            .map(|&p| vec![p].into_boxed_slice())
            .collect(),
    }
}

#[test]
fn labels_follow_patterns_between_records() {
    let mut labels = RegionLabels::new();
    // Patterns 10, 20, 30 → labels 0, 1, 2 in order of appearance.
    assert_eq!(
        labels.assign(&toy(vec![0, 0, 1, 2], &[10, 20, 30])),
        vec![0, 0, 1, 2]
    );
    // 20 vanishes, 40 appears (first on the grid now), 10 and 30 stay: they
    // keep 0 and 2, and 40 takes the free 1.
    assert_eq!(
        labels.assign(&toy(vec![0, 1, 1, 2], &[40, 30, 10])),
        vec![1, 2, 2, 0]
    );
    // Two new ones: 3 and then the next free label.
    assert_eq!(
        labels.assign(&toy(vec![0, 1, 2, 3], &[30, 50, 10, 60])),
        vec![2, 1, 0, 3]
    );
    // A model that does not change keeps every label.
    let dev = Cpu::seed_from_u64(5);
    let model = dev.build_module::<(b::Linear<3, 9>, b::ReLU, b::Linear<9, 2>), f32>();
    let pts: Tensor<Rank2<3, 3>, f64, _> = dev.sample_normal();
    let p = pts.as_vec();
    let names = ["A".to_string(), "B".to_string(), "C".to_string()];
    let slice = Slice::through([&p[0..3], &p[3..6], &p[6..9]], 16, 12, 0.25, names).unwrap();
    let map = region_map(&model, &slice).unwrap();
    let mut labels = RegionLabels::new();
    let first = labels.assign(&map);
    assert_eq!(labels.assign(&map), first);
}

#[test]
fn anchors_are_seeded_of_different_classes_or_given() {
    // Ten points on a parabola (no three collinear), classes 0, 0, 1, 1, 2, …
    let x: Vec<f64> = (0..10).flat_map(|i| [i as f64, (i * i) as f64]).collect();
    let y: Vec<usize> = (0..10).map(|i| i / 2).collect();
    let a = choose_anchors(&x, &y, Anchors::Seeded, 1).unwrap();
    let classes: Vec<usize> = a.iter().map(|&i| y[i]).collect();
    assert!(classes[0] != classes[1] && classes[1] != classes[2] && classes[0] != classes[2]);
    assert_eq!(a, choose_anchors(&x, &y, Anchors::Seeded, 1).unwrap());
    let seeds: Vec<[usize; 3]> = (0..8)
        .map(|s| choose_anchors(&x, &y, Anchors::Seeded, s).unwrap())
        .collect();
    assert!(seeds.iter().any(|s| *s != seeds[0]), "the seed matters");
    // Two classes only: the third anchor repeats one.
    let two: Vec<usize> = (0..10).map(|i| i % 2).collect();
    let a = choose_anchors(&x, &two, Anchors::Seeded, 3).unwrap();
    assert_ne!(two[a[0]], two[a[1]]);
    assert_eq!(
        choose_anchors(&x, &y, Anchors::Indices([0, 5, 9]), 0).unwrap(),
        [0, 5, 9]
    );
    let e = choose_anchors(&x, &y, Anchors::Indices([0, 5, 10]), 0).unwrap_err();
    assert!(e.to_string().contains("not a training point"), "{e}");
    // Points on a line span no plane.
    let line: Vec<f64> = (0..10).flat_map(|i| [i as f64, 2.0 * i as f64]).collect();
    let e = choose_anchors(&line, &y, Anchors::Indices([0, 1, 2]), 0).unwrap_err();
    assert!(e.to_string().contains("collinear"), "{e}");
    assert!(choose_anchors(&line, &y, Anchors::Seeded, 0).is_err());
}

#[test]
fn bad_slices_are_refused() {
    let names = || ["A".to_string(), "B".to_string(), "C".to_string()];
    let (a, b, c) = ([0.0, 0.0], [1.0, 0.0], [0.0, 1.0]);
    assert!(Slice::through([&a, &b, &c], 1, 10, 0.25, names()).is_err());
    assert!(Slice::through([&a, &b, &c], 10, 10, -1.0, names()).is_err());
    assert!(Slice::through([&a, &b, &[2.0, 0.0]], 10, 10, 0.25, names()).is_err());
    assert!(Slice::through([&a, &b, &[0.0]], 10, 10, 0.25, names()).is_err());
    let slice = Slice::through([&a, &b, &c], 10, 10, 0.25, names()).unwrap();
    let dev: Cpu = Default::default();
    let model = dev.build_module::<(b::Linear<3, 2>, b::ReLU, b::Linear<2, 2>), f32>();
    assert!(matches!(
        region_map(&model, &slice),
        Err(DiagError::Shape(_))
    ));
}

#[test]
fn the_extent_is_the_documented_margin_around_the_anchors() {
    // docs/METRICS.md: t ∈ [−margin, 1 + margin] from bottom to top; on the
    // row of A and B, s ∈ [−margin, 1 + margin]; C at the top centre.
    let names = || ["A".to_string(), "B".to_string(), "C".to_string()];
    let (a, b, c) = ([0.0, 0.0, 1.0], [3.0, 0.0, 0.0], [0.5, 2.0, 0.0]);
    for margin in [0.0, 0.25, 1.0] {
        let slice = Slice::through([&a, &b, &c], 96, 64, margin, names()).unwrap();
        let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
        let (_, top) = slice.coordinates(0.5, 0.0);
        let (_, bottom) = slice.coordinates(0.5, 1.0);
        assert!(
            close(top, 1.0 + margin) && close(bottom, -margin),
            "{margin}"
        );
        let e = margin / (1.0 + 2.0 * margin);
        let (left, t) = slice.coordinates(0.0, 1.0 - e);
        let (right, _) = slice.coordinates(1.0, 1.0 - e);
        assert!(close(t, 0.0) && close(left, -margin) && close(right, 1.0 + margin));
        // Every row spans 1 + 2·margin in s.
        let (l, _) = slice.coordinates(0.0, 0.3);
        let (r, _) = slice.coordinates(1.0, 0.3);
        assert!(close(r - l, 1.0 + 2.0 * margin));
        let (s, t) = slice.coordinates(0.5, e);
        assert!(close(s, 0.0) && close(t, 1.0), "C at the top centre");
    }
}
