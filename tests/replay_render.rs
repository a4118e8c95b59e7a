//! Replay on a TestBackend: snapshots of the scrubber and of a replay
//! screen with event markers, what the screen shows as the clock moves, and
//! loading real logs (JSONL and TensorBoard) for replay.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use common::fixture;
use grokscope::analysis::{EventKind, Severity};
use grokscope::run::{parse_line, Record};
use grokscope::source::{RunFeed, RunSource};
use grokscope::tui::replay::{
    prepare, Pacing, Replay, ReplayClock, ReplayError, ReplayOptions, Timeline,
};
use grokscope::tui::widgets::envelope::EVENT_LINE;
use grokscope::tui::widgets::{ScrubMark, Scrubber};
use grokscope::tui::{ui, Action, App, SharedRuns, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[path = "support/common.rs"]
mod common;

const T0: f64 = 1_764_400_000.0;

/// 200 records ten steps and one second apart (the run was stopped for two
/// hours after record 100): train accuracy reaches 1 (memorisation),
/// softmax collapse passes 0.5 at step 1200, the loss turns NaN at 1500.
fn collapsing_run() -> RunFeed {
    let mut feed = RunFeed::new(RunSource {
        name: "collapse".into(),
        path: "/fixtures/collapse".into(),
        log: "/fixtures/collapse/metrics.jsonl".into(),
        kind: grokscope::source::RunKind::Jsonl,
        meta: None,
        meta_error: None,
    });
    for i in 0..200i64 {
        let f = i as f64;
        let loss = if i == 150 {
            f64::NAN
        } else {
            2.0 * (-f / 30.0).exp() + 0.01
        };
        let mut r = Record::new(i * 10)
            .scalar("train/loss", loss)
            .scalar("test/loss", 2.5 - f / 400.0)
            .scalar("train/acc", 1.0 - (-f / 8.0).exp())
            .scalar("test/acc", 0.05 + f / 4000.0)
            .scalar("sc/collapsed", if i < 120 { 0.1 } else { 0.8 })
            .scalar("norm/logits", 2.0 + f / 20.0)
            .scalar("lc/train", 30.0 + (f / 25.0).sin() * 5.0);
        r.time = Some(T0 + f + if i > 100 { 7200.0 } else { 0.0 });
        let line = r.to_json_line();
        let mut scratch = Vec::new();
        feed.store
            .push(&parse_line(line.as_bytes(), &mut scratch).unwrap());
        feed.health.records += 1;
    }
    feed
}

/// A replay of `feed` at ×10, paused at the start.
fn replay_app(feed: RunFeed) -> App {
    let store = &feed.store;
    let timeline = Timeline::from_times((0..store.records()).map(|r| store.record_time(r)));
    let clock = ReplayClock::new(timeline, 10.0);
    let runs = SharedRuns::from_feeds(vec![feed]);
    let replay = Replay::new(clock, runs.read().events(0));
    let mut app = App::new(
        runs,
        Theme::default_theme(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(T0 as u64),
    );
    app.replay = Some(replay);
    app
}

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| {
        ui::render(f, app);
    })
    .unwrap();
    t
}

fn screen(app: &App, w: u16, h: u16) -> String {
    format!("{:?}", draw(app, w, h).backend())
}

fn status_line(s: &str) -> &str {
    s.lines().rev().find(|l| l.contains("collapse")).unwrap()
}

#[test]
fn the_fixture_has_events_of_every_severity() {
    let app = replay_app(collapsing_run());
    let runs = app.runs.read();
    let kinds: Vec<_> = runs.events(0).iter().map(|e| (e.kind, e.step)).collect();
    assert!(
        kinds.contains(&(EventKind::CollapseOnset, 1200)),
        "{kinds:?}"
    );
    assert!(kinds.contains(&(EventKind::NonFinite, 1500)), "{kinds:?}");
    assert!(kinds.iter().any(|(k, _)| *k == EventKind::Memorisation));
    let r = app.replay.as_ref().unwrap();
    assert_eq!(
        r.clock.timeline().pacing(),
        Pacing::WallTime {
            median: 1.0,
            squeezed: 1
        },
        "the two-hour stop is squeezed"
    );
}

