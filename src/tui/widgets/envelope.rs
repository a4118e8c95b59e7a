//! A line chart drawn from min/max envelopes on a braille grid (2×4 dots
//! per cell): every dot column shows the full range of the points it
//! covers, so one spike among a million points stays visible. NaN and
//! ±Infinity get markers (`×`, `▲`, `▼`) in the theme's non-finite colour.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::widgets::Widget;

use crate::analysis::Severity;
use crate::tui::plot::{EnvPoint, XMode};
use crate::tui::theme::Theme;
use crate::tui::ticks::{self, Tick};

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: Color,
    /// Drawn faint, behind the others (raw series under a smoothed one).
    pub faint: bool,
    /// Envelope columns in x order (per segment).
    pub points: Vec<EnvPoint>,
    /// Line style (in an overlay of runs, one per metric).
    pub dash: Dash,
    /// On the right-hand y axis.
    pub right: bool,
}

/// How a line is drawn on the braille grid, so that lines of one colour
/// (and lines drawn over each other) stay apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dash {
    /// Every dot column.
    #[default]
    Solid,
    /// Two dot columns on, two off.
    Dashed,
    /// One dot column in three.
    Dotted,
}

impl Dash {
    /// The style of the `i`-th metric of a chart.
    pub fn nth(i: usize) -> Dash {
        [Dash::Solid, Dash::Dashed, Dash::Dotted][i % 3]
    }

    /// The legend's sample of the style.
    pub fn glyph(self) -> &'static str {
        match self {
            Dash::Solid => "━",
            Dash::Dashed => "╍",
            Dash::Dotted => "┈",
        }
    }

    /// Whether dot column `dx` is drawn.
    fn on(self, dx: usize) -> bool {
        match self {
            Dash::Solid => true,
            Dash::Dashed => dx % 4 < 2,
            Dash::Dotted => dx.is_multiple_of(3),
        }
    }
}

/// An analysis event on a chart: a dotted vertical line at its x, in the
/// colour of its severity, drawn only in cells the data leaves empty, and
/// its label beside the line where there is room.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventMark {
    /// Where, in the chart's x units.
    pub x: f64,
    /// How much it calls for attention (the colour).
    pub severity: Severity,
    /// A few characters saying what it is (`SC`, `grok`); may be empty.
    pub label: &'static str,
}

/// The glyph of an event line.
pub const EVENT_LINE: char = '┊';

/// The glyph of an event on the x-axis row and the replay scrubber, by
/// severity (the shape tells them apart without colour).
pub fn event_glyph(severity: Severity) -> char {
    match severity {
        Severity::Info => '◇',
        Severity::Warning => '◆',
        Severity::Alert => '◈',
    }
}

/// The chart widget.
#[derive(Debug, Clone)]
pub struct EnvelopeChart<'a> {
    /// Lines, drawn in order (faint ones first).
    pub traces: &'a [Trace],
    /// The x window.
    pub x: (f64, f64),
    /// The y range, in data units.
    pub y: (f64, f64),
    /// Log10 y axis.
    pub log_y: bool,
    /// The right-hand y axis (traces with `right`), and whether it is log10.
    pub y2: Option<((f64, f64), bool)>,
    /// How to label x.
    pub x_mode: XMode,
    /// x of the value cursor.
    pub cursor: Option<f64>,
    /// Events to mark (those outside the x window are left out).
    pub events: &'a [EventMark],
    /// Colours.
    pub theme: &'a Theme,
}

/// Braille dot bits, indexed `[dy][dx]`.
const DOTS: [[u8; 2]; 4] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]];

struct Grid {
    w: usize,
    h: usize,
    bits: Vec<u8>,
    color: Vec<Style>,
}

impl Grid {
    fn set(&mut self, dx: usize, dy: usize, style: Style) {
        if dx >= self.w * 2 || dy >= self.h * 4 {
            return;
        }
        let cell = (dy / 4) * self.w + dx / 2;
        self.bits[cell] |= DOTS[dy % 4][dx % 2];
        self.color[cell] = style;
    }

    fn vline(&mut self, dx: usize, a: usize, b: usize, style: Style) {
        for dy in a.min(b)..=a.max(b) {
            self.set(dx, dy, style);
        }
    }
}

/// A number in at most ~7 characters (the shared chart-label format).
pub use crate::numfmt::compact as fmt_short;

