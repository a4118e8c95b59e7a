//! The status line: run, last step (in a replay: the step on show) and its
//! age, ingest warnings, alerts, pause and filter state.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::Ctx;
use crate::tui::run_state::age_text;

/// Draws the status line.
pub fn render(frame: &mut Frame<'_>, ctx: &Ctx<'_>, watch_warnings: &[String], area: Rect) {
    let app = ctx.app;
    let theme = &app.theme;
    if let Some(text) = &app.filter_input {
        let line = Line::from(vec![
            Span::styled("filter metrics (substring or regex): /", theme.accent),
            Span::styled(format!("{text}▏"), theme.base),
            Span::styled("  Enter apply · Esc cancel", theme.dim),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let sep = || Span::styled(" · ", theme.dim);
    let mut spans = Vec::new();
    if let Some(feed) = ctx.feeds.get(app.highlighted) {
        spans.push(Span::styled(feed.source.name.clone(), theme.title));
        if let Some(step) = app.step_shown(feed, app.highlighted) {
            spans.push(sep());
            spans.push(Span::styled(format!("step {step}"), theme.base));
        }
        // How long ago the log was written says nothing about a replay.
        let activity = ctx.runs.activity(app.highlighted);
        if let Some(age) = age_text(feed, &activity, app.now).filter(|_| app.replay.is_none()) {
            spans.push(sep());
            spans.push(Span::styled(age, theme.dim));
        }
        let h = &feed.health;
        if h.malformed > 0 {
            let first = h
                .first_malformed
                .as_ref()
                .map(|(l, _)| format!(", first at line {l}"))
                .unwrap_or_default();
            spans.push(sep());
            spans.push(Span::styled(
                format!("⚠ {} malformed lines{first}", h.malformed),
                theme.warning,
            ));
        }
        if let Some(why) = h.resets.last() {
            spans.push(sep());
            spans.push(Span::styled(
                format!("⚠ re-read from start: {why}"),
                theme.warning,
            ));
        }
        if let Some(e) = &h.read_error {
            spans.push(sep());
            spans.push(Span::styled(format!("⚠ {e}"), theme.error));
        }
        if let Some(e) = &feed.source.meta_error {
            spans.push(sep());
            spans.push(Span::styled(format!("⚠ {e}"), theme.warning));
        }
        if let Some(w) = h.warnings.last() {
            spans.push(sep());
            spans.push(Span::styled(format!("⚠ {w}"), theme.warning));
        }
        if let Some(w) = feed.store.refused().warnings().first() {
            spans.push(sep());
            spans.push(Span::styled(format!("⚠ {w}"), theme.warning));
        }
    } else {
        spans.push(Span::styled("waiting for runs", theme.dim));
    }
    if let Some(w) = watch_warnings.last() {
        spans.push(sep());
        spans.push(Span::styled(format!("⚠ {w}"), theme.warning));
    }
    if let Some(p) = &app.paused {
        let arrived: usize = ctx
            .feeds
            .iter()
            .enumerate()
            .map(|(i, f)| {
                f.store
                    .records()
                    .saturating_sub(p.get(i).copied().unwrap_or(0))
            })
            .sum();
        spans.push(sep());
        spans.push(Span::styled(
            format!("PAUSED (+{arrived} records)"),
            theme.accent,
        ));
    }
    let mut flags = vec![format!("x: {}", app.x_mode.label())];
    if app.smooth.weight() > 0.0 {
        flags.push(format!("smooth {}", app.smooth.weight()));
    }
    if let Some(f) = &app.filter {
        flags.push(format!("/{}/", f.text));
    }
    if app.view.hi - app.view.lo < 1.0 {
        flags.push(format!("zoom ×{:.0}", 1.0 / (app.view.hi - app.view.lo)));
    }
    spans.push(sep());
    spans.push(Span::styled(flags.join(" · "), theme.dim));
    spans.push(Span::styled("  ? help", theme.accent));
    // What analysis found, last so it takes the width that is left: the
    // selected event, else the most severe, latest one (in a replay, of
    // those passed so far).
    let used: usize = spans.iter().map(Span::width).sum();
    spans.extend(super::events::status_spans(
        ctx,
        (area.width as usize).saturating_sub(used),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.base), area);
}
