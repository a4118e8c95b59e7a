//! The region map in the linear-regions panel (key `m`) on a TestBackend:
//! snapshots at three sizes (without colour, where boundaries are glyphs),
//! boundary and anchor colours, class colouring, and the map following the
//! replay clock.

use std::time::{Duration, SystemTime};

use grokscope::run::map::{CLASS_MAP, REGION_MAP, SLICE_REGIONS};
use grokscope::run::{parse_line, GridMap, MapMark, Record};
use grokscope::source::{RunFeed, RunSource};
use grokscope::tui::panels::PanelId;
use grokscope::tui::replay::{Replay, ReplayClock, Timeline};
use grokscope::tui::ui::{self, boundary_color, category_color, MapColour};
use grokscope::tui::{Action, App, SharedRuns, Theme};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

const W: usize = 24;
const H: usize = 16;

/// Region labels of a 24×16 map cut by a vertical line at `cut` and a
/// horizontal one at row 8 (four regions, or two when the cut is off the
/// map), and the class of each cell (left or right of the cut).
fn quadrants(cut: usize) -> (Vec<u32>, Vec<u32>) {
    let mut regions = Vec::new();
    let mut classes = Vec::new();
    for j in 0..H {
        for i in 0..W {
            let right = i >= cut;
            regions.push(u32::from(right) + 2 * u32::from(j >= 8));
            classes.push(if right { 7 } else { 3 });
        }
    }
    (regions, classes)
}

fn marks() -> Vec<MapMark> {
    let at = |x: f64, y: f64, l: &str| MapMark {
        x,
        y,
        label: Some(l.to_string()),
    };
    vec![
        at(4.5, 12.5, "A: train #3 (class 0)"),
        at(19.5, 12.5, "B: train #9 (class 1)"),
        at(12.0, 2.5, "C: train #5 (class 2)"),
    ]
}

/// Twenty records ten steps apart; a region map every fifth (steps 0, 50,
/// 100, 150), whose vertical boundary moves right as the run goes on.
fn run_with_maps() -> RunFeed {
    let mut feed = RunFeed::new(RunSource {
        name: "maps".into(),
        path: "/fixtures/maps".into(),
        log: "/fixtures/maps/metrics.jsonl".into(),
        kind: grokscope::source::RunKind::Jsonl,
        meta: None,
        meta_error: None,
    });
    for i in 0..20i64 {
        let mut r = Record::new(i * 10)
            .scalar("train/loss", 1.0 / (1.0 + i as f64))
            .scalar("lc/train", 10.0 + i as f64);
        r.time = Some(1_764_400_000.0 + i as f64);
        if i % 5 == 0 {
            let cut = 6 + 3 * i as usize / 5;
            let (regions, classes) = quadrants(cut);
            let grid = |v: &[u32]| GridMap::from_values(W, H, v).unwrap().with_marks(marks());
            r = r
                .map(REGION_MAP, grid(&regions))
                .map(CLASS_MAP, grid(&classes))
                .scalar(SLICE_REGIONS, 4.0);
        }
        let line = r.to_json_line();
        let mut scratch = Vec::new();
        feed.store
            .push(&parse_line(line.as_bytes(), &mut scratch).unwrap());
        feed.health.records += 1;
    }
    feed
}

