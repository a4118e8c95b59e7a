//! The neuron-sensitivity panel: a heatmap of one `sens/<layer>` vector
//! (neurons down, steps across) or of a TensorBoard histogram (values
//! down, steps across), its colourbar with numbers, the most sensitive
//! neurons of the newest checkpoint, and the variability chart.
//!
//! Id vectors (`sens/top_ids`, any `…_ids`) and histogram bucket edges
//! (`<tag>/limits`) are never drawn as values.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{chart, Ctx};
use crate::store::{RunStore, VectorView};
use crate::tui::keymap::Hits;
use crate::tui::panels::{charts, PanelId};
use crate::tui::plot::XMode;
use crate::tui::widgets::envelope::fmt_short;
use crate::tui::widgets::heatmap::{colourbar, HeatScale};
use crate::tui::widgets::Heatmap;

/// Vectors sampled per heatmap column (element-wise max).
const SAMPLES_PER_COLUMN: usize = 8;

/// Rows the heatmap needs: its header, two map rows, the colourbar.
const HEAT_MIN_H: u16 = 4;

/// What a heatmap layer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// A `sens/<layer>` vector: one value per neuron.
    Sensitivity,
    /// A histogram: bucket counts, with `<tag>/limits` their right edges.
    Histogram,
}

/// Whether a vector holds ids or bucket edges, not values to colour.
pub fn is_index_vector(name: &str) -> bool {
    name.ends_with("_ids") || name.ends_with("/ids") || name.ends_with("/limits")
}

/// The heatmap layers of a run: `sens/` value vectors, then histograms.
pub fn layers(store: &RunStore, passes: impl Fn(&str) -> bool) -> Vec<(&str, LayerKind)> {
    let mut out: Vec<(&str, LayerKind)> = store
        .vector_names()
        .filter(|n| n.starts_with("sens/") && !is_index_vector(n) && passes(n))
        .map(|n| (n, LayerKind::Sensitivity))
        .collect();
    out.extend(
        store
            .vector_names()
            .filter(|n| !n.starts_with("sens/") && !is_index_vector(n) && passes(n))
            .filter(|n| store.vector(&format!("{n}/limits")).is_some())
            .map(|n| (n, LayerKind::Histogram)),
    );
    out
}

/// The columns' checkpoints: for column `c` of `columns` over the x window
/// `x` (step modes), the vector indices it samples (the latest earlier one
/// when none falls inside).
fn column_picks(
    v: &VectorView<'_>,
    n: usize,
    (mode, x): (XMode, (f64, f64)),
    columns: usize,
) -> Vec<Vec<usize>> {
    let first_at_or_after = |s: f64| {
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if (v.step(mid) as f64) < s {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    };
    let edge = |c: usize| mode.to_step(x.0 + (x.1 - x.0) * c as f64 / columns as f64);
    (0..columns)
        .map(|c| {
            let a = first_at_or_after(edge(c));
            let b = if c + 1 == columns {
                first_at_or_after(edge(columns) + 1.0)
            } else {
                first_at_or_after(edge(c + 1))
            };
            if b - a > SAMPLES_PER_COLUMN {
                let k = SAMPLES_PER_COLUMN;
                (0..k).map(|j| a + j * (b - a - 1) / (k - 1)).collect()
            } else if a < b {
                (a..b).collect()
            } else if a > 0 {
                vec![a - 1]
            } else {
                Vec::new()
            }
        })
        .collect()
}

/// Raw heat cells of a sensitivity vector: `columns × rows`, each the
/// largest value of its neurons and checkpoints (NaN: no data).
pub fn sens_cells(
    v: &VectorView<'_>,
    n: usize,
    x: (XMode, (f64, f64)),
    columns: usize,
    rows: usize,
) -> Vec<Vec<f64>> {
    let width = v.max_width();
    if n == 0 || columns == 0 || rows == 0 || width == 0 {
        return Vec::new();
    }
    let group = width.div_ceil(rows);
    column_picks(v, n, x, columns)
        .into_iter()
        .map(|picks| {
            let mut col = vec![f64::NAN; width.div_ceil(group)];
            for &i in &picks {
                for (k, &x) in v.get(i.min(n - 1)).iter().enumerate() {
                    let cell = &mut col[k / group];
                    if x.is_finite() && (cell.is_nan() || x > *cell) {
                        *cell = x;
                    }
                }
            }
            col
        })
        .collect()
}

/// The finite value range of the first `n` bucket-edge vectors of a
/// histogram (TensorBoard's ±1.8e308 outer edges left out).
pub fn histogram_range(limits: &VectorView<'_>, n: usize) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..n {
        let l = limits.get(i);
        let finite: Vec<f64> = l.iter().copied().filter(|e| e.abs() < 1e300).collect();
        if let (Some(&a), Some(&b)) = (finite.first(), finite.last()) {
            // The first bucket's left edge is one bucket width below.
            let w = if finite.len() > 1 {
                finite[1] - finite[0]
            } else {
                1.0
            };
            lo = lo.min(a - w);
            hi = hi.max(b);
        }
    }
    (lo < hi).then_some((lo, hi))
}

