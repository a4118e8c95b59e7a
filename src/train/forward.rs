//! The trainer's forward pass, with a fast first layer for one-hot pairs.
//!
//! The modular task's input is one-hot(a) ‖ one-hot(b): the first layer's
//! product `W x` is the sum of two columns of W. Computing it as a gather
//! of those columns instead of a `[N, 2p] × [2p, 200]` product removes
//! about a third of a training step's arithmetic (the first layer's
//! forward product and the input gradient dfdx would compute for it), and
//! its gradient becomes a scatter-add of the rows of dL/dz into two
//! columns each.
//!
//! The forward is exact: every product in `W x` is `w·1 = w` or `w·0 = ±0`,
//! and adding zeros changes nothing, so the matrix product gives
//! `fl(W[:, a] + W[:, p + b])` whatever its summation order — the value the
//! gather computes (tested bit for bit). The weight gradient sums the same
//! terms in another order, so it agrees to rounding.
//!
//! The gather and its scatter-add are written here rather than with dfdx's
//! generic `gather`, whose per-element index arithmetic took 16 % of a
//! training step of the reference MLP (measured with `perf`); this kernel
//! copies whole rows of the transposed weight.
//!
//! The hidden and logits layers' products run on [`linear`], dfdx's
//! `UnbiasedLinear` on a newer gemm; the test below checks that its logits
//! and gradients are dfdx's bit for bit.

use std::sync::Arc;

use dfdx::prelude::*;

use super::data::Examples;
use super::send::{GlyphBuilt, HiddenMask, MaskableMlp, ModularBuilt};
use super::trainer::HIDDEN;

/// A batch of `W` values per sample.
pub type Rows<const W: usize, T = NoneTape> = Tensor<(usize, Const<W>), f32, Cpu, T>;

/// A batch of inputs as the first layer sees them.
#[derive(Debug, Clone)]
pub enum Inputs<const IN: usize> {
    /// Any inputs, `[N, IN]`.
    Dense(Rows<IN>),
    /// Rows that are exactly two one-hot blocks: ones at columns `a[n]` and
    /// `b[n]`, zeros elsewhere.
    Pairs {
        /// Column of the first 1 of each row.
        a: Arc<[usize]>,
        /// Column of the second 1 of each row.
        b: Arc<[usize]>,
    },
}

impl<const IN: usize> Inputs<IN> {
    /// `ex`'s inputs, as [`Inputs::Pairs`] when every row is exactly two
    /// ones (the rest zeros), else dense.
    pub fn new(dev: &Cpu, ex: &Examples) -> Self {
        match one_hot_pairs(&ex.x, IN) {
            Some((a, b)) => Inputs::Pairs {
                a: a.into(),
                b: b.into(),
            },
            None => Inputs::Dense(dev.tensor_from_vec(ex.x.clone(), (ex.len(), Const::<IN>))),
        }
    }

    /// The rows `idx`, in that order.
    pub fn rows(&self, idx: &[usize]) -> Self {
        let pick = |all: &[usize]| idx.iter().map(|&i| all[i]).collect();
        match self {
            Inputs::Dense(x) => {
                let all = x.as_vec();
                let v: Vec<f32> = idx
                    .iter()
                    .flat_map(|&i| all[i * IN..(i + 1) * IN].iter().copied())
                    .collect();
                Inputs::Dense(x.device().tensor_from_vec(v, (idx.len(), Const::<IN>)))
            }
            Inputs::Pairs { a, b } => Inputs::Pairs {
                a: pick(a),
                b: pick(b),
            },
        }
    }

    /// The dense `[N, IN]` inputs (materialised for pairs).
    pub fn dense(&self, dev: &Cpu) -> Rows<IN> {
        match self {
            Inputs::Dense(x) => x.clone(),
            Inputs::Pairs { a, b } => {
                let n = a.len();
                let mut x = vec![0.0f32; n * IN];
                for (row, (&i, &j)) in a.iter().zip(b.iter()).enumerate() {
                    x[row * IN + i] = 1.0;
                    x[row * IN + j] = 1.0;
                }
                dev.tensor_from_vec(x, (n, Const::<IN>))
            }
        }
    }
}

