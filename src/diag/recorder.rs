//! The recorder: one call per training step turns the due diagnostics into a
//! [`Record`] and appends it to a [`RunWriter`].

use dfdx::prelude::*;

use super::local_complexity::{typical_scale, uniform_in_bounding_box};
use super::model::{hidden_name, layer_name, to_matrix, Matrix};
use super::region_map::{choose_anchors, region_map, RegionLabels, Slice, SliceConfig};
use super::ANCHOR_NAMES;
use super::{
    collapse_from_logits, local_complexity, nlm_alignment, CollapseLoss, DiagError, Directions,
    LcConfig, ProbeSet, Radius, ReluMlp, SensitivityWindow, SoftmaxDtype,
};
use crate::run::map::{CLASS_MAP, REGION_MAP, SLICE_REGIONS};
use crate::run::{GridMap, MapMark, Record, RunWriter};

/// Which diagnostics run how often.
///
/// A record is written every `log_every` training steps (steps that are
/// multiples of it); each diagnostic runs on every n-th *logged* step (0 =
/// never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// Training steps between two records. Default 10.
    pub log_every: u64,
    /// Softmax collapse, margin and logit norm: every n-th record. Default 1.
    pub collapse: u64,
    /// NLM alignment and weight / gradient norms: every n-th record. Default 1.
    pub nlm: u64,
    /// Local complexity on the probe sets: every n-th record. Default 10.
    pub local_complexity: u64,
    /// Sensitivity snapshot (and statistics once K are held): every n-th
    /// record. Default 10.
    pub sensitivity: u64,
    /// Region map of the slice (`lc/slice/*`): every n-th record. Default
    /// 10, with local complexity.
    pub region_map: u64,
    /// Also record at about ten log-spaced steps per decade (1, 2, 3, 4, 5,
    /// 6, 8, 10, 13, 16, 20, 25, 32, 40, 50, 63, 79, 100, …; see
    /// [`log_spaced_step`]), running every diagnostic but sensitivity there
    /// (whose window wants evenly spaced checkpoints), so a log-step axis
    /// shows the early phases. Default off.
    pub log_spaced: bool,
}

/// True when `step` is one of the log-spaced steps: `round(10^(k/10))` for
/// some k ≥ 0.
pub fn log_spaced_step(step: u64) -> bool {
    if step == 0 {
        return false;
    }
    // k near 10·log10(step); the rounding of 10^(k/10) can only match the
    // nearest k or its neighbours.
    let k = (10.0 * (step as f64).log10()).round() as i64;
    (k - 1..=k + 1)
        .filter(|&k| k >= 0)
        .any(|k| 10f64.powf(k as f64 / 10.0).round() as u64 == step)
}

impl Default for Cadence {
    fn default() -> Self {
        Cadence {
            log_every: 10,
            collapse: 1,
            nlm: 1,
            local_complexity: 10,
            sensitivity: 10,
            region_map: 10,
            log_spaced: false,
        }
    }
}

/// Everything the recorder can be configured with.
#[derive(Debug, Clone, PartialEq)]
pub struct RecorderConfig {
    /// How often each diagnostic runs.
    pub cadence: Cadence,
    /// The loss whose arithmetic the collapse test reproduces (default an
    /// f32 softmax); `None` for a loss without a softmax (e.g. MSE): then
    /// only `sc/margin` and `norm/logits` are recorded.
    pub collapse: Option<CollapseLoss>,
    /// Local-complexity settings (P, r, points per set).
    pub lc: LcConfig,
    /// Linear layer whose ReLU output is watched for sensitivity; `None` =
    /// the last hidden layer.
    pub sens_layer: Option<usize>,
    /// Window K of checkpoints. Default 3.
    pub sens_window: usize,
    /// Fraction of neurons counted as "top". Default 0.2.
    pub sens_top_fraction: f64,
    /// Number M of probe inputs for sensitivity. Default 256.
    pub sens_probe: usize,
    /// The region map's slice and grid; `None` = no region map.
    pub region_map: Option<SliceConfig>,
    /// Seed of the LC directions, probe subsets and random points, and of
    /// the region map's anchors.
    pub seed: u64,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            cadence: Cadence::default(),
            collapse: Some(CollapseLoss::default()),
            lc: LcConfig::default(),
            sens_layer: None,
            sens_window: 3,
            sens_top_fraction: 0.2,
            sens_probe: 256,
            region_map: Some(SliceConfig::default()),
            seed: 0,
        }
    }
}

/// The data the diagnostics look at.
#[derive(Debug, Clone)]
pub struct DiagData<E: Dtype> {
    train_x: Matrix<E>,
    train_y: Vec<usize>,
    test_x: Option<Matrix<E>>,
}

