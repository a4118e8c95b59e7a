//! The events pane, the status line's event and the help overlay's
//! markers on a TestBackend: snapshots at 120×40 and 80×24 in `watch` and
//! in a replay, and checks of what must hold at every width.

use std::time::{Duration, SystemTime};

use common::run_feed;
use grokscope::analysis::EventKind;
use grokscope::run::Record;
use grokscope::source::RunFeed;
use grokscope::tui::replay::{Replay, ReplayClock, Timeline};
use grokscope::tui::{ui, Action, App, SharedRuns, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[path = "support/common.rs"]
mod common;

const T0: f64 = 1_764_400_000.0;

/// 300 records ten steps and a second apart: train accuracy reaches 1 at
/// step 300, softmax collapse sets in at 1000 and saturates at 1800, the
/// train loss jumps at 1500 and turns NaN at 2500, test accuracy rises
/// late (grokking).
fn run() -> RunFeed {
    run_feed(
        "grok-run",
        (0..300i64).map(|i| {
            let f = i as f64;
            let loss = match i {
                250 => f64::NAN,
                150..=152 => 5.0,
                _ => 2.0 * (-f / 20.0).exp() + 1e-3 * (1.0 + 0.1 * (f * 1.7).sin()),
            };
            let test_acc = 0.01 + 0.94 / (1.0 + (-(f - 210.0) / 4.0).exp());
            let mut r = Record::new(i * 10)
                .scalar("train/loss", loss)
                .scalar("test/loss", 4.0 - 3.5 * test_acc)
                .scalar("train/acc", (f / 30.0).min(1.0))
                .scalar("test/acc", test_acc)
                .scalar(
                    "sc/collapsed",
                    match i {
                        ..100 => 0.1,
                        100..180 => 0.7,
                        _ => 0.995,
                    },
                );
            r.time = Some(T0 + f);
            r.to_json_line()
        }),
    )
}

fn watch() -> App {
    App::new(
        SharedRuns::from_feeds(vec![run()]),
        Theme::default_theme(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(T0 as u64 + 400),
    )
}

fn replay() -> App {
    let feed = run();
    let store = &feed.store;
    let timeline = Timeline::from_times((0..store.records()).map(|r| store.record_time(r)));
    let runs = SharedRuns::from_feeds(vec![feed]);
    let replay = Replay::new(ReplayClock::new(timeline, 10.0), runs.read().events(0));
    let mut app = App::new(runs, Theme::default_theme(), SystemTime::UNIX_EPOCH);
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

#[test]
fn the_fixture_has_events_of_many_kinds() {
    let app = watch();
    let runs = app.runs.read();
    let kinds: Vec<_> = runs.events(0).iter().map(|e| (e.kind, e.step)).collect();
    println!("{kinds:?}");
    for kind in [
        EventKind::Memorisation,
        EventKind::CollapseOnset,
        EventKind::CollapseSaturation,
        EventKind::NonFinite,
        EventKind::LossSpike,
        EventKind::Grokking,
    ] {
        assert!(
            kinds.iter().any(|(k, _)| *k == kind),
            "{kind:?} in {kinds:?}"
        );
    }
}

fn event_index(app: &App, kind: EventKind) -> usize {
    let runs = app.runs.read();
    runs.events(0).iter().position(|e| e.kind == kind).unwrap()
}

fn event_message(app: &App, kind: EventKind) -> String {
    let runs = app.runs.read();
    runs.events(0)[event_index(app, kind)].message.clone()
}

/// `watch` with the pane open on the collapse onset, the charts moved to it.
fn watch_on_collapse() -> App {
    let mut app = watch();
    app.update(Action::ToggleEvents);
    app.update(Action::SelectEvent(event_index(
        &app,
        EventKind::CollapseOnset,
    )));
    app.update(Action::JumpToEvent);
    app
}

fn rows(t: &Terminal<TestBackend>) -> Vec<String> {
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn watch_pane_at_120x40() {
    let app = watch_on_collapse();
    let t = draw(&app, 120, 40);
    insta::assert_snapshot!(t.backend());
    let screen = rows(&t);
    // The charts moved to the event: the cursor's step in the legends.
    assert!(
        screen.iter().any(|r| r.contains("@ step 1000")),
        "{screen:#?}"
    );
    // The selected row is highlighted.
    let theme = Theme::default_theme();
    let buf = t.backend().buffer();
    let (x, y) = (0..40u16)
        .flat_map(|y| (0..120u16).map(move |x| (x, y)))
        .find(|&(x, y)| buf[(x, y)].symbol() == "▸" && buf[(x + 4, y)].symbol() != " ")
        .expect("the selection mark");
    assert_eq!(buf[(x, y)].bg, theme.selection.bg.unwrap());
}

#[test]
fn watch_pane_at_80x24_and_full_height() {
    let mut app = watch_on_collapse();
    let t = draw(&app, 80, 24);
    insta::assert_snapshot!("watch_pane_80x24", t.backend());
    let screen = rows(&t);
    assert!(
        screen.iter().any(|r| r.contains("… E: full height")),
        "the message does not fit: the pane says where the rest is\n{screen:#?}"
    );
    app.update(Action::MaximiseEvents);
    let t = draw(&app, 80, 24);
    insta::assert_snapshot!("watch_pane_full_height_80x24", t.backend());
    let text = rows(&t).join("\n");
    for word in event_message(&app, EventKind::CollapseOnset).split_whitespace() {
        assert!(text.contains(word), "{word:?} of the message:\n{text}");
    }
    assert!(text.contains("evidence: value"), "{text}");
}

#[test]
fn replay_pane_at_120x40_and_80x24() {
    let mut app = replay();
    app.update(Action::SeekTo(0.5));
    app.update(Action::ToggleEvents);
    let grok = event_index(&app, EventKind::Grokking);
    app.update(Action::SelectEvent(grok));
    let t = draw(&app, 120, 40);
    insta::assert_snapshot!("replay_pane_120x40", t.backend());
    let text = rows(&t).join("\n");
    assert!(text.contains("Not reached yet in the replay"), "{text}");
    // Events not reached yet are dim.
    let theme = Theme::default_theme();
    let buf = t.backend().buffer();
    let y = (0..40u16)
        .find(|&y| rows(&t)[y as usize].contains(" 2500 NaN "))
        .unwrap();
    let x = rows(&t)[y as usize].find("2500").unwrap();
    let x = rows(&t)[y as usize][..x].chars().count() as u16;
    assert_eq!(buf[(x, y)].fg, theme.dim.fg.unwrap());

    // Enter: the clock goes to the event, paused; the charts end there.
    app.update(Action::JumpToEvent);
    let t = draw(&app, 80, 24);
    insta::assert_snapshot!("replay_pane_80x24", t.backend());
    let text = rows(&t).join("\n");
    assert!(text.contains("❚❚ paused ×10 · step 2220 / 2990"), "{text}");
    assert!(text.contains("◇ grok @2220"), "the status line: {text}");
}

/// The status line's event part must be whole, or cut after a word with
/// "…" and say how to read the rest.
fn check_status(
    status: &str,
    head: &str,
    message: &str,
    count: usize,
    pane_open: bool,
    width: u16,
) {
    let Some(at) = status.find(head.split(' ').next().unwrap()) else {
        return; // no room for the event at all
    };
    let shown = status[at..].trim_end();
    let full = format!("{head}{message}");
    if let Some(rest) = shown.strip_prefix(&full) {
        assert!(
            rest.starts_with(" (") && rest.ends_with(&format!(" of {count})")),
            "{width}: {shown}"
        );
        return;
    }
    let cut = shown
        .find('…')
        .unwrap_or_else(|| panic!("{width}: cut without an ellipsis: {shown:?}"));
    let (text, tail) = (&shown[..cut], &shown[cut + '…'.len_utf8()..]);
    assert!(full.starts_with(text), "{width}: {text:?}");
    let next = full[text.len()..].chars().next().unwrap();
    assert!(
        next.is_whitespace() || ",;:—".contains(next),
        "{width}: cut inside a word: {shown:?}"
    );
    if !pane_open && !tail.is_empty() {
        assert!(tail.starts_with(" (e: more"), "{width}: {shown:?}");
    }
}

#[test]
fn the_status_line_shows_the_selected_event_whole_or_cut_after_a_word() {
    for pane_open in [false, true] {
        let mut app = watch();
        let i = event_index(&app, EventKind::CollapseOnset);
        app.update(Action::SelectEvent(i));
        if pane_open {
            app.update(Action::ToggleEvents);
        }
        assert_eq!(app.events.open, pane_open);
        let message = event_message(&app, EventKind::CollapseOnset);
        let count = app.runs.read().events(0).len();
        let head = "◆ SC @1000: ";
        // Every width up to 200 columns, then on to where it fits whole
        // (however long analysis words it) in steps.
        let fits = head.chars().count() + message.chars().count() + 80;
        let widths = (40..=200u16).chain((201..=fits.max(201) as u16 + 40).step_by(7));
        let mut whole = None;
        for width in widths {
            let t = draw(&app, width, 24);
            let status = rows(&t).pop().unwrap();
            check_status(&status, head, &message, count, pane_open, width);
            if whole.is_none() && status.contains(&message) {
                whole = Some(width);
            }
        }
        let whole = whole.expect("a wide terminal shows it whole");
        // What the status line says before the event is short: the message
        // is whole as soon as the terminal has room for it.
        let before = usize::from(whole) - message.chars().count();
        assert!(before < 80, "whole from {whole} columns");
    }
}

#[test]
fn the_help_explains_every_marker_drawn_and_scrolls_when_short() {
    use grokscope::analysis::Severity;
    use grokscope::tui::widgets::envelope::{event_glyph, EVENT_LINE};
    // What a replay past events, NaN and all, with the cursor on draws.
    let mut app = replay();
    app.update(Action::SeekEnd);
    app.update(Action::SeekTo(0.9));
    app.update(Action::ToggleCursor);
    // (Not the status line: messages are free text.)
    let mut screen = rows(&draw(&app, 160, 50));
    screen.pop();
    let screen = screen.join("");
    // Frame, chart dots, heat and sparkline cells, and glyphs that come
    // with their own words (play state, legend keys, separators).
    // (The sparkline's cells are explained as one, by ▁.)
    let chrome = "┌┐└┘─│▀▄█▂▃▅▆▇·…⚠❚▶—–";
    let markers: String = screen
        .chars()
        .filter(|c| !c.is_ascii() && !('\u{2800}'..='\u{28ff}').contains(c))
        .filter(|c| !chrome.contains(*c))
        .collect();
    app.update(Action::ToggleHelp);
    let help = rows(&draw(&app, 160, 80)).join("\n");
    for c in markers.chars().chain([
        event_glyph(Severity::Info),
        event_glyph(Severity::Warning),
        event_glyph(Severity::Alert),
        EVENT_LINE,
        '│',
        '─',
        '×',
        '▲',
        '▼',
        '●',
        '━',
        '▸',
        '■',
        '▁',
    ]) {
        let explained = help
            .lines()
            .any(|l| l.contains(&format!(" {c} ")) || l.contains(&format!("│ {c}")));
        assert!(explained, "{c:?} is not explained:\n{help}");
    }
    for kind in EventKind::ALL {
        assert!(
            help.contains(&format!("{} ", kind.short_label())),
            "{kind:?}: {help}"
        );
    }
    // At 80×24 the overlay scrolls to its end (the markers).
    let mut hits = Default::default();
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| hits = ui::render(f, &app)).unwrap();
    let hits: grokscope::tui::Hits = hits;
    assert!(hits.help_scroll_max > 0);
    assert!(rows(&t).join("\n").contains("↓ more"));
    assert!(!rows(&t).join("\n").contains("Markers"));
    let end = ratatui::crossterm::event::Event::Key(ratatui::crossterm::event::KeyEvent::new(
        ratatui::crossterm::event::KeyCode::End,
        ratatui::crossterm::event::KeyModifiers::NONE,
    ));
    let action = grokscope::tui::keymap::action_for(&end, &app, &hits).unwrap();
    assert_eq!(action, Action::ScrollHelp(hits.help_scroll_max));
    app.update(action);
    let text = rows(&draw(&app, 80, 24)).join("\n");
    assert!(
        text.contains("Markers") && text.contains("↑ more"),
        "{text}"
    );
    assert!(app.help, "scrolling keeps the overlay open");

    // In `watch`, ● marks a run selected for overlay; no scrubber.
    let mut app = watch();
    app.update(Action::ToggleOverlay);
    let screen = rows(&draw(&app, 160, 50)).join("");
    assert!(screen.contains('●'), "{screen}");
    app.update(Action::ToggleHelp);
    let help = rows(&draw(&app, 160, 80)).join("\n");
    assert!(
        help.contains("│ ●          runs list: a run selected for overlay"),
        "{help}"
    );
    assert!(!help.contains("scrubber:"), "{help}");
}
