//! Figures as PNG pictures (plotters' bitmap backend) and as SVG
//! ([`export_svg`]); what is drawn is [`super::figure`]'s.
//!
//! Series are drawn from the store's min/max buckets, about one per pixel
//! column, so a million points cost what a thousand do and no spike or NaN
//! is averaged away. Text uses DejaVu Sans Mono, embedded in the binary
//! (Bitstream Vera licence, `src/export/font/LICENSE`): no system font and
//! no network is needed for a PNG; an SVG names the `sans-serif` family.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::figure::{draw, Figure};
use super::palette::{Palette, Rgb};
use super::ExportError;
use crate::analysis::Event;
use crate::store::RunStore;

/// Default picture width in pixels.
pub const WIDTH: u32 = 1600;
/// Default picture height in pixels.
pub const HEIGHT: u32 = 1000;

const FONT_BYTES: &[u8] = include_bytes!("font/DejaVuSansMono.ttf");
/// The family name the embedded font is registered under.
pub(super) const FONT: &str = "sans-serif";

/// Registers the embedded font with plotters, once per process.
pub(super) fn register_embedded_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // A font compiled into the binary always parses (tested).
        let _ = register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

impl Default for Figure {
    fn default() -> Figure {
        Figure {
            width: WIDTH,
            height: HEIGHT,
            palette: Palette::light(),
            panels: None,
            metrics: None,
        }
    }
}

/// A drawing failure, as text (plotters' errors are generic over backends).
#[derive(Debug)]
pub struct DrawError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> DrawError {
        DrawError(e.to_string())
    }
}

