//! The colours of exported pictures, in one small struct fed from the
//! dashboard's theme ([`Palette::from_theme`]). The default is the dark
//! theme's.

use plotters::style::RGBColor;
use ratatui::style::{Color, Style};

use crate::analysis::Severity;
use crate::tui::theme::Theme;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Parses `#rrggbb` (as the theme files write colours).
    pub fn from_hex(s: &str) -> Option<Rgb> {
        let h = s.strip_prefix('#')?;
        if h.len() != 6 || !h.is_ascii() {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
        Some(Rgb(byte(0)?, byte(2)?, byte(4)?))
    }

    /// The colour for plotters.
    pub fn rgb(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }

    /// Linear blend: `t = 0` gives `self`, `t = 1` gives `other`.
    pub fn mix(self, other: Rgb, t: f64) -> Rgb {
        let t = t.clamp(0.0, 1.0);
        let m = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
        Rgb(m(self.0, other.0), m(self.1, other.1), m(self.2, other.2))
    }
}

/// A colour for category `k` (a region label, a class) in region maps, the
/// terminal's and the pictures': hues a golden angle apart, so that labels
/// next to each other differ clearly, alternating two lightnesses, muted
/// enough that boundaries drawn in the foreground colour stay readable.
pub fn category(k: u32) -> Rgb {
    let hue = (f64::from(k) * 0.618_033_988_75).fract() * 6.0;
    let (s, l) = (0.55, if k.is_multiple_of(2) { 0.52 } else { 0.40 });
    let c = (1.0 - (2.0 * l - 1.0f64).abs()) * s;
    let x = c * (1.0 - (hue % 2.0 - 1.0).abs());
    let (r, g, b) = match hue as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    Rgb(to(r), to(g), to(b))
}

/// How much darker than its region a boundary cell of a region map is.
pub const BOUNDARY_SHADE: f64 = 0.6;

/// The colour of a boundary cell of category `k`: `category(k)` darkened,
/// so that where regions are small (every cell a boundary) the map turns
/// dark without losing its colours, and large regions stay bright.
pub fn category_edge(k: u32) -> Rgb {
    category(k).mix(Rgb(0, 0, 0), BOUNDARY_SHADE)
}

/// Every colour a picture uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    /// Picture background (the dark theme leaves the terminal's; a picture
    /// needs one, so a near-black grey).
    pub background: Rgb,
    /// Text, axes and labels.
    pub foreground: Rgb,
    /// Grid lines and secondary text.
    pub dim: Rgb,
    /// Panel frames.
    pub border: Rgb,
    /// Panel titles.
    pub title: Rgb,
    /// Markers of informational events.
    pub accent: Rgb,
    /// Markers of warnings.
    pub warning: Rgb,
    /// Markers of alerts.
    pub error: Rgb,
    /// NaN / ±Infinity marks.
    pub nonfinite: Rgb,
    /// Series colours, in order.
    pub series: Vec<Rgb>,
    /// Heatmap scale, low to high (at least one colour).
    pub heat: Vec<Rgb>,
}

impl Default for Palette {
    fn default() -> Palette {
        Palette::dark()
    }
}

impl Palette {
    /// The dark theme's colours (themes/dark.toml), on a near-black
    /// background.
    pub fn dark() -> Palette {
        Palette::from_theme(&Theme::default_theme())
    }

    /// The light theme's colours (themes/light.toml) on white: the default
    /// for figures.
    pub fn light() -> Palette {
        let theme = Theme::named("light", None).expect("built-in theme");
        Palette {
            background: Rgb(0xff, 0xff, 0xff),
            ..Palette::from_theme(&theme)
        }
    }

    /// Colours used where a theme leaves one to the terminal.
    fn fallback() -> Palette {
        let hex = |s: &str| Rgb::from_hex(s).expect("built-in colours are valid");
        Palette {
            background: hex("#1c1c1c"),
            foreground: hex("#d0d0d0"),
            dim: hex("#6c6c6c"),
            border: hex("#4e4e4e"),
            title: hex("#ffffff"),
            accent: hex("#5fafff"),
            warning: hex("#ffaf00"),
            error: hex("#ff5f5f"),
            nonfinite: hex("#ff00ff"),
            series: [
                "#5fafff", "#ff875f", "#87d787", "#d787ff", "#ffd75f", "#5fd7d7", "#ff5fa0",
                "#afafaf",
            ]
            .into_iter()
            .map(hex)
            .collect(),
            heat: [
                "#000040", "#3b0f70", "#8c2981", "#de4968", "#fe9f6d", "#fcfdbf",
            ]
            .into_iter()
            .map(hex)
            .collect(),
        }
    }

