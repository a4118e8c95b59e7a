//! The neuron-sensitivity panel: a heatmap of one `sens/<layer>` vector
//! over steps (neurons down, steps across), its colour scale, the most
//! sensitive neurons of the newest checkpoint, and the variability chart.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::{chart, Ctx};
use crate::store::VectorView;
use crate::tui::panels::{charts, PanelId};
use crate::tui::plot::XMode;
use crate::tui::widgets::envelope::fmt_short;
use crate::tui::widgets::heatmap::legend;
use crate::tui::widgets::Heatmap;

/// Vectors sampled per heatmap column (element-wise max).
const SAMPLES_PER_COLUMN: usize = 8;

/// Heat cells: `columns × rows`, scaled to 0..1, and the value of 1.
/// Columns split the x window `x` (in `mode`'s units, a step mode) evenly,
/// so the heatmap lines up with the charts.
pub fn heat_cells(
    v: &VectorView<'_>,
    n: usize,
    (mode, x): (XMode, (f64, f64)),
    columns: usize,
    rows: usize,
) -> (Vec<Vec<f64>>, f64) {
    let width = v.max_width();
    if n == 0 || columns == 0 || rows == 0 || width == 0 {
        return (Vec::new(), 0.0);
    }
    let group = width.div_ceil(rows);
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
    let mut out = Vec::with_capacity(columns);
    for c in 0..columns {
        let a = first_at_or_after(edge(c));
        let b = if c + 1 == columns {
            first_at_or_after(edge(columns) + 1.0)
        } else {
            first_at_or_after(edge(c + 1))
        };
        // No checkpoint inside: carry the latest earlier one forward.
        let picks: Vec<usize> = if b - a > SAMPLES_PER_COLUMN {
            let k = SAMPLES_PER_COLUMN;
            (0..k).map(|j| a + j * (b - a - 1) / (k - 1)).collect()
        } else if a < b {
            (a..b).collect()
        } else if a > 0 {
            vec![a - 1]
        } else {
            Vec::new()
        };
        let mut col = vec![f64::NAN; width.div_ceil(group)];
        for &i in &picks {
            for (k, &x) in v.get(i.min(n - 1)).iter().enumerate() {
                let cell = &mut col[k / group];
                if x.is_finite() && (cell.is_nan() || x > *cell) {
                    *cell = x;
                }
            }
        }
        out.push(col);
    }
    let max = out
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    for col in &mut out {
        for x in col.iter_mut() {
            if !x.is_nan() {
                *x = if max > 0.0 { (*x / max).max(0.0) } else { 0.0 };
            }
        }
    }
    (out, max)
}

/// Draws the panel into `area`.
pub fn render(frame: &mut Frame<'_>, ctx: &Ctx<'_>, area: Rect) {
    let app = ctx.app;
    let theme = &app.theme;
    let specs = charts(PanelId::Sensitivity, &ctx.names, false);
    let run = ctx.shown.first().copied();
    let store = run.map(|r| &ctx.feeds[r].store);
    let layers: Vec<&str> = store
        .map(|s| {
            s.vector_names()
                .filter(|n| n.starts_with("sens/") && app.passes(n))
                .collect()
        })
        .unwrap_or_default();
    if layers.is_empty() && specs.is_empty() {
        let text = format!("no data yet. Expected: {}", PanelId::Sensitivity.expected());
        frame.render_widget(
            Paragraph::new(text)
                .style(theme.dim)
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let chart_h = if specs.is_empty() {
        0
    } else if layers.is_empty() {
        area.height
    } else {
        (area.height / 3).max(3).min(area.height)
    };
    let [heat_area, chart_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(chart_h)]).areas(area);
    if let Some(spec) = specs.first() {
        chart::render(
            frame,
            ctx,
            spec,
            app.log_y[PanelId::Sensitivity.index()],
            chart_area,
        );
    }
    let (Some(store), Some(run)) = (store, run) else {
        return;
    };
    if layers.is_empty() || heat_area.height < 2 {
        return;
    }
    let name = layers[app.layer % layers.len()];
    let v = store.vector(name).expect("listed vector");
    // Paused or replaying: leave out checkpoints past the records on show
    // (a binary search, so a replay near the start costs no more).
    let n = match app.limit(run) {
        Some(limit) => v.visible_len(limit),
        None => v.len(),
    };
    let side_w = if heat_area.width >= 40 { 14 } else { 0 };
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
    let (cells, max) = heat_cells(&v, n, x, map.width as usize, map.height as usize * 2);
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
        "{name}{more} · {} neurons · steps {:.0}–{:.0}",
        v.max_width(),
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
    frame.render_widget(Paragraph::new(legend(theme, 0.0, max, scale.width)), scale);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::parse_line;
    use crate::store::RunStore;

    #[test]
    fn heat_cells_group_neurons_scale_to_the_max_and_fill_gaps() {
        let mut s = RunStore::new();
        for (step, v) in [
            (0, "[1, 2, 3, 4]"),
            (10, "[0, 0, 8, 0]"),
            (40, "[4, 4, 4, 4]"),
        ] {
            let line = format!(r#"{{"step": {step}, "vectors": {{"sens/h": {v}}}}}"#);
            let mut scratch = Vec::new();
            s.push(&parse_line(line.as_bytes(), &mut scratch).unwrap());
        }
        let v = s.vector("sens/h").unwrap();
        let (cells, max) = heat_cells(&v, 3, (XMode::Step, (0.0, 40.0)), 4, 2);
        assert_eq!(max, 8.0);
        assert_eq!(cells.len(), 4);
        // Column 0 holds steps 0..10: neurons (1,2) → 2, (3,4) → 4.
        assert_eq!(cells[0], vec![0.25, 0.5]);
        // Column 1 holds step 10; column 2 has no checkpoint and repeats it.
        assert_eq!(cells[1], vec![0.0, 1.0]);
        assert_eq!(cells[2], cells[1]);
        assert_eq!(cells[3], vec![0.5, 0.5]);
        // Paused at two checkpoints: the last one is left out.
        let (cells, _) = heat_cells(&v, 2, (XMode::Step, (0.0, 40.0)), 4, 2);
        assert_eq!(cells[3], vec![0.0, 1.0]);
    }
}