/// For rows of `dim` values that each hold exactly two 1.0 and zeros
/// elsewhere, the column of each row's first and second 1.
pub fn one_hot_pairs(x: &[f32], dim: usize) -> Option<(Vec<usize>, Vec<usize>)> {
    if dim == 0 || x.is_empty() || !x.len().is_multiple_of(dim) {
        return None;
    }
    let rows = x.len() / dim;
    let (mut a, mut b) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    for row in x.chunks_exact(dim) {
        let mut ones = Vec::with_capacity(2);
        for (j, &v) in row.iter().enumerate() {
            if v == 1.0 {
                ones.push(j);
            } else if v != 0.0 {
                return None;
            }
        }
        let [i, j] = ones[..] else { return None };
        a.push(i);
        b.push(j);
    }
    Some((a, b))
}

/// A fresh gradient tape holding `grads`, to start a traced forward from
/// something other than the input tensor.
pub fn tape_of(dev: &Cpu, grads: Gradients<f32, Cpu>) -> OwnedTape<f32, Cpu> {
    let anchor: Tensor<Rank0, f32, Cpu> = dev.zeros();
    anchor.traced(grads).split_tape().1
}

/// A model the trainer can run on [`Inputs`], optionally with SeND's mask.
pub trait TrainForward<const IN: usize, const OUT: usize>: MaskableMlp<IN, OUT> {
    /// The last hidden layer's activations, recording on `tape`.
    fn last_hidden_of<T: Tape<f32, Cpu>>(&self, x: &Inputs<IN>, tape: T) -> Rows<HIDDEN, T>;

    /// The logits, with the last hidden layer masked when `mask` is given.
    fn logits_of<T: Tape<f32, Cpu>>(
        &self,
        x: &Inputs<IN>,
        tape: T,
        mask: Option<&HiddenMask>,
    ) -> Rows<OUT, T> {
        let h = self.last_hidden_of(x, tape);
        match mask {
            Some(m) => self.head_masked(h, m),
            None => self.head_of(x, h),
        }
    }

    /// The logits layer on `h`, the last hidden activations of `x`.
    fn head_of<T: Tape<f32, Cpu>>(&self, _x: &Inputs<IN>, h: Rows<HIDDEN, T>) -> Rows<OUT, T> {
        self.head(h)
    }
}

impl<const IN: usize, const OUT: usize> TrainForward<IN, OUT> for ModularBuilt<IN, OUT> {
    fn last_hidden_of<T: Tape<f32, Cpu>>(&self, x: &Inputs<IN>, tape: T) -> Rows<HIDDEN, T> {
        match x {
            Inputs::Dense(x) => self.last_hidden(x.clone().put_tape(tape)),
            Inputs::Pairs { a, b } => {
                let h0 = self.1.forward(pair_sum(&self.0.weight, a, b, tape));
                self.3.forward(linear(h0, &self.2.weight))
            }
        }
    }

    fn head_of<T: Tape<f32, Cpu>>(&self, x: &Inputs<IN>, h: Rows<HIDDEN, T>) -> Rows<OUT, T> {
        match x {
            Inputs::Pairs { .. } => linear(h, &self.4.weight),
            Inputs::Dense(_) => self.head(h),
        }
    }
}

impl TrainForward<64, 10> for GlyphBuilt {
    fn last_hidden_of<T: Tape<f32, Cpu>>(&self, x: &Inputs<64>, tape: T) -> Rows<HIDDEN, T> {
        self.last_hidden(x.dense(self.0 .0.weight.device()).put_tape(tape))
    }
}

