//! The four diagnostic panels as a PNG picture (plotters, bitmap backend):
//! Loss (train/test loss on a log axis, accuracy on a second axis), Softmax
//! collapse, Linear regions, and Neuron sensitivity (a heatmap of the first
//! `sens/<layer>` vector metric). Event markers cross every panel; the
//! events are listed under the panels.
//!
//! Series are drawn from the store's min/max buckets, about one per pixel
//! column, so a million points cost what a thousand do and no spike or NaN
//! is averaged away. Text uses DejaVu Sans Mono, embedded in the binary
//! (Bitstream Vera licence, `src/export/font/LICENSE`): no system font and
//! no network is needed.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::lines::{draw_line_panel, draw_sensitivity};
use super::palette::{Palette, Rgb};
use super::ExportError;
use crate::analysis::Event;
use crate::store::RunStore;

/// Default picture width in pixels.
pub const WIDTH: u32 = 1600;
/// Default picture height in pixels.
pub const HEIGHT: u32 = 1000;

/// Events listed under the panels (the rest are counted).
pub const MAX_EVENT_LINES: usize = 6;

const FONT_BYTES: &[u8] = include_bytes!("font/DejaVuSansMono.ttf");
/// The family name the embedded font is registered under.
pub(super) const FONT: &str = "sans-serif";
const HEADER_PX: u32 = 40;
const LINE_PX: u32 = 18;

/// Registers the embedded font with plotters, once per process.
pub(super) fn register_embedded_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // A font compiled into the binary always parses (tested).
        let _ = register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

/// Size and colours of a picture.
#[derive(Debug, Clone, PartialEq)]
pub struct PngOptions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colours.
    pub palette: Palette,
}

impl Default for PngOptions {
    fn default() -> PngOptions {
        PngOptions {
            width: WIDTH,
            height: HEIGHT,
            palette: Palette::dark(),
        }
    }
}

/// A drawing failure, as text (plotters' errors are generic over backends).
#[derive(Debug)]
pub(super) struct DrawError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> DrawError {
        DrawError(e.to_string())
    }
}

pub(super) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// The panels of the picture, in reading order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// Train/test loss and accuracy.
    Loss,
    /// Softmax collapse.
    Collapse,
    /// Local complexity.
    Regions,
    /// Neuron sensitivity.
    Sensitivity,
}

impl Panel {
    /// All panels, left to right and top to bottom.
    pub const ALL: [Panel; 4] = [
        Panel::Loss,
        Panel::Collapse,
        Panel::Regions,
        Panel::Sensitivity,
    ];

    /// The panel's title.
    pub fn title(self) -> &'static str {
        match self {
            Panel::Loss => "Loss",
            Panel::Collapse => "Softmax collapse",
            Panel::Regions => "Linear regions",
            Panel::Sensitivity => "Neuron sensitivity",
        }
    }

    /// The metric names that fill the panel, for its empty state.
    pub fn expected(self) -> &'static str {
        match self {
            Panel::Loss => "train/loss, test/loss, train/acc, test/acc",
            Panel::Collapse => {
                "sc/collapsed, sc/zero_loss, sc/nlm_cos, sc/margin, norm/logits, norm/weights"
            }
            Panel::Regions => "lc/train, lc/test, lc/random (or any lc/*)",
            Panel::Sensitivity => {
                "vectors sens/<layer>, or scalars sens/net_variability, sens/top_share"
            }
        }
    }
}

