//! How long the dashboard's UI thread can wait for the run set's read lock
//! while the ingest thread works:
//! `cargo run --release --example lock_wait -- LOG.jsonl [GROW_SECS=10]`
//! (make LOG with `gen_log`, e.g. 1,000,000 records).
//!
//! 1. Loads a copy of LOG through `spawn_ingest`, then replaces it with
//!    another copy (a rewrite: read again from the start) and reports how
//!    long the re-read took and the longest read-lock wait of a thread that
//!    takes the lock every 2 ms, as the UI does each frame.
//! 2. Appends 100 records every 100 ms for GROW_SECS seconds and reports the
//!    longest wait and the CPU time of the ingest thread (Linux).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use grokscope::tui::live::spawn_ingest;
use grokscope::tui::SharedRuns;
use grokscope::watch::WatchMode;

/// A thread taking the read lock every 2 ms, recording the longest wait.
struct Prober {
    stop: Arc<AtomicBool>,
    max_us: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Prober {
    fn start(runs: &SharedRuns) -> Prober {
        let (stop, max_us) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let (s, m, runs) = (stop.clone(), max_us.clone(), runs.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let t = Instant::now();
                let guard = runs.read();
                m.fetch_max(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                drop(guard);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Prober {
            stop,
            max_us,
            thread: Some(thread),
        }
    }

    /// Stops; the longest wait.
    fn finish(mut self) -> Duration {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
        Duration::from_micros(self.max_us.load(Ordering::Relaxed))
    }
}

/// CPU time (user + system) of this process's thread named `name`.
fn thread_cpu(name: &str) -> Duration {
    let tick = 100.0; // USER_HZ on Linux
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !name.starts_with(comm.trim()) || comm.trim().is_empty() {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        let f: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = f[11].parse::<f64>().unwrap_or(0.0) + f[12].parse::<f64>().unwrap_or(0.0);
        return Duration::from_secs_f64(ticks / tick);
    }
    Duration::ZERO
}

fn wait_for(runs: &SharedRuns, what: &str, done: impl Fn(&SharedRuns) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !done(runs) {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(src) = args.next().map(PathBuf::from) else {
        eprintln!("usage: lock_wait LOG.jsonl [GROW_SECS=10]");
        std::process::exit(2);
    };
    let grow_secs: u64 = args.next().map_or(Ok(10), |s| s.parse())?;
    let dir = tempfile::tempdir_in(src.parent().unwrap_or(Path::new(".")))?;
    let run = dir.path().join("run");
    std::fs::create_dir(&run)?;
    let log = run.join("metrics.jsonl");
    std::fs::copy(&src, &log)?;
    let bytes = std::fs::metadata(&log)?.len();
    let lines = std::fs::read(&log)?.iter().filter(|&&b| b == b'\n').count();

    let runs = SharedRuns::default();
    let t = Instant::now();
    let _ingest = spawn_ingest(dir.path(), WatchMode::Notify, runs.clone(), || {})?;
    let full = |r: &SharedRuns| r.read().feeds.first().map(|f| f.store.records()) == Some(lines);
    wait_for(&runs, "first load", full);
    println!(
        "loaded {lines} records ({:.0} MB) in {:.2?}",
        bytes as f64 / 1e6,
        t.elapsed()
    );
    std::thread::sleep(Duration::from_secs(2)); // let a pending analysis finish

    // 1. A rewrite: read again from the start.
    let copy = run.join("metrics.jsonl.new");
    std::fs::copy(&src, &copy)?;
    let probe = Prober::start(&runs);
    let t = Instant::now();
    std::fs::rename(&copy, &log)?;
    wait_for(&runs, "re-read", |r| {
        full(r) && r.read().feeds[0].health.resets.len() == 1
    });
    let reread = t.elapsed();
    std::thread::sleep(Duration::from_millis(1500));
    println!(
        "re-read after a rewrite: {reread:.2?}; longest read-lock wait {:.2?}",
        probe.finish()
    );

    // 2. Growth.
    let probe = Prober::start(&runs);
    let cpu0 = thread_cpu("grokscope-ingest");
    let t = Instant::now();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log)?;
    let mut step = lines as i64;
    while t.elapsed() < Duration::from_secs(grow_secs) {
        let mut text = String::new();
        for _ in 0..100 {
            text.push_str(&format!(
                "{{\"step\": {step}, \"time\": 1.7e9, \"scalars\": {{\"train/loss\": {}, \"test/acc\": 0.5}}}}\n",
                1.0 / (step as f64)
            ));
            step += 1;
        }
        f.write_all(text.as_bytes())?;
        std::thread::sleep(Duration::from_millis(100));
    }
    let wall = t.elapsed();
    let cpu = thread_cpu("grokscope-ingest") - cpu0;
    println!(
        "growing 1000 records/s for {wall:.1?}: ingest thread CPU {:.0}% of a core; longest read-lock wait {:.2?}",
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        probe.finish()
    );
    Ok(())
}
