//! `grokscope export`: a run out of grokscope, as tidy CSV ([`csv`]) or as
//! a figure for a paper ([`figure`], written as PNG or SVG by [`png`]), or
//! the region map at chosen steps ([`maps`]). All work without a terminal.

pub mod csv;
pub mod figure;
pub mod maps;
pub mod palette;
pub mod png;

use std::io;
use std::path::PathBuf;

/// Why an export failed; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The file could not be created or written.
    #[error("{}: {error}", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// What the OS said (in the message, so not a `source()`: a chain
        /// printed with `{:#}` names it once).
        error: io::Error,
    },
    /// Drawing the picture failed.
    #[error("{}: cannot render: {message}", path.display())]
    Render {
        /// The output file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}
