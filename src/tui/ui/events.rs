//! The events pane (`e`): the highlighted run's events, one line each,
//! and the current one in full — its message, the numbers behind it and
//! what to do — beside it. Also the status line's report of the current
//! event, which is never cut without saying so.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph};
use ratatui::Frame;
use textwrap::{Options, WrapAlgorithm};
use unicode_width::UnicodeWidthStr;

use super::Ctx;
use crate::analysis::{Event, EventKind};
use crate::numfmt::short as short_number;
use crate::tui::app::App;
use crate::tui::theme::Theme;
use crate::tui::widgets::envelope::event_glyph;

/// Rows of the pane below the charts (it takes a third of the body
/// within these bounds).
pub const PANE_ROWS: (u16, u16) = (7, 12);
/// The pane takes the whole body when fewer rows than this would be left
/// for the charts.
const MIN_CHART_ROWS: u16 = 5;
/// Below this many rows left by the pane, the charts show the focused
/// panel alone (as the whole screen does below `FULL_LAYOUT`).
pub const MIN_GRID_ROWS: u16 = 17;
/// From this inner width the list and the detail sit side by side.
const SIDE_BY_SIDE: u16 = 60;

/// Splits `body` between the charts and the events pane (when open).
pub fn layout(app: &App, body: Rect) -> (Rect, Option<Rect>) {
    if !app.events.open {
        return (body, None);
    }
    let rows = (body.height / 3).clamp(PANE_ROWS.0, PANE_ROWS.1);
    if app.events.maximised || body.height < rows + MIN_CHART_ROWS {
        return (Rect { height: 0, ..body }, Some(body));
    }
    let [charts, pane] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(rows)]).areas(body);
    (charts, Some(pane))
}

/// A kind as words: `collapse onset`, `LC peak`.
pub fn kind_name(kind: EventKind) -> String {
    let words = kind.as_str().replace('_', " ");
    match words.strip_prefix("lc ") {
        Some(rest) => format!("LC {rest}"),
        None => words,
    }
}

/// The message of `e` for its one line in the list: without its leading
/// title (`Stall: …`, `Softmax collapse ahead: …`), which the label beside
/// it already names, so the room goes to what happened. A title is a few
/// capitalised words without numbers or metric names before ": "; a
/// message without one is listed whole.
fn list_text(e: &Event) -> &str {
    let Some((head, rest)) = e.message.split_once(": ") else {
        return &e.message;
    };
    let title = head.starts_with(|c: char| c.is_uppercase())
        && head.split_whitespace().count() <= 5
        && !head.contains(|c: char| c.is_ascii_digit() || "/%@=".contains(c));
    if title && !rest.trim().is_empty() {
        rest
    } else {
        &e.message
    }
}

/// `text` within `width` columns: whole if it fits, else cut after the
/// last word that fits, with "…" (a single word too long is cut inside,
/// still with "…"). Returns the text and whether it was cut.
pub fn fit(text: &str, width: usize) -> (String, bool) {
    if text.width() <= width {
        return (text.to_string(), false);
    }
    match width {
        0 => return (String::new(), true),
        1 => return ("…".to_string(), true),
        _ => {}
    }
    let opts = Options::new(width - 1)
        .wrap_algorithm(WrapAlgorithm::FirstFit)
        .break_words(true);
    let first = textwrap::wrap(text, opts)
        .into_iter()
        .next()
        .unwrap_or_default();
    // "stuck —…" and "noise,…" read worse than "stuck…", "noise…".
    let first = first.trim_end_matches(|c: char| c.is_whitespace() || ",;:—–-".contains(c));
    (format!("{first}…"), true)
}

/// `text` wrapped to `width` columns, one string a line.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let opts = Options::new(width.max(1))
        .wrap_algorithm(WrapAlgorithm::FirstFit)
        .break_words(true);
    textwrap::wrap(text, opts)
        .into_iter()
        .map(|l| l.into_owned())
        .collect()
}

/// What the detail says about one event: its kind, severity, step and
/// metric, the whole message (analysis words what to do into it), the
/// numbers behind it, and where it lies against the records on show.
#[derive(Debug, Clone)]
pub struct Detail<'a> {
    /// The event.
    pub event: &'a Event,
    /// It lies within the records on show.
    pub on_show: bool,
    /// A replay (else `watch`), for the hint of an event not on show.
    pub replay: bool,
}

