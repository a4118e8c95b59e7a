//! Keys and mouse events to [`Action`]s. The `?` overlay lists [`KEYS`].

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use super::app::{Action, App};
use super::panels::PanelId;

/// Key bindings as the help overlay shows them: (keys, what they do).
pub const KEYS: &[(&str, &str)] = &[
    (
        "q  Esc",
        "quit (Esc first closes help, filter, events pane, full screen)",
    ),
    ("Tab  S-Tab", "next / previous panel"),
    (
        "1-6",
        "panel: 1 runs 2 loss 3 collapse 4 regions 5 sensitivity 6 other",
    ),
    (
        "Enter",
        "focused panel full screen / back; in the events pane: go to the event",
    ),
    ("←→  h l", "pan the x axis"),
    ("+  -", "zoom in / out on x (mouse wheel too)"),
    ("0", "reset zoom, pan and cursor; follow new data"),
    ("y", "log y axis on the focused panel"),
    ("x", "x axis: step, log step, wall clock, relative time"),
    ("s  S", "more / less smoothing (debiased EMA)"),
    (
        "↑↓  j k",
        "move in the runs list (in the events pane when it has the focus)",
    ),
    (
        "space",
        "select the run for overlay (several runs, one legend)",
    ),
    (
        "/",
        "filter metrics by substring or regex (Enter apply, Esc cancel)",
    ),
    ("p", "pause the display (data keeps arriving)"),
    ("c  ,  .", "value cursor on / off, move it"),
    ("b", "linear regions: per-layer breakdown"),
    ("v", "heatmap: next layer (sens/<layer>, histograms)"),
    ("g", "heatmap colours: log, linear, per row"),
    ("{  }", "previous / next page of the focused panel's charts"),
    ("r", "runs: full list or one-line selector"),
    (
        "e",
        "events pane: open / close (focus it again after Tab or a digit)",
    ),
    (
        "E",
        "events pane full height (to read long messages), or back",
    ),
    (
        "n  N",
        "select the next / previous event and show it on the charts",
    ),
    ("m", "linear regions: LC curves / region map of the slice"),
    ("M", "region map colour: by region / by predicted class"),
    ("?", "this help (↑↓ scroll it)"),
    ("click", "select a panel, a run or an event"),
];

/// Replay's own keys, listed first in its help overlay.
pub const REPLAY_KEYS: &[(&str, &str)] = &[
    (
        "space  p",
        "play / pause (at the end: play again from the start)",
    ),
    ("[  ]", "slower / faster: 0.25× to 1000×"),
    ("←→", "seek back / on by 1% of the run"),
    ("PgUp PgDn", "seek back / on by 10%"),
    ("Home End", "to the start / the end"),
    (
        "n  N",
        "to the next / previous event (◇ ◆ ◈ on the scrubber), selected",
    ),
];

/// The keys the help overlay lists: in replay, its own keys first and the
/// dashboard's without the ones replay takes over (space, p, ←→).
pub fn keys(replay: bool) -> Vec<(&'static str, &'static str)> {
    if !replay {
        return KEYS.to_vec();
    }
    let mut out = REPLAY_KEYS.to_vec();
    for &(k, what) in KEYS {
        match k {
            "space" | "p" | "n  N" => {}
            "←→  h l" => out.push(("h l", "pan the x axis")),
            "click" => out.push((
                "click",
                "select a panel, a run or an event; the scrubber: seek",
            )),
            _ => out.push((k, what)),
        }
    }
    out
}

/// Where things are on screen, as the last frame drew them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hits {
    /// Each panel's area.
    pub panels: Vec<(PanelId, Rect)>,
    /// Inner area of the runs list (two rows per run), and the run number
    /// of its first row.
    pub runs: Option<(Rect, usize)>,
    /// The replay scrubber's track (a click there seeks).
    pub scrubber: Option<Rect>,
    /// Runs in the one-line runs selector: where each is.
    pub run_cells: Vec<(Rect, usize)>,
    /// Every chart drawn, with its axis labels and legend.
    pub charts: Vec<super::ui::ChartDrawn>,
    /// The events pane: its area, its list rows, and the index of the
    /// event on the first row.
    pub events: Option<(Rect, Rect, usize)>,
    /// How many rows the help overlay can scroll, as last drawn.
    pub help_scroll_max: u16,
}