impl<E: Dtype> DiagData<E>
where
    Cpu: Device<E>,
{
    /// Training inputs `[N, D]` (any rank-2 CPU tensor) and their labels.
    pub fn new<S: Shape>(
        train_x: &Tensor<S, E, Cpu>,
        train_y: Vec<usize>,
    ) -> Result<Self, DiagError> {
        let train_x = to_matrix(train_x)?;
        if train_x.shape().0 != train_y.len() || train_y.is_empty() {
            return Err(DiagError::Shape(format!(
                "{} training inputs but {} labels",
                train_x.shape().0,
                train_y.len()
            )));
        }
        Ok(DiagData {
            train_x,
            train_y,
            test_x: None,
        })
    }

    /// Adds held-out inputs (for `lc/test`).
    pub fn with_test<S: Shape>(mut self, test_x: &Tensor<S, E, Cpu>) -> Result<Self, DiagError> {
        let test_x = to_matrix(test_x)?;
        if test_x.shape().1 != self.train_x.shape().1 || test_x.shape().0 == 0 {
            return Err(DiagError::Shape(
                "test inputs must be non-empty with as many features as the training inputs".into(),
            ));
        }
        self.test_x = Some(test_x);
        Ok(self)
    }
}

/// Computes the due diagnostics at each step and appends them to a run log.
#[derive(Debug)]
pub struct Recorder<E: Dtype> {
    config: RecorderConfig,
    writer: Option<RunWriter>,
    data: DiagData<E>,
    directions: Directions,
    radius: f64,
    lc_probes: Vec<(ProbeSet, Matrix<E>)>,
    sens_probe: Matrix<E>,
    window: SensitivityWindow,
    slice: Option<(Slice, [usize; 3])>,
    region_labels: RegionLabels,
}

/// `count` rows of `x`, evenly strided (all of them if there are fewer).
fn strided_rows<E: Dtype>(x: &Matrix<E>, count: usize) -> Matrix<E>
where
    Cpu: Device<E>,
{
    let (n, d) = *x.shape();
    if count >= n {
        return x.clone();
    }
    let data = x.as_vec();
    let rows: Vec<E> = (0..count)
        .flat_map(|i| {
            let r = i * n / count;
            data[r * d..(r + 1) * d].iter().copied()
        })
        .collect();
    x.device().tensor_from_vec(rows, (count, d))
}

