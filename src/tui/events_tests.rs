//! `App::update` for the events pane, `n` / `N` and Enter, in `watch` and
//! in a replay, on a run whose events analysis finds.

use std::time::SystemTime;

use super::*;
use crate::analysis::EventKind;
use crate::run::{parse_line, Record};
use crate::source::{RunKind, RunSource};
use crate::tui::app::Action;
use crate::tui::live::SharedRuns;
use crate::tui::replay::{Replay, ReplayClock, Timeline};
use crate::tui::theme::Theme;

/// Record `i` of the fixture: step 10·i, one second apart (records 30 to
/// 32 logged at the same instant); train accuracy reaches 1 at step 100
/// (memorisation), softmax collapse passes 0.5 at step 300 where the loss
/// also turns NaN (two events of one record), and collapse saturates at
/// step 450.
fn line(i: i64) -> String {
    let f = i as f64;
    let loss = if i == 30 {
        f64::NAN
    } else {
        2.0 * (-f / 10.0).exp() + 0.01
    };
    let mut r = Record::new(i * 10)
        .scalar("train/loss", loss)
        .scalar("train/acc", (f / 10.0).min(1.0))
        .scalar("test/acc", 0.01)
        .scalar(
            "sc/collapsed",
            match i {
                ..30 => 0.1,
                30..45 => 0.8,
                _ => 0.995,
            },
        );
    r.time = Some(1000.0 + if (30..=32).contains(&i) { 30.0 } else { f });
    r.to_json_line()
}

fn feed(records: std::ops::Range<i64>) -> RunFeed {
    let mut feed = RunFeed::new(RunSource {
        name: "fixture".into(),
        path: "/nowhere/fixture".into(),
        log: "/nowhere/fixture/metrics.jsonl".into(),
        kind: RunKind::Jsonl,
        meta: None,
        meta_error: None,
    });
    push(&mut feed, records);
    feed
}

fn push(feed: &mut RunFeed, records: std::ops::Range<i64>) {
    let mut scratch = Vec::new();
    for i in records {
        let l = line(i);
        feed.store
            .push(&parse_line(l.as_bytes(), &mut scratch).unwrap());
    }
}

fn watch(records: std::ops::Range<i64>) -> App {
    App::new(
        SharedRuns::from_feeds(vec![feed(records)]),
        Theme::default_theme(),
        SystemTime::UNIX_EPOCH,
    )
}

fn replay() -> App {
    let mut app = watch(0..60);
    let clock = {
        let runs = app.runs.read();
        let store = &runs.feeds[0].store;
        let tl = Timeline::from_times((0..store.records()).map(|r| store.record_time(r)));
        Replay::new(ReplayClock::new(tl, 1.0), runs.events(0))
    };
    app.replay = Some(clock);
    app
}

fn events(app: &App) -> Vec<Event> {
    app.runs.read().events(0).to_vec()
}

fn selected(app: &App) -> Option<usize> {
    app.events.selected(0, &events(app))
}

fn status(app: &App) -> Option<(EventKind, i64)> {
    let ev = events(app);
    app.status_event(0, &ev).map(|i| (ev[i].kind, ev[i].step))
}

/// The step under the value cursor, as the charts place it.
fn cursor_step(app: &App) -> f64 {
    let runs = app.runs.read();
    let d = app.x_domain(&runs.feeds, &[0]).unwrap();
    let (w0, w1) = app.view.window(d);
    w0 + app.cursor.expect("a cursor") * (w1 - w0)
}

#[test]
fn the_fixture_has_the_events_the_tests_rely_on() {
    let kinds: Vec<_> = events(&watch(0..60))
        .iter()
        .map(|e| (e.kind, e.step))
        .collect();
    for want in [
        (EventKind::Memorisation, 100),
        (EventKind::NonFinite, 300),
        (EventKind::CollapseOnset, 300),
        (EventKind::CollapseSaturation, 450),
    ] {
        assert!(kinds.contains(&want), "{want:?} in {kinds:?}");
    }
}