#[test]
fn scrubber_snapshot() {
    let theme = Theme::default_theme();
    let marks = [
        ScrubMark {
            at: 0.12,
            severity: Severity::Info,
        },
        ScrubMark {
            at: 0.6,
            severity: Severity::Warning,
        },
        ScrubMark {
            at: 0.75,
            severity: Severity::Alert,
        },
    ];
    let scrubber = Scrubber {
        position: 0.4,
        marks: &marks,
        playing: false,
        at_end: false,
        speed: 20.0,
        step: Some(1200),
        last_step: Some(3000),
        clock: Some((35.6, 89.1)),
        passed: 1,
        next: Some("SC @1585".into()),
        theme: &theme,
    };
    let mut two = Terminal::new(TestBackend::new(90, 2)).unwrap();
    two.draw(|f| f.render_widget(scrubber.clone(), f.area()))
        .unwrap();
    insta::assert_snapshot!("scrubber_two_rows", two.backend());
    let buf = two.backend().buffer();
    let glyph_at = |f: f64| buf[(((f * 89.0).round()) as u16, 0)].clone();
    assert_eq!(glyph_at(0.6).symbol(), "◆");
    assert_eq!(glyph_at(0.6).fg, theme.warning.fg.unwrap());
    assert_eq!(glyph_at(0.75).fg, theme.error.fg.unwrap());
    assert_eq!(glyph_at(0.4).symbol(), "●");
    let mut one = Terminal::new(TestBackend::new(50, 1)).unwrap();
    one.draw(|f| f.render_widget(scrubber, f.area())).unwrap();
    insta::assert_snapshot!("scrubber_one_row", one.backend());
}

#[test]
fn replay_screen_with_event_markers() {
    let mut app = replay_app(collapsing_run());
    // Past the collapse onset and the NaN, short of the end.
    app.update(Action::SeekTo(0.85));
    let t = draw(&app, 100, 30);
    insta::assert_snapshot!(t.backend());
    // The event lines are drawn in their severity's colour.
    let theme = Theme::default_theme();
    let line = EVENT_LINE.to_string();
    let colours: Vec<_> = t
        .backend()
        .buffer()
        .content()
        .iter()
        .filter(|c| c.symbol() == line)
        .map(|c| c.fg)
        .collect();
    assert!(
        colours.contains(&theme.warning.fg.unwrap()),
        "collapse onset"
    );
    assert!(colours.contains(&theme.error.fg.unwrap()), "first NaN");
}

#[test]
fn a_small_replay_screen_keeps_the_scrubber() {
    let mut app = replay_app(collapsing_run());
    app.update(Action::SeekTo(0.5));
    insta::assert_snapshot!("replay_40x12", draw(&app, 40, 12).backend());
    for (w, h) in [
        (0, 0),
        (1, 1),
        (20, 5),
        (30, 8),
        (31, 9),
        (70, 20),
        (200, 60),
    ] {
        draw(&app, w, h);
    }
}

