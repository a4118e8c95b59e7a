//! SeND-style neuron dropping (`--send-frac`, `--send-every`).
//!
//! Source: Mohammadzadeh et al., "Hallucination Detox: Sensitive Neuron
//! Dropout (SeND)" (2024). Every `send_every` epochs the trainer snapshots
//! the last hidden layer's activations (full network) on the sensitivity
//! probe batch, keeps the last K snapshots in a [`SensitivityWindow`] and,
//! once K are held, selects the most sensitive neurons by the project's own
//! s_i ([`crate::diag::sensitivity`]). Until the next re-selection, the
//! training forward multiplies that layer's ReLU output by a 0/1 mask: the
//! dropped neurons output exactly 0, contribute nothing to the logits and
//! receive no gradient. Evaluation and every diagnostic use the full
//! network (dropout-at-train-time semantics).
//!
//! dfdx's const-generic tuple models have no place for a mask, so the
//! models split their forward at the last hidden layer ([`MaskableMlp`]):
//! `head(last_hidden(x))` runs exactly the module forwards of
//! `model.forward(x)`. The masked pass is `head(last_hidden(x) ⊙ mask)`,
//! computed as the logits layer with the dropped neurons' weight columns
//! zeroed, which gives bit for bit the same logits and gradients (tested)
//! for a product of the logits layer's size instead of the batch's: masking
//! the `[N, 200]` activations themselves cost about 20 % of a full-batch
//! step of the p = 59 model, mostly in the broadcast's backward.

use dfdx::nn::modules::{Linear, ReLU, UnbiasedLinear};
use dfdx::prelude::*;

use super::forward::Rows;
use super::trainer::HIDDEN;
use super::TrainError;
use crate::diag::{Matrix, ReluMlp, SensitivityStats, SensitivityWindow};

/// The multiplicative mask of the last hidden layer: 0 = dropped, 1 = kept.
pub type HiddenMask = Tensor<Rank1<HIDDEN>, f32, Cpu>;

/// A model (IN inputs, OUT logits) whose forward splits at its last hidden
/// layer (width [`HIDDEN`]), so that layer's activations can be masked.
pub trait MaskableMlp<const IN: usize, const OUT: usize> {
    /// The last hidden layer's activations (after its ReLU).
    fn last_hidden<T: Tape<f32, Cpu>>(&self, x: Rows<IN, T>) -> Rows<HIDDEN, T>;

    /// The logits from the last hidden layer's activations (the model's
    /// own logits layer).
    fn head<T: Tape<f32, Cpu>>(&self, h: Rows<HIDDEN, T>) -> Rows<OUT, T>;

    /// `head(h ⊙ mask)`, computed as the logits layer with the weight
    /// columns of the dropped neurons zeroed: `h ⊙ m` enters the logits
    /// only through `W (h ⊙ m) = (W diag m) h`, and multiplying by 0 or 1 is
    /// exact, so the logits and every gradient are those of `head(h ⊙ mask)`
    /// (up to the sign of a zero), for an `[OUT, HIDDEN]` product instead of
    /// an `[N, HIDDEN]` one with its broadcast backward.
    fn head_masked<T: Tape<f32, Cpu>>(&self, h: Rows<HIDDEN, T>, mask: &HiddenMask)
        -> Rows<OUT, T>;

    /// The forward pass with the last hidden layer's activations multiplied
    /// by `mask`.
    fn forward_masked<T: Tape<f32, Cpu>>(&self, x: Rows<IN, T>, mask: &HiddenMask) -> Rows<OUT, T> {
        self.head_masked(self.last_hidden(x), mask)
    }
}

/// `w` (`[O, HIDDEN]`, dfdx's layout) with the columns of the neurons that
/// `mask` drops set to 0, on a fresh tape `T` (as dfdx's layers retape
/// their weights), so the gradient reaches `w` through the mask.
fn masked_weight<const O: usize, T: Tape<f32, Cpu>>(
    w: &Tensor<Rank2<O, HIDDEN>, f32, Cpu>,
    mask: &HiddenMask,
) -> Tensor<Rank2<O, HIDDEN>, f32, Cpu, T> {
    w.retaped::<T>() * mask.clone().broadcast::<Rank2<O, HIDDEN>, Axis<0>>()
}