/// An x value as the axis shows it.
pub fn fmt_x(x: f64, mode: XMode) -> String {
    match mode {
        XMode::Step | XMode::LogStep => {
            let s = mode.to_step(x).round();
            if s.abs() < 1e6 {
                format!("{s:.0}")
            } else {
                format!("{s:.2e}")
            }
        }
        XMode::WallClock => {
            let t = x.rem_euclid(86400.0) as u64;
            format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
        }
        XMode::Relative => {
            let t = x.max(0.0);
            if t < 10.0 {
                format!("{t:.1}s")
            } else if t < 3600.0 {
                let t = t as u64;
                format!("{}m{:02}s", t / 60, t % 60)
            } else {
                let t = t as u64;
                format!("{}h{:02}m", t / 3600, t / 60 % 60)
            }
        }
    }
}

/// A y axis in drawing units (log10 of the value on a log axis).
#[derive(Debug, Clone, Copy)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Axis {
    /// The axis for data range `y`, widened when it is a single value.
    fn new((a, b): (f64, f64), log: bool) -> Axis {
        let t = |v: f64| to_axis(v, log);
        let (a, b) = (t(a), t(b));
        let (a, b) = if a.is_finite() { (a, b) } else { (b - 1.0, b) };
        let (lo, hi) = if !(a.is_finite() && b.is_finite()) {
            (0.0, 1.0)
        } else if (b - a).abs() < 1e-12 {
            if !log && a.abs() < 1e-12 {
                // A series that is exactly 0 (`sc/collapsed` before any
                // collapse) lies on the floor of a 0..1 axis, not in a
                // ±1e-12 band that reads as noise.
                (0.0, 1.0)
            } else {
                // A flat line sits in the middle of a band around it.
                let pad = if log { 0.5 } else { a.abs() * 0.5 };
                (a - pad, b + pad)
            }
        } else {
            (a, b)
        };
        Axis { lo, hi, log }
    }

    /// Ticks for an axis of `rows` cell rows.
    fn ticks(&self, rows: usize) -> Vec<Tick> {
        let max = (rows / 2 + 1).max(2);
        if self.log {
            ticks::log10(self.lo, self.hi, max)
        } else {
            ticks::linear(self.lo, self.hi, max)
        }
    }

    /// Dot row (0 at the top) of a value in drawing units.
    fn dot_row(&self, t: f64, dots: usize) -> usize {
        let f = if t.is_finite() {
            (self.hi - t) / (self.hi - self.lo)
        } else {
            1.0
        };
        ((f.clamp(0.0, 1.0) * (dots - 1) as f64).round() as usize).min(dots - 1)
    }
}

fn to_axis(v: f64, log: bool) -> f64 {
    if !log {
        v
    } else if v > 0.0 {
        v.log10()
    } else {
        f64::NEG_INFINITY
    }
}

/// The labels of a y axis of `rows` cell rows: (cell row, label), at most
/// one per row.
fn y_labels(axis: &Axis, rows: usize) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for t in axis.ticks(rows) {
        let row = axis.dot_row(t.at, rows * 4) / 4;
        if !out.iter().any(|(r, _)| *r == row) {
            out.push((row, t.label));
        }
    }
    out
}

/// Ticks of the x axis in `mode` over `x`, as many as fit in `width` cells
/// with a space between labels.
pub fn x_ticks(x: (f64, f64), mode: XMode, width: usize) -> Vec<Tick> {
    let make = |max: usize| match mode {
        XMode::Step => ticks::linear(x.0, x.1, max),
        XMode::LogStep => ticks::log_step(x.0, x.1, max),
        XMode::WallClock | XMode::Relative => ticks::time(x.0, x.1, max, |t| fmt_x(t, mode)),
    };
    let mut max = (width / 4).max(2);
    loop {
        let t = make(max);
        let need: usize = t.iter().map(|t| t.label.chars().count() + 1).sum();
        if need <= width || max <= 2 {
            return t;
        }
        max -= 1;
    }
}

/// Where a chart's parts go in its area: the plot and every axis label.
#[derive(Debug, Clone, PartialEq)]
pub struct AxesLayout {
    /// The plotting area.
    pub plot: Rect,
    /// Whether the axis rows and columns are drawn at all.
    pub labels: bool,
    /// Left y labels: (x, y, text).
    pub left: Vec<(u16, u16, String)>,
    /// Right y labels.
    pub right: Vec<(u16, u16, String)>,
    /// x labels on the bottom row.
    pub bottom: Vec<(u16, u16, String)>,
}

