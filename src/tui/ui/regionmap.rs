//! The region-map view of the linear-regions panel (key `m`): the partition
//! of the slice through three training points into linear regions
//! (`lc/slice/region`, docs/METRICS.md), as the run's newest map on show —
//! the replay clock's, the paused display's or the live run's.
//!
//! Each terminal cell shows two map pixels (`▀`, upper colour in front).
//! Pixels are coloured by region label (stable between records, so a
//! region keeps its colour as the run goes on) or by predicted class (`M`);
//! a pixel whose region differs from its right or lower neighbour is a
//! boundary and drawn in a dark shade of its colour, so boundaries show as
//! dark lines between bright regions, and where regions are smaller than a
//! pixel the map turns dark: density is visible at any size. Without colour
//! the boundaries are drawn with `▀ ▄ █`. Below the map: the anchors
//! A, B, C and a small chart of `lc/slice_regions` over steps.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use ratatui::Frame;

use super::{chart, Ctx};
use crate::export::palette::{category, category_edge, Rgb};
use crate::run::map::{CLASS_MAP, REGION_MAP, SLICE_REGIONS};
use crate::run::GridMap;
use crate::store::{MapSeries, RunStore};
use crate::tui::keymap::Hits;
use crate::tui::panels::{ChartSpec, PanelId};
use crate::tui::theme::Theme;

/// From this height the panel also draws the regions-over-steps chart.
pub const CHART_FROM_HEIGHT: u16 = 12;

/// What the region map is coloured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapColour {
    /// Each linear region its own colour (by its stable label).
    #[default]
    Region,
    /// The class the network predicts in each cell.
    Class,
}

impl MapColour {
    /// The other one.
    pub fn toggle(self) -> MapColour {
        match self {
            MapColour::Region => MapColour::Class,
            MapColour::Class => MapColour::Region,
        }
    }

    fn label(self) -> &'static str {
        match self {
            MapColour::Region => "region",
            MapColour::Class => "predicted class",
        }
    }
}

/// The map on show for one run: the region map and (when logged) the class
/// map of the same record, with the step and the number of regions.
#[derive(Debug, Clone, Copy)]
pub struct MapOnShow<'a> {
    /// Region labels.
    pub regions: &'a GridMap,
    /// Predicted classes, from the same record.
    pub classes: Option<&'a GridMap>,
    /// Step of the record.
    pub step: i64,
    /// Number of regions on the slice.
    pub count: usize,
    /// Maps of this run on show (this one is the last).
    pub index: usize,
}

/// The map of `series` logged with record `rec`, if any.
fn at_record(series: &MapSeries, rec: usize) -> Option<&GridMap> {
    let (mut lo, mut hi) = (0, series.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if series.record(mid) < rec {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    (lo < series.len() && series.record(lo) == rec).then(|| series.get(lo))
}

/// The newest region map within the first `limit` records of `store`
/// (`None`: all records).
pub fn map_on_show(store: &RunStore, limit: Option<usize>) -> Option<MapOnShow<'_>> {
    let series = store.maps().series(REGION_MAP)?;
    let records = limit.unwrap_or(usize::MAX).min(store.records());
    let index = series.visible_len(records).checked_sub(1)?;
    let rec = series.record(index);
    Some(MapOnShow {
        regions: series.get(index),
        classes: store
            .maps()
            .series(CLASS_MAP)
            .and_then(|c| at_record(c, rec)),
        step: store.record_step(rec),
        count: series.distinct(index),
        index,
    })
}

/// The panel title in map mode, as long as fits in `width` columns: the
/// number of regions on the slice and the step of the map on show.
pub fn title(ctx: &Ctx<'_>, width: u16) -> String {
    let panel = PanelId::Regions;
    let k = panel.index() + 1;
    let name = panel.title();
    let Some((n, step)) = ctx.shown.first().and_then(|&r| {
        map_on_show(&ctx.feeds[r].store, ctx.app.limit(r)).map(|m| (m.count, m.step))
    }) else {
        return format!(" {k} {name} · region map ");
    };
    let regions = format!("{n} region{}", if n == 1 { "" } else { "s" });
    [
        format!(" {k} {name} · region map: {regions} on the slice, step {step} "),
        format!(" {k} {name} · {regions} @ step {step} "),
        format!(" {k} Regions · {regions} @{step} "),
        format!(" {k} {regions} "),
    ]
    .into_iter()
    .find(|t| t.chars().count() + 2 <= width as usize)
    .unwrap_or_default()
}

/// The largest `(width, height)` in pixels of a `map_w × map_h` map that
/// fits `cols × rows` terminal cells (two pixels per cell, square pixels),
/// at least 1 × 1.
pub fn fit(map_w: usize, map_h: usize, cols: u16, rows: u16) -> (usize, usize) {
    let (aw, ah) = (cols as usize, rows as usize * 2);
    if map_w == 0 || map_h == 0 || aw == 0 || ah == 0 {
        return (0, 0);
    }
    if aw * map_h <= ah * map_w {
        (aw, (aw * map_h / map_w).max(1))
    } else {
        ((ah * map_w / map_h).max(1), ah)
    }
}

/// One pixel of a drawn map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pixel {
    /// The region label of the cell under it.
    pub region: u32,
    /// The value it is coloured by (region label or class).
    pub colour: u32,
    /// Its region differs from its right or lower neighbour's.
    pub boundary: bool,
}