fn app(feed: RunFeed) -> App {
    let mut app = App::new(
        SharedRuns::from_feeds(vec![feed]),
        Theme::default_theme(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_400_100),
    );
    app.update(Action::ToggleRegionMap);
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

#[test]
fn region_map_panel_full_screen_without_colour() {
    let mut app = app(run_with_maps());
    app.theme = Theme::default_theme().monochrome();
    app.update(Action::Focus(PanelId::Regions));
    app.update(Action::ToggleFullscreen);
    insta::assert_snapshot!("region_map_60x24", screen(&app, 60, 24));
}

#[test]
fn region_map_in_the_dashboard_without_colour() {
    let mut app = app(run_with_maps());
    app.theme = Theme::default_theme().monochrome();
    insta::assert_snapshot!("region_map_dashboard_120x40", screen(&app, 120, 40));
}

#[test]
fn region_map_in_a_small_terminal_without_colour() {
    let mut app = app(run_with_maps());
    app.theme = Theme::default_theme().monochrome();
    app.update(Action::Focus(PanelId::Regions));
    insta::assert_snapshot!("region_map_40x12", screen(&app, 40, 12));
}

/// The terminal cell at (x, y) of the last frame.
fn cell(t: &Terminal<TestBackend>, x: u16, y: u16) -> ratatui::buffer::Cell {
    t.backend().buffer()[(x, y)].clone()
}

/// Where `c` is drawn, the first time, as (column, row).
fn find(t: &Terminal<TestBackend>, c: &str) -> Option<(u16, u16)> {
    let buf = t.backend().buffer();
    let area = buf.area;
    (0..area.height)
        .flat_map(|y| (0..area.width).map(move |x| (x, y)))
        .find(|&(x, y)| buf[(x, y)].symbol() == c)
}

#[test]
fn boundaries_anchors_and_colour_by_class() {
    let mut app = app(run_with_maps());
    app.update(Action::Focus(PanelId::Regions));
    app.update(Action::ToggleFullscreen);
    let t = draw(&app, 60, 24);
    let text = format!("{:?}", t.backend());
    // The newest map (step 150, cut at column 15 of 24): four regions.
    assert!(
        text.contains("4 Linear regions · 4 regions @ step 150 "),
        "{text}"
    );
    assert!(text.contains("A: train #3 (class 0)"), "{text}");
    // The anchors are marked, A bottom left of B, C above both.
    let (a, b, c) = (
        find(&t, "A").unwrap(),
        find(&t, "B").unwrap(),
        find(&t, "C").unwrap(),
    );
    assert!(
        a.0 < c.0 && c.0 < b.0 && a.1 == b.1 && c.1 < a.1,
        "{a:?} {b:?} {c:?}"
    );
    // Boundary pixels take a dark shade of their region's colour, the rest
    // their region's colour (A's row is in the lower half: regions 2, 3).
    let row = a.1;
    let colours: Vec<Color> = (0..60).map(|x| cell(&t, x, row).fg).collect();
    let edges = [boundary_color(2), boundary_color(3)];
    assert!(
        colours.iter().any(|c| edges.contains(c)),
        "a vertical boundary crosses row {row}"
    );
    let regions: Vec<Color> = (0..4).map(category_color).collect();
    assert!(colours.contains(&regions[2]) && colours.contains(&regions[3]));
    // By class: the two classes' colours, and the boundaries stay.
    app.update(Action::ToggleMapColour);
    assert_eq!(app.map_colour, MapColour::Class);
    let t = draw(&app, 60, 24);
    let colours: Vec<Color> = (0..60).map(|x| cell(&t, x, row).fg).collect();
    assert!(colours.contains(&category_color(3)) && colours.contains(&category_color(7)));
    assert!(colours.contains(&boundary_color(3)) || colours.contains(&boundary_color(7)));
    assert!(!colours.contains(&regions[2]));
    assert!(format!("{:?}", t.backend()).contains("colour: predicted class"));
    // m again: back to the curves.
    app.update(Action::ToggleRegionMap);
    let text = screen(&app, 60, 24);
    assert!(
        text.contains("4 Linear regions") && !text.contains("@ step"),
        "{text}"
    );
}

#[test]
fn the_map_follows_the_replay_clock() {
    let feed = run_with_maps();
    let store = &feed.store;
    let timeline = Timeline::from_times((0..store.records()).map(|r| store.record_time(r)));
    let clock = ReplayClock::new(timeline, 1.0);
    let mut app = app(feed);
    let replay = Replay::new(clock, app.runs.read().events(0));
    app.replay = Some(replay);
    app.update(Action::Focus(PanelId::Regions));
    app.update(Action::ToggleFullscreen);
    // The first record is on show: the map of step 0.
    assert!(screen(&app, 60, 24).contains("4 regions @ step 0 "));
    // Seven records in: still the map of step 50 (records 5–9 carry none
    // but the one at 50).
    app.update(Action::SeekTo(7.0 / 19.0));
    assert_eq!(app.limit(0), Some(8));
    assert!(screen(&app, 60, 24).contains("@ step 50 "));
    app.update(Action::SeekEnd);
    assert!(screen(&app, 60, 24).contains("@ step 150 "));
}

#[test]
fn a_run_without_maps_says_what_would_fill_the_view() {
    let mut feed = run_with_maps();
    feed.store = grokscope::store::RunStore::new();
    let line = Record::new(0).scalar("lc/train", 3.0).to_json_line();
    let mut scratch = Vec::new();
    feed.store
        .push(&parse_line(line.as_bytes(), &mut scratch).unwrap());
    let mut app = app(feed);
    app.update(Action::Focus(PanelId::Regions));
    app.update(Action::ToggleFullscreen);
    let text = screen(&app, 80, 20);
    assert!(text.contains("no region map in this run"), "{text}");
    for size in [(1, 1), (30, 8), (40, 10)] {
        draw(&app, size.0, size.1);
    }
}