impl EnvelopeChart<'_> {
    /// The layout of the chart in `area`: what `render` draws where.
    pub fn layout(&self, area: Rect) -> AxesLayout {
        let left = Axis::new(self.y, self.log_y);
        let right = self.y2.map(|(r, log)| Axis::new(r, log));
        let labels = area.height >= 3 && area.width >= 16;
        let rows = (area.height - u16::from(labels)) as usize;
        let left_labels = if labels {
            y_labels(&left, rows)
        } else {
            Vec::new()
        };
        let right_labels = match right {
            Some(r) if labels => y_labels(&r, rows),
            _ => Vec::new(),
        };
        let width_of = |l: &[(usize, String)]| {
            l.iter()
                .map(|(_, s)| s.chars().count() as u16 + 1)
                .max()
                .unwrap_or(0)
        };
        let (lw, rw) = (width_of(&left_labels), width_of(&right_labels));
        let (lw, rw) = if lw + rw + 4 > area.width {
            (0, 0)
        } else {
            (lw, rw)
        };
        let plot = Rect {
            x: area.x + lw,
            y: area.y,
            width: area.width - lw - rw,
            height: rows as u16,
        };
        let mut out = AxesLayout {
            plot,
            labels,
            left: Vec::new(),
            right: Vec::new(),
            bottom: Vec::new(),
        };
        if lw > 0 {
            for (row, label) in left_labels {
                let pad = (lw - 1) as usize - label.chars().count();
                out.left
                    .push((area.x + pad as u16, plot.y + row as u16, label));
            }
        }
        if rw > 0 {
            for (row, label) in right_labels {
                out.right
                    .push((plot.right() + 1, plot.y + row as u16, label));
            }
        }
        if labels {
            let y = area.bottom() - 1;
            let dots = plot.width as usize * 2;
            let mut free_from = area.x;
            for t in x_ticks(self.x, self.x_mode, plot.width as usize) {
                let f = if self.x.1 > self.x.0 {
                    (t.at - self.x.0) / (self.x.1 - self.x.0)
                } else {
                    0.5
                };
                let cell = plot.x + ((f * (dots - 1) as f64).round() as u16) / 2;
                let len = t.label.chars().count() as u16;
                let start = cell
                    .saturating_sub(len / 2)
                    .max(area.x)
                    .min(area.right().saturating_sub(len));
                if start < free_from {
                    continue;
                }
                free_from = start + len + 1;
                out.bottom.push((start, y, t.label));
            }
        }
        out
    }
}

