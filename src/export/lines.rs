//! The line panels (Loss, Softmax collapse, Linear regions, and
//! Sensitivity's scalars when it has no vectors): which metrics fill them,
//! their axes, min/max envelopes from the store's buckets, NaN marks and
//! event markers.

use plotters::prelude::*;

use super::heatmap::draw_heatmap;
use super::palette::Palette;
use super::png::{text, Area, DrawError, Panel};
use crate::analysis::Event;
use crate::numfmt::precise as format_value;
use crate::store::{RunStore, SeriesView};

/// Which of a list of names the store has.
fn present<'a>(store: &'a RunStore, names: &[&str]) -> Vec<SeriesView<'a>> {
    names
        .iter()
        .filter_map(|n| store.series(n))
        .filter(|s| !s.is_empty())
        .collect()
}

/// Metrics whose name starts with `prefix`, at most `max`.
fn with_prefix<'a>(store: &'a RunStore, prefix: &str, max: usize) -> Vec<SeriesView<'a>> {
    store
        .metric_names()
        .filter(|n| n.starts_with(prefix))
        .filter_map(|n| store.series(n))
        .filter(|s| !s.is_empty())
        .take(max)
        .collect()
}

/// How values map onto a panel's y axis.
#[derive(Debug, Clone, Copy, PartialEq)]
enum YScale {
    Linear,
    Log10,
}

impl YScale {
    fn map(self, v: f64) -> Option<f64> {
        match self {
            _ if !v.is_finite() => None,
            YScale::Linear => Some(v),
            YScale::Log10 => (v > 0.0).then(|| v.log10()),
        }
    }

    fn label(self, y: f64) -> String {
        match self {
            YScale::Linear => format_value(y),
            YScale::Log10 => {
                // Powers of ten with one digit (0.01), others with two (0.032); 1e-7.
                let v = 10f64.powf(y);
                let magnitude = y.floor() as i32;
                if (-3..5).contains(&magnitude) {
                    let whole = (y - y.round()).abs() < 1e-9;
                    let decimals = (i32::from(!whole) - magnitude).max(0) as usize;
                    format!("{v:.decimals$}")
                } else {
                    format!("{v:.1e}").replace(".0e", "e")
                }
            }
        }
    }
}

/// The series of a line panel: primary (left axis) and secondary (right
/// axis, 0..1, for accuracies).
fn panel_series<'a>(
    panel: Panel,
    store: &'a RunStore,
) -> (Vec<SeriesView<'a>>, Vec<SeriesView<'a>>) {
    match panel {
        Panel::Loss => {
            let mut loss = present(store, &["train/loss", "test/loss"]);
            loss.extend(
                store
                    .metric_names()
                    .filter(|n| n.ends_with("/loss") && *n != "train/loss" && *n != "test/loss")
                    .filter_map(|n| store.series(n))
                    .take(4),
            );
            (loss, present(store, &["train/acc", "test/acc"]))
        }
        Panel::Collapse => {
            let fractions = present(store, &["sc/collapsed", "sc/zero_loss", "sc/nlm_cos"]);
            if fractions.is_empty() {
                (
                    present(store, &["sc/margin", "norm/logits", "norm/weights"]),
                    Vec::new(),
                )
            } else {
                (fractions, Vec::new())
            }
        }
        Panel::Regions => {
            let sets = present(store, &["lc/train", "lc/test", "lc/random"]);
            if sets.is_empty() {
                (with_prefix(store, "lc/", 8), Vec::new())
            } else {
                (sets, Vec::new())
            }
        }
        Panel::Sensitivity => (
            present(store, &["sens/net_variability", "sens/top_share"]),
            Vec::new(),
        ),
    }
}

/// The y range of some series on a scale, padded; None if nothing finite.
fn y_range(series: &[SeriesView<'_>], scale: YScale) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        let e = s.total_extent();
        if !e.has_finite() {
            continue;
        }
        let (a, b) = match scale {
            YScale::Linear => (Some(e.min), Some(e.max)),
            YScale::Log10 => (scale.map(e.min), scale.map(e.max)),
        };
        if let (Some(a), Some(b)) = (a, b) {
            lo = lo.min(a);
            hi = hi.max(b);
        }
    }
    if lo > hi {
        return None;
    }
    let (lo, hi) = (
        lo.clamp(-AXIS_LIMIT, AXIS_LIMIT),
        hi.clamp(-AXIS_LIMIT, AXIS_LIMIT),
    );
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        0.5_f64.max(lo.abs() * 0.1)
    };
    Some(axis_range(lo - pad, hi + pad))
}

/// `v`, or 0 when it is zero but for rounding: ticks of a wide axis are
/// computed in steps whose errors dwarf zero ("-2.5e291" on ±1e307).
fn snap_to_zero(v: f64, axis: (f64, f64)) -> f64 {
    if v.abs() < (axis.1 - axis.0) * 1e-12 {
        0.0
    } else {
        v
    }
}

