//! The training loop, generic over the (const-generic) dfdx model, and the
//! dispatch from a runtime configuration to a compiled model.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use dfdx::nn::builders::{Linear, ReLU, UnbiasedLinear};
use dfdx::optim::{Adam, Sgd};
use dfdx::prelude::*;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::config::{LossKind, OptimizerKind, Task, TrainConfig};
use super::data::{Dataset, Examples, SplitMix64};
use super::forward::{tape_of, Inputs, TrainForward};
use super::loss::{self, LossEval};
use super::send::SendDropper;
use super::{perp_grad, TrainError, TrainSummary};
use crate::diag::{
    Anchors, Cadence, CollapseLoss, DiagData, Recorder, RecorderConfig, ReluMlp, SliceConfig,
    SoftmaxDtype,
};
use crate::run::{Record, RunWriter, FINISHED_NOTE};

/// Width of the modular-arithmetic MLP's hidden layers (the papers' 200).
pub const HIDDEN: usize = 200;

/// The papers' MLP for modulus P with IN = 2P inputs: two hidden ReLU
/// layers of 200, no bias.
pub type ModularMlp<const IN: usize, const P: usize> = (
    UnbiasedLinear<IN, HIDDEN>,
    ReLU,
    UnbiasedLinear<HIDDEN, HIDDEN>,
    ReLU,
    UnbiasedLinear<HIDDEN, P>,
);

/// The `lc` preset's classifier: 64 → 200 → 200 → 200 → 10, ReLU, biased.
pub type GlyphMlp = (
    (Linear<64, HIDDEN>, ReLU),
    (Linear<HIDDEN, HIDDEN>, ReLU),
    (Linear<HIDDEN, HIDDEN>, ReLU),
    Linear<HIDDEN, 10>,
);

/// Name of the checkpoint folder inside a run folder.
pub const CHECKPOINT_DIR: &str = "checkpoints";
/// Name of the split file inside a run folder.
pub const SPLIT_FILE: &str = "split.json";

/// Path of the checkpoint written after `epoch`.
pub fn checkpoint_path(run_dir: &Path, epoch: u64) -> PathBuf {
    run_dir
        .join(CHECKPOINT_DIR)
        .join(format!("epoch-{epoch:07}.safetensors"))
}

/// What a training thread needs besides the model type.
pub(crate) struct Session {
    pub config: TrainConfig,
    pub data: Dataset,
    pub writer: RunWriter,
    pub run_dir: PathBuf,
    pub stop: Arc<AtomicBool>,
    pub progress: bool,
}

/// Runs `session` on the model compiled for its task.
pub(crate) fn dispatch(session: Session) -> Result<TrainSummary, TrainError> {
    macro_rules! modular {
        ($p:expr; $($lit:literal => $in:literal),+) => {
            match $p {
                $($lit => train_model::<$in, $lit, ModularMlp<$in, $lit>>(session),)+
                p => Err(TrainError::Config(format!("--p {p} is not supported"))),
            }
        };
    }
    match session.config.task {
        Task::ModularArithmetic { p, .. } => {
            // Keep in sync with `config::SUPPORTED_P`.
            modular!(p; 23 => 46, 31 => 62, 59 => 118, 97 => 194, 113 => 226, 127 => 254)
        }
        Task::Glyphs { .. } => train_model::<64, 10, GlyphMlp>(session),
    }
}

type Batch<const I: usize, T = NoneTape> = Tensor<(usize, Const<I>), f32, Cpu, T>;

enum Opt<M> {
    Adam(Adam<M, f32, Cpu>),
    Sgd(Sgd<M, f32, Cpu>),
}

impl<M: TensorCollection<f32, Cpu>> Opt<M> {
    fn new(model: &M, c: &TrainConfig) -> Self {
        let wd = Some(WeightDecay::Decoupled(c.weight_decay));
        match c.optimizer {
            OptimizerKind::AdamW => Opt::Adam(Adam::new(
                model,
                AdamConfig {
                    lr: c.lr,
                    betas: c.betas,
                    eps: c.eps,
                    weight_decay: wd,
                },
            )),
            OptimizerKind::Sgd => Opt::Sgd(Sgd::new(
                model,
                SgdConfig {
                    lr: c.lr,
                    momentum: None,
                    weight_decay: wd,
                },
            )),
        }
    }

    fn update(&mut self, model: &mut M, grads: &Gradients<f32, Cpu>) -> Result<(), TrainError> {
        let r = match self {
            Opt::Adam(o) => o.update(model, grads),
            Opt::Sgd(o) => o.update(model, grads),
        };
        r.map_err(|e| TrainError::Model(format!("optimiser step failed: {e}")))
    }
}

fn tensor<const I: usize>(dev: &Cpu, ex: &Examples) -> Batch<I> {
    dev.tensor_from_vec(ex.x.clone(), (ex.len(), Const::<I>))
}

