//! A heatmap of half-block cells: each terminal cell shows two rows of
//! values (`▀` with the upper colour in front and the lower one behind).
//! Without colour (`NO_COLOR`) it falls back to shading characters.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::tui::theme::Theme;

use super::envelope::fmt_short;
use crate::tui::ui::HeatRange;

/// How heat values map to colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeatScale {
    /// log10 of the value between the smallest positive and the largest
    /// value on show: a heavy-tailed spread stays readable.
    #[default]
    Log,
    /// The value between 0 and the largest value on show.
    Linear,
    /// Each neuron (row) between its own smallest and largest value: when
    /// each one moves, whatever its size.
    PerRow,
}

impl HeatScale {
    /// The next scale (the `g` key).
    pub fn next(self) -> HeatScale {
        match self {
            HeatScale::Log => HeatScale::Linear,
            HeatScale::Linear => HeatScale::PerRow,
            HeatScale::PerRow => HeatScale::Log,
        }
    }

    /// Name as the colourbar shows it.
    pub fn label(self) -> &'static str {
        match self {
            HeatScale::Log => "log",
            HeatScale::Linear => "linear",
            HeatScale::PerRow => "per row",
        }
    }
}

/// The widget: `columns[c][r]` is the value of row `r` (top first) in
/// column `c`, scaled to `0..=1`; NaN means no data.
#[derive(Debug, Clone)]
pub struct Heatmap<'a> {
    /// Values per column.
    pub columns: &'a [Vec<f64>],
    /// Colours.
    pub theme: &'a Theme,
}

const SHADES: [char; 5] = [' ', '░', '▒', '▓', '█'];

fn shade(t: f64) -> char {
    SHADES[((t.clamp(0.0, 1.0) * 4.0).round() as usize).min(4)]
}

impl Widget for Heatmap<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        for (cx, column) in self.columns.iter().enumerate().take(area.width as usize) {
            for cy in 0..area.height as usize {
                let top = column.get(cy * 2).copied().unwrap_or(f64::NAN);
                let bottom = column.get(cy * 2 + 1).copied().unwrap_or(f64::NAN);
                if top.is_nan() && bottom.is_nan() {
                    continue;
                }
                let Some(cell) = buf.cell_mut((area.x + cx as u16, area.y + cy as u16)) else {
                    continue;
                };
                if self.theme.monochrome {
                    cell.set_char(shade(top.max(bottom)));
                    continue;
                }
                let color = |v: f64| {
                    if v.is_nan() {
                        Color::Reset
                    } else {
                        self.theme.heat_color(v)
                    }
                };
                cell.set_char('▀')
                    .set_style(Style::new().fg(color(top)).bg(color(bottom)));
            }
        }
    }
}

/// The colourbar: the scale's name, the value of the lowest colour, the
/// bar (with the middle value inside when there is room) and the value of
/// the highest colour, `width` cells wide. A per-row scale has no global
/// numbers: its ends read "row min" and "row max".
pub fn colourbar(theme: &Theme, range: &HeatRange, width: u16) -> Line<'static> {
    let per_row = range.scale == HeatScale::PerRow;
    let (a, b) = if per_row {
        ("row min".to_string(), "row max".to_string())
    } else {
        (fmt_short(range.lo), fmt_short(range.hi))
    };
    let name = format!("{} ", range.scale.label());
    let fixed = name.chars().count() + a.chars().count() + b.chars().count() + 2;
    let bar = (width as usize).saturating_sub(fixed).min(40);
    let mid = match range.scale {
        HeatScale::Log if range.lo > 0.0 => Some(fmt_short((range.lo * range.hi).sqrt())),
        HeatScale::Linear => Some(fmt_short((range.lo + range.hi) / 2.0)),
        _ => None,
    }
    .filter(|m| bar >= m.chars().count() + 8);
    let mut spans = vec![
        Span::styled(name, theme.dim),
        Span::styled(format!("{a} "), theme.base),
    ];
    let mid_at = mid.as_ref().map(|m| (bar - m.chars().count()) / 2);
    let mut k = 0;
    while k < bar {
        if let (Some(at), Some(m)) = (mid_at, &mid) {
            if k == at {
                spans.push(Span::styled(m.clone(), theme.base));
                k += m.chars().count();
                continue;
            }
        }
        let t = if bar > 1 {
            k as f64 / (bar - 1) as f64
        } else {
            1.0
        };
        spans.push(if theme.monochrome {
            Span::raw(shade(t).to_string())
        } else {
            Span::styled("█", Style::new().fg(theme.heat_color(t)))
        });
        k += 1;
    }
    spans.push(Span::styled(format!(" {b}"), theme.base));
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_rows_per_cell_and_shades_without_colour() {
        let theme = Theme::default_theme();
        let columns = vec![vec![0.0, 1.0, f64::NAN, f64::NAN]];
        let area = Rect::new(0, 0, 1, 2);
        let mut buf = Buffer::empty(area);
        Heatmap {
            columns: &columns,
            theme: &theme,
        }
        .render(area, &mut buf);
        assert_eq!(buf[(0, 0)].symbol(), "▀");
        assert_eq!(buf[(0, 0)].fg, theme.heat_color(0.0));
        assert_eq!(buf[(0, 0)].bg, theme.heat_color(1.0));
        assert_eq!(buf[(0, 1)].symbol(), " ");
        let mono = theme.monochrome();
        let mut buf = Buffer::empty(area);
        Heatmap {
            columns: &columns,
            theme: &mono,
        }
        .render(area, &mut buf);
        assert_eq!(buf[(0, 0)].symbol(), "█");
    }
}
