//! One chart of a panel: a legend line (values at the cursor or at the
//! right edge) above an envelope chart of the shown runs.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::Ctx;
use crate::store::Extent;
use crate::tui::panels::ChartSpec;
use crate::tui::plot::{envelope, time_offset, value_at, y_range, EnvPoint};
use crate::tui::widgets::envelope::fmt_short;
use crate::tui::widgets::envelope::Dash;
use crate::tui::widgets::{EnvelopeChart, Trace};

/// Width taken by y labels, as the chart widget lays them out (estimate).
const LABEL_W: u16 = 8;

/// The traces of `spec` over the shown runs, and the metric behind each.
fn traces(ctx: &Ctx<'_>, spec: &ChartSpec, columns: usize) -> Vec<(Trace, usize, String)> {
    let Some(window) = ctx.window else {
        return Vec::new();
    };
    let app = ctx.app;
    let multi = ctx.shown.len() > 1;
    let mut out = Vec::new();
    for (ri, &run) in ctx.shown.iter().enumerate() {
        let feed = &ctx.feeds[run];
        let off = time_offset(&feed.store, app.x_mode);
        for (mi, metric) in spec.metrics.iter().enumerate() {
            let Some(view) = feed.store.series(metric) else {
                continue;
            };
            let points = envelope(&view, app.x_mode, window, columns, app.limit(run), off);
            let color = app.theme.series_color(ri * spec.metrics.len() + mi);
            let label = if multi {
                format!("{metric} · {}", feed.source.name)
            } else {
                metric.clone()
            };
            match app.smooth.get(run, metric) {
                Some(sm) if sm.len() >= view.len() => {
                    let smoothed = points.iter().map(|p| smooth_point(p, sm)).collect();
                    out.push((
                        Trace {
                            label: String::new(),
                            color,
                            faint: true,
                            points,
                            dash: Dash::Solid,
                            right: false,
                        },
                        run,
                        metric.clone(),
                    ));
                    out.push((
                        Trace {
                            label,
                            color,
                            faint: false,
                            points: smoothed,
                            dash: Dash::Solid,
                            right: false,
                        },
                        run,
                        metric.clone(),
                    ));
                }
                _ => out.push((
                    Trace {
                        label,
                        color,
                        faint: false,
                        points,
                        dash: Dash::Solid,
                        right: false,
                    },
                    run,
                    metric.clone(),
                )),
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

/// Draws `spec` into `area`.
pub fn render(frame: &mut Frame<'_>, ctx: &Ctx<'_>, spec: &ChartSpec, log_y: bool, area: Rect) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let theme = &ctx.app.theme;
    let columns = area.width.saturating_sub(LABEL_W) as usize * 2;
    let traces = traces(ctx, spec, columns.max(2));
    let log = log_y && spec.log_ok;
    let Some(window) = ctx.window else {
        return;
    };
    // Legend: title, then each visible line's value at the cursor or edge.
    let at = match ctx.app.cursor {
        Some(c) => window.0 + c * (window.1 - window.0),
        None => window.1,
    };
    // A one-metric chart (the "other scalars" grid) is titled by its legend.
    let title = if spec.metrics.len() == 1 && spec.metrics[0] == spec.title {
        if log { "(log) " } else { "" }.to_string()
    } else {
        format!("{}{} ", spec.title, if log { " (log)" } else { "" })
    };
    let mut spans = vec![Span::styled(title, theme.title)];
    let mut cursor_step = None;
    for (t, run, metric) in traces.iter().filter(|(t, ..)| !t.faint) {
        let feed = &ctx.feeds[*run];
        let view = feed.store.series(metric).expect("trace of a stored series");
        let off = time_offset(&feed.store, ctx.app.x_mode);
        let shown = match (
            ctx.app.smooth.get(*run, metric),
            value_at(&view, ctx.app.x_mode, at, ctx.app.limit(*run), off),
        ) {
            (Some(sm), Some((i, step, _))) if i < sm.len() => Some((step, sm[i])),
            (_, Some((_, step, v))) => Some((step, v)),
            _ => None,
        };
        let style = if theme.monochrome {
            Style::new()
        } else {
            Style::new().fg(t.color)
        };
        spans.push(Span::styled("■ ", style));
        spans.push(Span::styled(format!("{} ", t.label), theme.base));
        if let Some((step, v)) = shown {
            cursor_step = Some(step);
            let vs = if v.is_finite() {
                theme.base
            } else {
                theme.nonfinite
            };
            spans.push(Span::styled(format!("{}  ", fmt_short(v)), vs));
        }
        if view.non_finite() > 0 {
            spans.push(Span::styled(
                format!("×{} ", view.non_finite()),
                theme.nonfinite,
            ));
        }
    }
    if let (Some(_), Some(step)) = (ctx.app.cursor, cursor_step) {
        spans.insert(1, Span::styled(format!("@ step {step}  "), theme.cursor));
    }
    // The legend takes a second row when it is long and the chart is tall.
    let mut legend = Line::from(spans);
    let too_wide = legend.width() > area.width as usize;
    let rows = if too_wide && area.height >= 8 { 2 } else { 1 };
    if too_wide && rows == 1 {
        // Values matter more than the title on a narrow chart.
        legend.spans.remove(0);
    }
    frame.render_widget(
        Paragraph::new(legend).wrap(Wrap { trim: true }),
        Rect {
            height: rows,
            ..area
        },
    );
    let plot = Rect {
        y: area.y + rows,
        height: area.height - rows,
        ..area
    };
    if plot.height == 0 {
        return;
    }
    let y = y_range(traces.iter().flat_map(|(t, ..)| t.points.iter()), log).unwrap_or((0.0, 1.0));
    let only: Vec<Trace> = traces.into_iter().map(|(t, ..)| t).collect();
    frame.render_widget(
        EnvelopeChart {
            traces: &only,
            x: window,
            y,
            log_y: log,
            y2: None,
            x_mode: ctx.app.x_mode,
            cursor: ctx.app.cursor.map(|c| window.0 + c * (window.1 - window.0)),
            events: &ctx.marks,
            theme,
        },
        plot,
    );
}
