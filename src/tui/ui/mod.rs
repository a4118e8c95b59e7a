//! Rendering: a pure function of [`App`] (and the runs it reads) to a frame.
//! Returns where things were drawn, for mouse hit-testing.

mod chart;
pub mod events;
mod help;
mod legend;
mod regionmap;
mod runs;
mod scrubber;
mod sens;

pub use chart::ChartDrawn;
pub use sens::{histogram_column, histogram_range, is_index_vector, HeatRange};
mod status;

use std::collections::BTreeSet;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::app::App;
use super::keymap::Hits;
use super::live::RunSet;
use super::panels::{charts, PanelId};
use super::widgets::EventMark;
use crate::source::RunFeed;

pub use regionmap::{
    boundary_color, category_color, fit, map_on_show, raster, MapColour, MapOnShow, Pixel,
};

/// Below this size only a "terminal too small" message is drawn.
pub const MIN_SIZE: (u16, u16) = (30, 8);
/// Below this size the focused panel alone is drawn.
pub const FULL_LAYOUT: (u16, u16) = (70, 20);
/// From this height the replay scrubber takes two rows (else one).
pub const SCRUBBER_TWO_ROWS: u16 = 16;
/// Narrower than this, the runs list is a one-line selector (`r` toggles).
pub const COMPACT_BELOW: u16 = 100;
/// Narrowest chart of the "other scalars" grid.
pub const GRID_MIN_W: u16 = 28;

/// What every region of one frame needs, computed once per frame.
pub struct Ctx<'a> {
    /// The state.
    pub app: &'a App,
    /// All runs.
    pub feeds: &'a [RunFeed],
    /// All runs with what analysis found in them.
    pub runs: &'a RunSet,
    /// Runs on show (overlay selection or the highlighted run).
    pub shown: Vec<usize>,
    /// The x window in the current mode's units, if there is data.
    pub window: Option<(f64, f64)>,
    /// Scalar names of the shown runs that pass the filter.
    pub names: BTreeSet<String>,
    /// What analysis found in the shown runs, up to the records on show,
    /// as chart markers in the current x mode.
    pub marks: Vec<EventMark>,
}

