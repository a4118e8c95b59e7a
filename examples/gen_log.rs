//! Writes a synthetic training log for benchmarks:
//! `cargo run --release --example gen_log -- OUT.jsonl [RECORDS] [SCALARS]`.
//!
//! Values are full-precision floats (as Python's `json.dumps` writes them),
//! and every record carries a wall time, so parsing cost is realistic.

use grokscope::run::{Record, RunWriter};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: gen_log OUT.jsonl [RECORDS=1000000] [SCALARS=10]");
        std::process::exit(2);
    };
    let records: i64 = args
        .get(1)
        .map_or(Ok(1_000_000), |s| s.parse())
        .expect("RECORDS");
    let scalars: usize = args.get(2).map_or(Ok(10), |s| s.parse()).expect("SCALARS");
    let names: Vec<String> = (0..scalars)
        .map(|i| match i {
            0 => "train/loss".to_string(),
            1 => "test/loss".to_string(),
            2 => "train/acc".to_string(),
            3 => "test/acc".to_string(),
            4 => "sc/collapsed".to_string(),
            5 => "norm/grad".to_string(),
            _ => format!("extra/metric_{i}"),
        })
        .collect();
    let _ = std::fs::remove_file(out);
    let mut w = RunWriter::append_to(out)?;
    // A small linear congruential generator: deterministic, no dependency.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let t0 = 1_764_412_345.0;
    for step in 0..records {
        let mut r = Record::new(step);
        r.time = Some(t0 + step as f64 * 0.013_7);
        for (i, name) in names.iter().enumerate() {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64;
            let v = (1.0 + i as f64) * (-(step as f64) / 2e5).exp() + 0.01 * noise;
            r.scalars.insert(name.clone(), v);
        }
        w.append(&r)?;
    }
    Ok(())
}