/// The map resampled to `w × h` pixels (nearest cell centre), row-major,
/// with boundaries between neighbouring pixels of different regions.
pub fn raster(
    regions: &[u32],
    colour: &[u32],
    map_w: usize,
    map_h: usize,
    w: usize,
    h: usize,
) -> Vec<Pixel> {
    let cell = |px: usize, py: usize| {
        let i = ((px * 2 + 1) * map_w / (w * 2)).min(map_w - 1);
        let j = ((py * 2 + 1) * map_h / (h * 2)).min(map_h - 1);
        j * map_w + i
    };
    let mut out = Vec::with_capacity(w * h);
    for py in 0..h {
        for px in 0..w {
            let k = cell(px, py);
            let region = regions[k];
            let differs = |qx: usize, qy: usize| regions[cell(qx, qy)] != region;
            let boundary =
                (px + 1 < w && differs(px + 1, py)) || (py + 1 < h && differs(px, py + 1));
            out.push(Pixel {
                region,
                colour: colour.get(k).copied().unwrap_or(region),
                boundary,
            });
        }
    }
    out
}

/// The terminal colour of category `k` (region label or class).
pub fn category_color(k: u32) -> Color {
    let Rgb(r, g, b) = category(k);
    Color::Rgb(r, g, b)
}

/// The terminal colour of a boundary pixel of category `k`.
pub fn boundary_color(k: u32) -> Color {
    let Rgb(r, g, b) = category_edge(k);
    Color::Rgb(r, g, b)
}

/// The drawn map: pixels, anchors, colours.
struct MapWidget<'a> {
    pixels: &'a [Pixel],
    width: usize,
    height: usize,
    /// Anchor letters at (column, row) within the map.
    anchors: Vec<(char, u16, u16)>,
    theme: &'a Theme,
}

impl Widget for MapWidget<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let rows = self.height.div_ceil(2);
        for cy in 0..rows.min(area.height as usize) {
            for cx in 0..self.width.min(area.width as usize) {
                let top = self.pixels[cy * 2 * self.width + cx];
                let bottom =
                    (cy * 2 + 1 < self.height).then(|| self.pixels[(cy * 2 + 1) * self.width + cx]);
                let Some(cell) = buf.cell_mut((area.x + cx as u16, area.y + cy as u16)) else {
                    continue;
                };
                if self.theme.monochrome {
                    let b = bottom.is_some_and(|p| p.boundary);
                    cell.set_char(match (top.boundary, b) {
                        (false, false) => ' ',
                        (true, false) => '▀',
                        (false, true) => '▄',
                        (true, true) => '█',
                    });
                    continue;
                }
                let colour = |p: Pixel| {
                    if p.boundary {
                        boundary_color(p.colour)
                    } else {
                        category_color(p.colour)
                    }
                };
                let bg = bottom.map_or(Color::Reset, colour);
                cell.set_char('▀')
                    .set_style(Style::new().fg(colour(top)).bg(bg));
            }
        }
        let style = if self.theme.monochrome {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::new()
                .fg(Color::White)
                .bg(Color::Black)
                .add_modifier(Modifier::BOLD)
        };
        for &(c, x, y) in &self.anchors {
            if x < area.width && y < area.height {
                if let Some(cell) = buf.cell_mut((area.x + x, area.y + y)) {
                    cell.set_char(c).set_style(style);
                }
            }
        }
    }
}

