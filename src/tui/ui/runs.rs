//! The runs list: name, state, last step and a sparkline of train loss.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::Ctx;
use crate::store::RunStore;
use crate::text;
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

/// The style of run `i`'s overlay mark: its colour in the charts.
fn overlay_style(ctx: &Ctx<'_>, i: usize) -> Style {
    let theme = &ctx.app.theme;
    match ctx.shown.iter().position(|&r| r == i) {
        Some(ri) if ctx.shown.len() > 1 && !theme.monochrome => {
            Style::new().fg(theme.series_color(ri))
        }
        _ => theme.accent,
    }
}

/// The state word of run `i` and its style.
fn state_of(ctx: &Ctx<'_>, i: usize) -> (&'static str, Style) {
    let app = ctx.app;
    let theme = &app.theme;
    match &app.replay {
        // A replayed run is neither live nor stale: show the clock.
        Some(r) if r.clock.playing() => ("play", theme.accent),
        Some(r) if r.clock.at_end() => ("end", theme.base),
        Some(_) => ("pause", theme.base),
        None => {
            let state = RunState::of(&ctx.feeds[i], &ctx.runs.activity(i), app.now);
            let style = match state {
                RunState::Live => theme.accent,
                RunState::Finished | RunState::Idle => theme.dim,
                RunState::Stale => theme.warning,
            };
            (state.label(), style)
        }
    }
}

/// The runs as one line (narrow terminals): the highlighted run and as
/// many neighbours as fit, each with its state; overlaid runs marked `●`
/// in their chart colour. `j` `k` move, `r` switches to the full list.
pub fn render_selector(frame: &mut Frame<'_>, ctx: &Ctx<'_>, area: Rect, hits: &mut Hits) {
    let app = ctx.app;
    let theme = &app.theme;
    let n = ctx.feeds.len();
    let head = format!(" Runs {}/{n} ", (app.highlighted + 1).min(n));
    let mut spans = vec![Span::styled(head.clone(), theme.title)];
    if n == 0 {
        spans.push(Span::styled("waiting for runs", theme.dim));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    let item = |i: usize| -> Vec<Span<'static>> {
        let (label, style) = state_of(ctx, i);
        let row = if i == app.highlighted {
            theme.selection
        } else {
            Style::new()
        };
        let mark = if app.overlay.contains(&i) { "●" } else { " " };
        let pointer = if i == app.highlighted { "▸" } else { " " };
        vec![
            Span::styled(pointer, theme.accent.patch(row)),
            Span::styled(mark, overlay_style(ctx, i).patch(row)),
            Span::styled(ctx.feeds[i].source.name.clone(), theme.base.patch(row)),
            Span::styled(format!(" {label} "), style.patch(row)),
        ]
    };
    let width = |s: &[Span<'_>]| s.iter().map(Span::width).sum::<usize>();
    let budget = (area.width as usize).saturating_sub(width(&spans) + 4);
    let h = app.highlighted.min(n - 1);
    let (mut lo, mut hi) = (h, h + 1);
    let mut used = width(&item(h));
    loop {
        let mut grew = false;
        if hi < n && used + width(&item(hi)) < budget {
            used += width(&item(hi)) + 1;
            hi += 1;
            grew = true;
        }
        if lo > 0 && used + width(&item(lo - 1)) < budget {
            used += width(&item(lo - 1)) + 1;
            lo -= 1;
            grew = true;
        }
        if !grew {
            break;
        }
    }
    spans.push(Span::styled(if lo > 0 { "‹ " } else { "  " }, theme.dim));
    let mut x = area.x + width(&spans) as u16;
    for i in lo..hi {
        let it = item(i);
        let w = width(&it) as u16;
        hits.run_cells.push((
            Rect::new(x, area.y, w.min(area.right().saturating_sub(x)), 1),
            i,
        ));
        x += w + 1;
        spans.extend(it);
        spans.push(Span::raw(" "));
    }
    if hi < n {
        spans.push(Span::styled("›", theme.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
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
        let (label, state_style) = state_of(ctx, i);
        let row_style = if i == app.highlighted {
            theme.selection
        } else {
            Style::new()
        };
        let mark = if app.overlay.contains(&i) { "●" } else { " " };
        let pointer = if i == app.highlighted { "▸" } else { " " };
        // Cut and padded by terminal columns: a wide CJK character or emoji
        // takes two, and the state word must stay in view.
        let name_w = (area.width as usize).saturating_sub(9);
        let mut name = String::with_capacity(name_w + 1);
        text::pad(
            &mut name,
            text::truncate_to_width(&feed.source.name, name_w),
            name_w,
            false,
        );
        name.push(' ');
        lines.push(
            Line::from(vec![
                Span::styled(pointer, theme.accent),
                Span::styled(mark, overlay_style(ctx, i)),
                Span::styled(name, theme.base),
                Span::styled(format!("{label:>5}"), state_style),
            ])
            .style(row_style),
        );
        let step = match app.step_shown(feed, i) {
            Some(s) => s.to_string(),
            None => "–".into(),
        };
        // The verdict on the run as logged so far; in a replay, or paused,
        // only once the whole log is on show (it is of the whole log).
        let whole = app
            .limit(i)
            .is_none_or(|records| records >= feed.store.records());
        let verdict = ctx
            .runs
            .verdict(i)
            .filter(|v| whole && v.state != crate::analysis::RunState::Unknown)
            .map(|v| (v.state.label(), theme.severity(v.state.severity())));
        let verdict_w = verdict.map_or(0, |(label, _)| label.len() + 1);
        let spark_w = (area.width as usize).saturating_sub(step.len() + 4 + verdict_w);
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
                Span::styled(
                    verdict.map_or(String::new(), |(label, _)| format!(" {label}")),
                    verdict.map_or(theme.dim, |(_, style)| style),
                ),
            ])
            .style(row_style),
        );
    }
    frame.render_widget(Paragraph::new(lines), area);
}
