//! A run as a figure for a paper, on any plotters backend (PNG and SVG):
//! the run's name as the title; the chosen panels, each with axis titles,
//! one unit per axis (the dashboard's panel specs, `tui::panels`), a legend
//! outside the plotting area and series told apart by line style as well
//! as colour (so a greyscale print still reads); the heatmap with its
//! colourbar; event markers with labels that never overlap; the events
//! listed underneath.
//!
//! **Log scale rule** (the same for every chart and the heatmap's colours):
//! an axis is log10 when its series are never negative and their positive
//! values span more than three decades (largest / smallest > 1000); zeros
//! then sit on the axis floor. Otherwise it is linear.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::palette::{Palette, Rgb};
use super::png::{text, DrawError};
use crate::analysis::Event;
use crate::store::{RunStore, SeriesView, VectorView};
use crate::tui::panels::{charts, ChartSpec, PanelId};
use crate::tui::ticks;
use crate::tui::ui::is_index_vector;

/// An axis spanning more than this many decades is drawn log10.
pub const LOG_DECADES: f64 = 3.0;

/// Events listed under the panels (the rest are counted).
pub const MAX_EVENT_LINES: usize = 6;

/// Charts of the "other scalars" panel drawn at most (the rest are
/// counted; `--metrics` picks them).
pub const MAX_OTHER_CHARTS: usize = 12;

/// The panels a figure can hold, in the order they are drawn.
pub const FIGURE_PANELS: [PanelId; 5] = [
    PanelId::Loss,
    PanelId::Collapse,
    PanelId::Regions,
    PanelId::Sensitivity,
    PanelId::Other,
];

/// The name of a panel on the command line (`--panels`).
pub fn panel_key(p: PanelId) -> &'static str {
    match p {
        PanelId::Runs => "runs",
        PanelId::Loss => "loss",
        PanelId::Collapse => "collapse",
        PanelId::Regions => "regions",
        PanelId::Sensitivity => "sensitivity",
        PanelId::Other => "other",
    }
}

/// The panel named `key` (`--panels loss,other`).
pub fn parse_panel(key: &str) -> Option<PanelId> {
    FIGURE_PANELS
        .into_iter()
        .find(|p| panel_key(*p) == key.trim())
}

/// What a figure shows and how.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colours.
    pub palette: Palette,
    /// Panels to draw; `None`: every panel the run has data for.
    pub panels: Option<Vec<PanelId>>,
    /// Only metrics matching one of these (`None`: all).
    pub metrics: Option<Vec<regex::Regex>>,
}

impl Figure {
    /// Whether `name` is drawn.
    fn passes(&self, name: &str) -> bool {
        self.metrics
            .as_ref()
            .is_none_or(|m| m.iter().any(|r| r.is_match(name)))
    }

    /// The scalar names drawn.
    fn names(&self, store: &RunStore) -> std::collections::BTreeSet<String> {
        store
            .metric_names()
            .filter(|n| self.passes(n))
            .filter(|n| store.series(n).is_some_and(|s| !s.is_empty()))
            .map(str::to_string)
            .collect()
    }

    /// The heatmap layer drawn: the first `sens/` value vector, else the
    /// first histogram.
    fn heat_layer<'a>(
        &self,
        store: &'a RunStore,
    ) -> Option<(VectorView<'a>, Option<VectorView<'a>>)> {
        let ok = |n: &&str| self.passes(n) && !is_index_vector(n);
        if let Some(v) = store
            .vector_names()
            .filter(|n| n.starts_with("sens/"))
            .filter(ok)
            .filter_map(|n| store.vector(n))
            .find(|v| !v.is_empty() && v.max_width() > 0)
        {
            return Some((v, None));
        }
        store
            .vector_names()
            .filter(ok)
            .filter_map(|n| Some((store.vector(n)?, store.vector(&format!("{n}/limits"))?)))
            .find(|(v, _)| !v.is_empty())
            .map(|(v, l)| (v, Some(l)))
    }

    /// The panels drawn for `store`: those asked for, or every panel with
    /// data (and the "other scalars" of a run without diagnostics).
    pub fn panels_for(&self, store: &RunStore) -> Vec<PanelId> {
        if let Some(p) = &self.panels {
            return p.clone();
        }
        let names = self.names(store);
        let mut out: Vec<PanelId> = FIGURE_PANELS
            .into_iter()
            .filter(|&p| match p {
                PanelId::Sensitivity => {
                    !charts(p, &names, false).is_empty() || self.heat_layer(store).is_some()
                }
                _ => !charts(p, &names, false).is_empty(),
            })
            .collect();
        if out.is_empty() {
            out.push(PanelId::Other);
        }
        out
    }
}

/// The step range every panel shares (never empty, and wide enough to
/// draw even where neighbouring steps are one `f64` apart, near 2^63).
pub fn step_range(store: &RunStore) -> (f64, f64) {
    let steps = (0..store.records()).map(|r| store.record_step(r));
    let (lo, hi) = steps.fold((i64::MAX, i64::MIN), |(a, b), s| (a.min(s), b.max(s)));
    let (lo, hi) = match (lo, hi) {
        (i64::MAX, _) => (0.0, 1.0),
        (lo, hi) if lo == hi => (lo as f64 - 1.0, hi as f64 + 1.0),
        (lo, hi) => (lo as f64, hi as f64),
    };
    axis_range(lo, hi)
}

/// Largest magnitude an axis reaches. Values of a run may span ±1.8e308,
/// whose difference is infinite: no tick could be placed on such an axis.
/// Values beyond the limit are drawn past the edge of the plot.
const AXIS_LIMIT: f64 = 1e307;