/// Largest magnitude an axis reaches. Values of a run may span ±1.8e308,
/// whose difference is infinite: plotters' tick search then never ends.
/// Values beyond the limit are drawn past the edge of the panel.
const AXIS_LIMIT: f64 = 1e307;

/// An axis plotters can draw: finite, increasing, and at least a
/// billionth of its magnitude wide (two values that differ in the last
/// bits of an `f64` would leave ticks no room to advance).
pub(super) fn axis_range(lo: f64, hi: f64) -> (f64, f64) {
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

/// Min/max envelope paths of a series (one path per segment), about one
/// bucket per pixel column, and the steps of buckets holding NaN/Inf.
fn envelope(
    s: &SeriesView<'_>,
    x: (f64, f64),
    columns: usize,
    scale: YScale,
) -> (Vec<Vec<(f64, f64)>>, Vec<f64>) {
    let mut paths: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut bad = Vec::new();
    let mut segment = usize::MAX;
    for b in s.buckets(x.0 as i64..=x.1 as i64, columns.max(1)) {
        if !b.extent.has_finite() {
            // Only NaN/Inf here: break the line so it does not bridge them.
            bad.push((b.first_step as f64 + b.last_step as f64) / 2.0);
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
        let mid = (b.first_step as f64 + b.last_step as f64) / 2.0;
        if let Some(y) = scale.map(b.first) {
            path.push((b.first_step as f64, y));
        }
        if b.extent.has_finite() {
            if let (Some(lo), Some(hi)) = (scale.map(b.extent.min), scale.map(b.extent.max)) {
                path.push((mid, lo));
                path.push((mid, hi));
            }
        }
        if let Some(y) = scale.map(b.last) {
            path.push((b.last_step as f64, y));
        }
        if b.extent.non_finite.any() {
            bad.push(mid);
        }
    }
    paths.retain(|p| !p.is_empty());
    (paths, bad)
}

/// A panel with no data: its frame, title and which metrics would fill it.
pub(super) fn draw_empty(
    area: &Area<'_>,
    panel: Panel,
    palette: &Palette,
) -> Result<(), DrawError> {
    let (w, h) = area.dim_in_pixel();
    area.draw(&Rectangle::new(
        [(0, 0), (w as i32 - 1, h as i32 - 1)],
        palette.border.rgb(),
    ))?;
    area.draw_text(panel.title(), &text(18, palette.title), (10, 8))?;
    let cy = h as i32 / 2 - 20;
    area.draw_text("no data in this run", &text(16, palette.dim), (20, cy))?;
    area.draw_text(
        &format!("logs of {} would fill it", panel.expected()),
        &text(13, palette.dim),
        (20, cy + 26),
    )?;
    Ok(())
}

/// Vertical event markers with short labels over a chart's plotting area.
pub(super) fn draw_markers<DB: DrawingBackend>(
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    events: &[Event],
    x: (f64, f64),
    y: (f64, f64),
    palette: &Palette,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    for (k, e) in events.iter().enumerate() {
        let sx = e.step as f64;
        if sx < x.0 || sx > x.1 {
            continue;
        }
        let colour = palette.severity_colour(e.severity).rgb();
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(sx, y.0), (sx, y.1)],
                colour.stroke_width(1),
            )))
            .map_err(|e| DrawError(e.to_string()))?;
        let label = Text::new(
            e.kind.short_label().to_string(),
            // Three staggered rows, so labels of close events stay legible.
            (sx, y.1 - (k % 3) as f64 * 0.05 * (y.1 - y.0)),
            text(12, palette.severity_colour(e.severity)),
        );
        chart
            .draw_series(std::iter::once(label))
            .map_err(|e| DrawError(e.to_string()))?;
    }
    Ok(())
}

