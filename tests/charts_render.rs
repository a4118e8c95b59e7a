//! The dashboard's charts at the three sizes people use (80×24, 120×40,
//! 200×60): every panel, the whole dashboard and an overlay of three runs,
//! as insta snapshots; and, on every screen, that no chart loses its axes
//! and no legend leaves a series out without saying so.

use std::time::{Duration, SystemTime};

use grokscope::run::{parse_line, Record};
use grokscope::source::{RunFeed, RunKind, RunSource};
use grokscope::tui::panels::PanelId;
use grokscope::tui::{ui, Action, App, Hits, SharedRuns, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[path = "support/synth.rs"]
mod synth;

const T0: u64 = 1_764_400_000;
const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

/// A run with every diagnostic, NLM cosines per layer, ids, and five
/// scalars of its own; `shift` moves its curves so overlays differ.
fn run(name: &str, steps: i64, shift: i64) -> RunFeed {
    let mut feed = RunFeed::new(RunSource {
        name: name.into(),
        path: format!("/fixtures/{name}").into(),
        log: format!("/fixtures/{name}/metrics.jsonl").into(),
        kind: RunKind::Jsonl,
        meta: None,
        meta_error: None,
    });
    for i in 0..steps {
        let step = i * 50;
        let s = step + shift;
        let mut r: Record = synth::record(s, synth::FULL, 200, (T0 + i as u64) as f64);
        r.step = step;
        r = r
            .scalar("sc/nlm_cos/l0", (s as f64 / 2000.0).sin())
            .scalar("sens/top_share", 0.2 + 0.1 * (s as f64 / 700.0).cos())
            .scalar("custom/temperature", 20.0 + i as f64 * 0.1)
            .scalar("custom/throughput", 1e4 + (i % 7) as f64 * 300.0)
            .scalar("optim/beta2", 0.999);
        if step % 200 == 0 {
            r = r.vector("sens/top_ids", vec![3.0, 17.0, 42.0]);
        }
        let line = r.to_json_line();
        let mut scratch = Vec::new();
        feed.store
            .push(&parse_line(line.as_bytes(), &mut scratch).unwrap());
        feed.health.records += 1;
    }
    feed.health.last_write = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + 100));
    feed
}

fn app(feeds: Vec<RunFeed>) -> App {
    App::new(
        SharedRuns::from_feeds(feeds),
        Theme::default_theme(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + 103),
    )
}

fn draw(app: &App, w: u16, h: u16) -> (Terminal<TestBackend>, Hits) {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut hits = Hits::default();
    t.draw(|f| hits = ui::render(f, app)).unwrap();
    (t, hits)
}

/// Every chart on screen kept two labels on each of its axes, and its
/// legend lists every series or says how many it left out.
fn check(hits: &Hits, screen: &str, what: &str) {
    assert!(!hits.charts.is_empty(), "{what}: no chart drawn\n{screen}");
    for c in &hits.charts {
        let at = format!("{what}: chart {:?} at {:?}\n{screen}", c.title, c.area);
        assert!(c.left_labels >= 2, "left axis lost: {at}");
        assert!(c.x_labels >= 2, "x axis lost: {at}");
        if c.right_axis {
            assert!(c.right_labels >= 2, "right axis lost: {at}");
        }
        if c.dropped > 0 {
            assert!(
                c.legend.contains(&format!("+{} Enter", c.dropped)),
                "legend drops {} silently: {at}",
                c.dropped
            );
        }
    }
}

#[test]
fn every_panel_and_the_dashboard_at_three_sizes() {
    let mut app = app(vec![run("grok-p97", 120, 0), run("baseline", 60, 300)]);
    for (w, h) in SIZES {
        let (t, hits) = draw(&app, w, h);
        let screen = t.backend().to_string();
        check(&hits, &screen, &format!("dashboard {w}x{h}"));
        insta::assert_snapshot!(format!("dashboard_{w}x{h}"), t.backend());
    }
    app.update(Action::ToggleFullscreen);
    for panel in PanelId::ALL {
        app.update(Action::Focus(panel));
        for (w, h) in SIZES {
            let (t, hits) = draw(&app, w, h);
            let name = panel.title().to_lowercase().replace(' ', "_");
            if panel != PanelId::Runs {
                check(&hits, &t.backend().to_string(), &format!("{name} {w}x{h}"));
            }
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend());
        }
    }
}

#[test]
fn an_overlay_of_three_runs_at_three_sizes() {
    let mut app = app(vec![
        run("softmax", 120, 0),
        run("stablemax", 100, 500),
        run("perpgrad", 80, 900),
    ]);
    for _ in 0..3 {
        app.update(Action::ToggleOverlay);
        app.update(Action::MoveRun(1));
    }
    for (w, h) in SIZES {
        let (t, hits) = draw(&app, w, h);
        let screen = t.backend().to_string();
        check(&hits, &screen, &format!("overlay {w}x{h}"));
        // Every run named in the colour key of a panel's border.
        for name in ["softmax", "stablemax", "perpgrad"] {
            assert!(
                screen.contains(&format!("● {name}")),
                "{name} in the key\n{screen}"
            );
        }
        // One legend entry per metric, its values in the runs' colours:
        // the loss chart lists train/loss once, with three values.
        insta::assert_snapshot!(format!("overlay_3_runs_{w}x{h}"), t.backend());
    }
    // The colours of the key are the runs' colours in the charts.
    let (t, _) = draw(&app, 200, 60);
    let buf = t.backend().buffer();
    let theme = Theme::default_theme();
    let mut colours = Vec::new();
    for (i, cell) in buf.content().iter().enumerate() {
        if cell.symbol() == "●" {
            let w = buf.area.width as usize;
            let rest: String = (i + 2..i + 12)
                .filter(|&k| k / w == i / w)
                .map(|k| buf.content()[k].symbol().to_string())
                .collect();
            colours.push((rest, cell.fg));
        }
    }
    for (k, name) in ["softmax", "stablemax", "perpgrad"].iter().enumerate() {
        let (_, fg) = colours
            .iter()
            .find(|(rest, _)| rest.starts_with(name))
            .unwrap_or_else(|| panic!("{name}: {colours:?}"));
        assert_eq!(*fg, theme.series_color(k), "{name}");
    }
}

#[test]
fn other_scalars_page_and_the_runs_list_collapses_when_narrow() {
    let mut app = app(vec![run("grok-p97", 60, 0)]);
    let (t, _) = draw(&app, 80, 24);
    let screen = t.backend().to_string();
    assert!(screen.contains("Runs 1/1"), "one-line selector:\n{screen}");
    assert!(screen.contains("{ } page"), "pager keys shown:\n{screen}");
    let first = screen.clone();
    app.update(Action::Focus(PanelId::Other));
    app.update(Action::Page(1));
    let (t, _) = draw(&app, 80, 24);
    let second = t.backend().to_string();
    assert_ne!(first, second, "the next page shows other charts");
    app.update(Action::ToggleRunsList);
    let (t, _) = draw(&app, 80, 24);
    assert!(t.backend().to_string().contains("1 Runs"), "full list on r");
    // At 120 columns the full list is the default; `r` flips it there too.
    app.update(Action::ToggleRunsList);
    let (t, _) = draw(&app, 120, 40);
    assert!(!t.backend().to_string().contains("Runs 1/1"));
    app.update(Action::ToggleRunsList);
    let (t, _) = draw(&app, 120, 40);
    assert!(t.backend().to_string().contains("Runs 1/1"));
}