impl<'a> Detail<'a> {
    /// The detail of `event` as `app` shows it for run `run`.
    pub fn of(app: &App, run: usize, event: &'a Event) -> Detail<'a> {
        Detail {
            event,
            on_show: app.event_on_show(run, event),
            replay: app.replay.is_some(),
        }
    }

    /// The text, `width` columns wide.
    pub fn lines(&self, theme: &Theme, width: usize) -> Vec<Line<'static>> {
        let e = self.event;
        let sev = theme.severity(e.severity);
        let name = kind_name(e.kind);
        let label = e.kind.short_label();
        let mut head = vec![
            vec![
                Span::styled(format!("{} ", event_glyph(e.severity)), sev),
                Span::styled(name.clone(), theme.title),
                Span::styled(
                    if name == label {
                        String::new()
                    } else {
                        format!(" ({label})")
                    },
                    theme.dim,
                ),
            ],
            vec![Span::styled(severity_name(e), sev)],
            vec![Span::styled(format!("step {}", e.step), theme.base)],
            vec![Span::styled(e.metric.clone(), theme.dim)],
        ];
        if e.segment > 0 {
            head.push(vec![Span::styled(
                format!("segment {} (resumed)", e.segment + 1),
                theme.dim,
            )]);
        }
        let mut out = pack(head, theme, width);
        out.push(Line::default());
        out.extend(
            wrap(&e.message, width)
                .into_iter()
                .map(|l| Line::styled(l, theme.base)),
        );
        if !e.evidence.0.is_empty() {
            out.push(Line::default());
            let mut items: Vec<Vec<Span<'static>>> = e
                .evidence
                .0
                .iter()
                .map(|(name, v)| {
                    vec![
                        Span::styled(format!("{name} "), theme.dim),
                        Span::styled(short_number(*v), theme.base),
                    ]
                })
                .collect();
            items[0].insert(0, Span::styled("evidence: ", theme.dim));
            out.extend(pack(items, theme, width));
        }
        if !self.on_show {
            out.push(Line::default());
            let hint = if self.replay {
                "Not reached yet in the replay: Enter goes there."
            } else {
                "After the paused display: Enter resumes it and goes there."
            };
            out.extend(
                wrap(hint, width)
                    .into_iter()
                    .map(|l| Line::styled(l, theme.accent)),
            );
        }
        out
    }
}

fn severity_name(e: &Event) -> &'static str {
    match e.severity {
        crate::analysis::Severity::Info => "info",
        crate::analysis::Severity::Warning => "warning",
        crate::analysis::Severity::Alert => "alert",
    }
}

/// Groups of spans packed into lines of `width`, separated by " · "; a
/// group wider than a line gets one of its own, cut with "…".
fn pack(items: Vec<Vec<Span<'static>>>, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut line: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for item in items {
        let w: usize = item.iter().map(Span::width).sum();
        if !line.is_empty() && used + 3 + w > width {
            out.push(Line::from(std::mem::take(&mut line)));
            used = 0;
        }
        if !line.is_empty() {
            line.push(Span::styled(" · ", theme.dim));
            used += 3;
        }
        let mut left = width.saturating_sub(used);
        for span in item {
            let (text, cut) = fit(&span.content, left);
            left = left.saturating_sub(text.width());
            used += text.width();
            line.push(Span::styled(text, span.style));
            if cut {
                break;
            }
        }
    }
    if !line.is_empty() {
        out.push(Line::from(line));
    }
    out
}

