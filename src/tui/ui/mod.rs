//! Rendering: a pure function of [`App`] (and the runs it reads) to a frame.
//! Returns where things were drawn, for mouse hit-testing.

mod chart;
pub mod events;
mod help;
mod regionmap;
mod runs;
mod scrubber;
mod sens;
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
        let runs_w = (body.width / 4).clamp(24, 36);
        let [left, right] =
            Layout::horizontal([Constraint::Length(runs_w), Constraint::Fill(1)]).areas(body);
        render_panel(frame, &ctx, PanelId::Runs, left, &mut hits);
        let [top, mid, bottom] = Layout::vertical([
            Constraint::Percentage(38),
            Constraint::Percentage(38),
            Constraint::Fill(1),
        ])
        .areas(right);
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
    frame.render_widget(block, area);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    match panel {
        PanelId::Runs => runs::render(frame, ctx, inner, hits),
        PanelId::Sensitivity => sens::render(frame, ctx, inner),
        PanelId::Regions if map => regionmap::render(frame, ctx, inner),
        _ => {
            let specs = charts(panel, &ctx.names, ctx.app.per_layer);
            if specs.is_empty() || ctx.window.is_none() {
                empty(frame, ctx, panel, inner);
                return;
            }
            let log_y = ctx.app.log_y[panel.index()];
            if panel == PanelId::Other {
                grid(frame, ctx, &specs, log_y, inner);
            } else {
                let rows = Layout::vertical(vec![Constraint::Fill(1); specs.len()]).split(inner);
                for (spec, r) in specs.iter().zip(rows.iter()) {
                    chart::render(frame, ctx, spec, log_y, *r);
                }
            }
        }
    }
}

/// Small charts in a grid, as many as fit.
fn grid(
    frame: &mut Frame<'_>,
    ctx: &Ctx<'_>,
    specs: &[super::panels::ChartSpec],
    log_y: bool,
    area: Rect,
) {
    const MIN_W: u16 = 28;
    const MIN_H: u16 = 4;
    let cols = ((area.width / MIN_W).max(1) as usize).min(specs.len().max(1));
    let rows = (area.height / MIN_H).max(1) as usize;
    let fit = cols * rows;
    let (shown, more) = if specs.len() > fit {
        (&specs[..fit - 1], specs.len() - (fit - 1))
    } else {
        (specs, 0)
    };
    let used_rows =
        shown.len().div_ceil(cols).max(1) + usize::from(more > 0 && shown.len() % cols == 0);
    let row_areas = Layout::vertical(vec![Constraint::Fill(1); used_rows.min(rows)]).split(area);
    let mut cells = row_areas.iter().flat_map(|r| {
        Layout::horizontal(vec![Constraint::Fill(1); cols])
            .split(*r)
            .to_vec()
    });
    for spec in shown {
        if let Some(cell) = cells.next() {
            chart::render(frame, ctx, spec, log_y, cell);
        }
    }
    if more > 0 {
        if let Some(cell) = cells.next() {
            let msg = format!("+{more} more: narrow them with /");
            frame.render_widget(Paragraph::new(msg).style(ctx.app.theme.dim), cell);
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
