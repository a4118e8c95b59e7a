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
//! - `recorder_light`: a `Recorder::record` at a logged step where only
//!   collapse and the norms are due (9 logged steps in 10 by default);
//! - `recorder_full`: a logged step where everything is due (LC on the
//!   train, test and random sets, and sensitivity).
//!
//! With the default cadence (a record every 10 steps, LC and sensitivity
//! every 10th record), 100 training steps carry 9 light and 1 full record:
//! overhead = (9 · light + full) / (100 · train_step).

use criterion::{criterion_group, criterion_main, Criterion};
use dfdx::optim::Adam;
use dfdx::prelude::*;
use grokscope::diag::{
    local_complexity, nlm_alignment, softmax_collapse, Cadence, DiagData, Directions, Recorder,
    RecorderConfig, SensitivityWindow, SoftmaxDtype,
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

fn bench(c: &mut Criterion) {
    let dev = Cpu::seed_from_u64(0);
    let ModularAddition {
        x,
        y,
        labels,
        test_x,
    } = modular_addition(&dev);
    assert_eq!(labels.len(), 5107);
    let mut model: Built = dev.build_module::<Mlp, f32>();
    let mut opt = Adam::new(
        &model,
        AdamConfig {
            lr: 1e-3,
            betas: [0.9, 0.99],
            eps: 1e-25,
            weight_decay: Some(WeightDecay::Decoupled(0.0)),
        },
    );
    let mut grads = model.alloc_grads();
    let mut train_step = |model: &mut Built, grads: &mut Gradients<f32, Cpu>| {
        let logits = model.forward(x.trace(std::mem::replace(grads, Gradients::leaky())));
        *grads = cross_entropy_with_logits_loss(logits, y.clone()).backward();
        opt.update(model, grads)
            .expect("all parameters have gradients");
    };
    // A few steps so the diagnostics see a model that has trained a little.
    for _ in 0..5 {
        train_step(&mut model, &mut grads);
        model.zero_grads(&mut grads);
    }

    let mut g = c.benchmark_group("diag");
    g.sample_size(10);
    g.bench_function("train_step", |b| {
        b.iter(|| {
            train_step(&mut model, &mut grads);
            model.zero_grads(&mut grads);
        })
    });
    train_step(&mut model, &mut grads);
    g.bench_function("collapse", |b| {
        b.iter(|| softmax_collapse(&model, &x, &labels, SoftmaxDtype::F32).unwrap())
    });
    g.bench_function("nlm", |b| b.iter(|| nlm_alignment(&model, &grads).unwrap()));
    let dirs = Directions::new(226, 25, 0).unwrap();
    let probe = x.clone().slice((0..512, ..));
    g.bench_function("local_complexity_512", |b| {
        b.iter(|| local_complexity(&model, &probe, &dirs, 0.005 * 2f64.sqrt()).unwrap())
    });
    let sens_probe = x.clone().slice((0..256, ..));
    let mut window = SensitivityWindow::new(3).unwrap();
    g.bench_function("sensitivity", |b| {
        b.iter(|| {
            window.observe(&model, &sens_probe, 1).unwrap();
            window.stats(0.2).unwrap()
        })
    });

    let data = DiagData::new(&x, labels.clone())
        .unwrap()
        .with_test(&test_x)
        .unwrap();
    let mut rec = Recorder::new(None, data, RecorderConfig::default()).unwrap();
    let Cadence { log_every, .. } = rec.config().cadence;
    // Step 10 is a logged step but not a 10th logged one: collapse + norms.
    g.bench_function("recorder_light", |b| {
        b.iter(|| rec.record(log_every, &model, Some(&grads)).unwrap())
    });
    // Step 0 has every diagnostic due.
    g.bench_function("recorder_full", |b| {
        b.iter(|| rec.record(0, &model, Some(&grads)).unwrap())
    });
    g.finish();
}

/// Reads criterion's median for `diag/<name>` (in ms) from this run's output.
fn median_ms(name: &str) -> Option<f64> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = format!("{target}/criterion/diag/{name}/new/estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    Some(json["median"]["point_estimate"].as_f64()? / 1e6)
}

/// Prints each median as a share of one training step, and the total
/// overhead at the default cadence.
fn summary(_: &mut Criterion) {
    let Some(step) = median_ms("train_step") else {
        return;
    };
    println!("\ncost relative to one training step ({step:.2} ms, median):");
    for name in [
        "collapse",
        "nlm",
        "local_complexity_512",
        "sensitivity",
        "recorder_light",
        "recorder_full",
    ] {
        if let Some(ms) = median_ms(name) {
            println!("  {name:<22} {ms:>9.2} ms  {:>7.1}%", 100.0 * ms / step);
        }
    }
    if let (Some(light), Some(full)) = (median_ms("recorder_light"), median_ms("recorder_full")) {
        let overhead = (9.0 * light + full) / (100.0 * step);
        println!(
            "default cadence (9 light + 1 full record per 100 steps): +{:.1}% training time",
            100.0 * overhead
        );
    }
}

criterion_group!(benches, bench, summary);
criterion_main!(benches);