impl Widget for EnvelopeChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < 2 || area.height < 1 {
            return;
        }
        let left = Axis::new(self.y, self.log_y);
        let right = self.y2.map(|(r, log)| Axis::new(r, log));
        let layout = self.layout(area);
        let (plot, labels) = (layout.plot, layout.labels);
        let dim = self.theme.dim;
        for (x, y, label) in layout
            .left
            .iter()
            .chain(&layout.right)
            .chain(&layout.bottom)
        {
            buf.set_string(*x, *y, label, dim);
        }
        let (w, h) = (plot.width as usize, plot.height as usize);
        let mut grid = Grid {
            w,
            h,
            bits: vec![0; w * h],
            color: vec![Style::new(); w * h],
        };
        let (dw, dh) = (w * 2, h * 4);
        let span = self.x.1 - self.x.0;
        let col = |x: f64| -> Option<usize> {
            let f = if span > 0.0 {
                (x - self.x.0) / span
            } else {
                0.5
            };
            (-1e-9..=1.0 + 1e-9)
                .contains(&f)
                .then(|| ((f * (dw - 1) as f64).round() as usize).min(dw - 1))
        };
        let axis_of = |trace: &Trace| match right {
            Some(r) if trace.right => r,
            _ => left,
        };
        let mut markers: Vec<(usize, bool, char)> = Vec::new();
        for trace in self
            .traces
            .iter()
            .filter(|t| t.faint)
            .chain(self.traces.iter().filter(|t| !t.faint))
        {
            let style = if trace.faint {
                self.theme.dim
            } else if self.theme.monochrome {
                Style::new()
            } else {
                Style::new().fg(trace.color)
            };
            let axis = axis_of(trace);
            let row = |v: f64| axis.dot_row(to_axis(v, axis.log), dh);
            let dash = if trace.faint { Dash::Solid } else { trace.dash };
            let mut prev: Option<(usize, usize, usize)> = None; // (segment, col, row)
            for p in &trace.points {
                let (Some(c0), Some(c1)) = (col(p.x0), col(p.x1)) else {
                    prev = None;
                    continue;
                };
                let nf = p.extent.non_finite;
                if nf.any() {
                    let cell = c0 / 2;
                    if nf.nan() {
                        markers.push((cell, true, '×'));
                    }
                    if nf.pos_inf() {
                        markers.push((cell, true, '▲'));
                    }
                    if nf.neg_inf() {
                        markers.push((cell, false, '▼'));
                    }
                }
                if !p.extent.has_finite() {
                    prev = None;
                    continue;
                }
                let (r_top, r_bot) = (row(p.extent.max), row(p.extent.min));
                if let Some((seg, pc, pr)) = prev {
                    if seg == p.segment && c0 > pc + 1 && p.first.is_finite() {
                        // Join sparse points with a straight line.
                        let r1 = row(p.first);
                        for c in pc + 1..c0 {
                            let t = (c - pc) as f64 / (c0 - pc) as f64;
                            let r = (pr as f64 + t * (r1 as f64 - pr as f64)).round() as usize;
                            if dash.on(c) {
                                grid.set(c, r, style);
                            }
                        }
                    } else if seg == p.segment && p.first.is_finite() && dash.on(c0) {
                        grid.vline(c0, pr, row(p.first), style);
                    }
                }
                for c in (c0..=c1).filter(|&c| dash.on(c)) {
                    grid.vline(c, r_top, r_bot, style);
                }
                prev = p.last.is_finite().then(|| (p.segment, c1, row(p.last)));
            }
        }
        let cursor_cell = self.cursor.and_then(col).map(|c| c / 2);
        // The most severe event of each cell column: O(events + width).
        let mut event_cells: Vec<Option<Severity>> = vec![None; w];
        let mut event_at = Vec::new();
        for e in self.events {
            if let Some(c) = col(e.x) {
                let cell = &mut event_cells[c / 2];
                *cell = (*cell).max(Some(e.severity));
                event_at.push((c / 2, e));
            }
        }
        for cy in 0..h {
            for (cx, event) in event_cells.iter().enumerate() {
                let i = cy * w + cx;
                let pos = (plot.x + cx as u16, plot.y + cy as u16);
                let (ch, style) = if grid.bits[i] != 0 {
                    let ch = char::from_u32(0x2800 + u32::from(grid.bits[i])).unwrap_or('⣿');
                    (ch, grid.color[i])
                } else if cursor_cell == Some(cx) {
                    ('│', self.theme.cursor)
                } else if let Some(sev) = *event {
                    (EVENT_LINE, self.theme.severity(sev))
                } else {
                    continue;
                };
                if let Some(cell) = buf.cell_mut(pos) {
                    cell.set_char(ch).set_style(style);
                }
            }
        }
        // Data may fill an event's column: a tick on the x-axis row, where
        // the labels leave room, marks it in any case.
        if labels {
            let y = area.bottom() - 1;
            for (cx, sev) in event_cells.iter().enumerate() {
                let Some(sev) = sev else { continue };
                if let Some(cell) = buf.cell_mut((plot.x + cx as u16, y)) {
                    if cell.symbol() == " " {
                        cell.set_char(event_glyph(*sev))
                            .set_style(self.theme.severity(*sev));
                    }
                }
            }
        }
        for (cx, top, ch) in markers {
            let y = if top { plot.y } else { plot.bottom() - 1 };
            if let Some(cell) = buf.cell_mut((plot.x + cx as u16, y)) {
                cell.set_char(ch).set_style(self.theme.nonfinite);
            }
        }
        self.label_events(plot, &event_at, buf);
    }
}