#[test]
fn the_pane_opens_focused_takes_esc_and_gives_the_focus_to_panels() {
    let mut app = watch(0..60);
    assert!(app.update(Action::ToggleEvents));
    assert!(app.events.open && app.events.focused);
    app.update(Action::Focus(crate::tui::panels::PanelId::Collapse));
    assert!(app.events.open && !app.events.focused, "a digit: the panel");
    app.update(Action::ToggleEvents);
    assert!(app.events.focused, "e on an open pane focuses it");
    app.update(Action::MaximiseEvents);
    assert!(app.events.maximised);
    app.update(Action::Back);
    assert!(
        app.events.open && !app.events.maximised,
        "Esc: full height first"
    );
    app.update(Action::Back);
    assert!(!app.events.open && !app.quit, "then the pane");
    app.update(Action::MaximiseEvents);
    assert!(app.events.open && app.events.maximised && app.events.focused);
    app.update(Action::ToggleEvents);
    assert!(!app.events.open && !app.events.maximised, "e closes");
    app.update(Action::NextPanel);
    assert!(!app.events.focused);
}

#[test]
fn without_a_selection_the_headline_is_current_and_the_status_line_reports_it() {
    let app = watch(0..60);
    let ev = events(&app);
    let top = headline(&ev, usize::MAX).unwrap();
    assert_eq!(
        ev[top].kind,
        EventKind::CollapseSaturation,
        "the most severe, latest"
    );
    assert_eq!(app.current_event(0, &ev), Some(top));
    assert_eq!(status(&app), Some((EventKind::CollapseSaturation, 450)));
    assert_eq!(headline(&ev, 0), None, "nothing on show, nothing to report");
}

#[test]
fn moving_in_the_pane_selects_and_the_status_line_follows() {
    let mut app = watch(0..60);
    let ev = events(&app);
    let top = app.current_event(0, &ev).unwrap();
    app.update(Action::ToggleEvents);
    assert!(app.update(Action::MoveEvent(-1)));
    assert_eq!(selected(&app), Some(top - 1));
    assert_eq!(status(&app), Some((ev[top - 1].kind, ev[top - 1].step)));
    app.update(Action::MoveEvent(-100));
    assert_eq!(selected(&app), Some(0), "clamped at the first");
    assert!(!app.update(Action::MoveEvent(-1)), "nothing moved");
    app.update(Action::SelectEvent(2));
    assert_eq!(selected(&app), Some(2));
    app.update(Action::SelectEvent(99));
    assert_eq!(
        selected(&app),
        Some(2),
        "a row past the list selects nothing"
    );
    assert_eq!(app.view, XView::default(), "selecting alone moves no chart");
    assert_eq!(app.cursor, None);
}

#[test]
fn n_and_n_shift_select_from_the_current_event_round_the_ends_and_move_the_charts() {
    let mut app = watch(0..60);
    let ev = events(&app);
    let last = ev.len() - 1;
    assert_eq!(
        app.current_event(0, &ev),
        Some(last),
        "fixture: the headline is last"
    );
    assert!(app.update(Action::NextEvent));
    assert_eq!(selected(&app), Some(0), "after the last: the first");
    assert_eq!(status(&app), Some((ev[0].kind, ev[0].step)));
    // The charts: a quarter of the run around the event, the cursor on it.
    assert!((app.view.hi - app.view.lo - JUMP_VIEW).abs() < 1e-9);
    assert!((cursor_step(&app) - ev[0].step as f64).abs() < 1e-6);
    app.update(Action::NextEvent);
    assert_eq!(selected(&app), Some(1));
    assert!((cursor_step(&app) - ev[1].step as f64).abs() < 1e-6);
    app.update(Action::PrevEvent);
    app.update(Action::PrevEvent);
    assert_eq!(selected(&app), Some(last), "before the first: the last");
    assert!((cursor_step(&app) - ev[last].step as f64).abs() < 1e-6);
    // A narrower zoom is kept.
    app.update(Action::Zoom(0.5));
    let width = app.view.hi - app.view.lo;
    app.update(Action::PrevEvent);
    assert!((app.view.hi - app.view.lo - width).abs() < 1e-9);
    assert!((cursor_step(&app) - ev[last - 1].step as f64).abs() < 1e-6);
}

