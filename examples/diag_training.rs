//! A plain dfdx training loop (modular addition, full batch, AdamW) with
//! grokscope's diagnostics added. The lines marked `// grokscope` are all it
//! takes; everything else is ordinary dfdx code.
//!
//! Run: `cargo run --release --example diag_training [RUN_DIR]`, then watch
//! it with `grokscope watch runs/` (default RUN_DIR: runs/scratch-diag-example).

use dfdx::optim::Adam;
use dfdx::prelude::*;
use grokscope::diag::{DiagData, Recorder, RecorderConfig}; // grokscope
use grokscope::run::{RunMeta, RunWriter}; // grokscope

const P: usize = 23;
type Mlp = (
    UnbiasedLinear<{ 2 * P }, 128>,
    ReLU,
    UnbiasedLinear<128, 128>,
    ReLU,
    UnbiasedLinear<128, P>,
);

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or("runs/scratch-diag-example".into());
    let dev = Cpu::seed_from_u64(0);

    // (a + b) mod P as two concatenated one-hots; every 5th pair of 2 held out.
    let pairs: Vec<(usize, usize)> = (0..P).flat_map(|a| (0..P).map(move |b| (a, b))).collect();
    let (train, test): (Vec<_>, Vec<_>) = pairs.iter().enumerate().partition(|(i, _)| i % 5 < 2);
    let encode = |set: &[(usize, &(usize, usize))]| {
        let mut x = vec![0.0f32; set.len() * 2 * P];
        for (n, (_, &(a, b))) in set.iter().enumerate() {
            x[n * 2 * P + a] = 1.0;
            x[n * 2 * P + P + b] = 1.0;
        }
        dev.tensor_from_vec(x, (set.len(), Const::<{ 2 * P }>))
    };
    let (train_x, test_x) = (encode(&train), encode(&test));
    let train_labels: Vec<usize> = train.iter().map(|(_, &(a, b))| (a + b) % P).collect();
    let mut y = vec![0.0f32; train.len() * P];
    for (n, &c) in train_labels.iter().enumerate() {
        y[n * P + c] = 1.0;
    }
    let train_y = dev.tensor_from_vec(y, (train.len(), Const::<P>));

    let mut model = dev.build_module::<Mlp, f32>();
    let mut opt = Adam::new(
        &model,
        AdamConfig {
            lr: 1e-3,
            betas: [0.9, 0.99],
            eps: 1e-25,
            weight_decay: Some(WeightDecay::Decoupled(0.0)),
        },
    );
    let meta = RunMeta::new("diag-example", serde_json::json!({"p": P})); // grokscope
    let writer = RunWriter::create(&dir, &meta)?; // grokscope
    let data = DiagData::new(&train_x, train_labels.clone())?.with_test(&test_x)?; // grokscope
    let mut recorder = Recorder::new(Some(writer), data, RecorderConfig::default())?; // grokscope

    let mut grads = model.alloc_grads();
    for step in 0..=2000u64 {
        let logits = model.forward(train_x.trace(grads));
        let loss = cross_entropy_with_logits_loss(logits, train_y.clone());
        let loss_value = loss.array() as f64;
        grads = loss.backward();
        opt.update(&mut model, &grads)?;
        recorder.log(step, &model, Some(&grads), &[("train/loss", loss_value)])?; // grokscope
        model.zero_grads(&mut grads);
    }
    println!("wrote {dir}/metrics.jsonl");
    Ok(())
}
