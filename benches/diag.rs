//! Cost of each diagnostic relative to one full-batch training step of the
//! reference MLP (226→200→200→113, no bias, (a + b) mod 113 with 40% of the
//! 12,769 pairs = 5,107 training samples, AdamW).
//!
//! Run with `cargo bench --bench diag`. Criterion reports the median time of:
//! - `train_step`: forward + cross-entropy + backward + AdamW update;
//! - `collapse`: `softmax_collapse` over the 5,107 training samples;
//! - `nlm`: `nlm_alignment` (cosines and norms) from the step's gradients;
//! - `local_complexity_512`: LC on 512 points (P = 25: 25,600 vertices);
//! - `sensitivity`: one snapshot of `h1` on 256 probes + the K = 3 statistics;
//! - `region_map_96x64`: the region map of the default slice (96 × 64 cells
//!   through three training points: one forward of 6,144 rows, the sign
//!   patterns of 400 hidden neurons, their regions, the classes) and its
//!   stable labels;
//! - `recorder_light`: a `Recorder::record` at a logged step where only
//!   collapse and the norms are due (9 logged steps in 10 by default);
//! - `recorder_full`: a logged step where everything is due (LC on the
//!   train, test and random sets, the region map, and sensitivity).
//!
//! With the default cadence (a record every 10 steps, LC and sensitivity
//! every 10th record), 100 training steps carry 9 light and 1 full record:
//! overhead = (9 · light + full) / (100 · train_step).
//!
//! On a shared machine the load drifts between criterion's groups, so after
//! them the bench also times every operation in interleaved rounds (each
//! round runs all of them once, back to back) and prints those medians as a
//! share of a training step, with the default-cadence total.

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use dfdx::optim::Adam;
use dfdx::prelude::*;
use grokscope::diag::{
    local_complexity, nlm_alignment, region_map, softmax_collapse, Cadence, CollapseLoss, DiagData,
    Directions, Recorder, RecorderConfig, RegionLabels, SensitivityWindow,
};

const P: usize = 113;
type Mlp = (
    UnbiasedLinear<226, 200>,
    ReLU,
    UnbiasedLinear<200, 200>,
    ReLU,
    UnbiasedLinear<200, 113>,
);
type Built = <Mlp as BuildOnDevice<Cpu, f32>>::Built;
type Inputs = Tensor<(usize, Const<226>), f32, Cpu>;

/// The reference data set.
struct ModularAddition {
    x: Inputs,
    y: Tensor<(usize, Const<P>), f32, Cpu>,
    labels: Vec<usize>,
    test_x: Inputs,
}

/// (a + b) mod P: two concatenated one-hots, a seeded 40% / 60% split.
fn modular_addition(dev: &Cpu) -> ModularAddition {
    let mut pairs: Vec<(usize, usize)> = (0..P).flat_map(|a| (0..P).map(move |b| (a, b))).collect();
    let mut state = 7u64;
    for i in (1..pairs.len()).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        pairs.swap(i, (state >> 33) as usize % (i + 1));
    }
    let n_train = pairs.len() * 2 / 5;
    let encode = |set: &[(usize, usize)]| {
        let mut x = vec![0.0f32; set.len() * 2 * P];
        for (n, &(a, b)) in set.iter().enumerate() {
            x[n * 2 * P + a] = 1.0;
            x[n * 2 * P + P + b] = 1.0;
        }
        dev.tensor_from_vec(x, (set.len(), Const::<226>))
    };
    let labels: Vec<usize> = pairs[..n_train].iter().map(|&(a, b)| (a + b) % P).collect();
    let mut y = vec![0.0f32; n_train * P];
    for (n, &c) in labels.iter().enumerate() {
        y[n * P + c] = 1.0;
    }
    ModularAddition {
        x: encode(&pairs[..n_train]),
        y: dev.tensor_from_vec(y, (n_train, Const::<P>)),
        labels,
        test_x: encode(&pairs[n_train..]),
    }
}

/// The reference model, optimiser, data and diagnostics state.
struct Fixture {
    model: Built,
    opt: Adam<Built, f32, Cpu>,
    grads: Gradients<f32, Cpu>,
    data: ModularAddition,
    dirs: Directions,
    lc_probe: Tensor<(usize, Const<226>), f32, Cpu>,
    sens_probe: Tensor<(usize, Const<226>), f32, Cpu>,
    window: SensitivityWindow,
    labels: RegionLabels,
    recorder: Recorder<f32>,
}

