//! The built-in grokking experiments: modular arithmetic on the papers' MLP
//! (softmax vs StableMax, weight decay, ⊥Grad) and a synthetic glyph
//! classifier for local complexity, trained with dfdx 0.13 on the CPU and
//! logged with every diagnostic (`docs/TRAINING.md`).
//!
//! Blocking: [`train`]. In the background (what `grokscope demo` uses):
//! [`spawn`] → [`TrainHandle`], stopped cooperatively with
//! [`TrainHandle::stop`].

pub mod cli;
mod config;
mod data;
mod forward;
mod glyphs;
mod loss;
mod perp_grad;
mod send;
mod trainer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use config::{LossKind, Op, OptimizerKind, Preset, Task, TrainConfig, SUPPORTED_P};
pub use data::{modular_arithmetic, Dataset, Examples, Split, SplitMix64};
pub use forward::{one_hot_pairs, tape_of, Inputs, TrainForward};
pub use glyphs::glyphs;
pub use loss::{evaluate, stablemax_s, LossEval};
pub use perp_grad::project_out;
pub use send::{hidden_mask, HiddenMask, MaskableMlp};
pub use trainer::{checkpoint_path, GlyphMlp, ModularMlp, CHECKPOINT_DIR, HIDDEN, SPLIT_FILE};

use crate::diag::{choose_anchors, Anchors, DiagError};
use crate::run::{RunMeta, RunWriter};

/// Why training could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// An invalid option.
    #[error("{0}")]
    Config(String),
    /// Writing the run failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A diagnostic failed.
    #[error("diagnostics: {0}")]
    Diag(#[from] DiagError),
    /// The model or optimiser failed.
    #[error("{0}")]
    Model(String),
    /// Writing a checkpoint failed.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The training thread panicked.
    #[error("the training thread panicked: {0}")]
    Panicked(String),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// The run folder.
    pub run_dir: PathBuf,
    /// Epochs completed.
    pub epochs: u64,
    /// True when stopped before the configured number of epochs.
    pub stopped_early: bool,
    /// Training loss of the last epoch.
    pub train_loss: f64,
    /// Training accuracy of the last epoch.
    pub train_acc: f64,
    /// Test loss at the end.
    pub test_loss: f64,
    /// Test accuracy at the end.
    pub test_acc: f64,
    /// Wall time of the training loop in seconds.
    pub seconds: f64,
    /// First logged epoch where `sc/collapsed` > 0.5.
    pub first_collapse_above_half: Option<u64>,
    /// First logged epoch where `test/acc` > 0.9.
    pub first_test_acc_above_0_9: Option<u64>,
}

/// Builds the data of `config` (validated first).
pub fn dataset(config: &TrainConfig) -> Result<Dataset, TrainError> {
    config.validate()?;
    Ok(match config.task {
        Task::ModularArithmetic { p, op, train_frac } => {
            modular_arithmetic(p, op, train_frac, config.seed)
        }
        Task::Glyphs { train, test, noise } => glyphs(train, test, noise, config.seed),
    })
}

/// Validates, creates the run folder with `meta.json` (config = the full
/// configuration), an empty `metrics.jsonl` and `split.json`.
fn prepare(
    config: &TrainConfig,
    run_dir: &Path,
    stop: Arc<AtomicBool>,
    progress: bool,
) -> Result<trainer::Session, TrainError> {
    let data = dataset(config)?;
    // The region map's anchors, chosen now so that meta.json records them.
    let anchors = match config.map_anchors {
        Some(idx) => Anchors::Indices(idx),
        None => Anchors::Seeded,
    };
    let x: Vec<f64> = data.train.x.iter().map(|&v| f64::from(v)).collect();
    let chosen = choose_anchors(&x, &data.train.y, anchors, config.seed)
        .map_err(|e| TrainError::Config(format!("--map-anchors: {e}")))?;
    let config = &TrainConfig {
        map_anchors: Some(chosen),
        ..config.clone()
    };
    let value = serde_json::to_value(config).map_err(|e| TrainError::Config(e.to_string()))?;
    let name = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| config.preset.clone());
    let writer = RunWriter::create(run_dir, &RunMeta::new(name, value))?;
    let split = serde_json::to_vec(&data.split).map_err(std::io::Error::other)?;
    std::fs::write(run_dir.join(SPLIT_FILE), split)?;
    Ok(trainer::Session {
        config: config.clone(),
        data,
        writer,
        run_dir: run_dir.to_path_buf(),
        stop,
        progress,
    })
}

/// Trains `config` into `run_dir` on this thread. `stop` (e.g. set by a
/// Ctrl-C handler) ends training after the current epoch with the log
/// complete. With `progress`, a bar with ETA is drawn on stderr when it is
/// a terminal.
pub fn train(
    config: &TrainConfig,
    run_dir: &Path,
    stop: Arc<AtomicBool>,
    progress: bool,
) -> Result<TrainSummary, TrainError> {
    trainer::dispatch(prepare(config, run_dir, stop, progress)?)
}

/// A training run on a background thread.
#[derive(Debug)]
pub struct TrainHandle {
    run_dir: PathBuf,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<TrainSummary, TrainError>>,
}

/// Starts training `config` into `run_dir` on a background thread (no
/// progress bar). The configuration is validated and the run folder created
/// (`meta.json`, empty `metrics.jsonl`, `split.json`) before this returns,
/// so a watcher can open it at once.
pub fn spawn(config: TrainConfig, run_dir: impl Into<PathBuf>) -> Result<TrainHandle, TrainError> {
    let run_dir = run_dir.into();
    let stop = Arc::new(AtomicBool::new(false));
    let session = prepare(&config, &run_dir, stop.clone(), false)?;
    let thread = std::thread::Builder::new()
        .name("grokscope-train".into())
        .spawn(move || trainer::dispatch(session))?;
    Ok(TrainHandle {
        run_dir,
        stop,
        thread,
    })
}

impl TrainHandle {
    /// The run folder.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// Asks training to stop after the current epoch; the last record is
    /// written and the log flushed before the thread ends. Returns at once.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// True once the thread has ended (finished, stopped or failed).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the thread and returns how the run ended.
    pub fn join(self) -> Result<TrainSummary, TrainError> {
        match self.thread.join() {
            Ok(r) => r,
            Err(p) => Err(TrainError::Panicked(
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_default(),
            )),
        }
    }
}

/// The configuration `grokscope demo` trains: softmax collapse within about
/// two minutes on two cores.
pub fn demo_config() -> TrainConfig {
    Preset::Demo.config()
}