#[test]
fn the_screen_follows_the_clock() {
    let mut app = replay_app(collapsing_run());
    let start = screen(&app, 120, 30);
    assert!(status_line(&start).contains("step 0 "), "{start}");
    assert!(
        !start.contains(&EVENT_LINE.to_string()),
        "no event is on show at the first record"
    );
    assert!(!status_line(&start).contains('●'), "no alert yet");
    assert!(start.contains("❚❚ paused ×10 · step 0 / 1990"), "{start}");

    // Play: the first tick starts timing, the next moves ×10 of real time.
    let t0 = Instant::now();
    assert!(app.update(Action::PlayPause));
    assert!(app.playing());
    assert!(!app.update(Action::ReplayTick(t0)));
    assert!(app.update(Action::ReplayTick(t0 + Duration::from_millis(2500))));
    let s = screen(&app, 120, 30);
    assert!(s.contains("▶ playing ×10 · step 250 / 1990"), "{s}");
    assert!(s.contains("0:25 / 3:19"), "{s}");

    // n: the next event; the status line now carries it.
    assert!(app.update(Action::NextEvent));
    let s = screen(&app, 120, 30);
    let first = app.runs.read().events(0)[0].clone();
    assert!(
        status_line(&s).contains(&format!("@{}", first.step)),
        "{}",
        status_line(&s)
    );

    // End: the last step, every event, paused at the next tick.
    app.update(Action::SeekEnd);
    app.update(Action::ReplayTick(t0 + Duration::from_millis(2600)));
    assert!(!app.playing());
    let s = screen(&app, 120, 30);
    assert!(s.contains("■ at the end ×10 · step 1990 / 1990"), "{s}");
    // The clock passed events after the one n selected: the status line
    // reports the most severe, latest again.
    assert!(
        status_line(&s).contains("◈ NaN @1500"),
        "{}",
        status_line(&s)
    );

    // Home: back to the first record.
    app.update(Action::SeekStart);
    assert!(screen(&app, 120, 30).contains("step 0 / 1990"));
    // Speed keys.
    app.update(Action::Faster);
    app.update(Action::Faster);
    assert!(screen(&app, 120, 30).contains("×50"));
}

#[test]
fn jsonl_and_tensorboard_runs_load_for_replay() {
    let opts = |path: PathBuf| ReplayOptions {
        run: path,
        ..ReplayOptions::default()
    };
    let now = SystemTime::UNIX_EPOCH;
    // Malformed lines are counted, not fatal.
    let app = prepare(
        &opts(fixture("malformed.jsonl")),
        Theme::default_theme(),
        now,
    )
    .unwrap();
    assert!(app.playing(), "replay starts playing");
    assert_eq!(app.runs.read().feeds[0].health.malformed, 4);
    let s = screen(&app, 120, 30);
    assert!(s.contains("⚠ 4 malformed lines, first at line 2"), "{s}");
    let r = app.replay.as_ref().unwrap();
    assert_eq!(r.clock.timeline().pacing(), Pacing::Steady, "no times");

    let app = prepare(
        &opts(fixture("tensorboard/logdir/mixed")),
        Theme::default_theme(),
        now,
    )
    .unwrap();
    let r = app.replay.as_ref().unwrap();
    assert!(r.clock.timeline().len() > 1);
    assert!(
        matches!(r.clock.timeline().pacing(), Pacing::WallTime { .. }),
        "TensorBoard events carry wall times"
    );

    // --from starts at the first record at or after the step, in a resumed run.
    let mut o = opts(fixture("steps_backwards.jsonl"));
    o.from = Some(25);
    o.speed = Some(3.0);
    let app = prepare(&o, Theme::default_theme(), now).unwrap();
    let r = app.replay.as_ref().unwrap();
    assert_eq!(r.clock.current(), Some(5));
    assert_eq!(r.clock.speed(), 3.0);
}

#[test]
fn runs_that_cannot_be_replayed_say_why() {
    let err = |o: ReplayOptions| {
        prepare(&o, Theme::default_theme(), SystemTime::UNIX_EPOCH).expect_err("an error")
    };
    let run = |name: &str| ReplayOptions {
        run: fixture(name),
        ..ReplayOptions::default()
    };
    let e = err(run("no-such-run"));
    assert!(matches!(e, ReplayError::Discover(_)), "{e}");
    assert!(e.to_string().contains("no-such-run"), "{e}");
    let e = err(run("empty.jsonl"));
    assert!(matches!(e, ReplayError::Empty { .. }), "{e}");
    assert!(e.to_string().contains("no records"), "{e}");
    let e = err(run("several"));
    assert!(
        e.to_string().contains("replay takes one run; found 3"),
        "{e}"
    );
    let e = err(ReplayOptions {
        from: Some(31),
        ..run("steps_backwards.jsonl")
    });
    assert_eq!(
        e.to_string(),
        "--from 31 is past the end of the run: its steps go from 0 to 30"
    );
    let e = err(ReplayOptions {
        speed: Some(0.1),
        ..run("steps_backwards.jsonl")
    });
    assert!(e.to_string().contains("0.25 to 1000"), "{e}");
}
