//! The colours of exported pictures, in one small struct so that the
//! dashboard's theme can feed it later. The defaults are the dark theme's.

use plotters::style::RGBColor;

use crate::analysis::Severity;

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
    /// The default dark theme's colours (themes/dark.toml of the dashboard).
    pub fn dark() -> Palette {
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
}
