//! `export --png FILE --map-steps 0,1000,…`: the region map of the slice
//! (`lc/slice/region`, docs/METRICS.md) at chosen steps, as a row of small
//! multiples — the way Humayun et al.'s figures show regions gathering
//! around the training points and then migrating.
//!
//! Each map is drawn cell by cell (a block of pixels per cell), coloured by
//! region label or by predicted class. Where a cell's region differs from
//! its right or lower neighbour's, a dark line (a darker shade of the
//! cell's colour) is drawn on that edge — or, for cells under three pixels,
//! the whole cell is darkened: those are the region boundaries. The
//! anchors A, B, C are marked on every map.

use std::path::Path;

use plotters::prelude::*;

use super::palette::{category, category_edge, Palette};
use super::png::{
    create, encode_png, register_embedded_font, render_error, text, write_bytes, write_png,
    DrawError,
};
use super::ExportError;
use crate::run::map::{CLASS_MAP, REGION_MAP};
use crate::run::GridMap;
use crate::store::{MapSeries, RunStore};
use crate::tui::ui::MapColour;

/// Picture width in pixels.
pub const WIDTH: u32 = 1600;
/// At most this many maps in one row.
pub const MAX_MAPS: usize = 12;
const MARGIN: u32 = 12;
const HEADER_PX: u32 = 40;
const CAPTION_PX: u32 = 24;
const FOOTER_PX: u32 = 30;

/// Which stored map stands for a requested step: the one nearest to it
/// (the earlier one on a tie).
pub fn nearest_map(store: &RunStore, series: &MapSeries, step: i64) -> Option<usize> {
    (0..series.len()).min_by_key(|&i| {
        let s = store.record_step(series.record(i));
        (s.abs_diff(step), s)
    })
}

/// The region-map series and, per map to draw, its index and the step
/// asked for.
type Picks<'a> = (&'a MapSeries, Vec<(usize, i64)>);

/// The maps to draw for `steps`: (index into the region-map series, the
/// step asked for). Fails when the run has no region map or too many steps
/// are asked for.
fn pick<'a>(store: &'a RunStore, steps: &[i64]) -> Result<Picks<'a>, String> {
    let series = store
        .maps()
        .series(REGION_MAP)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            format!(
                "the run has no region map ({REGION_MAP}); grokscope train and the Recorder log \
                 one with lc/*"
            )
        })?;
    if steps.is_empty() || steps.len() > MAX_MAPS {
        return Err(format!(
            "--map-steps takes 1 to {MAX_MAPS} steps, got {}",
            steps.len()
        ));
    }
    let picks = steps
        .iter()
        .map(|&s| {
            (
                nearest_map(store, series, s).expect("a non-empty series"),
                s,
            )
        })
        .collect();
    Ok((series, picks))
}

/// The size in pixels of the picture of `n` maps of `w × h` cells, and the
/// side of one cell in pixels.
fn layout(n: usize, w: usize, h: usize) -> (u32, u32, u32) {
    let slot = (WIDTH - MARGIN) / n as u32 - MARGIN;
    let cell = (slot / w as u32).clamp(1, 8);
    let height = HEADER_PX + cell * h as u32 + CAPTION_PX + FOOTER_PX + MARGIN;
    (WIDTH, height, cell)
}

/// Renders the maps nearest to `steps` side by side into an RGB buffer;
/// returns it with its width and height.
pub fn render_maps(
    run: &str,
    store: &RunStore,
    steps: &[i64],
    colour: MapColour,
    palette: &Palette,
) -> Result<(Vec<u8>, u32, u32), String> {
    register_embedded_font();
    let (series, picks) = pick(store, steps)?;
    let (mw, mh) = picks
        .iter()
        .map(|&(i, _)| (series.get(i).width(), series.get(i).height()))
        .fold((1, 1), |a, b| (a.0.max(b.0), a.1.max(b.1)));
    let (width, height, cell) = layout(picks.len(), mw, mh);
    let mut buf = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        draw(&root, run, store, series, &picks, colour, cell, palette).map_err(|e| e.0)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok((buf, width, height))
}

/// Renders the maps and writes them to `path` as PNG.
pub fn export_map_png(
    run: &str,
    store: &RunStore,
    steps: &[i64],
    colour: MapColour,
    palette: &Palette,
    path: &Path,
) -> Result<(), ExportError> {
    let file = create(path)?;
    let (rgb, w, h) = render_maps(run, store, steps, colour, palette)
        .map_err(|message| render_error(path, message))?;
    write_png(file, path, &rgb, w, h)
}

/// Renders the maps and writes them to `path` as SVG: the same picture as
/// [`export_map_png`], embedded as one PNG image (a vector drawing of a
/// 96 × 64 map is ~6,000 rectangles, ~0.5 MB per map), with the run's name
/// and the steps as the SVG's title, so the figure drops into an SVG or
/// LaTeX workflow at the PNG's size.
pub fn export_map_svg(
    run: &str,
    store: &RunStore,
    steps: &[i64],
    colour: MapColour,
    palette: &Palette,
    path: &Path,
) -> Result<(), ExportError> {
    use base64::Engine as _;
    let file = create(path)?;
    let (rgb, w, h) = render_maps(run, store, steps, colour, palette)
        .map_err(|message| render_error(path, message))?;
    let mut png = Vec::new();
    encode_png(&mut png, &rgb, w, h).map_err(|e| render_error(path, e.to_string()))?;
    let steps_text: Vec<String> = steps.iter().map(i64::to_string).collect();
    let title = xml_text(&format!(
        "{run}: region maps of the slice at steps {}",
        steps_text.join(", ")
    ));
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n<title>{title}</title>\n<image width=\"{w}\" height=\"{h}\" href=\"data:image/png;base64,{}\"/>\n</svg>\n",
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    write_bytes(file, path, svg.as_bytes())
}