/// Draws the whole dashboard.
pub fn render(frame: &mut Frame<'_>, app: &App) -> Hits {
    let area = frame.area();
    let base = app.theme.base;
    frame.render_widget(Block::new().style(base), area);
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let msg = format!(
            "terminal too small: {}×{} (need {}×{})",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        frame.render_widget(
            Paragraph::new(msg).wrap(Wrap { trim: true }).style(base),
            area,
        );
        return Hits::default();
    }
    let runs = app.runs.read();
    let shown = app.shown_of(runs.feeds.len());
    let window = app
        .x_domain(&runs.feeds, &shown)
        .map(|d| app.view.window(d));
    let names = shown
        .iter()
        .flat_map(|&r| runs.feeds[r].store.metric_names())
        .filter(|n| app.passes(n))
        .map(str::to_string)
        .collect();
    let marks = event_marks(app, &runs, &shown);
    let ctx = Ctx {
        app,
        runs: &runs,
        feeds: &runs.feeds,
        shown,
        window,
        names,
        marks,
    };
    // Replay: the scrubber goes between the panels and the status line.
    let scrub_rows = match app.replay {
        Some(_) if area.height >= SCRUBBER_TWO_ROWS => 2,
        Some(_) => 1,
        None => 0,
    };
    let [body, scrub_area, status_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(scrub_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut hits = Hits::default();
    if let Some(r) = &app.replay {
        hits.scrubber = Some(scrubber::render(frame, &ctx, r, scrub_area));
    }
    let compact = (area.width < COMPACT_BELOW) != app.runs_flip;
    let full_body = body;
    let (body, pane) = events::layout(app, body);
    if let Some(pane) = pane {
        hits.events = Some(events::render(frame, &ctx, pane));
    }
    if body.is_empty() {
        // The events pane takes the whole body.
    } else if app.fullscreen
        || area.width < FULL_LAYOUT.0
        || area.height < FULL_LAYOUT.1
        || (pane.is_some() && body.height < events::MIN_GRID_ROWS)
    {
        render_panel(frame, &ctx, app.focus, body, &mut hits);
    } else {
        let (left, right) = if compact {
            let [line, rest] =
                Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(body);
            runs::render_selector(frame, &ctx, line, &mut hits);
            hits.panels.push((PanelId::Runs, line));
            (None, rest)
        } else {
            let runs_w = (body.width / 4).clamp(24, 36);
            let [left, right] =
                Layout::horizontal([Constraint::Length(runs_w), Constraint::Fill(1)]).areas(body);
            (Some(left), right)
        };
        if let Some(left) = left {
            render_panel(frame, &ctx, PanelId::Runs, left, &mut hits);
        }
        // The "other scalars" row keeps room for one chart with its axes.
        let rows = if right.height >= 30 {
            [
                Constraint::Percentage(38),
                Constraint::Percentage(38),
                Constraint::Fill(1),
            ]
        } else {
            [
                Constraint::Fill(1),
                Constraint::Fill(1),
                Constraint::Length(chart::MIN_HEIGHT + 2),
            ]
        };
        let [top, mid, bottom] = Layout::vertical(rows).areas(right);
        let halves = |r: Rect| Layout::horizontal([Constraint::Percentage(50); 2]).areas::<2>(r);
        let [a, b] = halves(top);
        let [c, d] = halves(mid);
        render_panel(frame, &ctx, PanelId::Loss, a, &mut hits);
        render_panel(frame, &ctx, PanelId::Collapse, b, &mut hits);
        render_panel(frame, &ctx, PanelId::Regions, c, &mut hits);
        render_panel(frame, &ctx, PanelId::Sensitivity, d, &mut hits);
        render_panel(frame, &ctx, PanelId::Other, bottom, &mut hits);
    }
    status::render(frame, &ctx, &runs.warnings, status_area);
    if app.help {
        hits.help_scroll_max = help::render(frame, app, full_body);
    }
    hits
}

/// The events of the shown runs within the records on show, at their x in
/// the current mode (records without a wall time have none in a time
/// mode), with their labels: the current event first, then the most
/// severe, latest ones (labels are placed in this order where they fit).
fn event_marks(app: &App, runs: &RunSet, shown: &[usize]) -> Vec<EventMark> {
    let mut out = Vec::new();
    for &run in shown {
        let store = &runs.feeds[run].store;
        let current = (run == app.highlighted)
            .then(|| app.current_event(run, runs.events(run)))
            .flatten()
            .map(|i| &runs.events(run)[i]);
        for e in app.events_shown(runs, run) {
            let Some(x) = crate::tui::events::event_x(store, app.x_mode, e) else {
                continue;
            };
            let first = current.is_some_and(|c| std::ptr::eq(c, e));
            out.push((
                (first, e.severity, e.step),
                EventMark {
                    x,
                    severity: e.severity,
                    label: e.kind.short_label(),
                },
            ));
        }
    }
    out.sort_by_key(|(key, _)| std::cmp::Reverse(*key));
    out.into_iter().map(|(_, m)| m).collect()
}

fn render_panel(frame: &mut Frame<'_>, ctx: &Ctx<'_>, panel: PanelId, area: Rect, hits: &mut Hits) {
    let theme = &ctx.app.theme;
    let focused = ctx.app.focus == panel && !ctx.app.events.focused;
    hits.panels.push((panel, area));
    let map = panel == PanelId::Regions && ctx.app.region_map;
    let title = if map {
        regionmap::title(ctx, area.width)
    } else {
        format!(" {} {} ", panel.index() + 1, panel.title())
    };
    let block = Block::bordered()
        .title(Line::styled(title, theme.title))
        .border_style(if focused {
            theme.border_focus
        } else {
            theme.border
        });
    let inner = block.inner(area);
    if inner.width == 0 || inner.height == 0 {
        frame.render_widget(block, area);
        return;
    }
    let page = ctx.app.pages[panel.index()];
    let pager = match panel {
        PanelId::Runs => {
            frame.render_widget(block, area);
            runs::render(frame, ctx, inner, hits);
            None
        }
        PanelId::Sensitivity => {
            frame.render_widget(block, area);
            sens::render(frame, ctx, inner, page, hits)
        }
        PanelId::Regions if map => {
            frame.render_widget(block, area);
            regionmap::render(frame, ctx, inner, hits);
            None
        }
        _ => {
            let specs = charts(panel, &ctx.names, ctx.app.per_layer);
            if specs.is_empty() || ctx.window.is_none() {
                frame.render_widget(block, area);
                empty(frame, ctx, panel, inner);
                return;
            }
            let log_y = ctx.app.log_y[panel.index()];
            // As many charts as keep their axes; the rest on further pages.
            let cols = if panel == PanelId::Other {
                (inner.width / GRID_MIN_W).max(1) as usize
            } else {
                1
            };
            let fit_rows = (inner.height / chart::MIN_HEIGHT).max(1) as usize;
            let per_page = cols * fit_rows;
            let pages = specs.len().div_ceil(per_page);
            let k = page.rem_euclid(pages as isize) as usize;
            let on_page = &specs[k * per_page..((k + 1) * per_page).min(specs.len())];
            frame.render_widget(block, area);
            if panel == PanelId::Other {
                grid(frame, ctx, on_page, cols, log_y, inner, hits);
            } else {
                let rows = Layout::vertical(vec![Constraint::Fill(1); on_page.len()]).split(inner);
                for (spec, r) in on_page.iter().zip(rows.iter()) {
                    hits.charts
                        .extend(chart::render(frame, ctx, spec, log_y, *r));
                }
            }
            (pages > 1).then(|| {
                let first = k * per_page + 1;
                let last = first + on_page.len() - 1;
                let which = if last == first {
                    format!("chart {first}")
                } else {
                    format!("charts {first}–{last}")
                };
                format!(" {which} of {} · {{ }} page ", specs.len())
            })
        }
    };
    let mut pager_w = 0;
    if let Some(text) = pager {
        // Where the other charts are: on the bottom border, right-aligned.
        let w = text.chars().count() as u16;
        if w + 2 <= area.width {
            let at = Rect {
                x: area.right() - 1 - w,
                y: area.bottom() - 1,
                width: w,
                height: 1,
            };
            frame.render_widget(Paragraph::new(text).style(theme.accent), at);
            pager_w = w;
        }
    }
    // Overlaid runs: the bottom border maps colours to runs, left of the
    // pager.
    let room = area.width.saturating_sub(2 + pager_w);
    if let Some(key) = run_key(ctx, room).filter(|_| panel != PanelId::Runs) {
        let at = Rect {
            x: area.x + 1,
            y: area.bottom() - 1,
            width: room,
            height: 1,
        };
        frame.render_widget(Paragraph::new(key), at);
    }
}

/// The colour key of overlaid runs, for a panel's bottom border, in
/// `width` cells: every run's name, names cut with `…` when they do not all
/// fit, and `+k runs` for those that still do not (the runs list marks them
/// all with `●`).
fn run_key(ctx: &Ctx<'_>, width: u16) -> Option<Line<'static>> {
    if ctx.shown.len() < 2 {
        return None;
    }
    let theme = &ctx.app.theme;
    let names: Vec<&str> = ctx
        .shown
        .iter()
        .map(|&run| ctx.feeds[run].source.name.as_str())
        .collect();
    let styles: Vec<ratatui::style::Style> = (0..names.len())
        .map(|ri| {
            if theme.monochrome {
                theme.base
            } else {
                ratatui::style::Style::new().fg(theme.series_color(ri))
            }
        })
        .collect();
    let (cut, shown) = fit_run_key(&names, width as usize);
    let mut spans = vec![ratatui::text::Span::raw(" ")];
    for (ri, name) in cut.into_iter().enumerate().take(shown) {
        spans.push(ratatui::text::Span::styled("● ", styles[ri]));
        spans.push(ratatui::text::Span::styled(format!("{name} "), theme.base));
    }
    if shown < names.len() {
        spans.push(ratatui::text::Span::styled(
            format!("+{} runs ", names.len() - shown),
            theme.accent,
        ));
    }
    Some(Line::from(spans))
}

/// The names of a run key in `width` cells (` ● name ● name `), each cut to
/// the longest length that lets all fit (never below 4 characters), and how
/// many of them fit, leaving room for `+k runs ` after them.
fn fit_run_key(names: &[&str], width: usize) -> (Vec<String>, usize) {
    let len = |n: &str| n.chars().count();
    let cut = |n: &str, max: usize| -> String {
        if len(n) > max {
            n.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
        } else {
            n.to_string()
        }
    };
    // " " + per run "● " + name + " ".
    let total = |max: usize| 1 + names.iter().map(|n| 3 + len(n).min(max)).sum::<usize>();
    let longest = names.iter().map(|n| len(n)).max().unwrap_or(0);
    let max = (4..=longest.max(4))
        .rev()
        .find(|&m| total(m) <= width)
        .unwrap_or(4);
    let cut: Vec<String> = names.iter().map(|n| cut(n, max)).collect();
    if total(max) <= width {
        return (cut, names.len());
    }
    // Not even 4 characters each: as many as fit before "+k runs ".
    let mut used = 1;
    let mut shown = 0;
    for (i, n) in cut.iter().enumerate() {
        let more = names.len() - i - 1;
        let tail = if more > 0 {
            format!("+{more} runs ").len()
        } else {
            0
        };
        if used + 3 + len(n) + tail > width {
            break;
        }
        used += 3 + len(n);
        shown += 1;
    }
    (cut, shown)
}

/// Small charts in a grid of `cols` columns that fills `area`.
fn grid(
    frame: &mut Frame<'_>,
    ctx: &Ctx<'_>,
    specs: &[super::panels::ChartSpec],
    cols: usize,
    log_y: bool,
    area: Rect,
    hits: &mut Hits,
) {
    let cols = cols.min(specs.len()).max(1);
    let rows = specs.len().div_ceil(cols);
    let row_areas = Layout::vertical(vec![Constraint::Fill(1); rows]).split(area);
    let mut cells = row_areas.iter().enumerate().flat_map(|(i, r)| {
        // The last row's charts share its whole width.
        let n = if i + 1 == rows {
            specs.len() - cols * (rows - 1)
        } else {
            cols
        };
        Layout::horizontal(vec![Constraint::Fill(1); n])
            .split(*r)
            .to_vec()
    });
    for spec in specs {
        if let Some(cell) = cells.next() {
            hits.charts
                .extend(chart::render(frame, ctx, spec, log_y, cell));
        }
    }
}

/// A panel with nothing to show says what would fill it.
fn empty(frame: &mut Frame<'_>, ctx: &Ctx<'_>, panel: PanelId, area: Rect) {
    let theme = &ctx.app.theme;
    let text = if ctx.shown.is_empty() {
        "no runs yet".to_string()
    } else if ctx.window.is_none() && ctx.app.x_mode.is_time() {
        format!(
            "no wall-clock times in this run for a {} axis: press x for steps",
            ctx.app.x_mode.label()
        )
    } else if let Some(f) = &ctx.app.filter {
        format!(
            "no metric matches /{}/ here. Expected: {}",
            f.text,
            panel.expected()
        )
    } else {
        format!("no data yet. Expected: {}", panel.expected())
    };
    frame.render_widget(
        Paragraph::new(text)
            .style(theme.dim)
            .wrap(Wrap { trim: true }),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::fit_run_key;

    fn line(names: &[&str], width: usize) -> String {
        let (cut, shown) = fit_run_key(names, width);
        let mut s = " ".to_string();
        for n in &cut[..shown] {
            s += &format!("● {n} ");
        }
        if shown < names.len() {
            s += &format!("+{} runs ", names.len() - shown);
        }
        assert!(s.chars().count() <= width, "{s:?} in {width}");
        s
    }

    #[test]
    fn a_run_key_cuts_names_then_counts_the_runs_it_leaves_out() {
        let runs = ["softmax-p113", "softmax60-p113", "stablemax-p113"];
        // Room for all: the names whole.
        assert_eq!(
            line(&runs, 60),
            " ● softmax-p113 ● softmax60-p113 ● stablemax-p113 "
        );
        // Less room: every name cut alike, none left out.
        assert_eq!(line(&runs, 34), " ● softmax… ● softmax… ● stablem… ");
        // Too little for 4 characters each: a count of the rest.
        assert_eq!(line(&runs, 20), " ● sof… +2 runs ");
        assert_eq!(line(&runs, 12), " +3 runs ");
    }
}
