//! The trainer's configuration, its presets and its validation.

use serde::{Deserialize, Serialize};

use super::trainer::HIDDEN;
use super::TrainError;
use crate::diag::{top_count, Cadence};

/// The arithmetic operation of the modular task: `(a ∘ b) mod p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// `(a + b) mod p`.
    Add,
    /// `(a - b) mod p`.
    Sub,
    /// `(a * b) mod p`.
    Mul,
}

impl Op {
    /// `(a ∘ b) mod p` for `a, b < p`.
    pub fn apply(self, a: usize, b: usize, p: usize) -> usize {
        match self {
            Op::Add => (a + b) % p,
            Op::Sub => (a + p - b) % p,
            Op::Mul => (a * b) % p,
        }
    }

    /// `+`, `-` or `*`.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
        }
    }

    /// Parses `add`, `sub`, `mul` (or `+`, `-`, `*`).
    pub fn parse(s: &str) -> Result<Op, TrainError> {
        match s {
            "add" | "+" => Ok(Op::Add),
            "sub" | "-" => Ok(Op::Sub),
            "mul" | "*" | "x" => Ok(Op::Mul),
            _ => Err(TrainError::Config(format!(
                "unknown operation `{s}` (expected add, sub or mul)"
            ))),
        }
    }
}

/// What the model learns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    /// `(a ∘ b) mod p` on two concatenated one-hots, all p² pairs split
    /// into train and test.
    ModularArithmetic {
        /// The modulus (one of [`SUPPORTED_P`]).
        p: usize,
        /// The operation.
        op: Op,
        /// Fraction of the p² pairs used for training.
        train_frac: f64,
    },
    /// Synthetic 8×8 "digit" glyphs (10 classes) with jitter and noise,
    /// generated from the seed.
    Glyphs {
        /// Number of training images.
        train: usize,
        /// Number of held-out images.
        test: usize,
        /// Standard deviation of the pixel noise.
        noise: f64,
    },
}

/// Moduli the built-in MLP is compiled for (dfdx layers are const-generic).
pub const SUPPORTED_P: [usize; 6] = [23, 31, 59, 97, 113, 127];

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam with decoupled weight decay.
    AdamW,
    /// Plain SGD (decoupled weight decay, no momentum).
    Sgd,
}

/// The training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Softmax cross-entropy computed in f16.
    SoftmaxF16,
    /// Softmax cross-entropy computed in f32.
    SoftmaxF32,
    /// Softmax cross-entropy computed in f64.
    SoftmaxF64,
    /// StableMax cross-entropy computed in f64.
    Stablemax,
    /// Mean squared error between the logits and the one-hot label,
    /// averaged over samples and classes (PyTorch's `MSELoss`), in f64: the
    /// loss of Humayun et al.'s MNIST MLP. No softmax, so nothing to collapse.
    Mse,
}

impl LossKind {
    /// Parses `softmax-f16`, `softmax-f32`, `softmax-f64`, `stablemax`, `mse`.
    pub fn parse(s: &str) -> Result<LossKind, TrainError> {
        match s {
            "softmax-f16" => Ok(LossKind::SoftmaxF16),
            "softmax-f32" | "softmax" => Ok(LossKind::SoftmaxF32),
            "softmax-f64" => Ok(LossKind::SoftmaxF64),
            "stablemax" => Ok(LossKind::Stablemax),
            "mse" => Ok(LossKind::Mse),
            _ => Err(TrainError::Config(format!(
                "unknown loss `{s}` (expected softmax-f16, softmax-f32, softmax-f64, stablemax or mse)"
            ))),
        }
    }
}

/// The built-in experiments: the papers' own runs (docs/TRAINING.md gives
/// the source file and line of every setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Prieto et al. Fig. 2, f32 softmax at 40 % train: softmax collapse, no
    /// grokking.
    Softmax,
    /// Prieto et al. Fig. 2 at 60 % train: collapse sets in early and test
    /// accuracy stops where it is.
    Softmax60,
    /// Prieto et al. Fig. 1, StableMax CE in f64, no weight decay: groks.
    Stablemax,
    /// Prieto et al. Fig. 1, ⊥AdamW as the paper's code runs it: groks fast.
    PerpGrad,
    /// An MLP adaptation of the paper's weight-decay run (a transformer
    /// there): groks through weight decay.
    WeightDecay,
    /// Humayun et al.'s MLP setting on synthetic glyphs: local-complexity
    /// phases.
    Lc,
    /// A small softmax run that collapses within about a minute on two
    /// cores (used by `grokscope demo`).
    Demo,
}