/// Renders the figure into an RGB buffer (3 bytes per pixel, row-major).
pub fn render(
    run: &str,
    store: &RunStore,
    events: &[Event],
    fig: &Figure,
) -> Result<Vec<u8>, String> {
    register_embedded_font();
    let mut buf = vec![0u8; fig.width as usize * fig.height as usize * 3];
    {
        let root =
            BitMapBackend::with_buffer(&mut buf, (fig.width, fig.height)).into_drawing_area();
        draw(&root, run, store, events, fig).map_err(|e| e.0)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

/// Renders the figure as an SVG document.
pub fn render_svg(
    run: &str,
    store: &RunStore,
    events: &[Event],
    fig: &Figure,
) -> Result<String, String> {
    register_embedded_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (fig.width, fig.height)).into_drawing_area();
        draw(&root, run, store, events, fig).map_err(|e| e.0)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(xml_safe(out))
}

/// The SVG with every character XML forbids (C0 controls but tab and
/// newlines) and every control or bidi override a viewer would act on
/// written visibly (`\u{1b}`): names come from the log, and plotters
/// escapes only `<`, `>`, `&`, quotes. Plotters itself writes none of them.
fn xml_safe(svg: String) -> String {
    let bad = |c: char| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffe}' | '\u{ffff}')
    };
    if !svg.contains(bad) {
        return svg;
    }
    svg.chars()
        .map(|c| {
            if bad(c) {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Creates the output file; called before drawing, so an unwritable path
/// fails before any work.
pub(super) fn create(path: &Path) -> Result<File, ExportError> {
    File::create(path).map_err(|error| ExportError::Write {
        path: path.to_path_buf(),
        error,
    })
}

/// The error of a drawing of `path` that failed with `message`.
pub(super) fn render_error(path: &Path, message: String) -> ExportError {
    ExportError::Render {
        path: path.to_path_buf(),
        message,
    }
}

/// Writes `bytes` to the open `file` at `path`.
pub(super) fn write_bytes(file: File, path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let mut out = BufWriter::new(file);
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|error| ExportError::Write {
            path: path.to_path_buf(),
            error,
        })
}

/// Renders the figure and writes it to `path` as PNG.
pub fn export_png(
    run: &str,
    store: &RunStore,
    events: &[Event],
    path: &Path,
    fig: &Figure,
) -> Result<(), ExportError> {
    let file = create(path)?;
    let rgb = render(run, store, events, fig).map_err(|m| render_error(path, m))?;
    write_png(file, path, &rgb, fig.width, fig.height)
}

/// Writes `rgb` (`width × height` pixels, 3 bytes each) to the open `file`
/// at `path` as PNG.
pub(super) fn write_png(
    file: File,
    path: &Path,
    rgb: &[u8],
    width: u32,
    height: u32,
) -> Result<(), ExportError> {
    encode_png(BufWriter::new(file), rgb, width, height).map_err(|e| ExportError::Write {
        path: path.to_path_buf(),
        error: std::io::Error::other(e),
    })
}

/// Encodes `rgb` (`width × height` pixels, 3 bytes each) as PNG into `out`.
pub(super) fn encode_png<W: Write>(
    out: W,
    rgb: &[u8],
    width: u32,
    height: u32,
) -> Result<(), ::png::EncodingError> {
    let mut encoder = ::png::Encoder::new(out, width, height);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()
}

/// Renders the figure and writes it to `path` as SVG.
pub fn export_svg(
    run: &str,
    store: &RunStore,
    events: &[Event],
    path: &Path,
    fig: &Figure,
) -> Result<(), ExportError> {
    let file = create(path)?;
    let svg = render_svg(run, store, events, fig).map_err(|m| render_error(path, m))?;
    write_bytes(file, path, svg.as_bytes())
}

/// A text style in the embedded font.
pub(super) fn text(size: u32, colour: Rgb) -> TextStyle<'static> {
    TextStyle {
        color: colour.rgb().to_backend_color(),
        ..TextStyle::from((FONT, size).into_font())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `values` of train/loss (at `steps`) within a time limit:
    /// plotters' tick search loops forever on an infinite or degenerate
    /// axis.
    fn renders_in_time(steps: &[i64], values: &[f64]) {
        let lines: Vec<String> = steps
            .iter()
            .zip(values)
            .map(|(s, v)| {
                let v = crate::run::Num(*v);
                format!(
                    r#"{{"step": {s}, "scalars": {{"train/loss": {}, "sc/collapsed": {}}}}}"#,
                    serde_json::to_string(&v).unwrap(),
                    serde_json::to_string(&v).unwrap()
                )
            })
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let store = crate::store::from_lines(&lines);
        let (tx, rx) = std::sync::mpsc::channel();
        let label = format!("{steps:?} {values:?}");
        std::thread::spawn(move || {
            let fig = Figure {
                width: 400,
                height: 300,
                ..Figure::default()
            };
            let _ = tx.send(render("x", &store, &[], &fig).map(|_| ()));
            let _ = tx.send(render_svg("x", &store, &[], &fig).map(|_| ()));
        });
        for _ in 0..2 {
            match rx.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(r) => r.unwrap(),
                Err(_) => panic!("rendering {label} did not finish"),
            }
        }
    }

    #[test]
    fn extreme_values_and_steps_render_in_time() {
        renders_in_time(&[0, 1], &[1e308, -1e308]);
        renders_in_time(&[0, 1], &[f64::MAX, f64::MAX]);
        renders_in_time(&[0, 1, 2], &[-f64::MAX, 0.0, f64::MIN_POSITIVE]);
        renders_in_time(&[0, 1], &[1e17, 1e17 + 16.0]);
        renders_in_time(&[0, 1], &[1.0, 1.0 + f64::EPSILON]);
        renders_in_time(&[0, 1], &[5e-324, 1e-323]);
        renders_in_time(&[i64::MAX - 1, i64::MAX], &[1.0, 2.0]);
        renders_in_time(&[i64::MIN, i64::MAX], &[1.0, 2.0]);
        renders_in_time(&[(1 << 62) + 1, (1 << 62) + 2], &[1.0, 2.0]);
    }

    #[test]
    fn renders_an_empty_store_at_the_requested_size() {
        let fig = Figure {
            width: 320,
            height: 200,
            ..Figure::default()
        };
        let rgb = render("empty", &RunStore::new(), &[], &fig).unwrap();
        assert_eq!(rgb.len(), 320 * 200 * 3);
        let bg = fig.palette.background;
        assert!(rgb.chunks_exact(3).any(|p| p != [bg.0, bg.1, bg.2]));
        let svg = render_svg("empty", &RunStore::new(), &[], &fig).unwrap();
        assert!(svg.contains("<svg") && svg.contains("empty"));
    }
}
