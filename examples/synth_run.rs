//! Writes a synthetic run with every diagnostic metric, for trying the
//! dashboard and for its benchmarks:
//!
//! ```text
//! cargo run --release --example synth_run -- DIR [RECORDS] [--live MS]
//! ```
//!
//! Writes RECORDS records (default 1000) to DIR/metrics.jsonl; with
//! `--live MS` it then keeps appending one record every MS milliseconds
//! until killed.

use std::path::PathBuf;
use std::time::Duration;

use grokscope::run::{Record, RunMeta, RunWriter};

/// A plausible grokking-shaped record for `step`.
fn record(step: i64, t0: f64) -> Record {
    let s = step as f64;
    let train_loss = 2.0 * (-s / 300.0).exp() + 1e-4 * (1.0 + (s / 7.0).sin().abs());
    let test_acc = 1.0 / (1.0 + (-(s - 6000.0) / 400.0).exp());
    let collapsed = 1.0 / (1.0 + (-(s - 3000.0) / 500.0).exp()) * (1.0 - test_acc);
    let lc = 40.0 + 30.0 * (-(s - 700.0).powi(2) / 2e5).exp() - 20.0 * test_acc;
    let neurons: Vec<f64> = (0..64)
        .map(|i| {
            let f = i as f64;
            ((s / 50.0 + f).sin().abs() * (f / 64.0)).powi(2) * (1.0 + (s / 900.0).cos())
        })
        .collect();
    let mut r = Record::new(step)
        .scalar("train/loss", train_loss)
        .scalar("test/loss", train_loss * 3.0 + 2.0 * (1.0 - test_acc))
        .scalar("train/acc", 1.0 - (-s / 200.0).exp())
        .scalar("test/acc", test_acc)
        .scalar("sc/collapsed", collapsed)
        .scalar("sc/zero_loss", collapsed * 0.8)
        .scalar("sc/nlm_cos", 0.9 * collapsed)
        .scalar("norm/weights", 10.0 + s / 500.0)
        .scalar("norm/logits", 5.0 + s / 300.0)
        .scalar("sc/margin", s / 400.0)
        .scalar("lc/train", lc)
        .scalar("lc/test", lc * 0.9)
        .scalar("lc/random", lc * (-s / 2000.0).exp())
        .scalar("lc/train/h1", lc * 0.6)
        .scalar("lc/train/h2", lc * 0.4)
        .scalar("sens/net_variability", neurons.iter().sum::<f64>() / 64.0)
        .scalar("norm/grad", 1.0 / (1.0 + s / 100.0))
        .scalar("train/lr", 1e-3)
        .vector("sens/h2", neurons);
    r.time = Some(t0 + s * 0.01);
    r
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(
        args.first()
            .expect("usage: synth_run DIR [RECORDS] [--live MS]"),
    );
    let records: i64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let live = args
        .iter()
        .position(|a| a == "--live")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse::<u64>().ok());
    let name = dir
        .file_name()
        .map_or("synthetic".into(), |n| n.to_string_lossy().to_string());
    let mut w = RunWriter::create(&dir, &RunMeta::new(name, serde_json::json!({})))?;
    w.set_fsync(false);
    let t0 = grokscope::run::record::now_epoch_seconds() - records as f64 * 0.01;
    for step in 0..records {
        w.append(&record(step, t0))?;
    }
    if let Some(ms) = live {
        let mut step = records;
        loop {
            std::thread::sleep(Duration::from_millis(ms));
            let mut r = record(step, t0);
            r.time = Some(grokscope::run::record::now_epoch_seconds());
            w.append(&r)?;
            step += 1;
        }
    }
    Ok(())
}