impl Preset {
    /// Every preset, in the order of the documentation.
    pub const ALL: [Preset; 7] = [
        Preset::Softmax,
        Preset::Softmax60,
        Preset::Stablemax,
        Preset::PerpGrad,
        Preset::WeightDecay,
        Preset::Lc,
        Preset::Demo,
    ];

    /// Name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Softmax => "softmax",
            Preset::Softmax60 => "softmax-60",
            Preset::Stablemax => "stablemax",
            Preset::PerpGrad => "perpgrad",
            Preset::WeightDecay => "weight-decay",
            Preset::Lc => "lc",
            Preset::Demo => "demo",
        }
    }

    /// Parses a preset name.
    pub fn parse(s: &str) -> Result<Preset, TrainError> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                TrainError::Config(format!(
                    "unknown preset `{s}` (expected one of: {})",
                    Preset::ALL.map(Preset::name).join(", ")
                ))
            })
    }

    /// The preset's full configuration.
    ///
    /// The modular presets start from the defaults of the paper's
    /// `grokking_experiments.py` (Prieto et al. 2025; `utils.py`
    /// `parse_args`): (a + b) mod 113, full batch, AdamW with β = (0.9,
    /// 0.99), ε = 1e-25, no weight decay, f32 softmax; each then sets what
    /// `run_main_experiments.sh` passes for its figure.
    pub fn config(self) -> TrainConfig {
        let paper = TrainConfig {
            preset: self.name().to_string(),
            task: Task::ModularArithmetic {
                p: 113,
                op: Op::Add,
                train_frac: 0.4,
            },
            seed: 0,
            epochs: 20_000,
            batch_size: None,
            optimizer: OptimizerKind::AdamW,
            lr: 0.01,
            betas: [0.9, 0.99],
            eps: 1e-25,
            weight_decay: 0.0,
            loss: LossKind::SoftmaxF32,
            perp_grad: false,
            log_every: 20,
            log_spaced: false,
            checkpoint_every: 0,
            send_frac: 0.0,
            send_every: None,
            map_anchors: None,
        };
        match self {
            // Fig. 2: `--lr 0.0005 --num_epochs 20000 --train_fraction 0.4
            // --softmax_precision 32 --adam_epsilon 1e-30`.
            Preset::Softmax => TrainConfig {
                lr: 5e-4,
                eps: 1e-30,
                ..paper
            },
            // Fig. 2 at 60 %: the same without `--adam_epsilon` (1e-25).
            Preset::Softmax60 => TrainConfig {
                task: Task::ModularArithmetic {
                    p: 113,
                    op: Op::Add,
                    train_frac: 0.6,
                },
                lr: 5e-4,
                ..paper
            },
            // Fig. 1: `--lr 0.01 --num_epochs 80000 --loss_function
            // stablemax --beta2 0.999`.
            Preset::Stablemax => TrainConfig {
                loss: LossKind::Stablemax,
                betas: [0.9, 0.999],
                epochs: 80_000,
                log_every: 50,
                ..paper
            },
            // Fig. 1: `--lr 0.01 --num_epochs 300 --orthogonal_gradients`;
            // the OrthoGrad wrapper hands AdamW only lr and weight decay, so
            // it runs PyTorch's defaults β = (0.9, 0.999), ε = 1e-8.
            Preset::PerpGrad => TrainConfig {
                perp_grad: true,
                betas: [0.9, 0.999],
                eps: 1e-8,
                epochs: 300,
                log_every: 1,
                ..paper
            },
            // The paper's weight-decay run is a transformer (Fig. 6: lr
            // 1e-3, weight decay 1.5); this is an MLP adaptation.
            Preset::WeightDecay => TrainConfig {
                lr: 1e-3,
                weight_decay: 1.0,
                epochs: 6_000,
                ..paper
            },
            // Humayun et al.'s MNIST MLP (grok-adversarial `configs.py`
            // `config_base_mnist_mlp`): 1,000 training points, minibatch
            // 200, AdamW lr 1e-3, weight decay 0.01 (PyTorch's β and ε),
            // MSE loss on one-hot targets; glyphs stand in for MNIST.
            Preset::Lc => TrainConfig {
                task: Task::Glyphs {
                    train: 1_000,
                    test: 1_000,
                    noise: 0.15,
                },
                lr: 1e-3,
                eps: 1e-8,
                betas: [0.9, 0.999],
                weight_decay: 0.01,
                loss: LossKind::Mse,
                batch_size: Some(200),
                // 100,000 minibatch steps: the authors' MNIST runs go to
                // ~1e5 steps, where the second descent has happened.
                epochs: 20_000,
                log_every: 20,
                // The authors log steps < 30 each, < 150 every 10, < 1,000
                // every 100, … (`train_mlp_mnist.py`): the first LC descent
                // is over within about ten epochs.
                log_spaced: true,
                ..paper
            },
            Preset::Demo => TrainConfig {
                task: Task::ModularArithmetic {
                    p: 59,
                    op: Op::Add,
                    train_frac: 0.4,
                },
                lr: 0.02,
                epochs: 3_000,
                log_every: 5,
                ..paper
            },
        }
    }
}