impl Fixture {
    fn new() -> Self {
        let dev = Cpu::seed_from_u64(0);
        let data = modular_addition(&dev);
        assert_eq!(data.labels.len(), 5107);
        let model: Built = dev.build_module::<Mlp, f32>();
        let opt = Adam::new(
            &model,
            AdamConfig {
                lr: 1e-3,
                betas: [0.9, 0.99],
                eps: 1e-25,
                weight_decay: Some(WeightDecay::Decoupled(0.0)),
            },
        );
        let diag_data = DiagData::new(&data.x, data.labels.clone())
            .and_then(|d| d.with_test(&data.test_x))
            .unwrap();
        let mut fx = Fixture {
            grads: model.alloc_grads(),
            model,
            opt,
            dirs: Directions::new(226, 25, 0).unwrap(),
            lc_probe: data.x.clone().slice((0..512, ..)),
            sens_probe: data.x.clone().slice((0..256, ..)),
            window: SensitivityWindow::new(3).unwrap(),
            labels: RegionLabels::new(),
            recorder: Recorder::new(None, diag_data, RecorderConfig::default()).unwrap(),
            data,
        };
        // A few steps so the diagnostics see a model that has trained a little.
        for _ in 0..5 {
            fx.train_step();
        }
        fx
    }

    /// Forward, cross-entropy, backward, AdamW update. The gradients stay
    /// available for `nlm` until the next step.
    fn train_step(&mut self) {
        self.model.zero_grads(&mut self.grads);
        let grads = std::mem::replace(&mut self.grads, Gradients::leaky());
        let logits = self.model.forward(self.data.x.trace(grads));
        self.grads = cross_entropy_with_logits_loss(logits, self.data.y.clone()).backward();
        self.opt
            .update(&mut self.model, &self.grads)
            .expect("all parameters have gradients");
    }

    fn collapse(&self) {
        let d = &self.data;
        softmax_collapse(&self.model, &d.x, &d.labels, CollapseLoss::default()).unwrap();
    }

    fn nlm(&self) {
        nlm_alignment(&self.model, &self.grads).unwrap();
    }

    fn local_complexity(&self) {
        local_complexity(&self.model, &self.lc_probe, &self.dirs, 0.005 * 2f64.sqrt()).unwrap();
    }

    fn sensitivity(&mut self) {
        self.window
            .observe(&self.model, &self.sens_probe, 1)
            .unwrap();
        self.window.stats(0.2).unwrap();
    }

    fn region_map(&mut self) {
        let (slice, _) = self.recorder.slice().expect("the map is on by default");
        let map = region_map(&self.model, slice).unwrap();
        self.labels.assign(&map);
    }

    /// A logged step that is not a 10th logged one: collapse + norms.
    fn recorder_light(&mut self) {
        let Cadence { log_every, .. } = self.recorder.config().cadence;
        let grads = &self.grads;
        self.recorder
            .record(log_every, &self.model, Some(grads))
            .unwrap();
    }

    /// Step 0: every diagnostic is due.
    fn recorder_full(&mut self) {
        let grads = &self.grads;
        self.recorder.record(0, &self.model, Some(grads)).unwrap();
    }
}

type Op = (&'static str, fn(&mut Fixture));

const OPS: [Op; 8] = [
    ("train_step", Fixture::train_step),
    ("collapse", |f| f.collapse()),
    ("nlm", |f| f.nlm()),
    ("local_complexity_512", |f| f.local_complexity()),
    ("sensitivity", Fixture::sensitivity),
    ("region_map_96x64", Fixture::region_map),
    ("recorder_light", Fixture::recorder_light),
    ("recorder_full", Fixture::recorder_full),
];

fn bench(c: &mut Criterion) {
    let mut fx = Fixture::new();
    let mut g = c.benchmark_group("diag");
    g.sample_size(10);
    for (name, op) in OPS {
        g.bench_function(name, |b| b.iter(|| op(&mut fx)));
    }
    g.finish();
    interleaved(&mut fx, 10);
}

/// Times every operation once per round, `rounds` times, and prints medians.
fn interleaved(fx: &mut Fixture, rounds: usize) {
    let mut times = vec![Vec::with_capacity(rounds); OPS.len()];
    for _ in 0..rounds {
        for (t, (_, op)) in times.iter_mut().zip(OPS) {
            let start = Instant::now();
            op(fx);
            t.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    let step = medians[0];
    println!("\ninterleaved medians over {rounds} rounds, relative to one training step:");
    for ((name, _), ms) in OPS.iter().zip(&medians) {
        println!("  {name:<22} {ms:>9.2} ms  {:>7.1}%", 100.0 * ms / step);
    }
    let overhead = (9.0 * medians[6] + medians[7]) / (100.0 * step);
    println!(
        "default cadence (9 light + 1 full record per 100 steps): +{:.1}% training time",
        100.0 * overhead
    );
    println!(
        "of which the region map (one per 100 steps): +{:.1}% training time",
        100.0 * medians[5] / (100.0 * step)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