/// The built [`ModularMlp`](super::ModularMlp).
pub(super) type ModularBuilt<const IN: usize, const OUT: usize> = (
    UnbiasedLinear<IN, HIDDEN, f32, Cpu>,
    ReLU,
    UnbiasedLinear<HIDDEN, HIDDEN, f32, Cpu>,
    ReLU,
    UnbiasedLinear<HIDDEN, OUT, f32, Cpu>,
);

impl<const IN: usize, const OUT: usize> MaskableMlp<IN, OUT> for ModularBuilt<IN, OUT> {
    fn last_hidden<T: Tape<f32, Cpu>>(&self, x: Rows<IN, T>) -> Rows<HIDDEN, T> {
        let h0 = self.1.forward(self.0.forward(x));
        self.3.forward(self.2.forward(h0))
    }

    fn head<T: Tape<f32, Cpu>>(&self, h: Rows<HIDDEN, T>) -> Rows<OUT, T> {
        self.4.forward(h)
    }

    fn head_masked<T: Tape<f32, Cpu>>(
        &self,
        h: Rows<HIDDEN, T>,
        mask: &HiddenMask,
    ) -> Rows<OUT, T> {
        // dfdx's `UnbiasedLinear::forward`, with the masked weight.
        h.matmul(masked_weight::<OUT, T>(&self.4.weight, mask).permute())
    }
}

/// The built [`GlyphMlp`](super::GlyphMlp).
pub(super) type GlyphBuilt = (
    (Linear<64, HIDDEN, f32, Cpu>, ReLU),
    (Linear<HIDDEN, HIDDEN, f32, Cpu>, ReLU),
    (Linear<HIDDEN, HIDDEN, f32, Cpu>, ReLU),
    Linear<HIDDEN, 10, f32, Cpu>,
);

impl MaskableMlp<64, 10> for GlyphBuilt {
    fn last_hidden<T: Tape<f32, Cpu>>(&self, x: Rows<64, T>) -> Rows<HIDDEN, T> {
        self.2.forward(self.1.forward(self.0.forward(x)))
    }

    fn head<T: Tape<f32, Cpu>>(&self, h: Rows<HIDDEN, T>) -> Rows<10, T> {
        self.3.forward(h)
    }

    fn head_masked<T: Tape<f32, Cpu>>(&self, h: Rows<HIDDEN, T>, mask: &HiddenMask) -> Rows<10, T> {
        // dfdx's `Linear::forward`, with the masked weight.
        let z = h.matmul(masked_weight::<10, T>(&self.3.weight, mask).permute());
        let shape = *z.shape();
        z + self.3.bias.retaped::<T>().broadcast_like(&shape)
    }
}

/// The neurons SeND drops for the window statistics `stats` (computed with
/// the SeND fraction as the top fraction): the top
/// [`top_count`](crate::diag::top_count)`(fraction, W)` by s_i, most sensitive first, ties to the
/// lower index, leaving out neurons with s_i = 0 (or NaN): a neuron whose
/// activations did not move is not sensitive.
pub fn select(stats: &SensitivityStats) -> Vec<usize> {
    stats
        .top_ids
        .iter()
        .copied()
        .filter(|&i| stats.per_neuron[i] > 0.0)
        .collect()
}

/// The multiplicative mask that drops `dropped` (0 there, 1 elsewhere).
pub fn hidden_mask(dev: &Cpu, dropped: &[usize]) -> HiddenMask {
    let mut keep = [1.0f32; HIDDEN];
    for &i in dropped {
        keep[i] = 0.0;
    }
    dev.tensor(keep)
}

/// What happened at a re-selection epoch.
#[derive(Debug, Clone, PartialEq)]
pub enum Reselection {
    /// Fewer than K snapshots so far: nothing is dropped.
    Waiting,
    /// These neurons (most sensitive first) are dropped until the next
    /// re-selection; possibly none.
    Dropped(Vec<usize>),
}

