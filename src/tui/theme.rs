//! Colour themes: TOML files of optional colours, resolved over the built-in
//! default into ratatui styles.
//!
//! Built-in themes are the files of the top-level `themes/` folder, embedded
//! at build time. Users add their own as
//! `$XDG_CONFIG_HOME/grokscope/themes/NAME.toml` (or
//! `~/.config/grokscope/themes/NAME.toml`); `--theme` also takes a path to a
//! `.toml` file. With `NO_COLOR` set (to anything non-empty) every colour is
//! dropped and emphasis uses bold, reverse and shading characters instead.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The built-in themes, `(name, toml)`; the first is the default.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("okabe-ito", include_str!("../../themes/okabe-ito.toml")),
];

/// A theme as written in TOML: every field optional, no ratatui types.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeFile {
    /// Display name.
    pub name: Option<String>,
    /// Background of the whole screen (default: the terminal's).
    pub background: Option<String>,
    /// Ordinary text.
    pub foreground: Option<String>,
    /// Secondary text, raw series behind smoothed ones.
    pub dim: Option<String>,
    /// Panel borders.
    pub border: Option<String>,
    /// Border of the focused panel.
    pub border_focus: Option<String>,
    /// Panel titles.
    pub title: Option<String>,
    /// Highlights: key names in help, the selected run.
    pub accent: Option<String>,
    /// Ingest warnings.
    pub warning: Option<String>,
    /// Errors and alerts.
    pub error: Option<String>,
    /// Markers of NaN / ±Infinity in charts.
    pub nonfinite: Option<String>,
    /// The chart cursor.
    pub cursor: Option<String>,
    /// Background of the highlighted row in the runs list.
    pub selection: Option<String>,
    /// Colours of chart series, in order.
    pub series: Option<Vec<String>>,
    /// Colour scale of the heatmap, low to high.
    pub heat: Option<Vec<String>>,
}

