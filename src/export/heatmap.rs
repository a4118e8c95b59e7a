//! The neuron-sensitivity heatmap: one column per logged `sens/<layer>`
//! vector (at its step), one row per neuron, colour by value.

use plotters::prelude::*;

use super::lines::draw_markers;
use super::palette::Palette;
use super::png::{text, Area, DrawError, Panel};
use crate::analysis::Event;
use crate::numfmt::{precise as format_value, short as short_number};
use crate::store::VectorView;

/// At most this many columns are drawn (vectors are sampled evenly).
pub const MAX_COLUMNS: usize = 400;
/// At most this many rows are drawn (neighbouring neurons share a row,
/// which shows their largest value).
pub const MAX_ROWS: usize = 200;

/// Colours follow log10 of the value when all values are positive and the
/// largest is at least this many times the smallest.
pub const LOG_COLOUR_RATIO: f64 = 100.0;

/// Draws `v` as a heatmap over the steps `x`.
pub(super) fn draw_heatmap(
    area: &Area<'_>,
    v: &VectorView<'_>,
    x: (f64, f64),
    events: &[Event],
    palette: &Palette,
) -> Result<(), DrawError> {
    let n = v.len();
    let width = v.max_width();
    let col_step = n.div_ceil(MAX_COLUMNS).max(1);
    let row_step = width.div_ceil(MAX_ROWS).max(1);
    let rows = width.div_ceil(row_step);
    // Cells: (column start step, column end step, row, value).
    let cols: Vec<usize> = (0..n).step_by(col_step).collect();
    let mut cells = Vec::with_capacity(cols.len() * rows);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let gap = if n > 1 {
        ((v.step(n - 1) - v.step(0)) as f64 / (n - 1) as f64).max(1.0)
    } else {
        (x.1 - x.0) / 50.0
    };
    // A column ends at its vector's step: sensitivity at a checkpoint
    // summarises the checkpoints up to it.
    for (k, &i) in cols.iter().enumerate() {
        let x1 = v.step(i) as f64;
        let x0 = k
            .checked_sub(1)
            .map(|p| v.step(cols[p]) as f64)
            .filter(|&s| s < x1)
            .unwrap_or(x1 - gap * col_step as f64);
        let values = v.get(i);
        for r in 0..rows {
            let group =
                &values[(r * row_step).min(values.len())..((r + 1) * row_step).min(values.len())];
            if group.is_empty() {
                continue;
            }
            let finite = group.iter().copied().filter(|g| g.is_finite());
            let value = finite.fold(f64::NAN, f64::max);
            if value.is_finite() {
                lo = lo.min(value);
                hi = hi.max(value);
            }
            cells.push((x0, x1, r, value));
        }
    }
    let x = (
        cells.iter().map(|c| c.0).fold(x.0, f64::min),
        cells.iter().map(|c| c.1).fold(x.1, f64::max),
    );
    let y = (0.0, rows as f64);
    // Sensitivities are heavy-tailed: over two decades, colour by log10 so
    // the few wild neurons do not paint everything else the lowest colour.
    let log = lo > 0.0 && hi / lo >= LOG_COLOUR_RATIO;
    let shade = |v: f64| if log { v.log10() } else { v };
    let (slo, shi) = (shade(lo), shade(hi));
    let title = format!(
        "{} — {} ({}colour {}…{})",
        Panel::Sensitivity.title(),
        v.name(),
        if log { "log " } else { "" },
        short_number(lo),
        short_number(hi)
    );
    let mut chart = ChartBuilder::on(area)
        .margin(6)
        .caption(title, text(18, palette.title))
        .x_label_area_size(28)
        .y_label_area_size(70)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .axis_style(palette.border.rgb())
        .label_style(text(12, palette.foreground))
        .axis_desc_style(text(12, palette.dim))
        .x_desc("step")
        .y_desc(if row_step > 1 {
            format!("neuron (÷{row_step})")
        } else {
            "neuron".into()
        })
        .x_label_formatter(&|v| format_value(*v))
        .y_label_formatter(&|v| format!("{}", (*v * row_step as f64).round() as i64))
        .draw()?;
    let span = if shi > slo { shi - slo } else { 1.0 };
    chart.draw_series(cells.into_iter().map(|(x0, x1, r, value)| {
        let colour = if value.is_finite() {
            palette.heat_colour((shade(value) - slo) / span)
        } else {
            palette.nonfinite
        };
        Rectangle::new(
            [(x0, r as f64), (x1, r as f64 + 1.0)],
            colour.rgb().filled(),
        )
    }))?;
    draw_markers(&mut chart, events, x, y, palette)
}
