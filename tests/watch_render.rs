//! Whole-frame snapshots of the dashboard on a TestBackend, from fixture
//! runs built in memory (no terminal, no clock, no files).

use std::time::{Duration, SystemTime};

use grokscope::run::{parse_line, Record};
use grokscope::source::{RunFeed, RunSource};
use grokscope::tui::panels::PanelId;
use grokscope::tui::{ui, Action, App, SharedRuns, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const T0: u64 = 1_764_400_000;

fn feed(name: &str, lines: impl IntoIterator<Item = String>) -> RunFeed {
    let mut feed = RunFeed::new(RunSource {
        name: name.into(),
        path: format!("/fixtures/{name}").into(),
        log: format!("/fixtures/{name}/metrics.jsonl").into(),
        kind: grokscope::source::RunKind::Jsonl,
        meta: None,
        meta_error: None,
    });
    for line in lines {
        let mut scratch = Vec::new();
        feed.store
            .push(&parse_line(line.as_bytes(), &mut scratch).unwrap());
        feed.health.records += 1;
    }
    feed.health.last_write = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + 100));
    feed
}

/// A grokking-shaped run with every diagnostic, a NaN and a spike.
fn grok_run(name: &str, steps: i64) -> RunFeed {
    feed(
        name,
        (0..steps).map(|i| {
            let s = i as f64 * 10.0;
            let loss = if i == 30 {
                f64::NAN
            } else {
                2.0 * (-s / 300.0).exp() + 1e-3
            };
            let acc = 1.0 / (1.0 + (-(s - 600.0) / 80.0).exp());
            let sens: Vec<f64> = (0..12)
                .map(|n| ((n as f64 + s / 100.0).sin().abs() * n as f64) / 12.0)
                .collect();
            let mut r = Record::new(i * 10)
                .scalar("train/loss", loss)
                .scalar("test/loss", 3.0 * (-s / 500.0).exp() + 0.2)
                .scalar("train/acc", 1.0 - (-s / 100.0).exp())
                .scalar("test/acc", acc)
                .scalar("sc/collapsed", acc * 0.5)
                .scalar("sc/zero_loss", acc * 0.4)
                .scalar("sc/margin", s / 100.0)
                .scalar("norm/logits", 3.0 + s / 200.0)
                .scalar("lc/train", 40.0 + (s / 150.0).sin() * 10.0)
                .scalar("lc/test", 35.0)
                .scalar("lc/train/h1", 20.0)
                .scalar("sens/net_variability", 0.3 + (s / 90.0).cos() * 0.1)
                .scalar("norm/grad", if i == 7 { 50.0 } else { 1.0 })
                .scalar("custom/temperature", 20.0 + i as f64)
                .vector("sens/h1", sens);
            r.time = Some(T0 as f64 + i as f64);
            r.to_json_line()
        }),
    )
}

fn app(feeds: Vec<RunFeed>) -> App {
    App::new(
        SharedRuns::from_feeds(feeds),
        Theme::default_theme(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + 103),
    )
}

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| {
        ui::render(f, app);
    })
    .unwrap();
    t
}

#[test]
fn dashboard_at_100x30() {
    let app = app(vec![grok_run("grok-p97", 120), grok_run("baseline", 60)]);
    insta::assert_snapshot!(draw(&app, 100, 30).backend());
}

#[test]
fn each_panel_full_screen() {
    let mut app = app(vec![grok_run("grok-p97", 120)]);
    app.update(Action::ToggleFullscreen);
    for panel in PanelId::ALL {
        app.update(Action::Focus(panel));
        let name = format!("panel_{}", panel.title().to_lowercase().replace(' ', "_"));
        insta::assert_snapshot!(name, draw(&app, 100, 30).backend());
    }
}

#[test]
fn empty_panels_say_what_would_fill_them() {
    let app = app(vec![feed(
        "loss-only",
        (0..20).map(|i| {
            format!(
                r#"{{"step": {i}, "scalars": {{"train/loss": {}}}}}"#,
                1.0 / (i + 1) as f64
            )
        }),
    )]);
    insta::assert_snapshot!(draw(&app, 100, 30).backend());
}

#[test]
fn help_overlay() {
    let mut app = app(vec![grok_run("grok-p97", 40)]);
    app.update(Action::ToggleHelp);
    insta::assert_snapshot!(draw(&app, 100, 30).backend());
}