/// An axis that can be drawn and ticked: finite, increasing, and at least a
/// billionth of its magnitude wide (two values that differ in the last
/// bits of an `f64` would leave ticks no room to advance).
pub fn axis_range(lo: f64, hi: f64) -> (f64, f64) {
    let lo = if lo.is_nan() {
        0.0
    } else {
        lo.clamp(-AXIS_LIMIT * 1.2, AXIS_LIMIT * 1.2)
    };
    let hi = if hi.is_nan() {
        1.0
    } else {
        hi.clamp(-AXIS_LIMIT * 1.2, AXIS_LIMIT * 1.2)
    };
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    let min_span = (lo.abs().max(hi.abs()) * 1e-9).max(1e-300);
    if hi - lo >= min_span {
        return (lo, hi);
    }
    let mid = lo / 2.0 + hi / 2.0;
    (mid - min_span, mid + min_span)
}

/// How values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// As they are.
    Linear,
    /// log10; values ≤ 0 sit on the floor.
    Log10,
}

/// The documented rule: log10 when nothing is negative and the positive
/// values span more than [`LOG_DECADES`] decades.
pub fn scale_for(min: f64, min_positive: f64, max: f64) -> Scale {
    if min >= 0.0 && min_positive > 0.0 && max / min_positive > 10f64.powf(LOG_DECADES) {
        Scale::Log10
    } else {
        Scale::Linear
    }
}

