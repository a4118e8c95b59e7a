//! The replay scrubber: a track across the run with the position and the
//! detected events on it, and a line of play state, speed, step, time and
//! events. Two rows when there is room, one otherwise.
//!
//! ```text
//! ━━━━━━━━━◇━━━━━━━━━━━━●─────◆────────◆──────────────────────────────
//! ▶ playing ×20 · step 1585 / 3000 · 0:43 / 1:29 · event 2 of 4 · next: spike @1860
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::analysis::Severity;
use crate::tui::replay::{format_clock, format_speed};
use crate::tui::theme::Theme;
use crate::tui::widgets::envelope::event_glyph;

/// Narrowest track worth drawing on the one-row layout.
const MIN_TRACK: u16 = 8;

/// One event on the track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScrubMark {
    /// Where it lies in the run, from 0 to 1.
    pub at: f64,
    /// Its colour and glyph.
    pub severity: Severity,
}

/// The scrubber widget.
#[derive(Debug, Clone)]
pub struct Scrubber<'a> {
    /// Position of the newest record on show, from 0 to 1.
    pub position: f64,
    /// The run's events.
    pub marks: &'a [ScrubMark],
    /// The clock runs.
    pub playing: bool,
    /// The position is at the end of the run.
    pub at_end: bool,
    /// Speed.
    pub speed: f64,
    /// Step of the newest record on show.
    pub step: Option<i64>,
    /// The run's last step.
    pub last_step: Option<i64>,
    /// Virtual time elapsed and in total (runs replayed by wall time).
    pub clock: Option<(f64, f64)>,
    /// Events passed so far.
    pub passed: usize,
    /// The next event ahead, as `kind @step`.
    pub next: Option<String>,
    /// Colours.
    pub theme: &'a Theme,
}

impl Scrubber<'_> {
    /// Where the track lies within `area` (for mouse hits).
    pub fn track(&self, area: Rect) -> Rect {
        if area.height >= 2 {
            return Rect { height: 1, ..area };
        }
        let lead = self.compact_text().chars().count() as u16;
        if area.width >= lead + MIN_TRACK {
            Rect {
                x: area.x + lead,
                width: area.width - lead,
                height: area.height.min(1),
                ..area
            }
        } else {
            Rect {
                width: 0,
                height: 0,
                ..area
            }
        }
    }

    fn state(&self) -> (&'static str, &'static str) {
        if self.playing {
            ("▶", "playing")
        } else if self.at_end {
            ("■", "at the end")
        } else {
            ("❚❚", "paused")
        }
    }

    fn step_text(&self, sep: &str) -> String {
        let show = |s: Option<i64>| s.map_or_else(|| "–".to_string(), |s| s.to_string());
        format!("{}{sep}{}", show(self.step), show(self.last_step))
    }

    /// The text before the track on the one-row layout.
    fn compact_text(&self) -> String {
        format!(
            "{} {} {} ",
            self.state().0,
            format_speed(self.speed),
            self.step_text("/")
        )
    }

    /// The line below the track, in at most `width` columns: what does not
    /// fit is left out whole (first the clock, then the event count, then
    /// the next event), never cut.
    fn info_line(&self, width: usize) -> Line<'static> {
        let t = self.theme;
        let (glyph, word) = self.state();
        let sep = || Span::styled(" · ", t.dim);
        let core = vec![
            Span::styled(format!("{glyph} {word} "), t.title),
            Span::styled(format_speed(self.speed), t.accent),
            sep(),
            Span::styled(format!("step {}", self.step_text(" / ")), t.base),
        ];
        let clock = self.clock.map(|(now, total)| {
            Span::styled(
                format!("{} / {}", format_clock(now), format_clock(total)),
                t.dim,
            )
        });
        let count = Some(Span::styled(
            format!("event {} of {}", self.passed, self.marks.len()),
            t.dim,
        ));
        let next = self
            .next
            .as_ref()
            .map(|next| Span::styled(format!("next: {next} (n)"), t.dim));
        let parts = [clock, count, next];
        // Leave out parts from the first until the line fits.
        for skip in 0..parts.len() {
            let mut spans = core.clone();
            for part in parts[skip..].iter().flatten() {
                spans.push(sep());
                spans.push(part.clone());
            }
            let line = Line::from(spans);
            if line.width() <= width {
                return line;
            }
        }
        Line::from(core)
    }

    fn draw_track(&self, track: Rect, buf: &mut Buffer) {
        let w = track.width as usize;
        if w == 0 || track.height == 0 {
            return;
        }
        let t = self.theme;
        let col = |f: f64| ((f.clamp(0.0, 1.0) * (w - 1) as f64).round() as usize).min(w - 1);
        let pos = col(self.position);
        // The most severe event of each column.
        let mut events: Vec<Option<Severity>> = vec![None; w];
        for m in self.marks {
            let c = col(m.at);
            events[c] = events[c].max(Some(m.severity));
        }
        let y = track.y;
        for (c, event) in events.iter().enumerate() {
            let (ch, style): (char, Style) = if c == pos {
                ('●', t.title)
            } else if let Some(sev) = event {
                (event_glyph(*sev), t.severity(*sev))
            } else if c < pos {
                ('━', t.accent)
            } else {
                ('─', t.dim)
            };
            if let Some(cell) = buf.cell_mut((track.x + c as u16, y)) {
                cell.set_char(ch).set_style(style);
            }
        }
    }
}

