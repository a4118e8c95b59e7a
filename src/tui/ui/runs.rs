//! The runs list: name, state, last step and a sparkline of train loss.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::Ctx;
use crate::store::RunStore;
use crate::tui::keymap::Hits;
use crate::tui::plot::{visible_len, RecordLimit};
use crate::tui::run_state::RunState;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of train loss (or the first scalar), `width` cells, from
/// the store's index; log scale when all values are positive.
pub fn sparkline(store: &RunStore, width: usize, limit: RecordLimit) -> String {
    let view = match store.series("train/loss") {
        Some(v) => v,
        None => match store.metric_names().next().and_then(|n| store.series(n)) {
            Some(v) => v,
            None => return String::new(),
        },
    };
    let n = visible_len(&view, limit);
    let buckets = view.buckets_by_index(0..n, width);
    let vals: Vec<f64> = buckets.iter().map(|b| b.last).collect();
    let finite = || vals.iter().copied().filter(|v| v.is_finite());
    let log = finite().all(|v| v > 0.0);
    let f = |v: f64| if log { v.log10() } else { v };
    let lo = finite().map(f).fold(f64::INFINITY, f64::min);
    let hi = finite().map(f).fold(f64::NEG_INFINITY, f64::max);
    vals.iter()
        .map(|&v| {
            if !v.is_finite() {
                '×'
            } else if hi > lo {
                BARS[(((f(v) - lo) / (hi - lo)) * 7.0).round() as usize]
            } else {
                BARS[3]
            }
        })
        .collect()
}

/// Draws the list into `area` (two rows per run).
pub fn render(frame: &mut Frame<'_>, ctx: &Ctx<'_>, area: Rect, hits: &mut Hits) {
    let app = ctx.app;
    let theme = &app.theme;
    if ctx.feeds.is_empty() {
        frame.render_widget(
            Paragraph::new("no runs yet: waiting for metrics.jsonl").style(theme.dim),
            area,
        );
        return;
    }
    let per_page = (area.height / 2).max(1) as usize;
    let first = app.highlighted.saturating_sub(per_page - 1);
    hits.runs = Some((area, first));
    let mut lines = Vec::new();
    for (i, feed) in ctx.feeds.iter().enumerate().skip(first).take(per_page) {
        let (label, state_style) = match &app.replay {
            // A replayed run is neither live nor stale: show the clock.
            Some(r) if r.clock.playing() => ("play", theme.accent),
            Some(r) if r.clock.at_end() => ("end", theme.base),
            Some(_) => ("pause", theme.base),
            None => {
                let state = RunState::of(feed, &ctx.runs.activity(i), app.now);
                let style = match state {
                    RunState::Live => theme.accent,
                    RunState::Finished | RunState::Idle => theme.base,
                    RunState::Stale => theme.warning,
                };
                (state.label(), style)
            }
        };
        let row_style = if i == app.highlighted {
            theme.selection
        } else {
            Style::new()
        };
        let mark = if app.overlay.contains(&i) { "●" } else { " " };
        let pointer = if i == app.highlighted { "▸" } else { " " };
        let name_w = (area.width as usize).saturating_sub(9);
        let name: String = feed.source.name.chars().take(name_w).collect();
        lines.push(
            Line::from(vec![
                Span::styled(format!("{pointer}{mark}"), theme.accent),
                Span::styled(format!("{name:<name_w$} "), theme.base),
                Span::styled(format!("{label:>5}"), state_style),
            ])
            .style(row_style),
        );
        let step = match app.step_shown(feed, i) {
            Some(s) => s.to_string(),
            None => "–".into(),
        };
        let spark_w = (area.width as usize).saturating_sub(step.len() + 4);
        let spark = sparkline(&feed.store, spark_w, app.limit(i));
        let spark_style = if theme.monochrome {
            Style::new()
        } else {
            Style::new().fg(theme.series_color(0))
        };
        lines.push(
            Line::from(vec![
                Span::styled(format!("  {step} "), theme.dim),
                Span::styled(spark, spark_style),
            ])
            .style(row_style),
        );
    }
    frame.render_widget(Paragraph::new(lines), area);
}