/// The smallest, smallest positive and largest finite values of series.
fn extent(series: &[SeriesView<'_>]) -> Option<(f64, f64, f64)> {
    let (mut lo, mut pos, mut hi) = (f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        let e = s.total_extent();
        if !e.has_finite() {
            continue;
        }
        lo = lo.min(e.min);
        hi = hi.max(e.max);
        if e.min > 0.0 {
            pos = pos.min(e.min);
        } else {
            // The smallest positive value is not indexed: look for it.
            for v in s
                .values()
                .iter()
                .copied()
                .filter(|v| *v > 0.0 && v.is_finite())
            {
                pos = pos.min(v);
            }
        }
    }
    (lo <= hi).then_some((lo, pos, hi))
}

/// An axis in drawing units: its range, scale and ticks.
struct Axis {
    range: (f64, f64),
    scale: Scale,
    /// The ticks (in drawing units), from the dashboard's tick rules.
    ticks: Vec<ticks::Tick>,
}

/// Ticks per y axis (at most).
const Y_TICKS: usize = 7;
/// Pixels between y ticks (at least), so that labels never touch.
const Y_TICK_GAP: u32 = 24;

impl Axis {
    /// The y axis of `series` on a plot `height` pixels high.
    fn of(series: &[SeriesView<'_>], allow_log: bool, height: u32) -> Axis {
        let (lo, pos, hi) = extent(series).unwrap_or((0.0, f64::INFINITY, 1.0));
        let scale = if allow_log {
            scale_for(lo, pos, hi)
        } else {
            Scale::Linear
        };
        let (a, b) = match scale {
            Scale::Log10 => (pos.log10(), hi.log10()),
            Scale::Linear => (
                lo.clamp(-AXIS_LIMIT, AXIS_LIMIT),
                hi.clamp(-AXIS_LIMIT, AXIS_LIMIT),
            ),
        };
        let pad = if b > a {
            0.04 * (b - a)
        } else {
            0.5_f64.max(a.abs() * 0.1)
        };
        let n = (height / Y_TICK_GAP).clamp(2, Y_TICKS as u32) as usize;
        Axis::new(axis_range(a - pad, b + pad), scale, n)
    }

    fn new(range: (f64, f64), scale: Scale, max_ticks: usize) -> Axis {
        let ticks = match scale {
            Scale::Linear => ticks::linear(range.0, range.1, max_ticks),
            Scale::Log10 => ticks::log10(range.0, range.1, max_ticks),
        };
        Axis {
            range,
            scale,
            ticks,
        }
    }

    /// The coordinate plotters draws with: this range, ticks where ours
    /// are (not where plotters would put them).
    fn coord(&self) -> Ticked {
        Ticked::new(self.range, &self.ticks)
    }

    fn map(&self, v: f64) -> Option<f64> {
        match self.scale {
            _ if !v.is_finite() => None,
            Scale::Linear => Some(v),
            Scale::Log10 if v > 0.0 => Some(v.log10()),
            Scale::Log10 => Some(self.range.0),
        }
    }

    /// The label of the tick at `v` (plotters asks only for our ticks).
    fn label(&self, v: f64) -> String {
        label_at(&self.ticks, v)
    }
}

/// A linear plotters coordinate whose grid lines and labels sit on our
/// ticks ([`ticks`]), so that a figure's axes read like the dashboard's.
#[derive(Clone)]
struct Ticked {
    inner: RangedCoordf64,
    at: Vec<f64>,
}

impl Ticked {
    fn new(range: (f64, f64), ticks: &[ticks::Tick]) -> Ticked {
        Ticked {
            inner: (range.0..range.1).into(),
            at: ticks.iter().map(|t| t.at).collect(),
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Bold grid lines and labels on the ticks; no light grid.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.at.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// The label of the tick nearest `v`.
fn label_at(ticks: &[ticks::Tick], v: f64) -> String {
    ticks
        .iter()
        .min_by(|a, b| (a.at - v).abs().total_cmp(&(b.at - v).abs()))
        .map(|t| t.label.clone())
        .unwrap_or_default()
}

/// The line style of the `k`-th series of a chart: solid, dashed, dotted,
/// long dashes, then again thinner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStyle {
    /// A solid line.
    Solid,
    /// Dashes of 8 px, 5 px apart.
    Dashed,
    /// Dots 2 px long, 4 px apart.
    Dotted,
    /// Dashes of 16 px, 6 px apart.
    LongDash,
}

impl LineStyle {
    /// Of series `k`.
    pub fn nth(k: usize) -> LineStyle {
        [
            LineStyle::Solid,
            LineStyle::Dashed,
            LineStyle::Dotted,
            LineStyle::LongDash,
        ][k % 4]
    }

    fn dash(self) -> Option<(u32, u32)> {
        match self {
            LineStyle::Solid => None,
            LineStyle::Dashed => Some((8, 5)),
            LineStyle::Dotted => Some((2, 4)),
            LineStyle::LongDash => Some((16, 6)),
        }
    }
}

/// Min/max envelope paths of a series (one path per segment and run of
/// finite values) in axis units, about one bucket per pixel column, and
/// the steps of buckets holding NaN/Inf.
pub fn envelope(
    s: &SeriesView<'_>,
    x: (f64, f64),
    columns: usize,
    map: impl Fn(f64) -> Option<f64>,
) -> (Vec<Vec<(f64, f64)>>, Vec<f64>) {
    let mut paths: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut bad = Vec::new();
    let mut segment = usize::MAX;
    for b in s.buckets(x.0 as i64..=x.1 as i64, columns.max(1)) {
        let mid = (b.first_step as f64 + b.last_step as f64) / 2.0;
        if !b.extent.has_finite() {
            // Only NaN/Inf here: break the line so it does not bridge them.
            bad.push(mid);
            if paths.last().is_some_and(|p| !p.is_empty()) {
                paths.push(Vec::new());
            }
            continue;
        }
        if b.segment != segment || paths.is_empty() {
            paths.push(Vec::new());
            segment = b.segment;
        }
        let path = paths.last_mut().expect("pushed above");
        if let Some(y) = map(b.first) {
            path.push((b.first_step as f64, y));
        }
        if let (Some(lo), Some(hi)) = (map(b.extent.min), map(b.extent.max)) {
            path.push((mid, lo));
            path.push((mid, hi));
        }
        if let Some(y) = map(b.last) {
            path.push((b.last_step as f64, y));
        }
        if b.extent.non_finite.any() {
            bad.push(mid);
        }
    }
    paths.retain(|p| !p.is_empty());
    (paths, bad)
}

type Area<DB> = DrawingArea<DB, Shift>;

fn px(v: u32) -> i32 {
    v as i32
}

/// Draws the whole figure.
pub fn draw<DB: DrawingBackend>(
    root: &Area<DB>,
    run: &str,
    store: &RunStore,
    events: &[Event],
    fig: &Figure,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let palette = &fig.palette;
    root.fill(&palette.background.rgb())?;
    let (w, h) = root.dim_in_pixel();
    let lines = events.len().min(MAX_EVENT_LINES) + usize::from(events.len() > MAX_EVENT_LINES);
    let footer = (lines.max(1) as u32 * 18 + 14).min(h / 4);
    let (header, rest) = root.split_vertically(62.min(h / 5));
    let (body, foot) = rest.split_vertically(rest.dim_in_pixel().1.saturating_sub(footer));
    header.draw_text(run, &text(28, palette.title), (16, 8))?;
    let x = step_range(store);
    let sub = if store.records() == 0 {
        "no records yet".to_string()
    } else {
        format!(
            "steps {}–{} · {} records · {} event(s) · grokscope",
            x.0 as i64,
            x.1 as i64,
            store.records(),
            events.len()
        )
    };
    header.draw_text(&sub, &text(14, palette.dim), (18, 42))?;
    let panels = fig.panels_for(store);
    let n = panels.len().max(1);
    let cols = if n == 1 {
        1
    } else if n <= 4 {
        2
    } else {
        3
    };
    let rows = n.div_ceil(cols);
    // Rows as high as the most charts a panel of theirs stacks needs (one
    // more than their number, for the panel's title and legends).
    let weights: Vec<u32> = panels
        .chunks(cols)
        .map(|row| {
            row.iter()
                .map(|&p| 1 + stacked_charts(p, store, fig) as u32)
                .max()
                .unwrap_or(1)
        })
        .collect();
    let total: u32 = weights.iter().sum::<u32>().max(1);
    let body_h = body.dim_in_pixel().1;
    let mut row_areas = Vec::with_capacity(rows);
    let mut rest = body.clone();
    for (r, wgt) in weights.iter().enumerate() {
        if r + 1 == weights.len() {
            row_areas.push(rest.clone());
        } else {
            let (row, below) = rest.split_vertically(body_h * wgt / total);
            row_areas.push(row);
            rest = below;
        }
    }
    if row_areas.is_empty() {
        row_areas.push(body.clone());
    }
    // The last row's panels share its whole width.
    let cells: Vec<Area<DB>> = row_areas
        .into_iter()
        .enumerate()
        .flat_map(|(r, row)| {
            let k = if r + 1 == rows {
                n - cols * (rows - 1)
            } else {
                cols
            };
            row.split_evenly((1, k))
        })
        .collect();
    for (panel, area) in panels.iter().zip(&cells) {
        let area = area.margin(6, 6, 10, 10);
        draw_panel(&area, *panel, store, x, events, fig)?;
    }
    draw_event_list(&foot, events, palette, w)?;
    Ok(())
}

/// How many charts `panel` stacks on its step axis (a heatmap counts as
/// one; the "Other scalars" grid, as its rows).
fn stacked_charts(panel: PanelId, store: &RunStore, fig: &Figure) -> usize {
    let specs = charts(panel, &fig.names(store), false);
    match panel {
        PanelId::Sensitivity => {
            usize::from(fig.heat_layer(store).is_some()) + usize::from(!specs.is_empty())
        }
        PanelId::Other => {
            let shown = specs.len().min(MAX_OTHER_CHARTS);
            let cols = (shown as f64).sqrt().ceil() as usize;
            shown.div_ceil(cols.max(1))
        }
        _ => specs.len(),
    }
    .max(1)
}

fn draw_event_list<DB: DrawingBackend>(
    foot: &Area<DB>,
    events: &[Event],
    palette: &Palette,
    w: u32,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let chars = (w as usize / 8).max(20);
    for (k, e) in events.iter().take(MAX_EVENT_LINES).enumerate() {
        let mut line = format!(
            "{:<6} step {:<8} {}",
            e.kind.short_label(),
            e.step,
            e.message
        );
        if line.chars().count() > chars {
            line = line.chars().take(chars - 1).collect::<String>() + "…";
        }
        let colour = palette.severity_colour(e.severity);
        foot.draw_text(&line, &text(14, colour), (16, 6 + k as i32 * 18))?;
    }
    if events.len() > MAX_EVENT_LINES {
        let more = format!(
            "… and {} more (grokscope summary lists them all)",
            events.len() - MAX_EVENT_LINES
        );
        let y = 6 + MAX_EVENT_LINES as i32 * 18;
        foot.draw_text(&more, &text(14, palette.dim), (16, y))?;
    }
    if events.is_empty() {
        foot.draw_text("no events detected", &text(14, palette.dim), (16, 6))?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &Area<DB>,
    panel: PanelId,
    store: &RunStore,
    x: (f64, f64),
    events: &[Event],
    fig: &Figure,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let palette = &fig.palette;
    let names = fig.names(store);
    let title = match panel {
        PanelId::Sensitivity if fig.heat_layer(store).is_some_and(|(_, l)| l.is_some()) => {
            "Histograms"
        }
        p => p.title(),
    };
    let (head, body) = area.split_vertically(30);
    head.draw_text(title, &text(20, palette.title), (4, 4))?;
    let specs = charts(panel, &names, false);
    match panel {
        PanelId::Sensitivity => {
            let heat = fig.heat_layer(store);
            match (heat, specs.first()) {
                (Some((v, limits)), spec) => {
                    let split = if spec.is_some() {
                        body.dim_in_pixel().1 * 62 / 100
                    } else {
                        body.dim_in_pixel().1
                    };
                    let (top, bottom) = body.split_vertically(split);
                    draw_heatmap(&top, &v, limits.as_ref(), x, events, palette)?;
                    if let Some(spec) = spec {
                        draw_chart(&bottom, spec, store, x, events, palette, Look::PLAIN)?;
                    }
                    Ok(())
                }
                (None, Some(spec)) => {
                    draw_chart(&body, spec, store, x, events, palette, Look::PLAIN)
                }
                (None, None) => draw_empty(&body, panel, palette),
            }
        }
        PanelId::Other => {
            if specs.is_empty() {
                return draw_empty(&body, panel, palette);
            }
            let shown = specs.len().min(MAX_OTHER_CHARTS);
            let cols = (shown as f64).sqrt().ceil() as usize;
            let rows = shown.div_ceil(cols);
            let (grid, note) = if specs.len() > shown {
                let h = body.dim_in_pixel().1;
                body.split_vertically(h.saturating_sub(20))
            } else {
                body.split_vertically(body.dim_in_pixel().1)
            };
            let cells = grid.split_evenly((rows, cols));
            for (spec, cell) in specs.iter().zip(&cells) {
                draw_chart(
                    &cell.margin(0, 4, 0, 4),
                    spec,
                    store,
                    x,
                    events,
                    palette,
                    Look {
                        titled_by_legend: true,
                        x_title: true,
                    },
                )?;
            }
            if specs.len() > shown {
                note.draw_text(
                    &format!(
                        "+{} more scalars: choose with --metrics",
                        specs.len() - shown
                    ),
                    &text(13, palette.dim),
                    (4, 2),
                )?;
            }
            Ok(())
        }
        _ => {
            if specs.is_empty() {
                return draw_empty(&body, panel, palette);
            }
            draw_stacked(&body, &specs, store, x, events, palette)
        }
    }
}

/// A panel with no data: its frame and which metrics would fill it.
fn draw_empty<DB: DrawingBackend>(
    area: &Area<DB>,
    panel: PanelId,
    palette: &Palette,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    area.draw(&Rectangle::new(
        [(0, 0), (px(w) - 1, px(h) - 1)],
        palette.border.rgb(),
    ))?;
    let cy = px(h) / 2 - 20;
    area.draw_text("no data in this run", &text(16, palette.dim), (20, cy))?;
    area.draw_text(
        &format!("logs of {} would fill it", panel.expected()),
        &text(13, palette.dim),
        (20, cy + 26),
    )?;
    Ok(())
}

/// One entry of a legend: a line sample in the series' style and its name.
struct LegendEntry {
    name: String,
    colour: Rgb,
    style: LineStyle,
}

/// Lays the legend out in rows under a chart; returns its height.
fn legend_rows<DB: DrawingBackend>(area: &Area<DB>, entries: &[LegendEntry]) -> Vec<Vec<usize>>
where
    DB::ErrorType: 'static,
{
    let w = area.dim_in_pixel().0 as i32;
    let style = text(13, Rgb(0, 0, 0));
    let mut rows: Vec<Vec<usize>> = vec![Vec::new()];
    let mut used = 0;
    for (i, e) in entries.iter().enumerate() {
        let tw = area
            .estimate_text_size(&e.name, &style)
            .map_or(e.name.len() as i32 * 8, |(w, _)| w as i32);
        let need = 34 + tw + 18;
        if used + need > w && !rows.last().is_some_and(Vec::is_empty) {
            rows.push(Vec::new());
            used = 0;
        }
        rows.last_mut().expect("one row").push(i);
        used += need;
    }
    rows
}

fn draw_legend<DB: DrawingBackend>(
    area: &Area<DB>,
    entries: &[LegendEntry],
    rows: &[Vec<usize>],
    palette: &Palette,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let style = text(13, palette.foreground);
    for (r, row) in rows.iter().enumerate() {
        let y = 8 + r as i32 * 18;
        let mut x = 8;
        for &i in row {
            let e = &entries[i];
            let colour = e.colour.rgb().stroke_width(2);
            let seg = vec![(x, y), (x + 28, y)];
            match e.style.dash() {
                None => area.draw(&PathElement::new(seg, colour))?,
                Some((d, g)) => area.draw(&DashedPathElement::new(seg, d, g, colour))?,
            }
            area.draw_text(
                &e.name,
                &style.pos(Pos::new(HPos::Left, VPos::Center)),
                (x + 34, y),
            )?;
            let tw = area
                .estimate_text_size(&e.name, &style)
                .map_or(e.name.len() as i32 * 8, |(w, _)| w as i32);
            x += 34 + tw + 18;
        }
    }
    Ok(())
}

/// How one chart of a panel is drawn.
#[derive(Clone, Copy)]
struct Look {
    /// A chart of one series is titled by its name instead of a legend.
    titled_by_legend: bool,
    /// The x axis is titled "step" (only the lowest of charts stacked on
    /// one step axis is).
    x_title: bool,
}

impl Look {
    const PLAIN: Look = Look {
        titled_by_legend: false,
        x_title: true,
    };
}

/// Pixels under a plot for the x tick labels and the axis title.
const X_AREA: u32 = 40;
/// Pixels under a plot for the x tick labels alone.
const X_AREA_UNTITLED: u32 = 24;

/// A chart's legend: every series, the right axis's marked as such.
fn legend_entries(spec: &ChartSpec, store: &RunStore, palette: &Palette) -> Vec<LegendEntry> {
    let present = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|n| store.series(n).is_some())
            .cloned()
            .collect()
    };
    let left = present(&spec.metrics);
    let right = present(&spec.right);
    left.iter()
        .map(String::clone)
        .chain(right.iter().map(|n| format!("{n} (right axis)")))
        .enumerate()
        .map(|(k, name)| LegendEntry {
            name,
            colour: palette.series_colour(k),
            style: LineStyle::nth(k),
        })
        .collect()
}

/// The height of a legend of `rows` (none when a chart's title names its
/// one series).
fn legend_height(rows: &[Vec<usize>], one: bool) -> u32 {
    if one {
        0
    } else {
        rows.len() as u32 * 18 + 8
    }
}

/// Charts stacked in `body` on one step axis: every plot gets the same
/// height, whatever its legend takes; only the lowest is titled "step".
fn draw_stacked<DB: DrawingBackend>(
    body: &Area<DB>,
    specs: &[ChartSpec],
    store: &RunStore,
    x: (f64, f64),
    events: &[Event],
    palette: &Palette,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let n = specs.len();
    let titled_by_legend = n == 1;
    let extra: Vec<u32> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let entries = legend_entries(spec, store, palette);
            let one = titled_by_legend && entries.len() == 1;
            let legend = legend_height(&legend_rows(body, &entries), one);
            let x_area = if i + 1 == n { X_AREA } else { X_AREA_UNTITLED };
            legend + x_area
        })
        .collect();
    let h = body.dim_in_pixel().1;
    let plot = h.saturating_sub(extra.iter().sum()) / n.max(1) as u32;
    let mut rest = body.clone();
    for (i, spec) in specs.iter().enumerate() {
        let part = if i + 1 == n {
            rest.clone()
        } else {
            let (part, below) = rest.split_vertically(plot + extra[i]);
            rest = below;
            part
        };
        let look = Look {
            titled_by_legend,
            x_title: i + 1 == n,
        };
        draw_chart(&part, spec, store, x, events, palette, look)?;
    }
    Ok(())
}

/// One chart: its series on a left axis (and a right one for a second
/// unit), axis titles, the legend underneath, NaN marks and events.
fn draw_chart<DB: DrawingBackend>(
    area: &Area<DB>,
    spec: &ChartSpec,
    store: &RunStore,
    x: (f64, f64),
    events: &[Event],
    palette: &Palette,
    look: Look,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let series = |names: &[String]| -> Vec<SeriesView<'_>> {
        names.iter().filter_map(|n| store.series(n)).collect()
    };
    let (left, right) = (series(&spec.metrics), series(&spec.right));
    if left.is_empty() {
        return Ok(());
    }
    let titled_by_legend = look.titled_by_legend;
    let entries = legend_entries(spec, store, palette);
    // One series titled by its name needs no legend.
    let one = titled_by_legend && entries.len() == 1;
    let rows = if one {
        Vec::new()
    } else {
        legend_rows(area, &entries)
    };
    let (w, h) = area.dim_in_pixel();
    let legend_h = legend_height(&rows, one);
    let (chart_area, legend_area) = area.split_vertically(h.saturating_sub(legend_h));
    let title = if one {
        spec.metrics[0].clone()
    } else if titled_by_legend {
        String::new()
    } else {
        spec.title.clone()
    };
    // The plot's own height: the area less the legend, the title and the
    // x axis.
    let plot_h = h
        .saturating_sub(legend_h)
        .saturating_sub(if title.is_empty() { 6 } else { 26 })
        .saturating_sub(if look.x_title {
            X_AREA
        } else {
            X_AREA_UNTITLED
        });
    let ly = Axis::of(&left, spec.log_ok, plot_h);
    let ry = (!right.is_empty()).then(|| Axis::of(&right, false, plot_h));
    let unit = |u: &str, s: Scale| match (u, s) {
        ("", Scale::Log10) => "log scale".to_string(),
        (u, Scale::Log10) => format!("{u} (log scale)"),
        (u, Scale::Linear) => u.to_string(),
    };
    let left_title = unit(spec.unit, ly.scale);
    let right_title = ry
        .as_ref()
        .map_or_else(String::new, |r| unit(spec.right_unit, r.scale));
    // The y titles run along the plot's height: on a short plot, smaller
    // type, so that they do not reach into the chart above or below.
    let longest = left_title.chars().count().max(right_title.chars().count());
    let desc_size =
        ((plot_h + 16) as f64 / (0.62 * longest.max(1) as f64)).clamp(10.0, 14.0) as u32;
    let xa = Axis::new(x, Scale::Linear, (w / 110).clamp(3, 9) as usize);
    let mut builder = ChartBuilder::on(&chart_area);
    builder
        .margin_top(if title.is_empty() { 6 } else { 4 })
        .margin_right(8)
        .x_label_area_size(if look.x_title {
            X_AREA
        } else {
            X_AREA_UNTITLED
        })
        .y_label_area_size(78)
        .right_y_label_area_size(if ry.is_some() { 70 } else { 0 });
    if !title.is_empty() {
        builder.caption(&title, text(15, palette.foreground));
    }
    // The right axis first: it takes the right label area, so the left
    // axis's labels are not drawn there too.
    let ry_coord = ry
        .as_ref()
        .map_or_else(|| Ticked::new((0.0, 1.0), &[]), Axis::coord);
    let mut chart = builder
        .build_cartesian_2d(xa.coord(), ly.coord())?
        .set_secondary_coord(xa.coord(), ry_coord);
    let x_label = |v: &f64| xa.label(*v);
    let y_label = |v: &f64| ly.label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(palette.border.rgb().mix(0.35))
        .light_line_style(palette.border.rgb().mix(0.0))
        .axis_style(palette.foreground.rgb())
        .label_style(text(13, palette.foreground))
        .axis_desc_style(text(desc_size, palette.foreground))
        .y_desc(left_title)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label);
    if look.x_title {
        mesh.x_desc("step");
    }
    mesh.draw()?;
    if let Some(ry) = &ry {
        chart
            .configure_secondary_axes()
            .axis_style(palette.foreground.rgb())
            .label_style(text(13, palette.foreground))
            .axis_desc_style(text(desc_size, palette.foreground))
            .y_desc(right_title)
            .y_label_formatter(&|v| ry.label(*v))
            .draw()?;
    }
    let columns = w.saturating_sub(170) as usize;
    let mut bad = Vec::new();
    for (k, s) in left.iter().chain(&right).enumerate() {
        let on_right = k >= left.len();
        let axis = if on_right {
            ry.as_ref().unwrap_or(&ly)
        } else {
            &ly
        };
        let (paths, b) = envelope(s, x, columns, |v| axis.map(v));
        bad.extend(b);
        let colour = palette.series_colour(k).rgb().stroke_width(2);
        for path in paths {
            match (LineStyle::nth(k).dash(), on_right) {
                (None, false) => {
                    chart.draw_series(LineSeries::new(path, colour))?;
                }
                (Some((d, g)), false) => {
                    chart.draw_series(DashedLineSeries::new(path, d, g, colour))?;
                }
                (None, true) => {
                    chart.draw_secondary_series(LineSeries::new(path, colour))?;
                }
                (Some((d, g)), true) => {
                    chart.draw_secondary_series(DashedLineSeries::new(path, d, g, colour))?;
                }
            }
        }
    }
    let labels = w >= 360;
    draw_bad_and_events(
        &chart_area,
        &chart.plotting_area().get_pixel_range(),
        x,
        &bad,
        events,
        palette,
        labels,
    )?;
    if !one {
        draw_legend(&legend_area, &entries, &rows, palette)?;
    }
    Ok(())
}