/// `z[n] = W[:, a[n]] + W[:, b[n]]` for `W` `[H, IN]` (dfdx's layout):
/// the product of `W` with rows that are one-hot at `a[n]` and `b[n]`,
/// recorded on `tape` with the scatter-add `dW[:, a[n]] += dz[n]`,
/// `dW[:, b[n]] += dz[n]` as its backward.
fn pair_sum<const H: usize, const IN: usize, T: Tape<f32, Cpu>>(
    w: &Tensor<Rank2<H, IN>, f32, Cpu>,
    a: &Arc<[usize]>,
    b: &Arc<[usize]>,
    mut tape: T,
) -> Rows<H, T> {
    // W's columns as contiguous rows.
    let w_rows = transpose(&w.as_vec(), H, IN);
    let mut z = vec![0.0f32; a.len() * H];
    for ((out, &i), &j) in z.chunks_exact_mut(H).zip(a.iter()).zip(b.iter()) {
        let (ci, cj) = (&w_rows[i * H..(i + 1) * H], &w_rows[j * H..(j + 1) * H]);
        for ((o, x), y) in out.iter_mut().zip(ci).zip(cj) {
            *o = x + y;
        }
    }
    let z = w.device().tensor_from_vec(z, (a.len(), Const::<H>));
    if T::OWNS_TAPE {
        let (out, w, a, b) = (z.clone(), w.clone(), a.clone(), b.clone());
        tape.add_backward_op(move |grads| {
            let dz = grads.get(&out).as_vec();
            let mut dw_rows = vec![0.0f32; IN * H];
            for ((g, &i), &j) in dz.chunks_exact(H).zip(a.iter()).zip(b.iter()) {
                for (d, v) in dw_rows[i * H..(i + 1) * H].iter_mut().zip(g) {
                    *d += v;
                }
                for (d, v) in dw_rows[j * H..(j + 1) * H].iter_mut().zip(g) {
                    *d += v;
                }
            }
            let dw = transpose(&dw_rows, IN, H);
            for (g, d) in grads.get_or_alloc_mut(&w)?.iter_mut().zip(dw) {
                *g += d;
            }
            Ok(())
        });
    }
    z.put_tape(tape)
}

/// `y = x Wᵀ` for `W` `[O, I]`: dfdx's `UnbiasedLinear::forward` (the same
/// products, summed in the kernel's own order), recorded on the tape with
/// `dx += dy W` and `dW += dyᵀ x` as its backward.
///
/// dfdx 0.13 runs its products on gemm 0.15, whose AVX-512 kernels need a
/// nightly compiler; these three products are the bulk of a training step
/// of the reference MLP, and gemm 0.19 runs them with AVX-512 on stable
/// Rust where the processor has it (it chooses its kernel at run time).
fn linear<const I: usize, const O: usize, T: Tape<f32, Cpu>>(
    x: Rows<I, T>,
    w: &Tensor<Rank2<O, I>, f32, Cpu>,
) -> Rows<O, T> {
    let (x, mut tape) = x.split_tape();
    let n = x.shape().0;
    let (xv, wv) = (x.as_vec(), w.as_vec());
    let mut y = vec![0.0f32; n * O];
    // y[n, O] = x[n, I] · Wᵀ, Wᵀ[i, o] = W[o * I + i].
    product(n, I, O, (&xv, I, 1), (&wv, 1, I), &mut y, false);
    let y = w.device().tensor_from_vec(y, (n, Const::<O>));
    if T::OWNS_TAPE {
        let (out, x, w) = (y.clone(), x, w.clone());
        tape.add_backward_op(move |grads| {
            let dy = grads.get_or_alloc_mut(&out)?.clone();
            // dx[n, I] += dy[n, O] · W[O, I]
            product(
                n,
                O,
                I,
                (&dy, O, 1),
                (&wv, I, 1),
                grads.get_or_alloc_mut(&x)?,
                true,
            );
            // dW[O, I] += dyᵀ[O, n] · x[n, I]
            product(
                O,
                n,
                I,
                (&dy, 1, O),
                (&xv, I, 1),
                grads.get_or_alloc_mut(&w)?,
                true,
            );
            Ok(())
        });
    }
    y.put_tape(tape)
}