    /// The colours of a dashboard theme. Colours a theme leaves to the
    /// terminal (or drops for `NO_COLOR`) keep the dark palette's; a picture
    /// always needs a background, so a theme without one gets a near-white
    /// background under dark text and a near-black one under light text.
    pub fn from_theme(theme: &Theme) -> Palette {
        let d = Palette::fallback();
        let fg = |s: &Style, fallback: Rgb| s.fg.and_then(rgb_of).unwrap_or(fallback);
        let foreground = fg(&theme.base, d.foreground);
        let background = theme
            .base
            .bg
            .and_then(rgb_of)
            .unwrap_or(if luminance(foreground) < 0.5 {
                Rgb(0xfa, 0xfa, 0xfa)
            } else {
                d.background
            });
        let list = |colours: &[Color], fallback: Vec<Rgb>| {
            let out: Vec<Rgb> = colours.iter().filter_map(|&c| rgb_of(c)).collect();
            if out.is_empty() {
                fallback
            } else {
                out
            }
        };
        Palette {
            background,
            foreground,
            dim: fg(&theme.dim, d.dim),
            border: fg(&theme.border, d.border),
            title: fg(&theme.title, d.title),
            accent: fg(&theme.accent, d.accent),
            warning: fg(&theme.warning, d.warning),
            error: fg(&theme.error, d.error),
            nonfinite: fg(&theme.nonfinite, d.nonfinite),
            series: list(&theme.series, d.series),
            heat: list(&theme.heat, d.heat),
        }
    }

    /// Colour of series number `i` (cycling).
    pub fn series_colour(&self, i: usize) -> Rgb {
        if self.series.is_empty() {
            return self.foreground;
        }
        self.series[i % self.series.len()]
    }

    /// Colour of an event marker.
    pub fn severity_colour(&self, s: Severity) -> Rgb {
        match s {
            Severity::Info => self.accent,
            Severity::Warning => self.warning,
            Severity::Alert => self.error,
        }
    }

    /// Heat colour of `t` in 0..=1, interpolated along [`Palette::heat`].
    pub fn heat_colour(&self, t: f64) -> Rgb {
        match self.heat.len() {
            0 => self.foreground.mix(self.background, 1.0 - t),
            1 => self.heat[0],
            n => {
                let x = t.clamp(0.0, 1.0) * (n - 1) as f64;
                let k = (x.floor() as usize).min(n - 2);
                self.heat[k].mix(self.heat[k + 1], x - k as f64)
            }
        }
    }
}

/// Relative luminance in 0..=1 (Rec. 709 weights on sRGB values; enough
/// to tell a light colour from a dark one).
fn luminance(c: Rgb) -> f64 {
    (0.2126 * f64::from(c.0) + 0.7152 * f64::from(c.1) + 0.0722 * f64::from(c.2)) / 255.0
}