#[test]
fn enter_moves_the_charts_to_the_current_event_and_they_stay_on_it_as_the_run_grows() {
    let mut app = watch(0..40);
    let ev = events(&app);
    let i = ev
        .iter()
        .position(|e| e.kind == EventKind::Memorisation)
        .unwrap();
    app.update(Action::ToggleEvents);
    app.update(Action::SelectEvent(i));
    assert!(app.update(Action::JumpToEvent));
    assert!((cursor_step(&app) - 100.0).abs() < 1e-6);
    // Twenty more records: the domain grows, the view follows the event.
    push(&mut app.runs.write().feeds[0], 40..60);
    app.runs.write().reanalyse(0);
    app.update(Action::DataChanged);
    assert!(
        (cursor_step(&app) - 100.0).abs() < 1e-6,
        "still on the event"
    );
    assert!(app.view.hi < 1.0);
    // The x mode changes: still on it (log step: x of step 100).
    app.update(Action::NextXMode);
    let x = app.x_mode.of_step(100);
    assert!((cursor_step(&app) - x).abs() < 1e-6);
    app.update(Action::NextXMode);
    assert!(app.update(Action::NextXMode), "relative time");
    app.update(Action::NextXMode);
    // Moved by hand: the view is the user's again.
    app.update(Action::MoveCursor(0.1));
    let cursor = app.cursor;
    push(&mut app.runs.write().feeds[0], 60..80);
    app.update(Action::DataChanged);
    assert_eq!(app.cursor, cursor, "let go");
}

#[test]
fn a_jump_past_the_paused_display_resumes_it() {
    let mut app = watch(0..60);
    app.update(Action::TogglePause);
    app.paused = Some(vec![20]); // frozen at step 190
    let ev = events(&app);
    let sat = ev
        .iter()
        .position(|e| e.kind == EventKind::CollapseSaturation)
        .unwrap();
    assert!(!app.event_on_show(0, &ev[sat]));
    assert_eq!(
        status(&app),
        Some((EventKind::Memorisation, 100)),
        "only what is on show"
    );
    app.update(Action::SelectEvent(sat));
    assert_eq!(
        status(&app),
        Some((EventKind::Memorisation, 100)),
        "a selection beyond the display is not reported"
    );
    app.update(Action::JumpToEvent);
    assert_eq!(app.paused, None);
    assert!((cursor_step(&app) - 450.0).abs() < 1e-6);
}

fn clock(app: &App) -> &ReplayClock {
    &app.replay.as_ref().unwrap().clock
}

fn step_shown(app: &App) -> i64 {
    let runs = app.runs.read();
    app.step_shown(&runs.feeds[0], 0).unwrap()
}