/// Number of training pairs of a modular task: `floor(train_frac · p²)`,
/// as the paper's `split_dataset` (`int(train_fraction * total_size)`).
pub fn train_pairs(p: usize, train_frac: f64) -> usize {
    (train_frac * (p * p) as f64).floor() as usize
}

/// Everything that defines a training run (written into `meta.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Preset the run started from.
    pub preset: String,
    /// The data and model family.
    pub task: Task,
    /// Seed of the split, the initialisation, the batches and the probes.
    pub seed: u64,
    /// Number of epochs (passes over the training set).
    pub epochs: u64,
    /// Minibatch size; `None` = full batch.
    pub batch_size: Option<usize>,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Learning rate.
    pub lr: f64,
    /// Adam's (β1, β2).
    pub betas: [f64; 2],
    /// Adam's ε (1e-25 as in the paper; 1e-8 hides softmax collapse).
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Training loss.
    pub loss: LossKind,
    /// ⊥Grad: project each parameter's gradient orthogonal to the weights.
    pub perp_grad: bool,
    /// Epochs between two log records.
    pub log_every: u64,
    /// Also log at about ten log-spaced epochs per decade (1, 2, 3, 4, 5,
    /// 6, 8, 10, 13, …) with every diagnostic but sensitivity, so early
    /// phases show on a log-step axis.
    #[serde(default)]
    pub log_spaced: bool,
    /// Epochs between two safetensors checkpoints (0 = none).
    pub checkpoint_every: u64,
    /// SeND: fraction of the last hidden layer's neurons dropped (output 0)
    /// in the training forward, the most sensitive ones; 0 = off.
    #[serde(default)]
    pub send_frac: f64,
    /// SeND: epochs between two re-selections of the dropped neurons;
    /// `None` = the sensitivity cadence ([`TrainConfig::send_interval`]).
    #[serde(default)]
    pub send_every: Option<u64>,
    /// The three training points (positions in the training set, as in
    /// `split.json`) the region map's slice goes through, A, B, C; `None`:
    /// three of different classes drawn from the seed. The trainer writes
    /// the ones it used into `meta.json`.
    #[serde(default)]
    pub map_anchors: Option<[usize; 3]>,
}

impl TrainConfig {
    /// Epochs between two SeND re-selections: `send_every`, or by default
    /// the sensitivity diagnostic's cadence (every 10th record, i.e.
    /// 10 × `log_every` epochs), so each selection uses the snapshots the
    /// logged `sens/*` metrics use.
    pub fn send_interval(&self) -> u64 {
        self.send_every.unwrap_or_else(|| {
            self.log_every
                .saturating_mul(Cadence::default().sensitivity)
        })
    }