/// An sRGB channel (0–255) as linear light.
fn linear(c: u8) -> f64 {
    let c = f64::from(c) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// WCAG 2 contrast ratio of two colours, 1 (none) to 21 (black on white).
/// WCAG asks 3:1 for graphics such as chart lines.
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f64 {
    let l = |c: Rgb| 0.2126 * linear(c.0) + 0.7152 * linear(c.1) + 0.0722 * linear(c.2);
    let (x, y) = (l(a), l(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// CIELAB (D65) of an sRGB colour.
fn lab(c: Rgb) -> (f64, f64, f64) {
    let (r, g, b) = (linear(c.0), linear(c.1), linear(c.2));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    (
        116.0 * f(y) - 16.0,
        500.0 * (f(x) - f(y)),
        200.0 * (f(y) - f(z)),
    )
}

/// How different two colours look: CIE76 ΔE, the distance in CIELAB
/// (about 2.3 is just noticeable; 20 and more reads as another colour).
pub fn delta_e(a: Rgb, b: Rgb) -> f64 {
    let (p, q) = (lab(a), lab(b));
    ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2) + (p.2 - q.2).powi(2)).sqrt()
}

/// The sRGB value of a terminal colour (xterm's for the 16 named and the
/// 256 indexed colours); `None` for the terminal's own default.
pub fn rgb_of(c: Color) -> Option<Rgb> {
    const ANSI: [Rgb; 16] = [
        Rgb(0, 0, 0),
        Rgb(128, 0, 0),
        Rgb(0, 128, 0),
        Rgb(128, 128, 0),
        Rgb(0, 0, 128),
        Rgb(128, 0, 128),
        Rgb(0, 128, 128),
        Rgb(192, 192, 192),
        Rgb(128, 128, 128),
        Rgb(255, 0, 0),
        Rgb(0, 255, 0),
        Rgb(255, 255, 0),
        Rgb(0, 0, 255),
        Rgb(255, 0, 255),
        Rgb(0, 255, 255),
        Rgb(255, 255, 255),
    ];
    Some(match c {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => Rgb(r, g, b),
        Color::Indexed(i) => match i {
            0..=15 => ANSI[usize::from(i)],
            16..=231 => {
                let level = |k: u8| if k == 0 { 0 } else { 55 + 40 * k };
                let k = i - 16;
                Rgb(level(k / 36), level((k / 6) % 6), level(k % 6))
            }
            _ => {
                let v = 8 + 10 * (i - 232);
                Rgb(v, v, v)
            }
        },
        Color::Black => ANSI[0],
        Color::Red => ANSI[1],
        Color::Green => ANSI[2],
        Color::Yellow => ANSI[3],
        Color::Blue => ANSI[4],
        Color::Magenta => ANSI[5],
        Color::Cyan => ANSI[6],
        Color::Gray => ANSI[7],
        Color::DarkGray => ANSI[8],
        Color::LightRed => ANSI[9],
        Color::LightGreen => ANSI[10],
        Color::LightYellow => ANSI[11],
        Color::LightBlue => ANSI[12],
        Color::LightMagenta => ANSI[13],
        Color::LightCyan => ANSI[14],
        Color::White => ANSI[15],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_heat() {
        assert_eq!(Rgb::from_hex("#ff8000"), Some(Rgb(255, 128, 0)));
        assert_eq!(Rgb::from_hex("ff8000"), None);
        assert_eq!(Rgb::from_hex("#ff80"), None);
        let p = Palette::dark();
        assert_eq!(p.heat_colour(0.0), p.heat[0]);
        assert_eq!(p.heat_colour(1.0), *p.heat.last().unwrap());
        assert_eq!(p.heat_colour(7.0), *p.heat.last().unwrap());
        assert_eq!(p.series_colour(9), p.series[1]);
    }

    #[test]
    fn contrast_and_distance_are_the_standard_ones() {
        let (black, white) = (Rgb(0, 0, 0), Rgb(255, 255, 255));
        assert!((contrast_ratio(black, white) - 21.0).abs() < 1e-9);
        assert!((contrast_ratio(white, white) - 1.0).abs() < 1e-9);
        assert!((delta_e(black, white) - 100.0).abs() < 0.01);
        assert_eq!(delta_e(Rgb(1, 2, 3), Rgb(1, 2, 3)), 0.0);
    }

    /// Every built-in theme: each series colour stands out from the
    /// background (WCAG 3:1), from every event colour (ΔE ≥ 25: an event
    /// line never looks like data) and from the other series (ΔE ≥ 20).
    #[test]
    fn every_theme_keeps_series_and_events_apart() {
        for (name, _) in crate::tui::theme::BUILT_IN {
            let p = Palette::from_theme(&Theme::named(name, None).unwrap());
            let events = [p.accent, p.warning, p.error];
            for (i, &s) in p.series.iter().enumerate() {
                let c = contrast_ratio(s, p.background);
                assert!(c >= 3.0, "{name}: series {i} {s:?} contrast {c:.2}");
                for e in events {
                    let d = delta_e(s, e);
                    assert!(
                        d >= 25.0,
                        "{name}: series {i} {s:?} vs event {e:?}: ΔE {d:.1}"
                    );
                }
                for (j, &t) in p.series.iter().enumerate().skip(i + 1) {
                    let d = delta_e(s, t);
                    assert!(d >= 20.0, "{name}: series {i} vs {j}: ΔE {d:.1}");
                }
            }
            for (i, a) in events.iter().enumerate() {
                for b in &events[i + 1..] {
                    assert!(delta_e(*a, *b) >= 20.0, "{name}: events {a:?} {b:?}");
                }
            }
        }
        // The figures' light palette on white too.
        let p = Palette::light();
        for s in &p.series {
            assert!(contrast_ratio(*s, p.background) >= 3.0, "{s:?}");
        }
    }

    #[test]
    fn every_built_in_theme_gives_a_readable_palette() {
        for (name, _) in crate::tui::theme::BUILT_IN {
            let p = Palette::from_theme(&Theme::named(name, None).unwrap());
            let contrast = (luminance(p.foreground) - luminance(p.background)).abs();
            assert!(contrast > 0.4, "{name}: {p:?}");
            assert!(!p.series.is_empty() && !p.heat.is_empty());
        }
        // NO_COLOR themes carry no colours: the picture keeps the defaults.
        let mono = Theme::default_theme().monochrome();
        assert_eq!(Palette::from_theme(&mono), Palette::fallback());
    }

    #[test]
    fn terminal_colours_in_rgb() {
        assert_eq!(rgb_of(Color::Indexed(196)), Some(Rgb(255, 0, 0)));
        assert_eq!(rgb_of(Color::Indexed(16)), Some(Rgb(0, 0, 0)));
        assert_eq!(rgb_of(Color::Indexed(244)), Some(Rgb(128, 128, 128)));
        assert_eq!(rgb_of(Color::LightBlue), Some(Rgb(0, 0, 255)));
        assert_eq!(rgb_of(Color::Reset), None);
    }
}
