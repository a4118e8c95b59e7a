//! Training diagnostics computed on dfdx 0.13 models on the CPU (see
//! `docs/METRICS.md` for what each one means and `/work/shared/METRICS.md`
//! for the exact definitions).
//!
//! Everything here is a pure function of (model, data) → numbers, except the
//! [`Recorder`], which turns those numbers into a [`Record`](crate::run::Record)
//! and hands it to a [`RunWriter`](crate::run::RunWriter).
//!
//! Layer naming convention used in every metric name: linear layers are
//! `l0`, `l1`, … in forward order (the last one produces the logits); the
//! ReLU output of linear layer `l<i>` is the hidden layer `h<i>`.
//!
//! Any dfdx model assembled from [`Linear`](dfdx::nn::modules::Linear) /
//! [`UnbiasedLinear`](dfdx::nn::modules::UnbiasedLinear) layers with
//! [`ReLU`](dfdx::nn::modules::ReLU) between them, as a (possibly nested) tuple
//! or with [`Repeated`](dfdx::nn::modules::Repeated), implements [`ReluMlp`].

mod collapse;
mod error;
mod local_complexity;
mod model;
mod nlm;
mod recorder;
mod region_map;
mod sensitivity;

pub use collapse::{
    collapse_from_logits, sample_collapse, softmax_collapse, stablemax_ds, stablemax_s,
    CollapseLoss, CollapseStats, SampleCollapse, SoftmaxDtype,
};
pub use error::DiagError;
pub use local_complexity::{
    local_complexity, typical_scale, uniform_in_bounding_box, Directions, LcConfig, LcStats,
    ProbeSet, Radius,
};
pub use model::{hidden_name, layer_name, to_matrix, DenseLayer, Matrix, MlpOp, MlpView, ReluMlp};
pub use nlm::{nlm_alignment, NlmStats};
pub use recorder::{log_spaced_step, Cadence, DiagData, Recorder, RecorderConfig};
pub use region_map::{
    choose_anchors, region_map, Anchors, RegionLabels, RegionMap, Slice, SliceConfig, ANCHOR_NAMES,
};
pub use sensitivity::{sensitivity, top_count, SensitivityStats, SensitivityWindow};