#[test]
fn overlay_smoothing_cursor_and_log_step() {
    let mut app = app(vec![grok_run("a", 120), grok_run("b", 80)]);
    app.update(Action::Focus(PanelId::Loss));
    app.update(Action::ToggleFullscreen);
    app.update(Action::ToggleOverlay);
    app.update(Action::MoveRun(1));
    app.update(Action::ToggleOverlay);
    app.update(Action::SmoothMore);
    app.update(Action::ToggleCursor);
    app.update(Action::NextXMode);
    insta::assert_snapshot!(draw(&app, 100, 30).backend());
}

#[test]
fn tiny_sizes_do_not_panic() {
    let app = app(vec![grok_run("grok-p97", 40)]);
    insta::assert_snapshot!("size_1x1", draw(&app, 1, 1).backend());
    insta::assert_snapshot!("size_20x5", draw(&app, 20, 5).backend());
    insta::assert_snapshot!("size_40x10", draw(&app, 40, 10).backend());
    for (w, h) in [(0, 0), (2, 30), (100, 1), (30, 8), (69, 19), (70, 20)] {
        draw(&app, w, h);
    }
}

#[test]
fn non_finite_values_are_marked_in_their_colour() {
    let mut app = app(vec![grok_run("grok-p97", 120)]);
    app.update(Action::ToggleFullscreen);
    let t = draw(&app, 100, 30);
    let buf = t.backend().buffer();
    let marker = buf
        .content()
        .iter()
        .find(|c| c.symbol() == "×")
        .expect("a NaN marker");
    assert_eq!(Some(marker.fg), Theme::default_theme().nonfinite.fg);
}

#[test]
fn paused_display_ignores_new_records() {
    let mut app = app(vec![grok_run("grok-p97", 50)]);
    app.update(Action::TogglePause);
    let before = draw(&app, 100, 30).backend().to_string();
    {
        let mut more = grok_run("grok-p97", 90);
        let runs = app.runs.clone();
        let mut set = runs.write();
        std::mem::swap(&mut set.feeds[0].store, &mut more.store);
    }
    app.update(Action::DataChanged);
    let after = draw(&app, 100, 30).backend().to_string();
    // The runs list and status line show what arrived; the charts do not.
    let strip = |s: &str| {
        s.lines()
            .take(28)
            .map(|l| l.chars().skip(26).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&before), strip(&after), "charts stay frozen");
    assert!(after.contains("PAUSED (+40 records)"), "{after}");
    app.update(Action::TogglePause);
    assert_ne!(
        strip(&before),
        strip(&draw(&app, 100, 30).backend().to_string())
    );
}

#[test]
fn every_size_and_panel_renders() {
    let mut app = app(vec![grok_run("a", 60), grok_run("b", 30)]);
    for panel in PanelId::ALL {
        app.update(Action::Focus(panel));
        for fullscreen in [false, true] {
            if app.fullscreen != fullscreen {
                app.update(Action::ToggleFullscreen);
            }
            for w in (0..130).step_by(9) {
                for h in (0..45).step_by(4) {
                    draw(&app, w, h);
                }
            }
        }
    }
    for action in [
        Action::NextXMode,
        Action::NextXMode,
        Action::NextXMode,
        Action::ToggleCursor,
        Action::Zoom(1e-9),
        Action::Pan(-3.0),
        Action::ToggleLogY,
        Action::ToggleBreakdown,
        Action::NextLayer,
        Action::ToggleOverlay,
        Action::ToggleHelp,
    ] {
        app.update(action);
        for (w, h) in [(1, 1), (31, 9), (100, 30), (71, 21)] {
            draw(&app, w, h);
        }
    }
}

#[test]
fn no_color_draws_without_colour() {
    let mut app = app(vec![grok_run("grok-p97", 120)]);
    app.theme = Theme::default_theme().monochrome();
    let t = draw(&app, 100, 30);
    for cell in t.backend().buffer().content() {
        assert_eq!(cell.fg, ratatui::style::Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, ratatui::style::Color::Reset, "{cell:?}");
    }
    insta::assert_snapshot!(t.backend());
}

/// The status line carries what analysis found in the highlighted run.
#[test]
fn status_line_shows_the_analysis_alert() {
    let run = feed(
        "collapsing",
        (0..200).map(|i| {
            let collapsed = if i < 120 { 0.1 } else { 0.8 };
            Record::new(i * 10)
                .scalar("train/loss", 1.0 / (1.0 + i as f64))
                .scalar("sc/collapsed", collapsed)
                .to_json_line()
        }),
    );
    let t = draw(&app(vec![run]), 160, 20);
    let screen = format!("{:?}", t.backend());
    let status = screen
        .lines()
        .rev()
        .find(|l| l.contains("collapsing"))
        .unwrap();
    assert!(status.contains("◆ SC @1200"), "{status}");
}