impl Reselection {
    /// `sens/dropped`.
    pub fn count(&self) -> usize {
        match self {
            Reselection::Waiting => 0,
            Reselection::Dropped(ids) => ids.len(),
        }
    }

    /// `sens/send_mask`: 1 for a dropped neuron, 0 otherwise (width
    /// [`HIDDEN`]); `None` while waiting for K snapshots.
    pub fn indicator(&self) -> Option<Vec<f64>> {
        match self {
            Reselection::Waiting => None,
            Reselection::Dropped(ids) => {
                let mut v = vec![0.0; HIDDEN];
                ids.iter().for_each(|&i| v[i] = 1.0);
                Some(v)
            }
        }
    }
}

/// The SeND state of one training run.
pub struct SendDropper {
    fraction: f64,
    every: u64,
    layer: usize,
    probe: Matrix<f32>,
    window: SensitivityWindow,
    mask: Option<HiddenMask>,
}

impl SendDropper {
    /// Drops `top_count(fraction, HIDDEN)` neurons of `model`'s last hidden
    /// layer, re-selected every `every` epochs from a window of `k`
    /// snapshots on `probe`.
    pub fn new<M: ReluMlp<f32>>(
        model: &M,
        fraction: f64,
        every: u64,
        k: usize,
        probe: Matrix<f32>,
    ) -> Result<Self, TrainError> {
        let widths = model.mlp_view()?.widths();
        let layer = widths.len().checked_sub(2).ok_or_else(|| {
            TrainError::Config("--send-frac needs a model with a hidden layer".into())
        })?;
        if widths[layer] != HIDDEN || every == 0 || !(fraction > 0.0 && fraction < 1.0) {
            return Err(TrainError::Config(format!(
                "SeND: fraction {fraction} of a last hidden layer of {} neurons every {every} \
                 epochs is not supported",
                widths[layer]
            )));
        }
        Ok(SendDropper {
            fraction,
            every,
            layer,
            probe,
            window: SensitivityWindow::new(k)?,
            mask: None,
        })
    }

    /// The mask of the training forward; `None` when nothing is dropped.
    pub fn mask(&self) -> Option<&HiddenMask> {
        self.mask.as_ref()
    }