/// A theme ready to draw with.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Display name.
    pub name: String,
    /// Whether colours are off (`NO_COLOR`).
    pub monochrome: bool,
    /// Ordinary text over the screen background.
    pub base: Style,
    /// Secondary text.
    pub dim: Style,
    /// Panel borders.
    pub border: Style,
    /// Border of the focused panel.
    pub border_focus: Style,
    /// Panel titles.
    pub title: Style,
    /// Highlights.
    pub accent: Style,
    /// Warnings.
    pub warning: Style,
    /// Errors and alerts.
    pub error: Style,
    /// Non-finite markers.
    pub nonfinite: Style,
    /// Chart cursor.
    pub cursor: Style,
    /// Highlighted row.
    pub selection: Style,
    /// Series colours (never empty).
    pub series: Vec<Color>,
    /// Heat scale, low to high (never empty).
    pub heat: Vec<Color>,
}

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// No built-in or user theme has that name.
    #[error(
        "unknown theme '{name}': built-in themes are {built_in}; user themes go in {user_dir}"
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// The built-in names.
        built_in: String,
        /// Where user themes are looked for.
        user_dir: String,
    },
    /// A theme file could not be read (the error names the file).
    #[error("cannot read theme: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (in the message, so not a `source()`: a chain printed with
        /// `{:#}` names it once).
        error: std::io::Error,
    },
    /// A theme file is not valid.
    #[error("theme {origin}: {message}")]
    Invalid {
        /// File or built-in name.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

impl Theme {
    /// The default theme (`dark`).
    pub fn default_theme() -> Theme {
        let file: ThemeFile = toml::from_str(BUILT_IN[0].1).expect("built-in theme parses");
        resolve(&file, "dark").expect("built-in theme resolves")
    }

    /// Loads the theme named on the command line (`None`: the default),
    /// honouring `NO_COLOR` from the environment.
    pub fn load(name: Option<&str>) -> Result<Theme, ThemeError> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let theme = Theme::named(name.unwrap_or("dark"), user_theme_dir().as_deref())?;
        Ok(if no_color { theme.monochrome() } else { theme })
    }

    /// Finds a theme: a path to a `.toml` file, a file in `user_dir`, or a
    /// built-in theme, in that order.
    pub fn named(name: &str, user_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        let as_path = Path::new(name);
        if name.ends_with(".toml") || name.contains(std::path::MAIN_SEPARATOR) {
            return from_file(as_path);
        }
        if let Some(dir) = user_dir {
            let p = dir.join(format!("{name}.toml"));
            if p.is_file() {
                return from_file(&p);
            }
        }
        if let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name) {
            return parse(text, name);
        }
        Err(ThemeError::Unknown {
            name: name.to_string(),
            built_in: BUILT_IN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
            user_dir: user_dir
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "$XDG_CONFIG_HOME/grokscope/themes".into()),
        })
    }

    /// The same theme without any colour (for `NO_COLOR`).
    pub fn monochrome(self) -> Theme {
        let plain = Style::new();
        Theme {
            name: self.name,
            monochrome: true,
            base: plain,
            dim: plain.add_modifier(Modifier::DIM),
            border: plain,
            border_focus: plain.add_modifier(Modifier::BOLD),
            title: plain.add_modifier(Modifier::BOLD),
            accent: plain.add_modifier(Modifier::BOLD),
            warning: plain.add_modifier(Modifier::BOLD),
            error: plain.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            nonfinite: plain.add_modifier(Modifier::BOLD),
            cursor: plain.add_modifier(Modifier::BOLD),
            selection: plain.add_modifier(Modifier::REVERSED),
            series: vec![Color::Reset],
            heat: vec![Color::Reset],
        }
    }

    /// The style of an analysis event of this severity: alerts in the
    /// error colour, warnings in the warning colour, the rest in accent.
    pub fn severity(&self, severity: crate::analysis::Severity) -> Style {
        use crate::analysis::Severity;
        match severity {
            Severity::Alert => self.error,
            Severity::Warning => self.warning,
            Severity::Info => self.accent,
        }
    }

    /// Colour of series number `i`.
    pub fn series_color(&self, i: usize) -> Color {
        self.series[i % self.series.len()]
    }

    /// Colour of a heat value in `0..=1`: interpolated between the two
    /// nearest stops of [`Theme::heat`] when both are RGB, else the nearest.
    pub fn heat_color(&self, t: f64) -> Color {
        let n = self.heat.len();
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            1.0
        };
        if n == 1 {
            return self.heat[0];
        }
        let x = t * (n - 1) as f64;
        let k = (x.floor() as usize).min(n - 2);
        let f = x - k as f64;
        match (self.heat[k], self.heat[k + 1]) {
            (Color::Rgb(r0, g0, b0), Color::Rgb(r1, g1, b1)) => {
                let m =
                    |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
                Color::Rgb(m(r0, r1), m(g0, g1), m(b0, b1))
            }
            (a, b) => {
                if f < 0.5 {
                    a
                } else {
                    b
                }
            }
        }
    }
}

/// Where user themes are looked for: `$XDG_CONFIG_HOME/grokscope/themes`,
/// else `~/.config/grokscope/themes` (on Windows `%APPDATA%`).
pub fn user_theme_dir() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let base = non_empty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|h| PathBuf::from(h).join(".config")))
        .or_else(|| non_empty("APPDATA").map(PathBuf::from))?;
    Some(base.join("grokscope").join("themes"))
}

fn from_file(path: &Path) -> Result<Theme, ThemeError> {
    let read_error = |error| ThemeError::Read {
        path: path.to_path_buf(),
        error,
    };
    let bytes =
        crate::files::read_bounded(path, crate::files::MAX_THEME_BYTES).map_err(read_error)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: not UTF-8 text", path.display()),
        ))
    })?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("theme");
    parse(&text, &path.display().to_string()).map(|mut t| {
        if t.name.is_empty() {
            t.name = stem.to_string();
        }
        t
    })
}

/// Parses the TOML text of a theme from `origin` (a file or built-in name)
/// and resolves it over the built-in default.
pub fn parse(text: &str, origin: &str) -> Result<Theme, ThemeError> {
    let file: ThemeFile = toml::from_str(text).map_err(|e| ThemeError::Invalid {
        origin: origin.to_string(),
        message: toml_message(text, &e),
    })?;
    resolve(&file, origin)
}

/// A TOML error on one line: where, then what. The parser's own display
/// quotes the offending line of the file under a header; that excerpt can
/// be a megabyte long, and the message is printed on one line anyway
/// (control characters such as its newlines shown as escapes).
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let what = e.message().trim_end();
    let Some(at) = e.span().map(|s| s.start.min(text.len())) else {
        return what.to_string();
    };
    let before = &text.as_bytes()[..at];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = 1 + String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count();
    format!("line {line}, column {column}: {what}")
}

