//! The error type of the diagnostics.

use thiserror::Error;

/// What can go wrong while computing a diagnostic.
#[derive(Debug, Error)]
pub enum DiagError {
    /// The model is not an alternation `Linear (ReLU Linear)*`.
    #[error("model is not a ReLU MLP: {0}")]
    NotAnMlp(String),
    /// Two inputs disagree in shape (data vs model, labels vs logits, ...).
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The run log could not be written.
    #[error("writing the run log: {0}")]
    Io(#[from] std::io::Error),
}
