//! Dashboard render time: one frame of the four diagnostic panels (plus
//! the runs list, the other-scalars panel and the status line) over runs
//! of 1,000,000 records per metric, on a TestBackend; and the same during
//! a replay, clock at half the run.
//!
//! ```text
//! cargo bench --bench render
//! ```

#[path = "../tests/support/synth.rs"]
mod synth;

use std::borrow::Cow;
use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use grokscope::run::record::{ScalarList, VectorList};
use grokscope::run::LineRecord;
use grokscope::source::{RunFeed, RunSource};
use grokscope::tui::replay::{Replay, ReplayClock, Timeline};
use grokscope::tui::{ui, Action, App, SharedRuns, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// Points per metric.
const POINTS: i64 = 1_000_000;

fn big_run() -> RunFeed {
    let mut feed = RunFeed::new(RunSource {
        name: "big".into(),
        path: "/bench/big".into(),
        log: "/bench/big/metrics.jsonl".into(),
        kind: grokscope::source::RunKind::Jsonl,
        meta: None,
        meta_error: None,
    });
    for step in 0..POINTS {
        let mut scalars: Vec<(Cow<'_, str>, f64)> = synth::FULL
            .iter()
            .map(|n| (Cow::Borrowed(*n), synth::value(n, step)))
            .collect();
        // A spike and a NaN that the envelope must keep.
        if step == 654_321 {
            scalars[0].1 = 1e3;
        }
        if step == 777_777 {
            scalars[1].1 = f64::NAN;
        }
        let vectors = if step % 1000 == 0 {
            vec![(Cow::Borrowed("sens/h2"), synth::sensitivity(step))]
        } else {
            Vec::new()
        };
        feed.store.push(&LineRecord {
            step,
            time: Some(1.7e9 + step as f64 * 0.01),
            scalars: ScalarList(scalars),
            vectors: VectorList(vectors),
            notes: Vec::new(),
            maps: Default::default(),
        });
    }
    feed.health.last_write = Some(SystemTime::now());
    feed
}

fn bench(c: &mut Criterion) {
    let runs = SharedRuns::from_feeds(vec![big_run()]);
    let mut app = App::new(runs, Theme::default_theme(), SystemTime::now());
    let mut group = c.benchmark_group("render");
    group.measurement_time(Duration::from_secs(5));
    for (w, h) in [(100u16, 30u16), (200, 60)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        group.bench_function(format!("dashboard {w}x{h}, 4 panels x 1M points"), |b| {
            b.iter(|| {
                terminal
                    .draw(|f| {
                        black_box(ui::render(f, &app));
                    })
                    .unwrap();
            })
        });
    }
    // Replay: the same run with the clock at half of it, events marked.
    let mut replay = App::new(app.runs.clone(), Theme::default_theme(), SystemTime::now());
    {
        let runs = replay.runs.read();
        let store = &runs.feeds[0].store;
        let timeline = Timeline::from_times((0..store.records()).map(|r| store.record_time(r)));
        let mut clock = ReplayClock::new(timeline, 100.0);
        clock.seek_fraction(0.5);
        let r = Replay::new(clock, runs.events(0));
        drop(runs);
        replay.replay = Some(r);
    }
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    group.bench_function("replay 100x30 at 50%, 4 panels x 1M points", |b| {
        b.iter(|| {
            terminal
                .draw(|f| {
                    black_box(ui::render(f, &replay));
                })
                .unwrap();
        })
    });
    app.update(Action::NextXMode); // log step
    app.update(Action::SmoothMore);
    app.update(Action::Zoom(0.01));
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    group.bench_function("dashboard 100x30, log step, smoothed, zoomed", |b| {
        b.iter(|| {
            terminal
                .draw(|f| {
                    black_box(ui::render(f, &app));
                })
                .unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