pub(super) fn draw_line_panel(
    area: &Area<'_>,
    panel: Panel,
    store: &RunStore,
    x: (f64, f64),
    events: &[Event],
    palette: &Palette,
) -> Result<(), DrawError> {
    let (primary, secondary) = panel_series(panel, store);
    if primary.is_empty() && secondary.is_empty() {
        return draw_empty(area, panel, palette);
    }
    let log = panel == Panel::Loss
        && !primary.is_empty()
        && primary.iter().all(|s| {
            let e = s.total_extent();
            !e.has_finite() || e.min > 0.0
        });
    let scale = if log { YScale::Log10 } else { YScale::Linear };
    let y = y_range(&primary, scale).unwrap_or((0.0, 1.0));
    let title = if log {
        format!("{} (log scale)", panel.title())
    } else {
        panel.title().to_string()
    };
    let mut chart = ChartBuilder::on(area)
        .margin(6)
        .caption(title, text(18, palette.title))
        .x_label_area_size(28)
        .y_label_area_size(70)
        .right_y_label_area_size(if secondary.is_empty() { 0 } else { 50 })
        .build_cartesian_2d(x.0..x.1, y.0..y.1)?
        .set_secondary_coord(x.0..x.1, -0.02..1.02);
    chart
        .configure_mesh()
        .bold_line_style(palette.border.rgb().mix(0.5))
        .light_line_style(palette.border.rgb().mix(0.15))
        .axis_style(palette.border.rgb())
        .label_style(text(12, palette.foreground))
        .axis_desc_style(text(12, palette.dim))
        .x_desc("step")
        .x_label_formatter(&|v| format_value(*v))
        .y_label_formatter(&|v| scale.label(snap_to_zero(*v, y)))
        .draw()?;
    if !secondary.is_empty() {
        chart
            .configure_secondary_axes()
            .axis_style(palette.border.rgb())
            .label_style(text(12, palette.foreground))
            .y_desc("accuracy")
            .axis_desc_style(text(12, palette.dim))
            .draw()?;
    }
    let (px, _) = area.dim_in_pixel();
    let columns = px.saturating_sub(130) as usize;
    let mut bad_steps = Vec::new();
    for (k, s) in primary.iter().enumerate() {
        let colour = palette.series_colour(k).rgb();
        let (paths, bad) = envelope(s, x, columns, scale);
        bad_steps.extend(bad);
        for (j, path) in paths.into_iter().enumerate() {
            let drawn = chart.draw_series(LineSeries::new(path, colour.stroke_width(2)))?;
            if j == 0 {
                drawn
                    .label(s.name())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
            }
        }
    }
    for (k, s) in secondary.iter().enumerate() {
        let colour = palette.series_colour(primary.len() + k).rgb();
        let (paths, bad) = envelope(s, x, columns, YScale::Linear);
        bad_steps.extend(bad);
        for (j, path) in paths.into_iter().enumerate() {
            let drawn =
                chart.draw_secondary_series(LineSeries::new(path, colour.stroke_width(1)))?;
            if j == 0 {
                drawn
                    .label(format!("{} (right)", s.name()))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
            }
        }
    }
    let nonfinite = palette.nonfinite.rgb();
    let tick = 0.04 * (y.1 - y.0);
    chart.draw_series(bad_steps.into_iter().map(|sx| {
        PathElement::new(vec![(sx, y.1), (sx, y.1 - tick)], nonfinite.stroke_width(3))
    }))?;
    draw_markers(&mut chart, events, x, y, palette)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(palette.background.rgb().mix(0.85))
        .border_style(palette.border.rgb())
        .label_font(text(12, palette.foreground))
        .draw()?;
    Ok(())
}

pub(super) fn draw_sensitivity(
    area: &Area<'_>,
    store: &RunStore,
    x: (f64, f64),
    events: &[Event],
    palette: &Palette,
) -> Result<(), DrawError> {
    let vector = store
        .vector_names()
        .filter(|n| n.starts_with("sens/"))
        .filter_map(|n| store.vector(n))
        .find(|v| !v.is_empty() && v.max_width() > 0);
    match vector {
        Some(v) => draw_heatmap(area, &v, x, events, palette),
        None => draw_line_panel(area, Panel::Sensitivity, store, x, events, palette),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testkit::Synth;
    use crate::export::png::step_range;

    #[test]
    fn axes_are_finite_and_ticks_near_zero_read_zero() {
        let y = y_range(&[], YScale::Linear);
        assert_eq!(y, None);
        let store = Synth::new(1).series("a/b", &[1e308, -1e308]).build();
        let s = store.series("a/b").unwrap();
        let (lo, hi) = y_range(&[s], YScale::Linear).unwrap();
        assert!(
            (hi - lo).is_finite() && lo < -1e306 && hi > 1e306,
            "{lo} {hi}"
        );
        assert_eq!(snap_to_zero(-2.49e291, (lo, hi)), 0.0);
        assert_eq!(snap_to_zero(2e306, (lo, hi)), 2e306);
        let (lo, hi) = axis_range(1e17, 1e17 + 16.0);
        assert!(hi - lo >= 1e8, "{lo} {hi}");
        assert_eq!(axis_range(f64::NAN, 3.0), (0.0, 3.0));
    }

    #[test]
    fn envelopes_break_at_non_finite_values_and_segments() {
        let nan = f64::NAN;
        let store = Synth::new(1)
            .series("train/loss", &[1.0, nan, f64::INFINITY, 2.0, 3.0])
            .resume_at(2)
            .series("train/loss", &[5.0, 6.0])
            .build();
        let s = store.series("train/loss").unwrap();
        let (paths, bad) = envelope(&s, step_range(&store), 100, YScale::Linear);
        assert_eq!(paths.len(), 3, "{paths:?}");
        assert_eq!(paths[0], vec![(0.0, 1.0); 4]);
        assert_eq!(bad, vec![1.0, 2.0]);
        assert!(paths[2].iter().all(|&(_, y)| y >= 5.0));
        // On a log axis, values ≤ 0 have no place.
        let store = Synth::new(1).series("train/loss", &[0.0, 10.0]).build();
        let s = store.series("train/loss").unwrap();
        let (paths, _) = envelope(&s, step_range(&store), 100, YScale::Log10);
        assert!(paths.iter().flatten().all(|&(_, y)| y == 1.0));
    }
}
