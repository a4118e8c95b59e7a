//! Times `analysis::analyze` on a run:
//! `cargo run --release --example analysis_cost -- RUN [REPEATS=5]`.
//!
//! Prints the points analysed, the median time of a full analysis, and the
//! time of an `Analyzer::update` when nothing changed (the dashboard's
//! common case).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use grokscope::analysis::{analyze, Analyzer};
use grokscope::source::{discover, RunFeed};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: analysis_cost RUN [REPEATS=5]");
        std::process::exit(2);
    };
    let repeats: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    let source = discover(&path)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{}: no run", path.display()))?;
    let feed = RunFeed::load(source)?;
    let store = &feed.store;
    let mut times: Vec<Duration> = (0..repeats.max(1))
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(analyze(store));
            t.elapsed()
        })
        .collect();
    times.sort();
    let mut analyzer = Analyzer::new();
    analyzer.update(store);
    let t = Instant::now();
    let changed = analyzer.update(store);
    let unchanged = t.elapsed();
    println!(
        "{} points in {} records: analyze {:?} (median of {}), {} events; update without changes {:?} (changed: {changed})",
        store.points(),
        store.records(),
        times[times.len() / 2],
        times.len(),
        analyzer.events().len(),
        unchanged
    );
    Ok(())
}