/// Loss and accuracy of `model` on `x` with labels `ex.y` (no gradient),
/// and the logits.
fn eval<const I: usize, const O: usize, M: TrainForward<I, O>>(
    model: &M,
    x: &Inputs<I>,
    ex: &Examples,
    kind: LossKind,
) -> (LossEval, Vec<f32>) {
    let logits = model.logits_of(x, NoneTape, None).as_vec();
    (loss::evaluate(kind, &logits, O, &ex.y, None), logits)
}

/// The collapse test that describes `loss` (none for a loss without a
/// softmax).
fn collapse_test(loss: LossKind) -> Option<CollapseLoss> {
    match loss {
        LossKind::SoftmaxF16 => Some(CollapseLoss::Softmax(SoftmaxDtype::F16)),
        LossKind::SoftmaxF32 => Some(CollapseLoss::Softmax(SoftmaxDtype::F32)),
        LossKind::SoftmaxF64 => Some(CollapseLoss::Softmax(SoftmaxDtype::F64)),
        LossKind::Stablemax => Some(CollapseLoss::Stablemax),
        LossKind::Mse => None,
    }
}

/// Milestones seen in the logged records.
#[derive(Default)]
struct Milestones {
    collapse_half: Option<u64>,
    test_acc_09: Option<u64>,
}

impl Milestones {
    fn observe(&mut self, epoch: u64, rec: &Record) {
        let above = |name: &str, t: f64| rec.scalars.get(name).is_some_and(|&v| v > t);
        if self.collapse_half.is_none() && above("sc/collapsed", 0.5) {
            self.collapse_half = Some(epoch);
        }
        if self.test_acc_09.is_none() && above("test/acc", 0.9) {
            self.test_acc_09 = Some(epoch);
        }
    }
}