/// Draws the map view of the linear-regions panel into `area`.
pub fn render(frame: &mut Frame<'_>, ctx: &Ctx<'_>, area: Rect, hits: &mut Hits) {
    let app = ctx.app;
    let theme = &app.theme;
    let say = |frame: &mut Frame<'_>, text: String| {
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.dim)
                .wrap(Wrap { trim: true }),
            area,
        );
    };
    let Some(&run) = ctx.shown.first() else {
        say(frame, "no runs yet".into());
        return;
    };
    let store = &ctx.feeds[run].store;
    let Some(series) = store.maps().series(REGION_MAP) else {
        say(
            frame,
            format!(
                "no region map in this run. Expected: maps {REGION_MAP}, {CLASS_MAP} \
                 (grokscope train and the Recorder log them with lc/*). m: back to the curves"
            ),
        );
        return;
    };
    let Some(shown) = map_on_show(store, app.limit(run)) else {
        let first = store.record_step(series.record(0));
        say(
            frame,
            format!("no region map yet at this point of the run: the first is at step {first}"),
        );
        return;
    };
    let chart = area.height >= CHART_FROM_HEIGHT && store.series(SLICE_REGIONS).is_some();
    let chart_h = if chart {
        (area.height / 3).max(chart::MIN_HEIGHT)
    } else {
        0
    };
    let [map_area, caption, chart_area] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(chart_h),
    ])
    .areas(area);
    let m = shown.regions;
    let (w, h) = fit(m.width(), m.height(), map_area.width, map_area.height);
    if w < 2 || h < 2 {
        say(frame, "too small for the region map".into());
        return;
    }
    let regions = m.values();
    let colour = match (app.map_colour, shown.classes) {
        (MapColour::Class, Some(c)) if c.cells() == m.cells() => c.values(),
        _ => Vec::new(),
    };
    let pixels = raster(&regions, &colour, m.width(), m.height(), w, h);
    let x0 = map_area.x + (map_area.width - w as u16) / 2;
    let anchors = m
        .marks
        .iter()
        .enumerate()
        .map(|(k, mark)| {
            let letter = mark
                .label
                .as_deref()
                .and_then(|l| l.chars().next())
                .unwrap_or(char::from(b'A' + (k % 26) as u8));
            let px = (mark.x / m.width() as f64 * w as f64)
                .floor()
                .clamp(0.0, w as f64 - 1.0);
            let py = (mark.y / m.height() as f64 * h as f64)
                .floor()
                .clamp(0.0, h as f64 - 1.0);
            (letter, px as u16, (py as u16) / 2)
        })
        .collect();
    frame.render_widget(
        MapWidget {
            pixels: &pixels,
            width: w,
            height: h,
            anchors,
            theme,
        },
        Rect {
            x: x0,
            width: w as u16,
            height: (h.div_ceil(2) as u16).min(map_area.height),
            ..map_area
        },
    );
    let mut spans: Vec<Span> = Vec::new();
    let colour_label = if app.map_colour == MapColour::Class && shown.classes.is_none() {
        "region (no class map logged)"
    } else {
        app.map_colour.label()
    };
    spans.push(Span::styled(format!("colour: {colour_label}  "), theme.dim));
    for mark in &m.marks {
        if let Some(l) = &mark.label {
            spans.push(Span::styled(format!("{l}  "), theme.base));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), caption);
    if chart {
        let spec = ChartSpec {
            title: "regions on the slice".into(),
            metrics: vec![SLICE_REGIONS.into()],
            unit: "regions",
            log_ok: true,
            right: Vec::new(),
            right_unit: "",
        };
        let log_y = app.log_y[PanelId::Regions.index()];
        hits.charts
            .extend(chart::render(frame, ctx, &spec, log_y, chart_area));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_keeps_its_aspect_within_the_area() {
        // 96×64 (3:2) in 40×10 cells = 40×20 pixels: height-bound.
        assert_eq!(fit(96, 64, 40, 10), (30, 20));
        assert_eq!(fit(96, 64, 30, 40), (30, 20));
        assert_eq!(fit(96, 64, 0, 10), (0, 0));
        assert_eq!(fit(4, 4, 3, 1), (2, 2));
    }

    #[test]
    fn boundaries_are_where_neighbouring_regions_differ() {
        // Two regions split down the middle of a 4×2 map, drawn 1:1.
        let regions = [0, 0, 1, 1, 0, 0, 1, 1];
        let px = raster(&regions, &[], 4, 2, 4, 2);
        let b: Vec<bool> = px.iter().map(|p| p.boundary).collect();
        assert_eq!(b, [false, true, false, false, false, true, false, false]);
        assert!(px.iter().all(|p| p.colour == p.region));
        // Upsampled ×2: still one pixel-wide line.
        let px = raster(&regions, &[5; 8], 4, 2, 8, 4);
        assert_eq!(px.iter().filter(|p| p.boundary).count(), 4);
        assert!(px.iter().all(|p| p.colour == 5));
    }

    #[test]
    fn neighbouring_labels_get_different_colours() {
        for k in 0..64 {
            assert_ne!(category_color(k), category_color(k + 1));
        }
    }
}
