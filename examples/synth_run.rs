//! Writes a synthetic run with every diagnostic metric, for trying the
//! dashboard and for its benchmarks:
//!
//! ```text
//! cargo run --release --example synth_run -- DIR [RECORDS] [--lean] [--live MS]
//! ```
//!
//! Writes RECORDS records (default 1000) to DIR/metrics.jsonl. `--lean`
//! writes five scalars per record (one or two per panel) instead of 18;
//! `--live MS` then keeps appending one record every MS milliseconds until
//! killed.

#[path = "../tests/support/synth.rs"]
mod synth;

use std::path::PathBuf;
use std::time::Duration;

use grokscope::run::record::now_epoch_seconds;
use grokscope::run::{RunMeta, RunWriter};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(
        args.first()
            .expect("usage: synth_run DIR [RECORDS] [--lean] [--live MS]"),
    );
    let records: i64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let names = if args.iter().any(|a| a == "--lean") {
        synth::LEAN
    } else {
        synth::FULL
    };
    let live = args
        .iter()
        .position(|a| a == "--live")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse::<u64>().ok());
    let name = dir
        .file_name()
        .map_or("synthetic".into(), |n| n.to_string_lossy().to_string());
    let mut w = RunWriter::create(&dir, &RunMeta::new(name, serde_json::json!({})))?;
    let t0 = now_epoch_seconds() - records as f64 * 0.01;
    // Buffer the bulk of a large run: one write per record is slow.
    let mut bulk = String::new();
    for step in 0..records {
        bulk.push_str(&synth::record(step, names, 10, t0 + step as f64 * 0.01).to_json_line());
        bulk.push('\n');
        if bulk.len() > 1 << 20 {
            std::io::Write::write_all(&mut open(&w)?, bulk.as_bytes())?;
            bulk.clear();
        }
    }
    std::io::Write::write_all(&mut open(&w)?, bulk.as_bytes())?;
    if let Some(ms) = live {
        let mut step = records;
        loop {
            std::thread::sleep(Duration::from_millis(ms));
            w.append(&synth::record(step, names, 10, now_epoch_seconds()))?;
            step += 1;
        }
    }
    Ok(())
}

fn open(w: &RunWriter) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().append(true).open(w.path())
}