/// Raw heat cells of a histogram: `columns × rows` of counts per value
/// band (top row: the largest values), each bucket's count spread evenly
/// over its width; and the value range the rows span.
pub fn histogram_cells(
    counts: &VectorView<'_>,
    limits: &VectorView<'_>,
    n: usize,
    x: (XMode, (f64, f64)),
    columns: usize,
    rows: usize,
) -> (Vec<Vec<f64>>, Option<(f64, f64)>) {
    let n = n.min(limits.len());
    let Some((lo, hi)) = histogram_range(limits, n) else {
        return (Vec::new(), None);
    };
    if columns == 0 || rows == 0 {
        return (Vec::new(), Some((lo, hi)));
    }
    let cells = column_picks(counts, n, x, columns)
        .into_iter()
        .map(|picks| match picks.last() {
            // The newest checkpoint of the column: a distribution is not
            // summed over checkpoints.
            Some(&i) => histogram_column(counts.get(i), limits.get(i), (lo, hi), rows),
            None => vec![f64::NAN; rows],
        })
        .collect();
    (cells, Some((lo, hi)))
}

/// One histogram as `rows` value bands over `(lo, hi)` (top row: the
/// largest values): each bucket's count spread evenly over its width.
/// `limits` are the buckets' right edges.
pub fn histogram_column(
    counts: &[f64],
    limits: &[f64],
    (lo, hi): (f64, f64),
    rows: usize,
) -> Vec<f64> {
    let mut col = vec![0.0; rows];
    if rows == 0 || hi <= lo {
        return col;
    }
    let band = (hi - lo) / rows as f64;
    for (k, (&count, &right)) in counts.iter().zip(limits).enumerate() {
        let left = if k > 0 {
            limits[k - 1]
        } else {
            right - limits.get(1).map_or(1.0, |r1| r1 - right)
        };
        let (a, b) = (left.max(lo), right.min(hi));
        if !(count.is_finite() && count > 0.0 && b > a) {
            continue;
        }
        let per = count / (b - a);
        let (ra, rb) = (((a - lo) / band) as usize, ((b - lo) / band) as usize);
        for r in ra..=rb.min(rows - 1) {
            let (r0, r1) = (lo + r as f64 * band, lo + (r + 1) as f64 * band);
            let overlap = b.min(r1) - a.max(r0);
            if overlap > 0.0 {
                col[rows - 1 - r] += per * overlap;
            }
        }
    }
    col
}

/// What a colourbar shows: the scale and the values of its two ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatRange {
    /// How values map to colours.
    pub scale: HeatScale,
    /// Value of the lowest colour (per row: none).
    pub lo: f64,
    /// Value of the highest colour.
    pub hi: f64,
}

/// Scales raw cells to 0..=1 in place by `scale`; returns the value range
/// the colours span (NaN stays NaN: no data).
pub fn scale_cells(cells: &mut [Vec<f64>], scale: HeatScale) -> HeatRange {
    let finite = || cells.iter().flatten().copied().filter(|v| v.is_finite());
    let hi = finite().fold(f64::NEG_INFINITY, f64::max);
    let range = |lo: f64, hi: f64| HeatRange { scale, lo, hi };
    if !hi.is_finite() {
        return range(0.0, 0.0);
    }
    match scale {
        HeatScale::Linear => {
            let lo = finite().fold(f64::INFINITY, f64::min).min(0.0);
            let span = if hi > lo { hi - lo } else { 1.0 };
            for v in cells.iter_mut().flatten().filter(|v| !v.is_nan()) {
                *v = ((*v - lo) / span).clamp(0.0, 1.0);
            }
            range(lo, hi)
        }
        HeatScale::Log => {
            let lo = finite().filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
            if !(lo.is_finite() && hi > 0.0) {
                return scale_cells(cells, HeatScale::Linear);
            }
            let (a, b) = (lo.log10(), hi.log10());
            let span = if b > a { b - a } else { 1.0 };
            for v in cells.iter_mut().flatten().filter(|v| !v.is_nan()) {
                *v = if *v > 0.0 {
                    ((v.log10() - a) / span).clamp(0.0, 1.0)
                } else {
                    0.0
                };
            }
            range(lo, hi)
        }
        HeatScale::PerRow => {
            let rows = cells.iter().map(Vec::len).max().unwrap_or(0);
            for r in 0..rows {
                let row = || {
                    cells
                        .iter()
                        .filter_map(|c| c.get(r))
                        .copied()
                        .filter(|v| v.is_finite())
                };
                let lo = row().fold(f64::INFINITY, f64::min);
                let hi = row().fold(f64::NEG_INFINITY, f64::max);
                let span = if hi > lo { hi - lo } else { 1.0 };
                for c in cells.iter_mut() {
                    if let Some(v) = c.get_mut(r).filter(|v| !v.is_nan()) {
                        *v = if hi > lo {
                            ((*v - lo) / span).clamp(0.0, 1.0)
                        } else {
                            0.5
                        };
                    }
                }
            }
            range(f64::NAN, f64::NAN)
        }
    }
}