#[test]
fn replay_n_seeks_to_each_event_and_selects_it_one_instant_at_a_time() {
    let mut app = replay();
    let ev = events(&app);
    let at = |kind| ev.iter().position(|e| e.kind == kind).unwrap();
    assert_eq!(status(&app), None, "nothing passed at the first record");
    assert!(app.update(Action::NextEvent));
    assert_eq!(step_shown(&app), 100);
    assert_eq!(selected(&app), Some(at(EventKind::Memorisation)));
    assert_eq!(status(&app), Some((EventKind::Memorisation, 100)));
    // Two events of one record: the clock stops once, n selects both.
    assert!(app.update(Action::NextEvent));
    let first = selected(&app).unwrap();
    let records_at_300 = clock(&app).records();
    assert_eq!(ev[first].step, 300);
    assert!(app.update(Action::NextEvent));
    let second = selected(&app).unwrap();
    assert_eq!((ev[second].step, second), (300, first + 1));
    assert_eq!(clock(&app).records(), records_at_300, "the clock stayed");
    assert_eq!(status(&app), Some((ev[second].kind, 300)));
    // Records 30 to 32 share an instant: all of them are on show.
    assert_eq!(step_shown(&app), 320);
    assert!(app.update(Action::NextEvent));
    assert_eq!(status(&app), Some((EventKind::CollapseSaturation, 450)));
    assert!(!app.update(Action::NextEvent), "no event after the last");
    // N walks back the same way.
    assert!(app.update(Action::PrevEvent));
    assert_eq!(selected(&app), Some(second));
    assert!(app.update(Action::PrevEvent));
    assert_eq!(selected(&app), Some(first));
    assert_eq!(clock(&app).records(), records_at_300);
    assert!(app.update(Action::PrevEvent));
    assert_eq!(step_shown(&app), 100);
    assert!(!app.update(Action::PrevEvent), "none before the first");
}

#[test]
fn replay_enter_seeks_to_the_selected_event_pauses_and_brings_the_view_to_it() {
    let mut app = replay();
    app.replay.as_mut().unwrap().clock.set_playing(true);
    app.update(Action::Zoom(0.5));
    app.update(Action::Pan(-1.0));
    app.update(Action::ToggleCursor);
    assert!(app.view.hi < 1.0);
    let ev = events(&app);
    let sat = ev
        .iter()
        .position(|e| e.kind == EventKind::CollapseSaturation)
        .unwrap();
    app.update(Action::ToggleEvents);
    app.update(Action::SelectEvent(sat));
    assert!(!app.event_on_show(0, &ev[sat]), "ahead of the clock");
    assert!(app.update(Action::JumpToEvent));
    assert_eq!(step_shown(&app), 450);
    assert!(!app.playing(), "Enter is for reading: paused");
    assert_eq!(
        app.view.hi, 1.0,
        "the event is the newest record: at the edge"
    );
    assert_eq!(app.cursor, Some(1.0), "the cursor on it");
    assert_eq!(status(&app), Some((EventKind::CollapseSaturation, 450)));
    // n keeps the play state.
    app.update(Action::SeekStart);
    app.update(Action::PlayPause);
    app.update(Action::NextEvent);
    assert!(app.playing());
}

#[test]
fn a_selection_gives_way_to_events_found_after_it_unless_the_pane_is_being_read() {
    let mut app = watch(0..40);
    // The headline is the NaN at step 300; N selects the event before it.
    app.update(Action::PrevEvent);
    let mem = (EventKind::Memorisation, 100);
    assert_eq!(status(&app), Some(mem));
    // New data, no new event: the selection stays.
    push(&mut app.runs.write().feeds[0], 40..42);
    app.runs.write().reanalyse(0);
    app.update(Action::DataChanged);
    assert_eq!(status(&app), Some(mem));
    // A new alert: the status line reports it.
    push(&mut app.runs.write().feeds[0], 42..60);
    app.runs.write().reanalyse(0);
    app.update(Action::DataChanged);
    assert_eq!(selected(&app), None);
    assert_eq!(status(&app), Some((EventKind::CollapseSaturation, 450)));

    // Reading in the focused pane: the selection stays.
    let mut app = watch(0..40);
    app.update(Action::ToggleEvents);
    app.update(Action::SelectEvent(0));
    push(&mut app.runs.write().feeds[0], 40..60);
    app.runs.write().reanalyse(0);
    app.update(Action::DataChanged);
    assert_eq!(status(&app), Some(mem));

    // A replay playing (or seeking) past later events.
    let mut app = replay();
    app.update(Action::NextEvent);
    assert_eq!(status(&app), Some(mem));
    app.update(Action::Seek(0.05));
    assert_eq!(status(&app), Some(mem), "no event passed");
    app.update(Action::SeekEnd);
    assert_eq!(status(&app), Some((EventKind::CollapseSaturation, 450)));
}