    /// Called with the model after `epoch` epochs (epoch 0 = the
    /// initialisation). On a re-selection epoch (a multiple of `every`),
    /// snapshots the full network on the probe and re-selects; otherwise
    /// returns `None` and keeps the mask.
    pub fn after_epoch<M: ReluMlp<f32>>(
        &mut self,
        epoch: u64,
        model: &M,
    ) -> Result<Option<Reselection>, TrainError> {
        if !epoch.is_multiple_of(self.every) {
            return Ok(None);
        }
        self.window.observe(model, &self.probe, self.layer)?;
        let r = match self.window.stats(self.fraction)? {
            None => Reselection::Waiting,
            Some(stats) => Reselection::Dropped(select(&stats)),
        };
        self.mask = match &r {
            Reselection::Dropped(ids) if !ids.is_empty() => {
                Some(hidden_mask(self.probe.device(), ids))
            }
            _ => None,
        };
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{sensitivity, top_count};
    use crate::train::{GlyphMlp, ModularMlp};

    type Tape = OwnedTape<f32, Cpu>;

    #[test]
    fn selection_takes_the_largest_scores_ties_to_the_lower_index() {
        // One input, five neurons over K = 3 checkpoints. Trajectories
        // 0,1,3 give s = 14/3; 0,2,0 give Δ = 4, V = 8/9, s = 32/9; a
        // constant gives 0. Neurons 1 and 3 tie at the top, 2 and 4 next.
        let h = [
            [5.0, 0.0, 0.0, 0.0, 0.0],
            [5.0, 1.0, 2.0, 1.0, 2.0],
            [5.0, 3.0, 0.0, 3.0, 0.0],
        ];
        let views: Vec<&[f64]> = h.iter().map(|r| r.as_slice()).collect();
        let top = |frac: f64| select(&sensitivity(&views, 5, frac).unwrap());
        assert_eq!(top(0.2), vec![1]);
        assert_eq!(top(0.4), vec![1, 3]);
        assert_eq!(top(0.6), vec![1, 3, 2]);
        assert_eq!(top(0.8), vec![1, 3, 2, 4]);
        // Neuron 0 never moved: never dropped, even when asked for all.
        assert_eq!(top(1.0), vec![1, 3, 2, 4]);
        // Nothing moved at all: nothing is dropped.
        let flat = [[1.0; 5]; 3];
        let views: Vec<&[f64]> = flat.iter().map(|r| r.as_slice()).collect();
        assert!(select(&sensitivity(&views, 5, 0.4).unwrap()).is_empty());
    }

    /// Inputs `[n, I]` with values in [-1, 1).
    fn inputs<const I: usize>(dev: &Cpu, n: usize) -> Rows<I, NoneTape> {
        dev.sample_uniform_like(&(n, Const::<I>)) * 2.0 - 1.0
    }

    /// The split forward is the module forward; an all-ones mask changes
    /// nothing, bit for bit.
    fn split_is_exact<const IN: usize, const OUT: usize, M>(model: &M, x: Rows<IN, NoneTape>)
    where
        M: MaskableMlp<IN, OUT> + Module<Rows<IN, NoneTape>, Output = Rows<OUT, NoneTape>>,
    {
        let dev = x.device().clone();
        let full = model.forward(x.clone()).as_vec();
        assert_eq!(model.head(model.last_hidden(x.clone())).as_vec(), full);
        let ones = hidden_mask(&dev, &[]);
        assert_eq!(model.forward_masked(x, &ones).as_vec(), full);
    }

    #[test]
    fn the_split_forward_is_exactly_the_model_forward() {
        let dev = Cpu::seed_from_u64(3);
        let modular = dev.build_module::<ModularMlp<46, 23>, f32>();
        split_is_exact::<46, 23, _>(&modular, inputs::<46>(&dev, 9));
        let glyph = dev.build_module::<GlyphMlp, f32>();
        split_is_exact::<64, 10, _>(&glyph, inputs::<64>(&dev, 9));
    }

    /// Masked neurons output 0 and get no gradient; the result equals the
    /// full network's last layer applied to the activations with those
    /// columns zeroed; kept neurons still learn.
    fn mask_drops_exactly<const IN: usize, const OUT: usize, M>(model: &M, x: Rows<IN, NoneTape>)
    where
        M: MaskableMlp<IN, OUT> + ReluMlp<f32> + TensorCollection<f32, Cpu>,
    {
        let dev = x.device().clone();
        let n = x.shape().0;
        let dropped = [0usize, 7, 8, 150, HIDDEN - 1];
        let mask = hidden_mask(&dev, &dropped);
        // Reference: the full network's activations through `MlpView`, the
        // dropped columns set to 0 by hand, then the logits layer by hand.
        let view = model.mlp_view().unwrap();
        let last = view.num_layers() - 1;
        let mut h = view
            .hidden(crate::diag::to_matrix(&x).unwrap(), last - 1)
            .unwrap()
            .as_vec();
        let alive = dropped
            .iter()
            .any(|&i| (0..n).any(|m| h[m * HIDDEN + i] > 0.0));
        assert!(alive, "the test needs a dropped neuron that is active");
        for m in 0..n {
            for &i in &dropped {
                h[m * HIDDEN + i] = 0.0;
            }
        }
        let out = &view.layers()[last];
        let (w, b) = (out.weight.as_vec(), out.bias.as_ref().map(|b| b.as_vec()));
        let masked = model.forward_masked(x.clone(), &mask).as_vec();
        for m in 0..n {
            for o in 0..OUT {
                let mut z: f64 = (0..HIDDEN)
                    .map(|i| h[m * HIDDEN + i] as f64 * w[o * HIDDEN + i] as f64)
                    .sum();
                z += b.as_ref().map_or(0.0, |b| b[o] as f64);
                let got = masked[m * OUT + o] as f64;
                assert!((got - z).abs() < 1e-4, "[{m}, {o}]: {got} vs {z}");
            }
        }
        // The masked-weight head is exactly the head on masked activations:
        // same logits, same gradient for every parameter.
        let loss = |y: Rows<OUT, Tape>| y.square().sum().backward();
        let h = model.last_hidden(x.clone().traced(model.alloc_grads()));
        let hm = h * mask.clone().broadcast_like(&(n, Const));
        let hv = hm.as_vec();
        assert!(dropped
            .iter()
            .all(|&i| (0..n).all(|m| hv[m * HIDDEN + i] == 0.0)));
        let reference = model.head(hm);
        let g_ref = {
            assert_eq!(
                model.forward_masked(x.clone(), &mask).as_vec(),
                reference.as_vec()
            );
            loss(reference)
        };
        let g = loss(model.forward_masked::<Tape>(x.traced(model.alloc_grads()), &mask));
        for (l, layer) in view.layers().iter().enumerate() {
            assert_eq!(
                g.get(&layer.weight).as_vec(),
                g_ref.get(&layer.weight).as_vec(),
                "l{l}"
            );
            if let Some(b) = &layer.bias {
                assert_eq!(g.get(b).as_vec(), g_ref.get(b).as_vec(), "l{l} bias");
            }
        }
        let layers = view.layers();
        // Incoming weights (and bias) of the masked layer: rows of W_{last-1}.
        let w_in = g.get(&layers[last - 1].weight).as_vec();
        let b_in = layers[last - 1].bias.as_ref().map(|b| g.get(b).as_vec());
        // Outgoing weights: columns of W_last.
        let w_out = g.get(&layers[last].weight).as_vec();
        let d_in = layers[last - 1].in_dim();
        for i in 0..HIDDEN {
            let row = &w_in[i * d_in..(i + 1) * d_in];
            let col: Vec<f32> = (0..OUT).map(|o| w_out[o * HIDDEN + i]).collect();
            let b = b_in.as_ref().map_or(0.0, |b| b[i]);
            if dropped.contains(&i) {
                assert!(row.iter().chain(&col).all(|&v| v == 0.0), "neuron {i}");
                assert_eq!(b, 0.0);
            }
        }
        let kept_learns = (0..HIDDEN)
            .filter(|i| !dropped.contains(i))
            .any(|i| (0..OUT).any(|o| w_out[o * HIDDEN + i] != 0.0));
        assert!(kept_learns);
    }

    #[test]
    fn the_mask_zeroes_exactly_the_chosen_activations_and_their_gradients() {
        let dev = Cpu::seed_from_u64(5);
        let modular = dev.build_module::<ModularMlp<46, 23>, f32>();
        mask_drops_exactly::<46, 23, _>(&modular, inputs::<46>(&dev, 16));
        let glyph = dev.build_module::<GlyphMlp, f32>();
        mask_drops_exactly::<64, 10, _>(&glyph, inputs::<64>(&dev, 16));
    }

    #[test]
    fn the_dropper_waits_for_k_snapshots_then_drops_the_top_neurons() {
        let dev = Cpu::seed_from_u64(1);
        let mut model = dev.build_module::<ModularMlp<46, 23>, f32>();
        let probe = crate::diag::to_matrix(&inputs::<46>(&dev, 32)).unwrap();
        let mut send = SendDropper::new(&model, 0.1, 2, 3, probe.clone()).unwrap();
        assert_eq!(top_count(0.1, HIDDEN), 20);
        let mut window = SensitivityWindow::new(3).unwrap();
        for epoch in 0..=5u64 {
            if epoch > 0 {
                // Some movement between checkpoints.
                let w = model.2.weight.clone() * 1.1;
                model.2.weight = w;
            }
            let r = send.after_epoch(epoch, &model).unwrap();
            if epoch % 2 == 1 {
                assert_eq!(r, None);
                continue;
            }
            window.observe(&model, &probe, 1).unwrap();
            match window.stats(0.1).unwrap() {
                None => {
                    assert_eq!(r, Some(Reselection::Waiting));
                    assert!(send.mask().is_none());
                }
                Some(stats) => {
                    let ids = select(&stats);
                    assert_eq!(ids.len(), 20);
                    let ind = Reselection::Dropped(ids.clone()).indicator().unwrap();
                    assert_eq!(ind.iter().sum::<f64>(), 20.0);
                    assert_eq!(r, Some(Reselection::Dropped(ids.clone())));
                    let mask = send.mask().unwrap().as_vec();
                    for (i, (m, d)) in mask.iter().zip(&ind).enumerate() {
                        assert_eq!(*m, 1.0 - *d as f32, "neuron {i}");
                    }
                }
            }
        }
        assert!(send.mask().is_some(), "epoch 4 is the 3rd snapshot");
        assert!(SendDropper::new(&model, 0.0, 2, 3, probe).is_err());
    }

    /// (step, train/loss, test/loss, sens/dropped) of every record of a run
    /// of `config` (p = 23, `epochs`, a record per epoch).
    fn losses(config: &crate::train::TrainConfig) -> Vec<(u64, f64, f64, Option<f64>)> {
        let tmp = tempfile::tempdir().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        crate::train::train(config, tmp.path(), stop, false).unwrap();
        let text = std::fs::read_to_string(tmp.path().join(crate::run::METRICS_FILE)).unwrap();
        text.lines()
            .map(|l| {
                let r: serde_json::Value = serde_json::from_str(l).unwrap();
                let s = &r["scalars"];
                (
                    r["step"].as_u64().unwrap(),
                    s["train/loss"].as_f64().unwrap(),
                    s["test/loss"].as_f64().unwrap(),
                    s["sens/dropped"].as_f64(),
                )
            })
            .collect()
    }

    #[test]
    fn send_frac_0_trains_bit_for_bit_like_no_send_and_dropping_starts_at_k() {
        let mut base = crate::train::Preset::Demo.config();
        base.task = crate::train::Task::ModularArithmetic {
            p: 23,
            op: crate::train::Op::Add,
            train_frac: 0.4,
        };
        base.epochs = 9;
        base.log_every = 1;
        let plain = losses(&base);
        assert_eq!(plain.len(), 10);
        assert!(plain.iter().all(|r| r.3.is_none()));
        let off = losses(&crate::train::TrainConfig {
            send_frac: 0.0,
            send_every: Some(1),
            ..base.clone()
        });
        assert_eq!(off, plain, "--send-frac 0 must not change training");
        // Snapshots after epochs 0, 2, 4: the first selection is at epoch 4,
        // so epochs 1..=4 train like the plain run and epoch 5 does not.
        let on = losses(&crate::train::TrainConfig {
            send_frac: 0.1,
            send_every: Some(2),
            ..base.clone()
        });
        for (p, s) in plain.iter().zip(&on) {
            let step = p.0;
            assert_eq!(s.0, step);
            let dropped = s.3;
            match step {
                0 | 2 => assert_eq!(dropped, Some(0.0), "epoch {step}"),
                4 | 6 | 8 => assert_eq!(dropped, Some(20.0), "epoch {step}"),
                _ => assert_eq!(dropped, None, "epoch {step}"),
            }
            if step <= 4 {
                assert_eq!((s.1, s.2), (p.1, p.2), "epoch {step}");
            } else {
                assert_ne!(s.1, p.1, "epoch {step}: the mask changed nothing");
            }
        }
    }

    #[test]
    fn glyph_minibatch_runs_drop_too() {
        let mut c = crate::train::Preset::Lc.config();
        c.task = crate::train::Task::Glyphs {
            train: 200,
            test: 50,
            noise: 0.15,
        };
        c.epochs = 4;
        c.log_every = 1;
        c.send_frac = 0.05;
        c.send_every = Some(1);
        let dropped: Vec<Option<f64>> = losses(&c).iter().map(|r| r.3).collect();
        assert_eq!(
            dropped,
            vec![Some(0.0), Some(0.0), Some(10.0), Some(10.0), None]
        );
    }
}