/// The action for a terminal event, if any.
pub fn action_for(event: &Event, app: &App, hits: &Hits) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind == KeyEventKind::Press => {
            help_scroll(key, app, hits).or_else(|| key_action(key, app))
        }
        Event::Mouse(m) => mouse_action(m, app, hits),
        Event::Resize(..) => Some(Action::Resize),
        _ => None,
    }
}

/// Scrolling the help overlay, which needs to know how far it can go.
fn help_scroll(key: &KeyEvent, app: &App, hits: &Hits) -> Option<Action> {
    if !app.help || app.filter_input.is_some() {
        return None;
    }
    let by: i32 = match key.code {
        KeyCode::Up | KeyCode::Char('k') => -1,
        KeyCode::Down | KeyCode::Char('j') => 1,
        KeyCode::PageUp => -10,
        KeyCode::PageDown | KeyCode::Char(' ') => 10,
        KeyCode::Home => i32::from(u16::MAX).saturating_neg(),
        KeyCode::End => i32::from(u16::MAX),
        _ => return None,
    };
    let max = i32::from(hits.help_scroll_max);
    let from = i32::from(app.help_scroll).min(max);
    Some(Action::ScrollHelp((from + by).clamp(0, max) as u16))
}

/// The action for a key press (the help overlay's scroll keys need the
/// last frame's layout: [`action_for`]).
pub fn key_action(key: &KeyEvent, app: &App) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if app.filter_input.is_some() {
        return match key.code {
            KeyCode::Enter => Some(Action::FilterApply),
            KeyCode::Esc => Some(Action::FilterCancel),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) => Some(Action::FilterChar(c)),
            _ => None,
        };
    }
    if app.help {
        // Any key closes the overlay; q still quits.
        return Some(match key.code {
            KeyCode::Char('q') => Action::Quit,
            _ => Action::ToggleHelp,
        });
    }
    if app.events.open && app.events.focused {
        let pane = match key.code {
            KeyCode::Up | KeyCode::Char('k') => Some(Action::MoveEvent(-1)),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::MoveEvent(1)),
            KeyCode::Enter => Some(Action::JumpToEvent),
            _ => None,
        };
        if pane.is_some() {
            return pane;
        }
    }
    if app.replay.is_some() {
        let replay = match key.code {
            KeyCode::Char(' ') | KeyCode::Char('p') => Some(Action::PlayPause),
            KeyCode::Char('[') => Some(Action::Slower),
            KeyCode::Char(']') => Some(Action::Faster),
            KeyCode::Left => Some(Action::Seek(-0.01)),
            KeyCode::Right => Some(Action::Seek(0.01)),
            KeyCode::PageUp => Some(Action::Seek(-0.1)),
            KeyCode::PageDown => Some(Action::Seek(0.1)),
            KeyCode::Home => Some(Action::SeekStart),
            KeyCode::End => Some(Action::SeekEnd),
            _ => None,
        };
        if replay.is_some() {
            return replay;
        }
    }
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Tab => Action::NextPanel,
        KeyCode::BackTab => Action::PrevPanel,
        KeyCode::Char(c @ '1'..='6') => Action::Focus(PanelId::ALL[c as usize - '1' as usize]),
        KeyCode::Enter => Action::ToggleFullscreen,
        KeyCode::Left | KeyCode::Char('h') => Action::Pan(-0.25),
        KeyCode::Right | KeyCode::Char('l') => Action::Pan(0.25),
        KeyCode::Char('+') | KeyCode::Char('=') => Action::Zoom(0.5),
        KeyCode::Char('-') | KeyCode::Char('_') => Action::Zoom(2.0),
        KeyCode::Char('0') => Action::ResetView,
        KeyCode::Char('y') => Action::ToggleLogY,
        KeyCode::Char('x') => Action::NextXMode,
        KeyCode::Char('s') => Action::SmoothMore,
        KeyCode::Char('S') => Action::SmoothLess,
        KeyCode::Up | KeyCode::Char('k') => Action::MoveRun(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::MoveRun(1),
        KeyCode::Char(' ') => Action::ToggleOverlay,
        KeyCode::Char('/') => Action::FilterStart,
        KeyCode::Char('p') => Action::TogglePause,
        KeyCode::Char('c') => Action::ToggleCursor,
        KeyCode::Char(',') | KeyCode::Char('<') => Action::MoveCursor(-0.02),
        KeyCode::Char('.') | KeyCode::Char('>') => Action::MoveCursor(0.02),
        KeyCode::Char('b') => Action::ToggleBreakdown,
        KeyCode::Char('v') => Action::NextLayer,
        KeyCode::Char('g') => Action::NextHeatScale,
        KeyCode::Char('r') => Action::ToggleRunsList,
        KeyCode::Char('}') => Action::Page(1),
        KeyCode::Char('{') => Action::Page(-1),
        KeyCode::Char('e') => Action::ToggleEvents,
        KeyCode::Char('E') => Action::MaximiseEvents,
        KeyCode::Char('n') => Action::NextEvent,
        KeyCode::Char('N') => Action::PrevEvent,
        KeyCode::Char('m') => Action::ToggleRegionMap,
        KeyCode::Char('M') => Action::ToggleMapColour,
        _ => return None,
    })
}