/// NaN/Inf ticks and event markers over a plot whose pixel range (in the
/// backend's coordinates) is `plot`; labels are placed in rows so that no
/// two overlap, and left out when no row has room (the list under the
/// panels has every event).
fn draw_bad_and_events<DB: DrawingBackend>(
    area: &Area<DB>,
    plot: &(std::ops::Range<i32>, std::ops::Range<i32>),
    x: (f64, f64),
    bad: &[f64],
    events: &[Event],
    palette: &Palette,
    labels: bool,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    let (ax, ay) = area.get_base_pixel();
    let (xr, yr) = plot;
    let to_px = |s: f64| -> Option<i32> {
        if s < x.0 || s > x.1 || x.1 <= x.0 {
            return None;
        }
        let f = (s - x.0) / (x.1 - x.0);
        Some(xr.start + (f * (xr.end - xr.start - 1) as f64).round() as i32 - ax)
    };
    let (top, bottom) = (yr.start - ay, yr.end - ay);
    let style = text(12, palette.foreground);
    let mut rows: Vec<i32> = Vec::new(); // right end of the last label per row
    let mut labelled: Vec<(i32, &str)> = Vec::new();
    for e in events {
        let Some(px) = to_px(e.step as f64) else {
            continue;
        };
        let colour = palette.severity_colour(e.severity);
        area.draw(&DashedPathElement::new(
            vec![(px, top), (px, bottom)],
            4,
            3,
            colour.rgb().stroke_width(1),
        ))?;
        let label = e.kind.short_label();
        // Small charts keep the lines; the same label at the same place
        // once.
        if !labels || labelled.contains(&(px, label)) {
            continue;
        }
        labelled.push((px, label));
        let tw = area
            .estimate_text_size(label, &style)
            .map_or(label.len() as i32 * 7, |(w, _)| w as i32);
        // Right of the line, or left of it near the right edge.
        let right_edge = xr.end - ax;
        let lx = if px + 3 + tw <= right_edge {
            px + 3
        } else {
            px - 3 - tw
        };
        let row = rows.iter().position(|&end| lx > end + 4);
        let row = match row {
            Some(r) => r,
            None if rows.len() < 3 => {
                rows.push(i32::MIN);
                rows.len() - 1
            }
            None => continue,
        };
        rows[row] = lx + tw;
        let ly = top + 2 + row as i32 * 14;
        area.draw(&Rectangle::new(
            [(lx - 1, ly), (lx + tw + 1, ly + 13)],
            palette.background.rgb().mix(0.85).filled(),
        ))?;
        area.draw_text(label, &text(12, colour), (lx, ly))?;
    }
    // After the event lines: a NaN event sits on the step of its NaN mark.
    let nonfinite = palette.nonfinite.rgb().stroke_width(3);
    for &s in bad {
        if let Some(px) = to_px(s) {
            area.draw(&PathElement::new(
                vec![(px, top), (px, top + 12)],
                nonfinite,
            ))?;
        }
    }
    Ok(())
}