/// `s` as XML character data: markup characters escaped, and control and
/// bidi characters (which a log's run name may hold) written visibly.
fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in crate::text::printable(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The class map logged with the same record as region map `i`.
fn classes_of<'a>(store: &'a RunStore, series: &MapSeries, i: usize) -> Option<&'a GridMap> {
    let c = store.maps().series(CLASS_MAP)?;
    let rec = series.record(i);
    (0..c.len()).find(|&k| c.record(k) == rec).map(|k| c.get(k))
}

#[allow(clippy::too_many_arguments)]
fn draw(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    run: &str,
    store: &RunStore,
    series: &MapSeries,
    picks: &[(usize, i64)],
    colour: MapColour,
    cell: u32,
    palette: &Palette,
) -> Result<(), DrawError> {
    root.fill(&palette.background.rgb())?;
    let by = match colour {
        MapColour::Region => "region",
        MapColour::Class => "predicted class",
    };
    root.draw_text(
        &format!("{run}   linear regions on the slice through A, B, C   colour: {by}"),
        &text(20, palette.title),
        (MARGIN as i32, 10),
    )?;
    let slot = (WIDTH - MARGIN) / picks.len() as u32;
    let boundary = palette.foreground.rgb();
    // Cells of at least this many pixels show a boundary as a one-pixel
    // dark line on their right / lower edge; smaller ones turn dark whole.
    const LINES_FROM: i32 = 3;
    for (k, &(i, asked)) in picks.iter().enumerate() {
        let map = series.get(i);
        let (w, h) = (map.width(), map.height());
        let regions = map.values();
        let colours = match (colour, classes_of(store, series, i)) {
            (MapColour::Class, Some(c)) if c.cells() == map.cells() => c.values(),
            _ => regions.clone(),
        };
        let x0 = (MARGIN + k as u32 * slot) as i32;
        let y0 = HEADER_PX as i32;
        let c = cell as i32;
        for j in 0..h {
            for x in 0..w {
                let r = regions[j * w + x];
                let right = x + 1 < w && regions[j * w + x + 1] != r;
                let below = j + 1 < h && regions[(j + 1) * w + x] != r;
                let k = colours[j * w + x];
                let (px, py) = (x0 + x as i32 * c, y0 + j as i32 * c);
                // The bitmap backend fills [x0, x1) × [y0, y1).
                let fill = |a: (i32, i32), b: (i32, i32), rgb: RGBColor| {
                    root.draw(&Rectangle::new([a, b], rgb.filled()))
                };
                if c < LINES_FROM {
                    let rgb = if right || below {
                        category_edge(k)
                    } else {
                        category(k)
                    };
                    fill((px, py), (px + c, py + c), rgb.rgb())?;
                    continue;
                }
                fill((px, py), (px + c, py + c), category(k).rgb())?;
                let edge = category_edge(k).rgb();
                if right {
                    fill((px + c - 1, py), (px + c, py + c), edge)?;
                }
                if below {
                    fill((px, py + c - 1), (px + c, py + c), edge)?;
                }
            }
        }
        for mark in &map.marks {
            let letter = mark
                .label
                .as_deref()
                .and_then(|l| l.chars().next())
                .unwrap_or('?');
            let (px, py) = (
                x0 + (mark.x * f64::from(cell)) as i32,
                y0 + (mark.y * f64::from(cell)) as i32,
            );
            root.draw(&Circle::new((px, py), 7, palette.background.rgb().filled()))?;
            root.draw(&Circle::new((px, py), 7, boundary.stroke_width(1)))?;
            root.draw_text(
                &letter.to_string(),
                &text(12, palette.foreground),
                (px - 3, py - 6),
            )?;
        }
        let step = store.record_step(series.record(i));
        let mut caption = format!("step {step}: {} regions", series.distinct(i));
        if step != asked {
            caption.push_str(&format!(" (nearest to {asked})"));
        }
        root.draw_text(
            &caption,
            &text(14, palette.foreground),
            (x0, y0 + (cell * h as u32) as i32 + 4),
        )?;
    }
    // The anchors, from the last map drawn (they are the run's).
    let last = series.get(picks[picks.len() - 1].0);
    let anchors: Vec<&str> = last
        .marks
        .iter()
        .filter_map(|m| m.label.as_deref())
        .collect();
    let (_, height) = root.dim_in_pixel();
    root.draw_text(
        &anchors.join("    "),
        &text(14, palette.dim),
        (MARGIN as i32, (height - FOOTER_PX) as i32 + 4),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_fits_the_width_and_cells_stay_square() {
        let (w, h, cell) = layout(4, 96, 64);
        assert_eq!(w, WIDTH);
        assert!(4 * (cell * 96 + MARGIN) <= WIDTH);
        assert_eq!(h, HEADER_PX + cell * 64 + CAPTION_PX + FOOTER_PX + MARGIN);
        assert_eq!(layout(12, 96, 64).2, 1);
    }
}