/// The action for a mouse event: the wheel zooms (over the events pane:
/// moves its selection), a click selects.
pub fn mouse_action(m: &MouseEvent, app: &App, hits: &Hits) -> Option<Action> {
    let at = Position::new(m.column, m.row);
    let on_pane = hits.events.filter(|(pane, ..)| pane.contains(at));
    match m.kind {
        MouseEventKind::ScrollUp if on_pane.is_some() => Some(Action::MoveEvent(-1)),
        MouseEventKind::ScrollDown if on_pane.is_some() => Some(Action::MoveEvent(1)),
        MouseEventKind::ScrollUp => Some(Action::Zoom(0.8)),
        MouseEventKind::ScrollDown => Some(Action::Zoom(1.25)),
        MouseEventKind::Down(MouseButton::Left) => {
            if let Some(track) = hits.scrubber.filter(|t| t.contains(at)) {
                let span = f64::from(track.width.saturating_sub(1).max(1));
                return Some(Action::SeekTo(f64::from(m.column - track.x) / span));
            }
            if let Some(&(_, i)) = hits.run_cells.iter().find(|(r, _)| r.contains(at)) {
                return Some(Action::HighlightRun(i));
            }
            if let Some((_, list, first)) = on_pane {
                if list.contains(at) {
                    return Some(Action::SelectEvent(first + usize::from(m.row - list.y)));
                }
                // Elsewhere on the pane: give it the focus.
                return (!app.events.focused).then_some(Action::ToggleEvents);
            }
            if let Some((area, first)) = hits.runs {
                if area.contains(at) {
                    return Some(Action::HighlightRun(
                        first + ((m.row - area.y) / 2) as usize,
                    ));
                }
            }
            hits.panels
                .iter()
                .find(|(_, r)| r.contains(at))
                .map(|(p, _)| Action::Focus(*p))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::live::SharedRuns;
    use crate::tui::theme::Theme;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn keys_map_to_actions_by_mode() {
        let mut app = App::new(
            SharedRuns::default(),
            Theme::default_theme(),
            std::time::SystemTime::UNIX_EPOCH,
        );
        assert_eq!(
            key_action(&press(KeyCode::Char('3')), &app),
            Some(Action::Focus(PanelId::Collapse))
        );
        assert_eq!(
            key_action(&press(KeyCode::Char('q')), &app),
            Some(Action::Quit)
        );
        app.filter_input = Some(String::new());
        assert_eq!(
            key_action(&press(KeyCode::Char('q')), &app),
            Some(Action::FilterChar('q'))
        );
        assert_eq!(
            key_action(&press(KeyCode::Esc), &app),
            Some(Action::FilterCancel)
        );
        app.filter_input = None;
        app.help = true;
        assert_eq!(
            key_action(&press(KeyCode::Char('x')), &app),
            Some(Action::ToggleHelp)
        );
        let release = Event::Key(KeyEvent {
            kind: KeyEventKind::Release,
            ..press(KeyCode::Char('q'))
        });
        assert_eq!(action_for(&release, &app, &Hits::default()), None);
    }

    fn app() -> App {
        App::new(
            SharedRuns::default(),
            Theme::default_theme(),
            std::time::SystemTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn clicks_hit_runs_panels_and_the_events_pane() {
        let mut app = app();
        let hits = Hits {
            panels: vec![(PanelId::Loss, Rect::new(30, 0, 30, 10))],
            runs: Some((Rect::new(1, 1, 20, 5), 2)),
            scrubber: Some(Rect::new(10, 20, 41, 1)),
            run_cells: vec![(Rect::new(60, 0, 8, 1), 4)],
            charts: Vec::new(),
            events: Some((Rect::new(0, 12, 80, 8), Rect::new(1, 13, 30, 6), 4)),
            help_scroll_max: 0,
        };
        let mouse_action = |m: &MouseEvent, hits: &Hits| mouse_action(m, &app, hits);
        let click = |x, y| MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(
            mouse_action(&click(3, 3), &hits),
            Some(Action::HighlightRun(3))
        );
        assert_eq!(
            mouse_action(&click(40, 5), &hits),
            Some(Action::Focus(PanelId::Loss))
        );
        assert_eq!(mouse_action(&click(90, 5), &hits), None);
        assert_eq!(
            mouse_action(&click(62, 0), &hits),
            Some(Action::HighlightRun(4))
        );
        assert_eq!(
            mouse_action(&click(10, 20), &hits),
            Some(Action::SeekTo(0.0))
        );
        assert_eq!(
            mouse_action(&click(30, 20), &hits),
            Some(Action::SeekTo(0.5))
        );
        assert_eq!(
            mouse_action(&click(50, 20), &hits),
            Some(Action::SeekTo(1.0))
        );
        // The events pane: a row selects its event (the list scrolled by
        // 4), elsewhere on the pane focuses it, the wheel moves the
        // selection instead of zooming.
        assert_eq!(
            mouse_action(&click(5, 15), &hits),
            Some(Action::SelectEvent(6))
        );
        assert_eq!(
            mouse_action(&click(60, 15), &hits),
            Some(Action::ToggleEvents)
        );
        let wheel = |kind, column, row| MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        };
        assert_eq!(
            mouse_action(&wheel(MouseEventKind::ScrollDown, 60, 15), &hits),
            Some(Action::MoveEvent(1))
        );
        assert_eq!(
            mouse_action(&wheel(MouseEventKind::ScrollDown, 40, 5), &hits),
            Some(Action::Zoom(1.25))
        );
        app.events.focused = true;
        assert_eq!(
            super::mouse_action(&click(60, 15), &app, &hits),
            None,
            "already focused"
        );
    }

    #[test]
    fn replay_takes_over_space_p_and_the_arrows_and_keeps_the_rest() {
        use crate::tui::replay::{Replay, ReplayClock, Timeline};
        let mut app = App::new(
            SharedRuns::default(),
            Theme::default_theme(),
            std::time::SystemTime::UNIX_EPOCH,
        );
        let watch: Vec<_> = [' ', 'p', 'n']
            .into_iter()
            .map(|c| key_action(&press(KeyCode::Char(c)), &app))
            .collect();
        assert_eq!(
            watch,
            vec![
                Some(Action::ToggleOverlay),
                Some(Action::TogglePause),
                Some(Action::NextEvent)
            ]
        );
        assert_eq!(
            key_action(&press(KeyCode::Left), &app),
            Some(Action::Pan(-0.25))
        );
        let clock = ReplayClock::new(Timeline::from_times(std::iter::empty()), 1.0);
        app.replay = Some(Replay::new(clock, &[]));
        let expect = [
            (KeyCode::Char(' '), Action::PlayPause),
            (KeyCode::Char('p'), Action::PlayPause),
            (KeyCode::Char('['), Action::Slower),
            (KeyCode::Char(']'), Action::Faster),
            (KeyCode::Left, Action::Seek(-0.01)),
            (KeyCode::Right, Action::Seek(0.01)),
            (KeyCode::PageUp, Action::Seek(-0.1)),
            (KeyCode::PageDown, Action::Seek(0.1)),
            (KeyCode::Home, Action::SeekStart),
            (KeyCode::End, Action::SeekEnd),
            (KeyCode::Char('n'), Action::NextEvent),
            (KeyCode::Char('N'), Action::PrevEvent),
            (KeyCode::Char('h'), Action::Pan(-0.25)),
            (KeyCode::Char('4'), Action::Focus(PanelId::Regions)),
            (KeyCode::Char('q'), Action::Quit),
        ];
        for (code, action) in expect {
            assert_eq!(key_action(&press(code), &app), Some(action), "{code:?}");
        }
        // The help lists every replay key and no key twice.
        let listed = keys(true);
        assert!(listed.starts_with(REPLAY_KEYS));
        let mut names: Vec<_> = listed.iter().map(|(k, _)| *k).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), listed.len());
        assert!(!listed.iter().any(|(k, _)| *k == "space" || *k == "p"));
    }
}