impl Widget for Scrubber<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        let track = self.track(area);
        if area.height >= 2 {
            self.draw_track(track, buf);
            buf.set_line(
                area.x,
                area.y + 1,
                &self.info_line(area.width as usize),
                area.width,
            );
            return;
        }
        let lead = self.compact_text();
        let t = self.theme;
        buf.set_stringn(area.x, area.y, &lead, area.width as usize, t.title);
        self.draw_track(track, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber<'a>(theme: &'a Theme, marks: &'a [ScrubMark]) -> Scrubber<'a> {
        Scrubber {
            position: 0.5,
            marks,
            playing: true,
            at_end: false,
            speed: 20.0,
            step: Some(1500),
            last_step: Some(3000),
            clock: Some((44.5, 89.0)),
            passed: 1,
            next: Some("spike @1860".into()),
            theme,
        }
    }

    fn row(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect()
    }

    #[test]
    fn the_track_shows_position_and_events_by_severity() {
        let theme = Theme::default_theme();
        let marks = [
            ScrubMark {
                at: 0.0,
                severity: Severity::Info,
            },
            ScrubMark {
                at: 0.8,
                severity: Severity::Info,
            },
            // Same column: the more severe shows.
            ScrubMark {
                at: 0.8,
                severity: Severity::Alert,
            },
            ScrubMark {
                at: 0.5,
                severity: Severity::Warning,
            },
        ];
        let area = Rect::new(0, 0, 11, 2);
        let mut buf = Buffer::empty(area);
        scrubber(&theme, &marks).render(area, &mut buf);
        assert_eq!(
            row(&buf, 0),
            "◇━━━━●──◈──",
            "the position hides an event under it"
        );
        assert_eq!(buf[(8, 0)].style().fg, theme.error.fg);
        assert_eq!(buf[(0, 0)].style().fg, theme.accent.fg);
    }

    #[test]
    fn one_row_puts_the_essentials_before_the_track_and_tiny_areas_are_safe() {
        let theme = Theme::default_theme();
        let s = scrubber(&theme, &[]);
        let area = Rect::new(0, 0, 40, 1);
        let mut buf = Buffer::empty(area);
        s.clone().render(area, &mut buf);
        let text = row(&buf, 0);
        assert!(text.starts_with("▶ ×20 1500/3000 ━"), "{text}");
        assert_eq!(s.track(area).x, 16);
        // Too narrow for a track: only the text, cut.
        let narrow = Rect::new(0, 0, 12, 1);
        assert_eq!(s.track(narrow).width, 0);
        for (w, h) in [(0, 0), (1, 1), (3, 2), (12, 1), (1, 5)] {
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            s.clone().render(area, &mut buf);
        }
    }

    #[test]
    fn the_info_line_leaves_out_whole_parts_when_narrow() {
        let theme = Theme::default_theme();
        let s = scrubber(&theme, &[]);
        let full =
            "▶ playing ×20 · step 1500 / 3000 · 0:44 / 1:29 · event 1 of 0 · next: spike @1860 (n)";
        let line = |w: usize| s.info_line(w).to_string();
        assert_eq!(line(200), full);
        assert_eq!(
            line(full.chars().count() - 1),
            "▶ playing ×20 · step 1500 / 3000 · event 1 of 0 · next: spike @1860 (n)",
            "the clock goes first"
        );
        assert_eq!(
            line(60),
            "▶ playing ×20 · step 1500 / 3000 · next: spike @1860 (n)"
        );
        assert_eq!(line(40), "▶ playing ×20 · step 1500 / 3000");
        assert_eq!(
            line(10),
            "▶ playing ×20 · step 1500 / 3000",
            "the core stays"
        );
    }
}