/// Renders the picture into an RGB buffer (3 bytes per pixel, row-major).
pub fn render(
    run: &str,
    store: &RunStore,
    events: &[Event],
    opts: &PngOptions,
) -> Result<Vec<u8>, String> {
    register_embedded_font();
    let mut buf = vec![0u8; opts.width as usize * opts.height as usize * 3];
    {
        let root =
            BitMapBackend::with_buffer(&mut buf, (opts.width, opts.height)).into_drawing_area();
        draw(&root, run, store, events, &opts.palette).map_err(|e| e.0)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

/// Renders the picture and writes it to `path` as PNG.
pub fn export_png(
    run: &str,
    store: &RunStore,
    events: &[Event],
    path: &Path,
    opts: &PngOptions,
) -> Result<(), ExportError> {
    let render_error = |message| ExportError::Render {
        path: path.to_path_buf(),
        message,
    };
    // Create the file first: an unwritable path fails before any drawing.
    let file = File::create(path).map_err(|error| ExportError::Write {
        path: path.to_path_buf(),
        error,
    })?;
    let rgb = render(run, store, events, opts).map_err(render_error)?;
    write_png(file, path, &rgb, opts.width, opts.height)
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
    let mut encoder = ::png::Encoder::new(BufWriter::new(file), width, height);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    let write_error = |e: ::png::EncodingError| ExportError::Write {
        path: path.to_path_buf(),
        error: std::io::Error::other(e),
    };
    let mut writer = encoder.write_header().map_err(write_error)?;
    writer.write_image_data(rgb).map_err(write_error)?;
    writer.finish().map_err(write_error)
}

/// A text style in the embedded font.
pub(super) fn text(size: u32, colour: Rgb) -> TextStyle<'static> {
    TextStyle {
        color: colour.rgb().to_backend_color(),
        ..TextStyle::from((FONT, size).into_font())
    }
}

/// The smallest and largest step of the run (segments may overlap).
fn steps(store: &RunStore) -> Option<(i64, i64)> {
    (0..store.records())
        .map(|r| store.record_step(r))
        .fold(None, |acc, s| match acc {
            None => Some((s, s)),
            Some((lo, hi)) => Some((lo.min(s), hi.max(s))),
        })
}

/// The step range every panel shares (never empty, and wide enough to
/// draw even where neighbouring steps are one `f64` apart, near 2^63).
pub(super) fn step_range(store: &RunStore) -> (f64, f64) {
    let (lo, hi) = match steps(store) {
        None => (0.0, 1.0),
        Some((lo, hi)) if lo == hi => (lo as f64 - 1.0, hi as f64 + 1.0),
        Some((lo, hi)) => (lo as f64, hi as f64),
    };
    super::lines::axis_range(lo, hi)
}

fn draw(
    root: &Area<'_>,
    run: &str,
    store: &RunStore,
    events: &[Event],
    palette: &Palette,
) -> Result<(), DrawError> {
    root.fill(&palette.background.rgb())?;
    let (w, h) = root.dim_in_pixel();
    let lines = events.len().min(MAX_EVENT_LINES) + usize::from(events.len() > MAX_EVENT_LINES);
    let footer = (lines.max(1) as u32 * LINE_PX + 10).min(h / 3);
    let (header, rest) = root.split_vertically(HEADER_PX.min(h / 4));
    let (body, foot) = rest.split_vertically(rest.dim_in_pixel().1.saturating_sub(footer));
    let x = step_range(store);
    let title = match steps(store) {
        None => format!("{run}   no records yet"),
        Some((lo, hi)) => format!(
            "{run}   steps {lo}–{hi}   {} records   {} event(s)",
            store.records(),
            events.len()
        ),
    };
    header.draw_text(&title, &text(20, palette.title), (12, 10))?;
    let panels = body.split_evenly((2, 2));
    for (panel, area) in Panel::ALL.into_iter().zip(&panels) {
        let area = area.margin(4, 4, 6, 6);
        match panel {
            Panel::Sensitivity => draw_sensitivity(&area, store, x, events, palette)?,
            _ => draw_line_panel(&area, panel, store, x, events, palette)?,
        }
    }
    let chars = (w as usize / 9).max(20);
    let shown = events.iter().take(MAX_EVENT_LINES);
    for (k, e) in shown.enumerate() {
        let mut line = format!("step {:<9} {:<20} {}", e.step, e.kind.as_str(), e.message);
        if line.chars().count() > chars {
            line = line.chars().take(chars - 1).collect::<String>() + "…";
        }
        let colour = palette.severity_colour(e.severity);
        foot.draw_text(
            &line,
            &text(14, colour),
            (12, 4 + k as i32 * LINE_PX as i32),
        )?;
    }
    if events.len() > MAX_EVENT_LINES {
        let more = format!(
            "… and {} more (grokscope summary lists them all)",
            events.len() - MAX_EVENT_LINES
        );
        let y = 4 + MAX_EVENT_LINES as i32 * LINE_PX as i32;
        foot.draw_text(&more, &text(14, palette.dim), (12, y))?;
    }
    if events.is_empty() {
        foot.draw_text("no events detected", &text(14, palette.dim), (12, 4))?;
    }
    Ok(())
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
            let opts = PngOptions {
                width: 400,
                height: 300,
                ..PngOptions::default()
            };
            let _ = tx.send(render("x", &store, &[], &opts).map(|_| ()));
        });
        match rx.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(r) => r.unwrap(),
            Err(_) => panic!("rendering {label} did not finish"),
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
        let opts = PngOptions {
            width: 320,
            height: 200,
            ..PngOptions::default()
        };
        let rgb = render("empty", &RunStore::new(), &[], &opts).unwrap();
        assert_eq!(rgb.len(), 320 * 200 * 3);
        let bg = opts.palette.background;
        assert!(rgb.chunks_exact(3).any(|p| p != [bg.0, bg.1, bg.2]));
    }
}