/// The status line's report of the current event, in at most `width`
/// columns: `· ◆ stall @1350: <message> (3 of 6)`, the message cut after a
/// word with "…" and a pointer to the pane when it does not fit.
pub fn status_spans(ctx: &Ctx<'_>, width: usize) -> Vec<Span<'static>> {
    let app = ctx.app;
    let theme = &app.theme;
    let run = app.highlighted;
    let events = ctx.runs.events(run);
    let Some(i) = app.status_event(run, events) else {
        return Vec::new();
    };
    let e = &events[i];
    let style = theme.severity(e.severity);
    let sep = " · ";
    let head = format!(
        "{} {} @{}: ",
        event_glyph(e.severity),
        e.kind.short_label(),
        e.step
    );
    let count = format!("{} of {}", i + 1, events.len());
    let room = width.saturating_sub(sep.width() + head.width());
    let whole = format!(" ({count})");
    let spans = |text: String, tail: String| {
        vec![
            Span::styled(sep, theme.dim),
            Span::styled(text, style),
            Span::styled(tail, theme.dim),
        ]
    };
    if e.message.width() + whole.width() <= room {
        return spans(format!("{head}{}", e.message), whole);
    }
    // Cut: say where the rest is (the pane, unless it is open).
    let more = if app.events.open { "" } else { "e: more · " };
    for tail in [
        format!(" ({more}{count})"),
        format!(" ({})", more.trim_end_matches(" · ")),
    ] {
        if tail == " ()" {
            continue;
        }
        let left = room.saturating_sub(tail.width());
        if left >= 8 {
            return spans(format!("{head}{}", fit(&e.message, left).0), tail);
        }
    }
    let text = format!("{head}{}", e.message);
    match width.checked_sub(sep.width() + 1) {
        Some(left) if left >= 4 => spans(fit(&text, left).0, String::new()),
        _ => Vec::new(),
    }
}

/// Draws the pane into `area`; returns its hit areas: the pane, the list
/// rows and the index of the event on the first row.
pub fn render(frame: &mut Frame<'_>, ctx: &Ctx<'_>, area: Rect) -> (Rect, Rect, usize) {
    let app = ctx.app;
    let theme = &app.theme;
    let run = app.highlighted;
    let events = ctx.runs.events(run);
    let focused = app.events.focused;
    let name = ctx.feeds.get(run).map_or("", |f| f.source.name.as_str());
    let title = format!(" Events · {name} · {} ", events.len());
    let hints = [
        " ↑↓ select · Enter go to it · n N next / previous · E full height · Esc close ",
        " ↑↓ Enter · n N · E · Esc ",
    ];
    let hint = if focused {
        hints
            .iter()
            .find(|h| h.width() + title.width() + 4 <= area.width as usize)
            .copied()
    } else {
        Some(" e: focus ").filter(|h| h.width() + title.width() + 4 <= area.width as usize)
    };
    let mut block = Block::bordered()
        .title(Line::styled(title, theme.title))
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        });
    if let Some(h) = hint {
        block = block.title_bottom(Line::styled(h, theme.dim).right_aligned());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let none = (area, Rect::default(), 0);
    if inner.width == 0 || inner.height == 0 {
        return none;
    }
    if events.is_empty() {
        let text = if ctx.feeds.is_empty() {
            "no runs yet".to_string()
        } else {
            "No events in this run (yet). Analysis looks for NaN/Inf, softmax collapse, memorisation, grokking, local-complexity phases, loss spikes and stalls (docs/ANALYSIS.md).".to_string()
        };
        let lines: Vec<Line> = wrap(&text, inner.width as usize)
            .into_iter()
            .map(|l| Line::styled(l, theme.dim))
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
        return none;
    }
    let current = app.current_event(run, events);
    let (list_area, sep, detail_area) = if inner.width >= SIDE_BY_SIDE {
        let w = (inner.width * 2 / 5).clamp(30, 56);
        let [l, s, _, d] = Layout::horizontal([
            Constraint::Length(w),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(inner);
        (l, Block::new().borders(Borders::LEFT), (s, d))
    } else {
        let rows = (inner.height / 3).max(2).min(events.len() as u16);
        let [l, s, d] = Layout::vertical([
            Constraint::Length(rows),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(inner);
        (l, Block::new().borders(Borders::TOP), (s, d))
    };
    let (sep_area, detail_area) = detail_area;
    frame.render_widget(sep.border_style(theme.border), sep_area);
    let first = render_list(frame, ctx, events, current, list_area);
    if let Some(i) = current {
        render_detail(frame, app, run, &events[i], detail_area);
    }
    (area, list_area, first)
}

/// The list, one event a line; returns the index of the first row.
fn render_list(
    frame: &mut Frame<'_>,
    ctx: &Ctx<'_>,
    events: &[Event],
    current: Option<usize>,
    area: Rect,
) -> usize {
    let app = ctx.app;
    let theme = &app.theme;
    let run = app.highlighted;
    let step_w = events
        .iter()
        .map(|e| e.step.to_string().len())
        .max()
        .unwrap_or(1);
    let label_w = events
        .iter()
        .map(|e| e.kind.short_label().width())
        .max()
        .unwrap_or(1);
    const MARK: &str = "▸ ";
    let items: Vec<ListItem> = events
        .iter()
        .map(|e| {
            let on = app.event_on_show(run, e);
            let (sev, text) = if on {
                (theme.severity(e.severity), theme.base)
            } else {
                (theme.dim, theme.dim)
            };
            let prefix = format!(" {:>step_w$} {:<label_w$} ", e.step, e.kind.short_label());
            let room = (area.width as usize).saturating_sub(MARK.width() + 1 + prefix.width());
            ListItem::new(Line::from(vec![
                Span::styled(event_glyph(e.severity).to_string(), sev),
                Span::styled(prefix, if on { theme.dim } else { text }),
                Span::styled(fit(list_text(e), room).0, text),
            ]))
        })
        .collect();
    let list = List::new(items)
        .highlight_symbol(MARK)
        .highlight_style(theme.selection)
        .highlight_spacing(ratatui::widgets::HighlightSpacing::Always);
    let mut state = ListState::default().with_selected(current);
    frame.render_stateful_widget(list, area, &mut state);
    state.offset()
}

/// The current event in full.
fn render_detail(frame: &mut Frame<'_>, app: &App, run: usize, event: &Event, area: Rect) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let theme = &app.theme;
    let mut lines = Detail::of(app, run, event).lines(theme, area.width as usize);
    let rows = area.height as usize;
    if lines.len() > rows {
        // Short of room: no blank lines between the parts.
        lines.retain(|l| l.width() > 0);
    }
    if lines.len() > rows {
        lines.truncate(rows - 1);
        let more = if app.events.maximised {
            "… (a taller terminal shows the rest)"
        } else {
            "… E: full height"
        };
        lines.push(Line::styled(more, theme.accent));
    }
    frame.render_widget(Paragraph::new(lines).style(Style::new()), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Evidence, Severity};

    #[test]
    fn fit_keeps_what_fits_and_cuts_after_a_word_with_an_ellipsis() {
        let text = "Stall: train/loss has made no progress — try a higher rate";
        assert_eq!(fit(text, 200), (text.to_string(), false));
        assert_eq!(fit(text, text.width()), (text.to_string(), false));
        assert_eq!(
            fit(text, 30),
            ("Stall: train/loss has made no…".into(), true)
        );
        // The dash and the colon before a cut go.
        assert_eq!(fit(text, 40).0, "Stall: train/loss has made no progress…");
        assert_eq!(fit(text, 8).0, "Stall…");
        // One word longer than the room: cut inside it, still with "…".
        assert_eq!(fit("sens/net_variability", 8), ("sens/ne…".into(), true));
        assert_eq!(fit("x", 0), (String::new(), true));
        for w in 1..70 {
            let (s, cut) = fit(text, w);
            assert!(s.width() <= w, "{w}: {s:?}");
            assert_eq!(cut, s.ends_with('…'), "{w}: {s:?}");
        }
    }

    fn event() -> Event {
        Event {
            kind: EventKind::CollapseOnset,
            step: 1500,
            message: "Softmax collapse: 62% of training samples have exactly zero loss in f32; the gradient from them is gone".into(),
            severity: Severity::Warning,
            segment: 1,
            metric: "sc/collapsed".into(),
            record: 10,
            evidence: Evidence(vec![("value", 0.62), ("threshold", 0.5), ("window", 1200.0)]),
        }
    }

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn the_detail_has_the_whole_message_the_evidence_and_where_it_is() {
        let theme = Theme::default_theme();
        let e = event();
        let detail = Detail {
            event: &e,
            on_show: true,
            replay: false,
        };
        let lines = text(&detail.lines(&theme, 40));
        assert_eq!(lines[0], "◆ collapse onset (SC) · warning");
        assert_eq!(lines[1], "step 1500 · sc/collapsed");
        assert_eq!(lines[2], "segment 2 (resumed)");
        let body = lines.join(" ");
        assert!(
            body.contains("the gradient from them is gone"),
            "{lines:#?}"
        );
        assert!(lines.iter().all(|l| l.width() <= 40), "{lines:#?}");
        assert!(
            lines.contains(&"evidence: value 0.62 · threshold 0.5".to_string()),
            "{lines:#?}"
        );
        assert!(lines.contains(&"window 1200".to_string()), "{lines:#?}");
        assert!(!body.contains("Enter"), "on show: no hint");

        let detail = Detail {
            on_show: false,
            replay: true,
            ..detail
        };
        let lines = text(&detail.lines(&theme, 60));
        assert!(
            lines
                .last()
                .unwrap()
                .contains("Not reached yet in the replay"),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_list_line_leaves_out_the_title_the_label_names() {
        let mut e = event();
        assert_eq!(
            list_text(&e),
            "62% of training samples have exactly zero loss in f32; the gradient from them is gone"
        );
        for (message, listed) in [
            (
                "Loss spike: train/loss jumped to 0.01",
                "train/loss jumped to 0.01",
            ),
            (
                "Softmax collapse ahead: the margin is 28",
                "the margin is 28",
            ),
            // Not a title: a metric, a number, lower case, too long, nothing after.
            ("train/loss: 0.5", "train/loss: 0.5"),
            ("Test accuracy 90%: done", "Test accuracy 90%: done"),
            ("note: a plain line", "note: a plain line"),
            (
                "One two three four five six: words",
                "One two three four five six: words",
            ),
            ("Stall: ", "Stall: "),
            ("No title at all", "No title at all"),
        ] {
            e.message = message.into();
            assert_eq!(list_text(&e), listed, "{message}");
        }
    }

    #[test]
    fn kinds_read_as_words() {
        assert_eq!(kind_name(EventKind::LcSecondDescent), "LC second descent");
        assert_eq!(kind_name(EventKind::CollapseOnset), "collapse onset");
        assert_eq!(kind_name(EventKind::NonFinite), "non finite");
    }
}
