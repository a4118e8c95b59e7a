//! Append-to-screen latency: a record appended to a watched log, timed
//! until a frame rendered from the App shows its step. Covers the file
//! notification, the ingest thread reading and parsing the new bytes,
//! the "data changed" event, `App::update` and a full render (on a
//! TestBackend; the real loop adds at most one frame interval, 33 ms,
//! only when the previous frame was drawn less than 33 ms earlier).
//!
//! ```text
//! cargo bench --bench latency            # 1,000,000 records loaded
//! cargo bench --bench latency -- 10000   # another size
//! ```

#[path = "../tests/support/synth.rs"]
mod synth;

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use grokscope::tui::live::spawn_ingest;
use grokscope::tui::{ui, Action, App, SharedRuns, Theme};
use grokscope::watch::WatchMode;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const APPENDS: usize = 50;

fn main() {
    let records: i64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("metrics.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
        for step in 0..records {
            let r = synth::record(step, synth::LEAN, 1000, 1.7e9 + step as f64);
            writeln!(f, "{}", r.to_json_line()).unwrap();
        }
    }
    let runs = SharedRuns::default();
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let _ingest = spawn_ingest(dir.path(), WatchMode::Notify, runs.clone(), move || {
        let _ = tx.send(());
    })
    .unwrap();
    while runs.read().feeds.first().map(|f| f.store.records()) != Some(records as usize) {
        rx.recv_timeout(Duration::from_secs(120))
            .expect("initial load");
    }
    eprintln!("loaded {records} records in {:.2?}", start.elapsed());
    let mut app = App::new(runs, Theme::default_theme(), SystemTime::now());
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let mut latencies = Vec::with_capacity(APPENDS);
    for k in 0..APPENDS as i64 {
        std::thread::sleep(Duration::from_millis(50));
        while rx.try_recv().is_ok() {}
        let step = records + k;
        let line = format!(
            "{}\n",
            synth::record(step, synth::LEAN, 1000, 1.7e9 + step as f64).to_json_line()
        );
        let t0 = Instant::now();
        file.write_all(line.as_bytes()).unwrap();
        loop {
            rx.recv_timeout(Duration::from_secs(10))
                .expect("change seen");
            app.update(Action::DataChanged);
            if app.runs.read().feeds[0].store.last_step() == Some(step) {
                break;
            }
        }
        terminal
            .draw(|f| {
                ui::render(f, &app);
            })
            .unwrap();
        let elapsed = t0.elapsed();
        let shown = terminal
            .backend()
            .to_string()
            .contains(&format!("step {step}"));
        assert!(shown, "step {step} not on screen");
        latencies.push(elapsed);
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "append-to-screen latency over {APPENDS} appends, {records} records loaded: median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        ms(latencies[APPENDS / 2]),
        ms(latencies[APPENDS * 95 / 100]),
        ms(latencies[APPENDS - 1]),
    );
}
