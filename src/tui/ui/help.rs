//! The `?` overlay: every key, then what every marker on screen means. It
//! scrolls when the terminal is too short for it.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::events::kind_name;
use crate::analysis::{EventKind, Severity};
use crate::tui::app::App;
use crate::tui::keymap::keys;
use crate::tui::theme::Theme;
use crate::tui::widgets::envelope::{event_glyph, EVENT_LINE};

/// Width of the overlay (at most).
const WIDTH: u16 = 84;
/// Width of the first column (keys, glyphs).
const KEY_W: usize = 11;

/// The markers the charts, the scrubber and the panes draw, with what
/// they mean: (glyphs, meaning). Replay's scrubber adds its own.
pub fn markers(replay: bool) -> Vec<(String, String)> {
    let glyphs: String = [Severity::Info, Severity::Warning, Severity::Alert]
        .map(|s| event_glyph(s).to_string())
        .join(" ");
    let mut out = vec![
        (
            glyphs,
            "an event: info, warning, alert (chart x axes, scrubber, events pane)".to_string(),
        ),
        (
            format!("{EVENT_LINE} SC"),
            "an event's step on a chart, where the data leaves room, and its label where it fits:"
                .to_string(),
        ),
        (String::new(), labels()),
        (
            "│".to_string(),
            "the value cursor (c); n, N and Enter on an event put it there".to_string(),
        ),
        (
            "× ▲ ▼".to_string(),
            "NaN, +Infinity, −Infinity in a chart (its legend counts them)".to_string(),
        ),
    ];
    out.push((
        "▸".to_string(),
        "the highlighted run (runs list), the selected event (events pane)".to_string(),
    ));
    if replay {
        out.push((
            "● ━ ─".to_string(),
            "scrubber: the position, the part played, the part to come".to_string(),
        ));
    } else {
        out.push((
            "●".to_string(),
            "runs list: a run selected for overlay (space)".to_string(),
        ));
    }
    out.push((
        "▁▃▅█".to_string(),
        "runs list: the run's train loss (log scale), × where not finite".to_string(),
    ));
    out.push((
        "■".to_string(),
        "a series' colour, before its name and last value in a chart's legend".to_string(),
    ));
    out
}

/// Every event label with its kind: `SC collapse onset · …`.
fn labels() -> String {
    EventKind::ALL
        .iter()
        .map(|&k| format!("{} {}", k.short_label(), kind_name(k)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The overlay's lines, `width` columns wide.
fn content(app: &App, width: usize) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let replay = app.replay.is_some();
    let row = |k: &str, what: &str, theme: &Theme| {
        let text_w = width.saturating_sub(KEY_W + 1).max(10);
        let opts = textwrap::Options::new(text_w).break_words(true);
        textwrap::wrap(what, opts)
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let key = if i == 0 { k } else { "" };
                Line::from(vec![
                    Span::styled(format!(" {key:<KEY_W$}"), theme.accent),
                    Span::styled(l.into_owned(), theme.base),
                ])
            })
            .collect::<Vec<_>>()
    };
    let mut lines: Vec<Line> = keys(replay)
        .iter()
        .flat_map(|(k, what)| row(k, what, theme))
        .collect();
    lines.push(Line::default());
    lines.push(Line::styled(" Markers", theme.title));
    for (glyphs, what) in markers(replay) {
        lines.extend(row(&glyphs, &what, theme));
    }
    lines.push(Line::default());
    lines.push(Line::styled(
        format!(
            " theme: {} (--theme NAME) · ↑↓ PgUp PgDn scroll · any other key closes this",
            theme.name
        ),
        theme.dim,
    ));
    lines
}

/// Draws the overlay centred in `area`; returns how many rows it can
/// scroll (0 when it fits).
pub fn render(frame: &mut Frame<'_>, app: &App, area: Rect) -> u16 {
    let theme = &app.theme;
    let w = WIDTH.min(area.width);
    let lines = content(app, w.saturating_sub(2) as usize);
    let total = lines.len() as u16;
    let h = (total + 2).min(area.height);
    let [row] = Layout::vertical([Constraint::Length(h)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(w)])
        .flex(Flex::Center)
        .areas(row);
    let max = total.saturating_sub(h.saturating_sub(2));
    let scroll = app.help_scroll.min(max);
    let mut block = Block::bordered()
        .title(" Keys ")
        .border_style(theme.border_focus);
    if max > 0 {
        let more = match (scroll > 0, scroll < max) {
            (true, true) => " ↑↓ more ",
            (false, _) => " ↓ more ",
            (true, false) => " ↑ more ",
        };
        block = block.title_bottom(Line::styled(more, theme.accent).right_aligned());
    }
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll, 0))
            .style(theme.base),
        popup,
    );
    max
}
