//! Synthetic grokking-shaped records with every diagnostic metric, shared
//! by `examples/synth_run.rs` and the dashboard benchmarks.

#![allow(dead_code)]

use grokscope::run::Record;

/// Scalars of a lean record: one or two per diagnostic panel.
pub const LEAN: &[&str] = &[
    "train/loss",
    "test/acc",
    "sc/collapsed",
    "lc/train",
    "sens/net_variability",
];

/// Value of metric `name` at step `step`.
pub fn value(name: &str, step: i64) -> f64 {
    let s = step as f64;
    let train_loss = 2.0 * (-s / 300.0).exp() + 1e-4 * (1.0 + (s / 7.0).sin().abs());
    let test_acc = 1.0 / (1.0 + (-(s - 6000.0) / 400.0).exp());
    let collapsed = 1.0 / (1.0 + (-(s - 3000.0) / 500.0).exp()) * (1.0 - test_acc);
    let lc = 40.0 + 30.0 * (-(s - 700.0).powi(2) / 2e5).exp() - 20.0 * test_acc;
    match name {
        "train/loss" => train_loss,
        "test/loss" => train_loss * 3.0 + 2.0 * (1.0 - test_acc),
        "train/acc" => 1.0 - (-s / 200.0).exp(),
        "test/acc" => test_acc,
        "sc/collapsed" => collapsed,
        "sc/zero_loss" => collapsed * 0.8,
        "sc/nlm_cos" => 0.9 * collapsed,
        "norm/weights" => 10.0 + s / 500.0,
        "norm/logits" => 5.0 + s / 300.0,
        "sc/margin" => s / 400.0,
        "lc/train" => lc,
        "lc/test" => lc * 0.9,
        "lc/random" => lc * (-s / 2000.0).exp(),
        "lc/train/h1" => lc * 0.6,
        "lc/train/h2" => lc * 0.4,
        "sens/net_variability" => 0.3 + 0.05 * (s / 900.0).cos(),
        "norm/grad" => 1.0 / (1.0 + s / 100.0),
        "train/lr" => 1e-3,
        _ => 0.0,
    }
}

/// Every scalar a full record carries.
pub const FULL: &[&str] = &[
    "train/loss",
    "test/loss",
    "train/acc",
    "test/acc",
    "sc/collapsed",
    "sc/zero_loss",
    "sc/nlm_cos",
    "norm/weights",
    "norm/logits",
    "sc/margin",
    "lc/train",
    "lc/test",
    "lc/random",
    "lc/train/h1",
    "lc/train/h2",
    "sens/net_variability",
    "norm/grad",
    "train/lr",
];

/// Per-neuron sensitivity of 64 neurons at `step`.
pub fn sensitivity(step: i64) -> Vec<f64> {
    let s = step as f64;
    (0..64)
        .map(|i| {
            let f = i as f64;
            ((s / 50.0 + f).sin().abs() * (f / 64.0)).powi(2) * (1.0 + (s / 900.0).cos())
        })
        .collect()
}

/// A record for `step` with `names` as scalars, a sensitivity vector every
/// `vector_every` steps, at wall time `time`.
pub fn record(step: i64, names: &[&str], vector_every: i64, time: f64) -> Record {
    let mut r = Record::new(step);
    for name in names {
        r = r.scalar(*name, value(name, step));
    }
    if vector_every > 0 && step % vector_every == 0 {
        r = r.vector("sens/h2", sensitivity(step));
    }
    r.time = Some(time);
    r
}