/// `c[m, n] (+)= a[m, k] · b[k, n]`, `c` row-major and contiguous, `a` and
/// `b` given as `(values, row stride, column stride)`; added to `c` when
/// `accumulate`, else written over it.
fn product(
    m: usize,
    k: usize,
    n: usize,
    a: (&[f32], usize, usize),
    b: (&[f32], usize, usize),
    c: &mut [f32],
    accumulate: bool,
) {
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| {
        (rows.max(1) - 1) * rs + (cols.max(1) - 1) * cs
    };
    assert_eq!(c.len(), m * n, "product: output of {m}×{n}");
    assert!(a.0.len() > last(m, k, a.1, a.2), "product: a too short");
    assert!(b.0.len() > last(k, n, b.1, b.2), "product: b too short");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the asserts above keep every index gemm reads or writes
    // inside `a`, `b` and `c`, which do not alias (`c` is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.0.as_ptr(),
            a.2 as isize,
            a.1 as isize,
            b.0.as_ptr(),
            b.2 as isize,
            b.1 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}

/// The transpose of row-major `[rows, cols]` `m`.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; m.len()];
    for (r, row) in m.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            t[c * rows + r] = v;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{modular_arithmetic, ModularMlp, Op};

    #[test]
    fn pairs_are_found_only_in_two_hot_rows() {
        let x = [0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        assert_eq!(one_hot_pairs(&x, 4), Some((vec![1, 0], vec![3, 1])));
        assert_eq!(one_hot_pairs(&[1.0, 0.0, 0.0, 0.0], 4), None);
        assert_eq!(one_hot_pairs(&[1.0, 1.0, 1.0, 0.0], 4), None);
        assert_eq!(one_hot_pairs(&[1.0, 0.5, 1.0, 0.0], 4), None);
        assert_eq!(one_hot_pairs(&[1.0, 1.0, 0.0], 4), None);
    }

    #[test]
    fn the_pair_forward_is_the_dense_forward_bit_for_bit_and_its_gradient_agrees() {
        let dev = Cpu::seed_from_u64(3);
        let data = modular_arithmetic(23, Op::Add, 0.5, 1);
        let mut model = dev.build_module::<ModularMlp<46, 23>, f32>();
        // Larger weights than at initialisation, so rounding shows.
        model.0.weight = model.0.weight.clone() * 37.0;
        let pairs = Inputs::<46>::new(&dev, &data.train);
        assert!(matches!(pairs, Inputs::Pairs { .. }));
        let dense = Inputs::Dense(pairs.dense(&dev));
        let fast = model.logits_of(&pairs, NoneTape, None).as_vec();
        let slow = model.logits_of(&dense, NoneTape, None).as_vec();
        assert_eq!(fast, slow);
        let direct = model.forward(pairs.dense(&dev)).as_vec();
        assert_eq!(fast, direct);

        let dz = dev.sample_normal_like(&(data.train.len(), Const::<23>));
        let grad = |x: &Inputs<46>| {
            let tape = tape_of(&dev, model.alloc_grads());
            let z = model.logits_of(x, tape, None);
            let g = (z * dz.clone()).sum().backward();
            (
                g.get(&model.0.weight).as_vec(),
                g.get(&model.4.weight).as_vec(),
            )
        };
        let (fast0, fast4) = grad(&pairs);
        let (slow0, slow4) = grad(&dense);
        assert_eq!(
            fast4, slow4,
            "layers after the first see the same values, from the same products"
        );
        let scale = slow0.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (f, s) in fast0.iter().zip(&slow0) {
            assert!((f - s).abs() <= 1e-5 * scale, "{f} vs {s}");
        }
    }
}
