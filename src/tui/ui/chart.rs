//! One chart of a panel: a legend (values at the cursor or at the right
//! edge) above an envelope chart of the shown runs, with a left axis and,
//! when the chart mixes two units, a right one.
//!
//! One run: a colour per metric. An overlay of runs: a colour per run (the
//! runs list and the panel's bottom border map colours to runs) and a line
//! style per metric, so the legend stays one entry per metric, its values
//! in the runs' colours.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Span;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::legend::{abbreviate, pack, Entry};
use super::Ctx;
use crate::store::Extent;
use crate::tui::panels::ChartSpec;
use crate::tui::plot::{envelope, time_offset, value_at, y_range, EnvPoint};
use crate::tui::widgets::envelope::{fmt_short, Dash};
use crate::tui::widgets::{EnvelopeChart, Trace};

/// Width taken by y labels, as the chart widget lays them out (estimate).
const LABEL_W: u16 = 8;

/// Rows a chart needs to keep its axes: a legend row, three plot rows
/// (top, middle and bottom labels) and the x-axis row.
pub const MIN_HEIGHT: u16 = 5;

/// The colour and line style of metric `mi` of run number `ri` (in the
/// order of the shown runs).
pub fn style_of(ctx: &Ctx<'_>, ri: usize, mi: usize) -> (Color, Dash) {
    let theme = &ctx.app.theme;
    if ctx.shown.len() > 1 {
        (theme.series_color(ri), Dash::nth(mi))
    } else {
        (theme.series_color(mi), Dash::Solid)
    }
}

/// The traces of `spec` over the shown runs.
fn traces(ctx: &Ctx<'_>, spec: &ChartSpec, columns: usize) -> Vec<Trace> {
    let Some(window) = ctx.window else {
        return Vec::new();
    };
    let app = ctx.app;
    let mut out = Vec::new();
    for (ri, &run) in ctx.shown.iter().enumerate() {
        let feed = &ctx.feeds[run];
        let off = time_offset(&feed.store, app.x_mode);
        for (mi, metric) in spec.all().enumerate() {
            let Some(view) = feed.store.series(metric) else {
                continue;
            };
            let right = mi >= spec.metrics.len();
            let points = envelope(&view, app.x_mode, window, columns, app.limit(run), off);
            let (color, dash) = style_of(ctx, ri, mi);
            let trace = |faint: bool, points: Vec<EnvPoint>| Trace {
                label: metric.clone(),
                color,
                faint,
                points,
                dash,
                right,
            };
            match app.smooth.get(run, metric) {
                Some(sm) if sm.len() >= view.len() => {
                    let smoothed = points.iter().map(|p| smooth_point(p, sm)).collect();
                    out.push(trace(true, points));
                    out.push(trace(false, smoothed));
                }
                _ => out.push(trace(false, points)),
            }
        }
    }
    out
}

fn smooth_point(p: &EnvPoint, sm: &[f64]) -> EnvPoint {
    let (a, b) = (sm[p.start], sm[p.end - 1]);
    let mut extent = Extent::of(a);
    extent.merge(Extent::of(b));
    EnvPoint {
        first: a,
        last: b,
        extent: Extent {
            non_finite: p.extent.non_finite,
            ..extent
        },
        ..*p
    }
}

/// The value of `metric` of `run` shown in the legend: at the cursor or
/// the right edge (smoothed when smoothing is on), with its step.
fn legend_value(ctx: &Ctx<'_>, run: usize, metric: &str, at: f64) -> Option<(i64, f64)> {
    let feed = &ctx.feeds[run];
    let view = feed.store.series(metric)?;
    let off = time_offset(&feed.store, ctx.app.x_mode);
    match (
        ctx.app.smooth.get(run, metric),
        value_at(&view, ctx.app.x_mode, at, ctx.app.limit(run), off),
    ) {
        (Some(sm), Some((i, step, _))) if i < sm.len() => Some((step, sm[i])),
        (_, Some((_, step, v))) => Some((step, v)),
        _ => None,
    }
}

/// The legend entries of the chart: one per metric, names abbreviated or
/// not; returns the step the values are taken at.
fn entries(
    ctx: &Ctx<'_>,
    spec: &ChartSpec,
    at: f64,
    short: bool,
    values: bool,
) -> (Vec<Entry>, Option<i64>) {
    let theme = &ctx.app.theme;
    let names: Vec<String> = spec.all().cloned().collect();
    let labels = if short {
        abbreviate(&names, 14)
    } else {
        names.clone()
    };
    let colour = |c: Color| {
        if theme.monochrome {
            Style::new()
        } else {
            Style::new().fg(c)
        }
    };
    let mut step = None;
    let mut out = Vec::new();
    for (mi, (metric, label)) in names.iter().zip(labels).enumerate() {
        let present: Vec<(usize, usize)> = ctx
            .shown
            .iter()
            .enumerate()
            .filter(|(_, &r)| ctx.feeds[r].store.series(metric).is_some())
            .map(|(ri, &r)| (ri, r))
            .collect();
        if present.is_empty() {
            continue;
        }
        let (c0, dash) = style_of(ctx, present[0].0, mi);
        let overlay = ctx.shown.len() > 1;
        let mut e: Entry = vec![Span::styled(
            format!("{} ", dash.glyph()),
            if overlay { theme.base } else { colour(c0) },
        )];
        let right = if mi >= spec.metrics.len() { "▸" } else { "" };
        e.push(Span::styled(format!("{right}{label}"), theme.base));
        for &(ri, run) in present.iter().filter(|_| values) {
            let Some((s, v)) = legend_value(ctx, run, metric, at) else {
                continue;
            };
            step = Some(s);
            let style = if !v.is_finite() {
                theme.nonfinite
            } else if overlay {
                colour(style_of(ctx, ri, mi).0)
            } else {
                theme.base
            };
            e.push(Span::styled(format!(" {}", fmt_short(v)), style));
        }
        let bad: u64 = present
            .iter()
            .filter_map(|&(_, r)| ctx.feeds[r].store.series(metric))
            .map(|v| v.non_finite())
            .sum();
        if bad > 0 && values {
            e.push(Span::styled(format!(" ×{bad}"), theme.nonfinite));
        }
        out.push(e);
    }
    (out, step)
}