    /// Checks every field; the message names the offending option.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        match &self.task {
            Task::ModularArithmetic { p, train_frac, .. } => {
                if !SUPPORTED_P.contains(p) {
                    return bad(format!(
                        "--p {p} is not supported (the MLP is compiled for p in {SUPPORTED_P:?})"
                    ));
                }
                if !(*train_frac > 0.0 && *train_frac < 1.0) {
                    return bad(format!(
                        "--train-frac must be strictly between 0 and 1, got {train_frac}"
                    ));
                }
                let train = train_pairs(*p, *train_frac);
                if train == 0 || train == p * p {
                    return bad(format!(
                        "--train-frac {train_frac} leaves an empty train or test set"
                    ));
                }
            }
            Task::Glyphs { train, test, noise } => {
                if *train == 0 || *test == 0 {
                    return bad("the glyph task needs training and test images".into());
                }
                if !(noise.is_finite() && *noise >= 0.0) {
                    return bad(format!("glyph noise must be ≥ 0, got {noise}"));
                }
            }
        }
        if self.epochs == 0 {
            return bad("--epochs must be at least 1".into());
        }
        if self.batch_size == Some(0) {
            return bad("--batch-size must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("--lr must be positive, got {}", self.lr));
        }
        for (name, b) in [("--beta1", self.betas[0]), ("--beta2", self.betas[1])] {
            if !(0.0..1.0).contains(&b) {
                return bad(format!("{name} must be in [0, 1), got {b}"));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return bad(format!("--eps must be positive, got {}", self.eps));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(format!(
                "--weight-decay must be ≥ 0, got {}",
                self.weight_decay
            ));
        }
        if self.log_every == 0 {
            return bad("--log-every must be at least 1".into());
        }
        if !(self.send_frac.is_finite() && (0.0..1.0).contains(&self.send_frac)) {
            return bad(format!(
                "--send-frac must be in [0, 1) (the fraction of the last hidden layer's \
                 neurons to drop; 0 = off), got {}",
                self.send_frac
            ));
        }
        if self.send_every == Some(0) {
            return bad("--send-every must be at least 1".into());
        }
        if self.send_frac > 0.0 {
            let dropped = top_count(self.send_frac, HIDDEN);
            if dropped >= HIDDEN {
                return bad(format!(
                    "--send-frac {} would drop all {HIDDEN} neurons of the last hidden layer",
                    self.send_frac
                ));
            }
            let every = self.send_interval();
            if !every.is_multiple_of(self.log_every) {
                return bad(format!(
                    "--send-every {every} must be a multiple of --log-every {} \
                     (every re-selection is logged)",
                    self.log_every
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The presets are the papers' runs: Prieto et al.'s
    /// `run_main_experiments.sh` lines 50, 51, 60 and 64 on top of the
    /// defaults of `utils.py` `parse_args`, and Humayun et al.'s
    /// `configs.py` `config_base_mnist_mlp` (docs/TRAINING.md).
    #[test]
    fn presets_are_the_papers_settings() {
        let softmax = Preset::Softmax.config();
        assert_eq!(
            (softmax.lr, softmax.eps, softmax.epochs),
            (5e-4, 1e-30, 20_000)
        );
        assert_eq!(
            (softmax.betas, softmax.loss),
            ([0.9, 0.99], LossKind::SoftmaxF32)
        );
        let sixty = Preset::Softmax60.config();
        assert_eq!((sixty.lr, sixty.eps, sixty.epochs), (5e-4, 1e-25, 20_000));
        assert!(
            matches!(sixty.task, Task::ModularArithmetic { train_frac, .. } if train_frac == 0.6)
        );
        let stable = Preset::Stablemax.config();
        assert_eq!(
            (stable.lr, stable.betas, stable.eps),
            (0.01, [0.9, 0.999], 1e-25)
        );
        assert_eq!((stable.epochs, stable.loss), (80_000, LossKind::Stablemax));
        let perp = Preset::PerpGrad.config();
        assert_eq!(
            (perp.lr, perp.betas, perp.eps, perp.epochs),
            (0.01, [0.9, 0.999], 1e-8, 300)
        );
        assert!(perp.perp_grad);
        for p in [
            Preset::Softmax,
            Preset::Softmax60,
            Preset::Stablemax,
            Preset::PerpGrad,
        ] {
            let c = p.config();
            assert_eq!(
                (c.weight_decay, c.batch_size, c.seed),
                (0.0, None, 0),
                "{}",
                p.name()
            );
            assert_eq!(c.optimizer, OptimizerKind::AdamW);
        }
        let lc = Preset::Lc.config();
        assert_eq!(
            (lc.lr, lc.weight_decay, lc.batch_size),
            (1e-3, 0.01, Some(200))
        );
        assert_eq!(
            (lc.betas, lc.eps, lc.loss),
            ([0.9, 0.999], 1e-8, LossKind::Mse)
        );
        assert!(matches!(lc.task, Task::Glyphs { train: 1_000, .. }));
        for p in Preset::ALL {
            p.config().validate().unwrap();
        }
    }

    #[test]
    fn the_split_is_floored_as_the_paper_does() {
        assert_eq!(train_pairs(113, 0.4), 5_107);
        assert_eq!(train_pairs(113, 0.6), 7_661);
        assert_eq!(train_pairs(59, 0.4), 1_392);
    }
}