/// The heatmap of a `sens/` vector (one row per neuron) or a histogram (one
/// row per value band), one column per checkpoint, with a colourbar.
fn draw_heatmap<DB: DrawingBackend>(
    area: &Area<DB>,
    v: &VectorView<'_>,
    limits: Option<&VectorView<'_>>,
    x: (f64, f64),
    events: &[Event],
    palette: &Palette,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    const MAX_COLUMNS: usize = 400;
    const MAX_ROWS: usize = 160;
    let n = v.len();
    let (w, _) = area.dim_in_pixel();
    let (map_area, bar_area) = area.split_horizontally(w.saturating_sub(110));
    let col_step = n.div_ceil(MAX_COLUMNS).max(1);
    let cols: Vec<usize> = (0..n).step_by(col_step).collect();
    // Raw cells: (x0, x1, row, value) and the rows' meaning.
    let (rows, y_desc, values): (usize, String, Option<(f64, f64)>) = match limits {
        None => {
            let width = v.max_width();
            let row_step = width.div_ceil(MAX_ROWS).max(1);
            (
                width.div_ceil(row_step),
                if row_step > 1 {
                    format!("neuron (largest of {row_step} per row)")
                } else {
                    "neuron".into()
                },
                None,
            )
        }
        Some(l) => {
            let r = crate::tui::ui::histogram_range(l, n);
            (MAX_ROWS.min(80), "value".into(), r)
        }
    };
    let gap = if n > 1 {
        ((v.step(n - 1) - v.step(0)) as f64 / (n - 1) as f64).max(1.0)
    } else {
        (x.1 - x.0) / 50.0
    };
    let mut cells: Vec<(f64, f64, usize, f64)> = Vec::new();
    for (k, &i) in cols.iter().enumerate() {
        let x1 = v.step(i) as f64;
        let x0 = k
            .checked_sub(1)
            .map(|p| v.step(cols[p]) as f64)
            .filter(|&s| s < x1)
            .unwrap_or(x1 - gap * col_step as f64);
        let column: Vec<f64> = match (limits, values) {
            (Some(l), Some(range)) => {
                crate::tui::ui::histogram_column(v.get(i), l.get(i), range, rows)
            }
            (Some(_), None) => Vec::new(),
            (None, _) => {
                let values = v.get(i);
                let step = v.max_width().div_ceil(rows).max(1);
                (0..rows)
                    .map(|r| {
                        values[(r * step).min(values.len())..((r + 1) * step).min(values.len())]
                            .iter()
                            .copied()
                            .filter(|g| g.is_finite())
                            .fold(f64::NAN, f64::max)
                    })
                    .collect()
            }
        };
        for (r, value) in column.into_iter().enumerate() {
            cells.push((x0, x1, r, value));
        }
    }
    let finite = || cells.iter().map(|c| c.3).filter(|v| v.is_finite());
    let lo = finite().fold(f64::INFINITY, f64::min);
    let hi = finite().fold(f64::NEG_INFINITY, f64::max);
    let pos = finite().filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
    let scale = if lo.is_finite() {
        scale_for(lo, pos, hi)
    } else {
        Scale::Linear
    };
    let shade = |v: f64| match scale {
        Scale::Log10 => {
            if v > 0.0 {
                v.log10()
            } else {
                pos.log10()
            }
        }
        Scale::Linear => v,
    };
    let (slo, shi) = match scale {
        Scale::Log10 => (pos.log10(), hi.log10()),
        Scale::Linear => (lo.min(0.0), hi),
    };
    let span = if shi > slo { shi - slo } else { 1.0 };
    let xr = (
        cells.iter().map(|c| c.0).fold(x.0, f64::min),
        cells.iter().map(|c| c.1).fold(x.1, f64::max),
    );
    let y = (0.0, rows.max(1) as f64);
    let name = v.name();
    let xa = Axis::new(xr, Scale::Linear, 7);
    // Row ticks at round neuron numbers (on the row's middle) or round
    // values (on their band), labelled with them.
    let row_ticks: Vec<ticks::Tick> = match (limits, values) {
        (Some(_), Some((a, b))) => ticks::linear(a, b, 9)
            .into_iter()
            .map(|t| ticks::Tick {
                at: (t.at - a) / (b - a) * rows as f64,
                label: t.label,
            })
            .collect(),
        _ => {
            let width = v.max_width();
            let per_row = width.div_ceil(rows.max(1)).max(1) as f64;
            ticks::linear(0.0, width.saturating_sub(1) as f64, 9)
                .into_iter()
                .filter(|t| t.at.fract() == 0.0)
                .map(|t| ticks::Tick {
                    at: rows as f64 - (t.at + 0.5) / per_row,
                    label: t.label,
                })
                .collect()
        }
    };
    // As a chart's y title: smaller type on a short map.
    let map_h = map_area.dim_in_pixel().1.saturating_sub(70);
    let heat_desc_size = ((map_h + 16) as f64 / (0.62 * y_desc.chars().count().max(1) as f64))
        .clamp(10.0, 14.0) as u32;
    let mut chart = ChartBuilder::on(&map_area)
        .margin_top(4)
        .margin_right(6)
        .caption(
            match limits {
                None => format!("{name} — sensitivity per neuron"),
                Some(_) => format!("{name} — distribution over steps"),
            },
            text(15, palette.foreground),
        )
        .x_label_area_size(40)
        .y_label_area_size(78)
        .build_cartesian_2d(xa.coord(), Ticked::new(y, &row_ticks))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .axis_style(palette.foreground.rgb())
        .label_style(text(13, palette.foreground))
        .axis_desc_style(text(heat_desc_size, palette.foreground))
        .x_desc("step")
        .y_desc(y_desc)
        .x_label_formatter(&|v| xa.label(*v))
        .y_label_formatter(&|r| label_at(&row_ticks, *r))
        .draw()?;
    chart.draw_series(cells.iter().map(|&(x0, x1, r, value)| {
        let colour = if value.is_finite() {
            palette.heat_colour((shade(value) - slo) / span)
        } else {
            palette.background
        };
        // Rows count down from the top: row 0 at the top.
        let top = rows as f64 - r as f64;
        Rectangle::new([(x0, top - 1.0), (x1, top)], colour.rgb().filled())
    }))?;
    let range = chart.plotting_area().get_pixel_range();
    draw_bad_and_events(&map_area, &range, xr, &[], events, palette, true)?;
    // The colourbar, its ticks and its scale.
    let (_, oy) = bar_area.get_base_pixel();
    let (top, bottom) = (range.1.start - oy, range.1.end - oy);
    let bx = 14;
    for yy in top..bottom {
        let t = 1.0 - (yy - top) as f64 / (bottom - top - 1).max(1) as f64;
        bar_area.draw(&Rectangle::new(
            [(bx, yy), (bx + 18, yy + 1)],
            palette.heat_colour(t).rgb().filled(),
        ))?;
    }
    bar_area.draw(&Rectangle::new(
        [(bx, top), (bx + 18, bottom)],
        palette.foreground.rgb(),
    ))?;
    let bar_ticks = match scale {
        Scale::Log10 => ticks::log10(slo, shi, 6),
        Scale::Linear => ticks::linear(slo, shi, 6),
    };
    for t in &bar_ticks {
        let f = (t.at - slo) / span;
        let yy = bottom - 1 - (f * (bottom - top - 1) as f64).round() as i32;
        bar_area.draw(&PathElement::new(
            vec![(bx + 18, yy), (bx + 23, yy)],
            palette.foreground.rgb(),
        ))?;
        bar_area.draw_text(
            &t.label,
            &text(12, palette.foreground).pos(Pos::new(HPos::Left, VPos::Center)),
            (bx + 26, yy),
        )?;
    }
    let what = match (limits, scale) {
        (Some(_), Scale::Log10) => "count (log)",
        (Some(_), Scale::Linear) => "count",
        (None, Scale::Log10) => "value (log)",
        (None, Scale::Linear) => "value",
    };
    bar_area.draw_text(what, &text(12, palette.foreground), (bx - 6, top - 18))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testkit::Synth;

    #[test]
    fn envelopes_break_at_non_finite_values_and_segments() {
        let nan = f64::NAN;
        let store = Synth::new(1)
            .series("train/loss", &[1.0, nan, f64::INFINITY, 2.0, 3.0])
            .resume_at(2)
            .series("train/loss", &[5.0, 6.0])
            .build();
        let s = store.series("train/loss").unwrap();
        let (paths, bad) = envelope(&s, step_range(&store), 100, Some);
        assert_eq!(paths.len(), 3, "{paths:?}");
        assert_eq!(paths[0], vec![(0.0, 1.0); 4]);
        assert_eq!(bad, vec![1.0, 2.0]);
        assert!(paths[2].iter().all(|&(_, y)| y >= 5.0));
    }

    #[test]
    fn axes_are_finite_and_ticks_near_zero_read_zero() {
        let store = Synth::new(1).series("a/b", &[1e308, -1e308]).build();
        let s = store.series("a/b").unwrap();
        let axis = Axis::of(&[s], true, 400);
        let (lo, hi) = axis.range;
        assert!(
            (hi - lo).is_finite() && lo < -1e306 && hi > 1e306,
            "{lo} {hi}"
        );
        assert!(axis.ticks.len() >= 2, "{:?}", axis.ticks);
        // The tick at zero reads 0, not a rounding error of the wide axis.
        assert!(
            axis.ticks.iter().any(|t| t.at == 0.0 && t.label == "0"),
            "{:?}",
            axis.ticks
        );
        let (lo, hi) = axis_range(1e17, 1e17 + 16.0);
        assert!(hi - lo >= 1e8, "{lo} {hi}");
        assert_eq!(axis_range(f64::NAN, 3.0), (0.0, 3.0));
    }

    #[test]
    fn log_scale_rule_is_three_decades_and_no_negatives() {
        assert_eq!(scale_for(1e-5, 1e-5, 2.0), Scale::Log10);
        assert_eq!(
            scale_for(0.0, 1e-5, 2.0),
            Scale::Log10,
            "zeros sit on the floor"
        );
        assert_eq!(scale_for(0.01, 0.01, 5.0), Scale::Linear, "2.7 decades");
        assert_eq!(scale_for(-1.0, 1e-5, 2.0), Scale::Linear);
        assert_eq!(scale_for(0.0, f64::INFINITY, 0.0), Scale::Linear);
    }

    #[test]
    fn panels_follow_the_data_or_the_choice() {
        let plain = Synth::new(1).series("custom/thing", &[1.0, 2.0]).build();
        let fig = Figure {
            width: 100,
            height: 100,
            palette: Palette::light(),
            panels: None,
            metrics: None,
        };
        assert_eq!(fig.panels_for(&plain), vec![PanelId::Other]);
        let grok = Synth::new(1)
            .series("train/loss", &[1.0, 0.5])
            .series("lc/train", &[3.0, 4.0])
            .series("custom/thing", &[1.0, 2.0])
            .build();
        assert_eq!(
            fig.panels_for(&grok),
            vec![PanelId::Loss, PanelId::Regions, PanelId::Other]
        );
        let only = Figure {
            metrics: Some(vec![regex::Regex::new("^lc/").unwrap()]),
            ..fig.clone()
        };
        assert_eq!(only.panels_for(&grok), vec![PanelId::Regions]);
        assert_eq!(parse_panel("collapse"), Some(PanelId::Collapse));
        assert_eq!(parse_panel("runs"), None);
    }
}