/// Draws the panel into `area` (page `page` when the heatmap and the chart
/// do not both fit); returns the pager text for the border, if paged.
pub fn render(
    frame: &mut Frame<'_>,
    ctx: &Ctx<'_>,
    area: Rect,
    page: isize,
    hits: &mut Hits,
) -> Option<String> {
    let app = ctx.app;
    let theme = &app.theme;
    let specs = charts(PanelId::Sensitivity, &ctx.names, false);
    let run = ctx.shown.first().copied();
    let store = run.map(|r| &ctx.feeds[r].store);
    let layers = store
        .map(|s| layers(s, |n| app.passes(n)))
        .unwrap_or_default();
    if layers.is_empty() && specs.is_empty() {
        let text = format!("no data yet. Expected: {}", PanelId::Sensitivity.expected());
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.dim)
                .wrap(Wrap { trim: true }),
            area,
        );
        return None;
    }
    // Both when they fit; else one at a time, `{` `}` to switch.
    let both = area.height >= HEAT_MIN_H + chart::MIN_HEIGHT;
    let paged = !layers.is_empty() && !specs.is_empty() && !both;
    let show_chart_only = paged && page.rem_euclid(2) == 1;
    let chart_h = if specs.is_empty() || (paged && !show_chart_only) {
        0
    } else if layers.is_empty() || show_chart_only {
        area.height
    } else {
        (area.height / 3).max(chart::MIN_HEIGHT).min(area.height)
    };
    let [heat_area, chart_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(chart_h)]).areas(area);
    if let Some(spec) = specs.first().filter(|_| chart_h > 0) {
        hits.charts.extend(chart::render(
            frame,
            ctx,
            spec,
            app.log_y[PanelId::Sensitivity.index()],
            chart_area,
        ));
    }
    let pager = paged.then(|| {
        format!(
            " {} · {{ }} {} ",
            if show_chart_only {
                "variability"
            } else {
                "heatmap"
            },
            if show_chart_only {
                "heatmap"
            } else {
                "variability"
            }
        )
    });
    let (Some(store), Some(run)) = (store, run) else {
        return pager;
    };
    if layers.is_empty() || heat_area.height < 2 || show_chart_only {
        return pager;
    }
    let (name, kind) = layers[app.layer % layers.len()];
    let v = store.vector(name).expect("listed vector");
    // Paused or replaying: leave out checkpoints past the records on show
    // (a binary search, so a replay near the start costs no more).
    let n = match app.limit(run) {
        Some(limit) => v.visible_len(limit),
        None => v.len(),
    };
    let side_w = if heat_area.width >= 40 && kind == LayerKind::Sensitivity {
        14
    } else {
        0
    };
    let [map_col, side] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(side_w)]).areas(heat_area);
    let [header, map, scale] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(map_col);
    // Time axes: the heatmap keeps steps, over the whole run.
    let x = match (ctx.window, app.x_mode) {
        (Some(w), XMode::Step | XMode::LogStep) => (app.x_mode, w),
        _ if n > 0 => (XMode::Step, (v.step(0) as f64, v.step(n - 1) as f64)),
        _ => (XMode::Step, (0.0, 0.0)),
    };
    let steps = (x.0.to_step(x.1 .0), x.0.to_step(x.1 .1));
    let (columns, rows) = (map.width as usize, map.height as usize * 2);
    let (mut cells, what) = match kind {
        LayerKind::Sensitivity => (
            sens_cells(&v, n, x, columns, rows),
            format!("{} neurons", v.max_width()),
        ),
        LayerKind::Histogram => {
            let limits = store
                .vector(&format!("{name}/limits"))
                .expect("listed with its limits");
            let (cells, values) = histogram_cells(&v, &limits, n, x, columns, rows);
            let what = match values {
                Some((lo, hi)) => format!(
                    "histogram · values {} ↓ to {} ↑",
                    fmt_short(hi),
                    fmt_short(lo)
                ),
                None => "histogram".into(),
            };
            (cells, what)
        }
    };
    let range = scale_cells(&mut cells, app.heat_scale);
    let more = if layers.len() > 1 {
        format!(
            " ({}/{}, v: next)",
            app.layer % layers.len() + 1,
            layers.len()
        )
    } else {
        String::new()
    };
    let header_text = format!(
        "{name}{more} · {what} · steps {:.0}–{:.0}",
        steps.0.max(0.0),
        steps.1
    );
    frame.render_widget(
        Paragraph::new(Line::styled(header_text, theme.title)),
        header,
    );
    frame.render_widget(
        Heatmap {
            columns: &cells,
            theme,
        },
        map,
    );
    frame.render_widget(Paragraph::new(colourbar(theme, &range, scale.width)), scale);
    if side_w > 0 && n > 0 {
        let latest = v.get(n - 1);
        let mut order: Vec<usize> = (0..latest.len())
            .filter(|&i| latest[i].is_finite())
            .collect();
        order.sort_by(|&a, &b| latest[b].total_cmp(&latest[a]));
        let mut lines = vec![Line::styled(" top neurons", theme.title)];
        for &i in order.iter().take(side.height.saturating_sub(1) as usize) {
            lines.push(Line::from(vec![
                Span::styled(format!(" #{i:<4}"), theme.accent),
                Span::styled(fmt_short(latest[i]), theme.base),
            ]));
        }
        frame.render_widget(Paragraph::new(lines), side);
    }
    pager
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::parse_line;

    fn store(lines: &[String]) -> RunStore {
        let mut s = RunStore::new();
        for line in lines {
            let mut scratch = Vec::new();
            s.push(&parse_line(line.as_bytes(), &mut scratch).unwrap());
        }
        s
    }

    #[test]
    fn sens_cells_group_neurons_and_fill_gaps_and_scales_map_them() {
        let s = store(
            &[(0, "[1, 2, 3, 4]"), (10, "[0, 0, 8, 0]"), (40, "[4, 4, 4, 4]")]
                .map(|(step, v)| format!(r#"{{"step": {step}, "vectors": {{"sens/h": {v}, "sens/top_ids": [2, 0, 1, 3]}}}}"#)),
        );
        let v = s.vector("sens/h").unwrap();
        let mut cells = sens_cells(&v, 3, (XMode::Step, (0.0, 40.0)), 4, 2);
        // Column 0 holds steps 0..10: neurons (1,2) → 2, (3,4) → 4.
        assert_eq!(cells[0], vec![2.0, 4.0]);
        // Column 1 holds step 10; column 2 has no checkpoint and repeats it.
        assert_eq!(cells[1], vec![0.0, 8.0]);
        assert_eq!(cells[2], cells[1]);
        assert_eq!(cells[3], vec![4.0, 4.0]);
        let mut linear = cells.clone();
        let r = scale_cells(&mut linear, HeatScale::Linear);
        assert_eq!((r.lo, r.hi), (0.0, 8.0));
        assert_eq!(linear[0], vec![0.25, 0.5]);
        let r = scale_cells(&mut cells, HeatScale::Log);
        assert_eq!((r.lo, r.hi), (2.0, 8.0));
        assert_eq!(cells[0][0], 0.0, "log: 2 → 0");
        assert!((cells[0][1] - 0.5).abs() < 1e-12, "log: 4 → ½");
        assert_eq!(cells[1], vec![0.0, 1.0], "0 takes the lowest colour");
        // Paused at two checkpoints: the last one is left out.
        let cells = sens_cells(&v, 2, (XMode::Step, (0.0, 40.0)), 4, 2);
        assert_eq!(cells[3], vec![0.0, 8.0]);
        // Ids are never a layer.
        let l = layers(&s, |_| true);
        assert_eq!(l, vec![("sens/h", LayerKind::Sensitivity)]);
    }

    #[test]
    fn per_row_scaling_shows_each_neuron_moving() {
        let mut cells = vec![vec![1.0, 100.0], vec![2.0, 300.0]];
        scale_cells(&mut cells, HeatScale::PerRow);
        assert_eq!(cells, vec![vec![0.0, 0.0], vec![1.0, 1.0]]);
    }

    #[test]
    fn histograms_are_spread_over_value_bands() {
        let s = store(&[
            r#"{"step": 0, "vectors": {"w": [4, 0], "w/limits": [0, 1]}}"#.to_string(),
            r#"{"step": 1, "vectors": {"w": [0, 6], "w/limits": [0, 1]}}"#.to_string(),
        ]);
        assert_eq!(layers(&s, |_| true), vec![("w", LayerKind::Histogram)]);
        let (c, l) = (s.vector("w").unwrap(), s.vector("w/limits").unwrap());
        // Buckets (-1, 0] and (0, 1]: two bands, the top one the larger values.
        let (cells, range) = histogram_cells(&c, &l, 2, (XMode::Step, (0.0, 1.0)), 2, 2);
        assert_eq!(range, Some((-1.0, 1.0)));
        assert_eq!(cells[0], vec![0.0, 4.0]);
        assert_eq!(cells[1], vec![6.0, 0.0]);
    }
}