fn progress_bar(epochs: u64, show: bool) -> ProgressBar {
    let target = if show && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(epochs), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} epochs ({per_sec}, ETA {eta}) {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The training loop for one compiled model: IN inputs, OUT classes.
fn train_model<const IN: usize, const OUT: usize, A>(
    session: Session,
) -> Result<TrainSummary, TrainError>
where
    A: BuildOnDevice<Cpu, f32>,
    A::Built: ReluMlp<f32> + TrainForward<IN, OUT> + TensorCollection<f32, Cpu>,
{
    let Session {
        config,
        data,
        mut writer,
        run_dir,
        stop,
        progress,
    } = session;
    let c = &config;
    if data.dim != IN || data.classes != OUT {
        return Err(TrainError::Model(format!(
            "data of {} inputs and {} classes for a model of {IN} → {OUT}",
            data.dim, data.classes
        )));
    }
    let dev = Cpu::seed_from_u64(c.seed);
    let mut model = dev.build_module::<A, f32>();
    let mut opt = Opt::new(&model, c);
    let train_in = Inputs::<IN>::new(&dev, &data.train);
    let test_in = Inputs::<IN>::new(&dev, &data.test);
    let diag_data = DiagData::new(&tensor::<IN>(&dev, &data.train), data.train.y.clone())?
        .with_test(&tensor::<IN>(&dev, &data.test))?;
    let mut recorder = Recorder::new(
        None,
        diag_data,
        RecorderConfig {
            cadence: Cadence {
                log_every: c.log_every,
                log_spaced: c.log_spaced,
                ..Cadence::default()
            },
            collapse: collapse_test(c.loss),
            region_map: Some(SliceConfig {
                anchors: c.map_anchors.map_or(Anchors::Seeded, Anchors::Indices),
                ..SliceConfig::default()
            }),
            seed: c.seed,
            ..RecorderConfig::default()
        },
    )?;
    // SeND watches the last hidden layer on the sensitivity probe with the
    // recorder's window size, so at the default interval its snapshots are
    // exactly those behind the logged `sens/*`.
    let mut send = if c.send_frac > 0.0 {
        Some(SendDropper::new(
            &model,
            c.send_frac,
            c.send_interval(),
            recorder.config().sens_window,
            recorder.sensitivity_probe().clone(),
        )?)
    } else {
        None
    };
    if c.checkpoint_every > 0 {
        std::fs::create_dir_all(run_dir.join(CHECKPOINT_DIR))?;
    }

    let bar = progress_bar(c.epochs, progress);
    let started = Instant::now();
    let mut milestones = Milestones::default();
    let n_train = data.train.len();
    let batch_size = c.batch_size.unwrap_or(n_train).min(n_train);
    let mut order: Vec<usize> = (0..n_train).collect();
    let mut rng = SplitMix64::new(c.seed ^ 0xba7c_4e55);
    let mut grads = model.alloc_grads();
    // With ⊥Grad, the diagnostics see the gradient before the projection:
    // `sc/nlm_cos` then shows the NLM direction that ⊥Grad removes.
    let mut raw_grads: Option<Gradients<f32, Cpu>> = None;
    let mut last_train = eval(&model, &train_in, &data.train, c.loss).0;
    let mut last_test = last_train;
    let mut epoch = 0u64;
    let mut stopped_early;
    loop {
        // Log the state after `epoch` epochs (epoch 0 = initialisation).
        let finishing = epoch == c.epochs || stop.load(Ordering::Relaxed);
        stopped_early = finishing && epoch < c.epochs;
        // SeND re-selects on the full network after `epoch` epochs, for the
        // epochs that follow (a re-selection epoch is always a logged one).
        let reselection = match &mut send {
            Some(s) if !finishing => s.after_epoch(epoch, &model)?,
            _ => None,
        };
        if recorder.is_record_step(epoch) || finishing {
            let (test, _) = eval(&model, &test_in, &data.test, c.loss);
            last_test = test;
            let train = last_train;
            let g = (epoch > 0).then(|| raw_grads.as_ref().unwrap_or(&grads));
            // The collapse test runs on the model after this epoch's update.
            let logits = model.logits_of(&train_in, NoneTape, None).as_vec();
            let mut rec = recorder
                .record_with_logits(epoch, &model, g, Some(&logits))?
                .unwrap_or_else(|| Record::new(epoch as i64).at_now());
            rec = rec
                .scalar("train/loss", train.loss)
                .scalar("train/acc", train.correct as f64 / n_train as f64)
                .scalar("test/loss", test.loss)
                .scalar("test/acc", test.correct as f64 / data.test.len() as f64)
                .scalar("time/elapsed_s", started.elapsed().as_secs_f64());
            if let Some(r) = &reselection {
                rec = rec.scalar("sens/dropped", r.count() as f64);
                if let Some(indicator) = r.indicator() {
                    rec = rec.vector("sens/send_mask", indicator);
                }
            }
            if stopped_early {
                rec = rec.note(format!("stopped after epoch {epoch} of {}", c.epochs));
            }
            if finishing {
                // The dashboard shows a run whose last record carries this
                // note as done rather than stale.
                rec = rec.note(FINISHED_NOTE);
            }
            milestones.observe(epoch, &rec);
            writer.append(&rec)?;
            bar.set_message(format!(
                "train {:.3} test {:.3} sc {:.2}",
                train.correct as f64 / n_train as f64,
                test.correct as f64 / data.test.len() as f64,
                rec.scalars.get("sc/collapsed").copied().unwrap_or(f64::NAN)
            ));
        }
        if epoch > 0
            && c.checkpoint_every > 0
            && (epoch.is_multiple_of(c.checkpoint_every) || finishing)
        {
            let path = checkpoint_path(&run_dir, epoch);
            model
                .save_safetensors(&path)
                .map_err(|e| TrainError::Checkpoint(format!("{}: {e:?}", path.display())))?;
        }
        if finishing {
            break;
        }
        epoch += 1;

        // One epoch: a pass over the training set in minibatches.
        if batch_size < n_train {
            rng.shuffle(&mut order);
        }
        let (mut loss_sum, mut correct) = (0.0, 0);
        for chunk in order.chunks(batch_size) {
            let sub;
            let (x, y) = if chunk.len() == n_train {
                (&train_in, &data.train.y)
            } else {
                sub = (
                    train_in.rows(chunk),
                    chunk.iter().map(|&i| data.train.y[i]).collect::<Vec<_>>(),
                );
                (&sub.0, &sub.1)
            };
            model.zero_grads(&mut grads);
            let mask = send.as_ref().and_then(SendDropper::mask);
            let logits = model.logits_of(x, tape_of(&dev, grads), mask);
            let mut dz = Vec::new();
            let e = loss::evaluate(c.loss, &logits.as_vec(), OUT, y, Some(&mut dz));
            loss_sum += e.loss * y.len() as f64;
            correct += e.correct;
            // Back-propagate dL/dlogits: the gradient of sum(logits ⊙ dz)
            // with respect to the parameters is exactly dL/dθ.
            let dz = dev.tensor_from_vec(dz, *logits.shape());
            grads = (logits * dz).sum().backward();
            if c.perp_grad {
                // A copy per step (one parameter vector) is cheap next to
                // the forward and backward passes.
                raw_grads = Some(grads.clone());
                perp_grad::apply(&model, &mut grads)?;
            }
            opt.update(&mut model, &grads)?;
        }
        last_train = LossEval {
            loss: loss_sum / n_train as f64,
            correct,
        };
        bar.inc(1);
    }
    bar.finish_and_clear();
    let (train, test) = (last_train, last_test);
    Ok(TrainSummary {
        run_dir,
        epochs: epoch,
        stopped_early,
        train_loss: train.loss,
        train_acc: train.correct as f64 / n_train as f64,
        test_loss: test.loss,
        test_acc: test.correct as f64 / data.test.len() as f64,
        seconds: started.elapsed().as_secs_f64(),
        first_collapse_above_half: milestones.collapse_half,
        first_test_acc_above_0_9: milestones.test_acc_09,
    })
}