/// Resolves `file` over the built-in default.
pub fn resolve(file: &ThemeFile, origin: &str) -> Result<Theme, ThemeError> {
    let default: ThemeFile = toml::from_str(BUILT_IN[0].1).expect("built-in theme parses");
    let color = |field: &str, own: &Option<String>, fallback: &Option<String>| match own
        .as_ref()
        .or(fallback.as_ref())
    {
        None => Ok(None),
        Some(s) => Color::from_str(s)
            .map(Some)
            .map_err(|_| ThemeError::Invalid {
                origin: origin.to_string(),
                message: format!(
                    "{field} = \"{s}\" is not a colour (use a name, \"#rrggbb\" or 0-255)"
                ),
            }),
    };
    let colors = |field: &str, own: &Option<Vec<String>>, fallback: &Option<Vec<String>>| {
        let list = own
            .as_ref()
            .or(fallback.as_ref())
            .cloned()
            .unwrap_or_default();
        let out = list
            .iter()
            .map(|s| {
                Color::from_str(s).map_err(|_| ThemeError::Invalid {
                    origin: origin.to_string(),
                    message: format!("{field}: \"{s}\" is not a colour"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if out.is_empty() {
            return Err(ThemeError::Invalid {
                origin: origin.to_string(),
                message: format!("{field} must list at least one colour"),
            });
        }
        Ok(out)
    };
    let fg = |field: &str, own: &Option<String>, fallback: &Option<String>| {
        color(field, own, fallback).map(|c| c.map_or(Style::new(), |c| Style::new().fg(c)))
    };
    let d = &default;
    let f = file;
    let mut base = fg("foreground", &f.foreground, &d.foreground)?;
    if let Some(bg) = color("background", &f.background, &None)? {
        base = base.bg(bg);
    }
    let selection = color("selection", &f.selection, &d.selection)?
        .map_or(Style::new().add_modifier(Modifier::REVERSED), |c| {
            Style::new().bg(c)
        });
    Ok(Theme {
        name: f.name.clone().unwrap_or_default(),
        monochrome: false,
        base,
        dim: fg("dim", &f.dim, &d.dim)?,
        border: fg("border", &f.border, &d.border)?,
        border_focus: fg("border_focus", &f.border_focus, &d.border_focus)?
            .add_modifier(Modifier::BOLD),
        title: fg("title", &f.title, &d.title)?.add_modifier(Modifier::BOLD),
        accent: fg("accent", &f.accent, &d.accent)?,
        warning: fg("warning", &f.warning, &d.warning)?,
        error: fg("error", &f.error, &d.error)?.add_modifier(Modifier::BOLD),
        nonfinite: fg("nonfinite", &f.nonfinite, &d.nonfinite)?.add_modifier(Modifier::BOLD),
        cursor: fg("cursor", &f.cursor, &d.cursor)?,
        selection,
        series: colors("series", &f.series, &d.series)?,
        heat: colors("heat", &f.heat, &d.heat)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_loads() {
        for (name, _) in BUILT_IN {
            let t = Theme::named(name, None).unwrap();
            assert_eq!(t.name, *name);
            assert!(t.series.len() >= 6, "{name}");
        }
    }

    #[test]
    fn unknown_and_bad_themes_are_clear_errors() {
        let e = Theme::named("neon", None).unwrap_err().to_string();
        assert!(
            e.contains("unknown theme 'neon'") && e.contains("okabe-ito"),
            "{e}"
        );
        let e = parse("accent = \"nocolour\"", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("accent") && e.contains("x.toml"), "{e}");
        let e = parse("bogus = 1", "y.toml").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn user_themes_override_and_fill_from_default() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mine.toml"), "accent = \"red\"\n").unwrap();
        let t = Theme::named("mine", Some(dir.path())).unwrap();
        assert_eq!(t.accent, Style::new().fg(Color::Red));
        assert_eq!(t.series, Theme::default_theme().series);
        assert_eq!(t.name, "mine");
    }

    #[test]
    fn monochrome_has_no_colour() {
        let t = Theme::default_theme().monochrome();
        assert_eq!(t.series, vec![Color::Reset]);
        assert_eq!(t.base.fg, None);
    }
}