impl<E: Dtype> Recorder<E>
where
    Cpu: Device<E>,
{
    /// A recorder writing to `writer` (or nobody, with `None`: then use
    /// [`Recorder::record`]). Draws the LC directions, probe subsets and
    /// random points once, from `config.seed`.
    pub fn new(
        writer: Option<RunWriter>,
        data: DiagData<E>,
        config: RecorderConfig,
    ) -> Result<Self, DiagError> {
        if config.cadence.log_every == 0 {
            return Err(DiagError::Config("log_every must be at least 1".into()));
        }
        let dim = data.train_x.shape().1;
        let directions = Directions::new(dim, config.lc.directions, config.seed)?;
        let radius = match config.lc.radius {
            Radius::Absolute(r) => r,
            Radius::Relative(f) => f * typical_scale(&data.train_x)?,
        };
        if !(radius.is_finite() && radius > 0.0) {
            return Err(DiagError::Config(format!(
                "LC radius must be positive, got {radius}"
            )));
        }
        let points = config.lc.points.max(1);
        let mut lc_probes = vec![(ProbeSet::Train, strided_rows(&data.train_x, points))];
        if let Some(test_x) = &data.test_x {
            lc_probes.push((ProbeSet::Test, strided_rows(test_x, points)));
        }
        let random = uniform_in_bounding_box(&data.train_x, points, config.seed ^ 0x5eed)?;
        lc_probes.push((ProbeSet::Random, random));
        let sens_probe = strided_rows(&data.train_x, config.sens_probe.max(1));
        let window = SensitivityWindow::new(config.sens_window)?;
        let slice = match &config.region_map {
            Some(map) => Some(slice_of(&data, map, config.seed)?),
            None => None,
        };
        Ok(Recorder {
            config,
            writer,
            data,
            directions,
            radius,
            lc_probes,
            sens_probe,
            window,
            slice,
            region_labels: RegionLabels::new(),
        })
    }

    /// The region map's slice and the training points it goes through
    /// (A, B, C), when the map is on.
    pub fn slice(&self) -> Option<(&Slice, [usize; 3])> {
        self.slice.as_ref().map(|(s, idx)| (s, *idx))
    }

    /// The configuration in use.
    pub fn config(&self) -> &RecorderConfig {
        &self.config
    }

    /// The fixed probe batch of the sensitivity diagnostic (`sens_probe`
    /// evenly strided training inputs), for callers that keep their own
    /// [`SensitivityWindow`] on the same inputs (the trainer's SeND option).
    pub fn sensitivity_probe(&self) -> &Matrix<E> {
        &self.sens_probe
    }

    /// The LC radius r in input units.
    pub fn radius(&self) -> f64 {
        self.radius
    }

    /// True when `every`-th logged steps include `step`, or when `step` is
    /// an extra log-spaced step (and the diagnostic is on at all).
    fn due(&self, step: u64, every: u64) -> bool {
        let log = self.config.cadence.log_every;
        every > 0
            && ((step.is_multiple_of(log) && (step / log).is_multiple_of(every))
                || self.is_extra(step))
    }

    /// True when `step` is a record step: a multiple of `log_every`, or an
    /// extra log-spaced step when [`Cadence::log_spaced`] is on.
    pub fn is_record_step(&self, step: u64) -> bool {
        step.is_multiple_of(self.config.cadence.log_every) || self.is_extra(step)
    }

    fn is_extra(&self, step: u64) -> bool {
        self.config.cadence.log_spaced && log_spaced_step(step)
    }

    /// The diagnostics due at `step` as a record, or `None` when `step` is
    /// not a logged step. `grads` (the training gradient of this step) is
    /// needed for `sc/nlm_cos*` and `norm/grad`; without it only the weight
    /// norms of that group are recorded.
    ///
    /// # Panics
    /// If `grads` lacks a gradient for one of `model`'s parameters (see
    /// [`nlm_alignment`]).
    pub fn record<M: ReluMlp<E>>(
        &mut self,
        step: u64,
        model: &M,
        grads: Option<&Gradients<E, Cpu>>,
    ) -> Result<Option<Record>, DiagError> {
        self.record_with_logits(step, model, grads, None)
    }

    /// [`record`](Recorder::record), given the model's logits on the
    /// training inputs when the caller already has them (row-major `[N, C]`,
    /// exactly what the model's forward gives, e.g. from a faster forward
    /// that exploits one-hot inputs), so the collapse test needs no forward
    /// of its own.
    ///
    /// # Errors
    /// When `train_logits` is not `[N, C]` for the training set.
    pub fn record_with_logits<M: ReluMlp<E>>(
        &mut self,
        step: u64,
        model: &M,
        grads: Option<&Gradients<E, Cpu>>,
        train_logits: Option<&[E]>,
    ) -> Result<Option<Record>, DiagError> {
        if !self.is_record_step(step) {
            return Ok(None);
        }
        let cadence = self.config.cadence;
        let view = model.mlp_view()?;
        let mut rec = Record::new(step as i64).at_now();
        if self.due(step, cadence.collapse) {
            let computed;
            let logits = match train_logits {
                Some(l) => l,
                None => {
                    computed = view.logits(self.data.train_x.clone())?.as_vec();
                    &computed
                }
            };
            let classes = view.output_dim();
            let labels = &self.data.train_y;
            let loss = self.config.collapse.unwrap_or_default();
            let sc = collapse_from_logits(logits, classes, labels, loss)?;
            if self.config.collapse.is_some() {
                rec = rec
                    .scalar("sc/collapsed", sc.collapsed)
                    .scalar("sc/zero_loss", sc.zero_loss)
                    .scalar("sc/collapsed_grad_share", sc.collapsed_grad_share);
            }
            if loss == CollapseLoss::Stablemax {
                // What an f32 softmax would do with these logits: StableMax
                // itself does not collapse, so this says how large the
                // logits are, under its own name.
                let f32_softmax = CollapseLoss::Softmax(SoftmaxDtype::F32);
                let hypothetical = collapse_from_logits(logits, classes, labels, f32_softmax)?;
                rec = rec.scalar("sc/softmax_f32_collapsed", hypothetical.collapsed);
            }
            rec = rec
                .scalar("sc/margin", sc.margin)
                .scalar("norm/logits", sc.logit_norm);
        }
        if self.due(step, cadence.nlm) {
            let (layer_norms, total) = match grads {
                Some(grads) => {
                    let nlm = nlm_alignment(model, grads)?;
                    for (l, c) in nlm.layer_cos.iter().enumerate() {
                        rec = rec.scalar(format!("sc/nlm_cos/{}", layer_name(l)), *c);
                    }
                    rec = rec
                        .scalar("sc/nlm_cos", nlm.cos)
                        .scalar("norm/grad", nlm.grad_norm);
                    (nlm.layer_weight_norms, nlm.weight_norm)
                }
                None => weight_norms(
                    &view
                        .layers()
                        .iter()
                        .map(|l| l.weight.as_vec())
                        .collect::<Vec<_>>(),
                ),
            };
            for (l, n) in layer_norms.iter().enumerate() {
                rec = rec.scalar(format!("norm/weights/{}", layer_name(l)), *n);
            }
            rec = rec.scalar("norm/weights", total);
        }
        if self.due(step, cadence.local_complexity) {
            for (set, x) in &self.lc_probes {
                let lc = local_complexity(model, x, &self.directions, self.radius)?;
                rec = rec.scalar(format!("lc/{}", set.name()), lc.mean);
                for (l, v) in lc.layer_mean.iter().enumerate() {
                    rec = rec.scalar(format!("lc/{}/{}", set.name(), layer_name(l)), *v);
                }
            }
        }
        if let (true, Some((slice, _))) = (self.due(step, cadence.region_map), &self.slice) {
            let map = region_map(model, slice)?;
            let labels = self.region_labels.assign(&map);
            let marks: Vec<MapMark> = slice
                .anchor_cells()
                .iter()
                .zip(slice.labels())
                .map(|(&(x, y), label)| MapMark {
                    x,
                    y,
                    label: Some(label.clone()),
                })
                .collect();
            let grid = |values: &[u32]| {
                GridMap::from_values(map.width, map.height, values)
                    .map(|g| g.with_marks(marks.clone()))
                    .map_err(|e| DiagError::Config(e.to_string()))
            };
            rec = rec
                .map(REGION_MAP, grid(&labels)?)
                .map(CLASS_MAP, grid(&map.classes)?)
                .scalar(SLICE_REGIONS, map.region_count() as f64);
        }
        // Sensitivity only on the regular grid: its window of K checkpoints
        // wants them evenly spaced.
        let log = cadence.log_every;
        if cadence.sensitivity > 0
            && step.is_multiple_of(log)
            && (step / log).is_multiple_of(cadence.sensitivity)
        {
            let hidden_layers = view.num_layers() - 1;
            let layer = match self.config.sens_layer {
                Some(l) => l,
                None if hidden_layers > 0 => hidden_layers - 1,
                None => {
                    return Err(DiagError::Config(
                        "sensitivity needs a hidden layer; the model has none".into(),
                    ))
                }
            };
            self.window.observe(model, &self.sens_probe, layer)?;
            if let Some(s) = self.window.stats(self.config.sens_top_fraction)? {
                rec = rec
                    .vector(format!("sens/{}", hidden_name(layer)), s.per_neuron)
                    .scalar("sens/net_variability", s.net_variability)
                    .scalar("sens/top_share", s.top_share)
                    .vector(
                        "sens/top_ids",
                        s.top_ids.iter().map(|&i| i as f64).collect(),
                    );
            }
        }
        Ok(Some(rec))
    }

    /// [`record`](Recorder::record) plus the caller's own `scalars` (e.g.
    /// `("train/loss", loss)`), appended to the writer. Returns the record
    /// written, or `None` when `step` is not a logged step.
    pub fn log<M: ReluMlp<E>>(
        &mut self,
        step: u64,
        model: &M,
        grads: Option<&Gradients<E, Cpu>>,
        scalars: &[(&str, f64)],
    ) -> Result<Option<Record>, DiagError> {
        let Some(mut rec) = self.record(step, model, grads)? else {
            return Ok(None);
        };
        for (name, value) in scalars {
            rec = rec.scalar(*name, *value);
        }
        if let Some(writer) = &mut self.writer {
            writer.append(&rec)?;
        }
        Ok(Some(rec))
    }
}