/// What was drawn of a chart (for tests and hit-testing): its area, how
/// many axis labels it got and what its legend left out.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartDrawn {
    /// The chart's title.
    pub title: String,
    /// Where.
    pub area: Rect,
    /// Labels on the left y axis.
    pub left_labels: usize,
    /// Labels on the right y axis (0 without one).
    pub right_labels: usize,
    /// Whether the chart has a right axis.
    pub right_axis: bool,
    /// Labels on the x axis.
    pub x_labels: usize,
    /// Series the legend should list.
    pub series: usize,
    /// Series the legend left out (then it says `+k`).
    pub dropped: usize,
    /// The legend's text.
    pub legend: String,
}

/// Draws `spec` into `area`; `log_y` puts the left axis on a log scale when
/// the chart allows it. Returns what was drawn.
pub fn render(
    frame: &mut Frame<'_>,
    ctx: &Ctx<'_>,
    spec: &ChartSpec,
    log_y: bool,
    area: Rect,
) -> Option<ChartDrawn> {
    if area.height == 0 || area.width == 0 {
        return None;
    }
    let theme = &ctx.app.theme;
    let window = ctx.window?;
    let columns = area.width.saturating_sub(LABEL_W) as usize * 2;
    let shown = traces(ctx, spec, columns.max(2));
    let log = log_y && spec.log_ok;
    let at = match ctx.app.cursor {
        Some(c) => window.0 + c * (window.1 - window.0),
        None => window.1,
    };
    // A one-metric chart (the "other scalars" grid) is titled by its legend.
    let one = spec.metrics.len() == 1 && spec.right.is_empty() && spec.metrics[0] == spec.title;
    let title = if one {
        if log { "(log)" } else { "" }.to_string()
    } else {
        format!("{}{}", spec.title, if log { " (log)" } else { "" })
    };
    // Two legend rows when the plot keeps three rows and its axis.
    let rows = if area.height > MIN_HEIGHT { 2 } else { 1 };
    let cells = area.width as usize;
    let mut lines = Vec::new();
    let mut dropped = 0;
    let mut series = 0;
    // Shorter and shorter until every series is listed: names without
    // their shared group, no title, no values (the cursor or full screen
    // shows them); only then "+k".
    let stages = [
        (false, true, true),
        (true, true, true),
        (true, false, true),
        (true, false, false),
    ];
    for (short, with_title, values) in stages {
        let (e, step) = entries(ctx, spec, at, short, values);
        let mut head = Vec::new();
        if with_title && !title.is_empty() {
            head.push(Span::styled(title.clone(), theme.title));
        }
        if let (Some(_), Some(step)) = (ctx.app.cursor, step) {
            head.push(Span::styled(
                format!("{}@ step {step}", if head.is_empty() { "" } else { " " }),
                theme.cursor,
            ));
        }
        series = e.len();
        let (l, d) = pack(&head, &e, cells, rows, theme.warning);
        lines = l;
        dropped = d;
        if dropped == 0 {
            break;
        }
    }
    let used = (lines.len() as u16).min(area.height);
    let mut drawn = ChartDrawn {
        title: spec.title.clone(),
        area,
        left_labels: 0,
        right_labels: 0,
        right_axis: !spec.right.is_empty(),
        x_labels: 0,
        series,
        dropped,
        legend: lines
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    };
    frame.render_widget(
        Paragraph::new(lines),
        Rect {
            height: used,
            ..area
        },
    );
    let plot = Rect {
        y: area.y + used,
        height: area.height - used,
        ..area
    };
    if plot.height == 0 {
        return Some(drawn);
    }
    let range = |right: bool, log: bool| {
        y_range(
            shown
                .iter()
                .filter(|t| t.right == right)
                .flat_map(|t| t.points.iter()),
            log,
        )
    };
    let y = range(false, log).unwrap_or((0.0, 1.0));
    let y2 = (!spec.right.is_empty()).then(|| (range(true, false).unwrap_or((0.0, 1.0)), false));
    let chart = EnvelopeChart {
        traces: &shown,
        x: window,
        y,
        log_y: log,
        y2,
        x_mode: ctx.app.x_mode,
        cursor: ctx.app.cursor.map(|c| window.0 + c * (window.1 - window.0)),
        events: &ctx.marks,
        theme,
    };
    let layout = chart.layout(plot);
    drawn.left_labels = layout.left.len();
    drawn.right_labels = layout.right.len();
    drawn.x_labels = layout.bottom.len();
    frame.render_widget(chart, plot);
    Some(drawn)
}