impl EnvelopeChart<'_> {
    /// Writes each event's label beside its line — in the plot's top row,
    /// else its bottom row, else the first row between them that has room;
    /// right of the line, else left of it — where the line shows in that
    /// row and the label and a blank cell beyond it are free. Events are
    /// labelled in the order given (the first wins).
    fn label_events(&self, plot: Rect, events: &[(usize, &EventMark)], buf: &mut Buffer) {
        if plot.height < 3 || plot.width < 6 {
            return;
        }
        let line = EVENT_LINE.to_string();
        let free = |buf: &Buffer, x: i32, y: u16| {
            x < i32::from(plot.x)
                || x >= i32::from(plot.right())
                || buf.cell((x as u16, y)).is_some_and(|c| c.symbol() == " ")
        };
        let mut labelled = vec![false; plot.width as usize];
        for &(cx, e) in events {
            let len = e.label.chars().count() as i32;
            if len == 0 || labelled[cx] {
                continue;
            }
            let x = i32::from(plot.x) + cx as i32;
            let rows = [plot.y, plot.bottom() - 1]
                .into_iter()
                .chain(plot.y + 1..plot.bottom() - 1);
            'rows: for y in rows {
                if buf.cell((x as u16, y)).is_none_or(|c| c.symbol() != line) {
                    continue;
                }
                // Right of the line (gap cell after it), else left.
                for (start, gap) in [(x + 1, x + 1 + len), (x - len, x - len - 1)] {
                    let inside =
                        start >= i32::from(plot.x) && start + len <= i32::from(plot.right());
                    if inside
                        && (start..start + len)
                            .all(|c| buf.cell((c as u16, y)).is_some_and(|c| c.symbol() == " "))
                        && free(buf, gap, y)
                    {
                        buf.set_string(start as u16, y, e.label, self.theme.severity(e.severity));
                        labelled[cx] = true;
                        break 'rows;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Extent;

    fn point(x: f64, min: f64, max: f64) -> EnvPoint {
        let mut extent = Extent::of(min);
        extent.merge(Extent::of(max));
        EnvPoint {
            x0: x,
            x1: x,
            first: min,
            last: max,
            extent,
            segment: 0,
            start: 0,
            end: 1,
        }
    }

    /// One red trace through `points`.
    fn trace(points: Vec<EnvPoint>) -> [Trace; 1] {
        [Trace {
            label: "a".into(),
            color: Color::Red,
            faint: false,
            points,
            dash: Dash::Solid,
            right: false,
        }]
    }

    /// A chart of `traces` over steps 0..39 and values `y`.
    fn chart<'a>(
        traces: &'a [Trace],
        y: (f64, f64),
        events: &'a [EventMark],
        theme: &'a Theme,
    ) -> EnvelopeChart<'a> {
        EnvelopeChart {
            traces,
            x: (0.0, 39.0),
            y,
            log_y: false,
            y2: None,
            x_mode: XMode::Step,
            cursor: None,
            events,
            theme,
        }
    }

    #[test]
    fn spikes_and_nans_are_visible() {
        let theme = Theme::default_theme();
        let mut points: Vec<_> = (0..40).map(|i| point(i as f64, 1.0, 1.0)).collect();
        points[20] = point(20.0, 1.0, 100.0);
        points[30] = point(30.0, f64::NAN, f64::NAN);
        let traces = trace(points);
        let chart = chart(&traces, (1.0, 100.0), &[], &theme);
        let area = Rect::new(0, 0, 30, 8);
        let mut buf = Buffer::empty(area);
        chart.clone().render(area, &mut buf);
        let top: String = (0..30).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert!(top.contains('×'), "NaN marker on the top row: {top:?}");
        assert!(
            top.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
            "spike reaches the top: {top:?}"
        );
        for (w, h) in [(0, 0), (1, 1), (2, 1), (5, 2)] {
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            EnvelopeChart { ..chart.clone() }.render(area, &mut buf);
        }
    }

    /// The y labels of a chart of the flat series at `v`.
    fn flat_labels(v: f64) -> (String, String) {
        let theme = Theme::default_theme();
        let traces = trace((0..40).map(|i| point(i as f64, v, v)).collect());
        let chart = chart(&traces, (v, v), &[], &theme);
        let area = Rect::new(0, 0, 30, 8);
        let mut buf = Buffer::empty(area);
        chart.render(area, &mut buf);
        let row = |y: u16| -> String {
            let s: String = (0..6).map(|x| buf[(x, y)].symbol().to_string()).collect();
            s.trim_start()
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .next()
                .unwrap_or("")
                .to_string()
        };
        (row(0), row(6))
    }

    #[test]
    fn a_flat_zero_series_gets_a_0_to_1_axis_not_a_tiny_band() {
        assert_eq!(flat_labels(0.0), ("1".to_string(), "0".to_string()));
        assert_eq!(flat_labels(2.0), ("3".to_string(), "1".to_string()));
    }

    #[test]
    fn events_are_dotted_lines_that_never_hide_data() {
        let theme = Theme::default_theme();
        let points: Vec<_> = (0..40).map(|i| point(i as f64, 1.0, 1.0)).collect();
        let traces = trace(points);
        let events = [
            EventMark {
                x: 14.0,
                severity: Severity::Info,
                label: "",
            },
            EventMark {
                x: 14.2,
                severity: Severity::Alert,
                label: "",
            },
            EventMark {
                x: 26.0,
                severity: Severity::Warning,
                label: "",
            },
            EventMark {
                x: 99.0, // outside the window
                severity: Severity::Alert,
                label: "",
            },
        ];
        let chart = chart(&traces, (0.0, 2.0), &events, &theme);
        // No labels: the plot is the whole area, one cell per two steps;
        // the flat line at 1.0 lies in the bottom row.
        let area = Rect::new(0, 0, 20, 2);
        let mut buf = Buffer::empty(area);
        chart.clone().render(area, &mut buf);
        let line = EVENT_LINE.to_string();
        assert_eq!(buf[(7, 0)].symbol(), line);
        assert_eq!(
            buf[(7, 0)].fg,
            theme.error.fg.unwrap(),
            "the most severe wins"
        );
        assert_eq!(buf[(13, 0)].symbol(), line);
        assert_eq!(buf[(13, 0)].fg, theme.warning.fg.unwrap());
        let braille = |x: u16, y: u16| {
            buf[(x, y)]
                .symbol()
                .chars()
                .all(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
        };
        assert!(braille(7, 1) && braille(13, 1), "the data is not hidden");
        let marked = buf.content().iter().filter(|c| c.symbol() == line).count();
        assert_eq!(marked, 2, "nothing for an event outside the window");

        // With axis labels, a tick on the x-axis row marks each event even
        // where the data fills the column; the labels stay.
        let full = trace((0..40).map(|i| point(i as f64, 0.0, 2.0)).collect());
        let area = Rect::new(0, 0, 30, 4);
        let mut buf = Buffer::empty(area);
        EnvelopeChart {
            traces: &full,
            ..chart.clone()
        }
        .render(area, &mut buf);
        let axis: String = (0..30).map(|x| buf[(x, 3)].symbol().to_string()).collect();
        assert!(axis.contains('◈') && axis.contains('◆'), "{axis:?}");
        assert!(
            !axis.contains('◇'),
            "the more severe event of a cell: {axis:?}"
        );
        assert!(
            axis.contains("0 ") && axis.contains(" 10 ") && axis.contains(" 30"),
            "ticks at round steps: {axis:?}"
        );
        assert!(
            !buf.content().iter().any(|c| c.symbol() == line),
            "data first"
        );
    }

    #[test]
    fn events_carry_their_label_beside_the_line_where_there_is_room() {
        let theme = Theme::default_theme();
        // Data along the bottom row only; no axis labels (one row less).
        let traces = trace((0..40).map(|i| point(i as f64, 0.0, 0.0)).collect());
        let mark = |x: f64, label| EventMark {
            x,
            severity: Severity::Warning,
            label,
        };
        let events = [
            mark(10.0, "SC"),
            // Right of it is the next line: left.
            mark(12.0, "spike"),
            mark(14.0, "grok"),
            mark(38.0, "stall"),
        ];
        let area = Rect::new(0, 0, 20, 4);
        let mut buf = Buffer::empty(area);
        chart(&traces, (0.0, 1.0), &events, &theme).render(area, &mut buf);
        let row =
            |y: u16| -> String { (0..20).map(|x| buf[(x, y)].symbol().to_string()).collect() };
        // Lines at cells 6, 7, 8 and 19 (the plot starts after the y
        // labels): SC left of its line (the next line is right of it),
        // spike nowhere (lines on both sides), grok right of its line,
        // stall left of the last line, one blank cell from grok.
        assert_eq!(row(0), "1   SC┊┊┊grok stall┊");
        assert_eq!(buf[(4, 0)].fg, theme.warning.fg.unwrap());
        assert_eq!(row(1), "      ┊┊┊          ┊", "one label per event");
        assert_eq!(row(2), "0 ⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀⣀", "data is never covered");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(fmt_short(0.012345), "0.0123");
        assert_eq!(fmt_short(123.456), "123.5");
        assert_eq!(fmt_short(2e-7), "2.0e-7");
        assert_eq!(fmt_x(3725.0, XMode::Relative), "1h02m");
        assert_eq!(fmt_x(2.0, XMode::LogStep), "99");
    }
}