/// The slice of `config` through three training points of `data`, and
/// their indices.
fn slice_of<E: Dtype>(
    data: &DiagData<E>,
    config: &SliceConfig,
    seed: u64,
) -> Result<(Slice, [usize; 3]), DiagError>
where
    Cpu: Device<E>,
{
    let x: Vec<f64> = data
        .train_x
        .as_vec()
        .iter()
        .map(|v| v.to_f64().unwrap_or(f64::NAN))
        .collect();
    let y = &data.train_y;
    let idx = choose_anchors(&x, y, config.anchors, seed)?;
    let d = x.len() / y.len();
    let rows = idx.map(|i| &x[i * d..(i + 1) * d]);
    let labels = [0, 1, 2].map(|k| {
        format!(
            "{}: train #{} (class {})",
            ANCHOR_NAMES[k], idx[k], y[idx[k]]
        )
    });
    let slice = Slice::through(rows, config.width, config.height, config.margin, labels)?;
    Ok((slice, idx))
}

/// (per-layer Frobenius norms, sqrt of the sum of their squares).
fn weight_norms<E: Dtype>(weights: &[Vec<E>]) -> (Vec<f64>, f64) {
    let sq: Vec<f64> = weights
        .iter()
        .map(|w| {
            w.iter()
                .map(|v| v.to_f64().unwrap_or(f64::NAN).powi(2))
                .sum()
        })
        .collect();
    let total = sq.iter().sum::<f64>().sqrt();
    (sq.into_iter().map(f64::sqrt).collect(), total)
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
