//! The training data: modular arithmetic on one-hots, and a seeded split.
//!
//! A [`Dataset`] holds row-major inputs and class labels on the host, with
//! the split indices (into the full, unsplit example list) that
//! `split.json` records.

use serde::Serialize;

use super::config::{train_pairs, Op};

/// A small deterministic generator (SplitMix64): the split and the glyphs
/// must not change when a dependency updates its RNG.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_f64() * n as f64) as usize % n
    }

    /// Approximately standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(1e-300);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// One side of a split: inputs `[n, dim]` (row-major) and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Examples {
    /// Row-major inputs.
    pub x: Vec<f32>,
    /// Class of each row.
    pub y: Vec<usize>,
}

impl Examples {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// Which examples of the full list went to train and to test (`split.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Split {
    /// What an index means.
    pub index: String,
    /// Indices of the training examples, in training order.
    pub train: Vec<usize>,
    /// Indices of the held-out examples.
    pub test: Vec<usize>,
}

/// A split data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Input width.
    pub dim: usize,
    /// Number of classes.
    pub classes: usize,
    /// Training examples.
    pub train: Examples,
    /// Held-out examples.
    pub test: Examples,
    /// The split, for `split.json`.
    pub split: Split,
}

/// `(a ∘ b) mod p` for all p² pairs; pair `(a, b)` has index `a·p + b`;
/// input = one-hot(a) ‖ one-hot(b) (2p dims). A seeded shuffle puts
/// `floor(train_frac · p²)` pairs in train (as the paper's `int(...)`), the
/// rest in test.
pub fn modular_arithmetic(p: usize, op: Op, train_frac: f64, seed: u64) -> Dataset {
    let mut order: Vec<usize> = (0..p * p).collect();
    SplitMix64::new(seed ^ 0x00da_7a5e).shuffle(&mut order);
    let n_train = train_pairs(p, train_frac).clamp(1, p * p - 1);
    let (train_idx, test_idx) = order.split_at(n_train);
    let encode = |idx: &[usize]| {
        let mut x = vec![0.0f32; idx.len() * 2 * p];
        let mut y = Vec::with_capacity(idx.len());
        for (row, &i) in idx.iter().enumerate() {
            let (a, b) = (i / p, i % p);
            x[row * 2 * p + a] = 1.0;
            x[row * 2 * p + p + b] = 1.0;
            y.push(op.apply(a, b, p));
        }
        Examples { x, y }
    };
    Dataset {
        dim: 2 * p,
        classes: p,
        train: encode(train_idx),
        test: encode(test_idx),
        split: Split {
            index: format!(
                "pair (a, b) of (a {} b) mod {p} has index a*{p} + b",
                op.symbol()
            ),
            train: train_idx.to_vec(),
            test: test_idx.to_vec(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modular_sizes_labels_and_determinism() {
        let d = modular_arithmetic(23, Op::Add, 0.4, 7);
        assert_eq!(d.dim, 46);
        assert_eq!(d.classes, 23);
        assert_eq!(d.train.len(), 211); // floor(0.4 · 529 = 211.6)
        assert_eq!(d.train.len() + d.test.len(), 529);
        assert_eq!(d.train.x.len(), d.train.len() * 46);
        // Every pair exactly once.
        let mut all: Vec<usize> = d.split.train.iter().chain(&d.split.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..529).collect::<Vec<_>>());
        // Labels and one-hots match the indices.
        for (row, &i) in d.split.train.iter().enumerate() {
            let (a, b) = (i / 23, i % 23);
            assert_eq!(d.train.y[row], (a + b) % 23);
            let x = &d.train.x[row * 46..(row + 1) * 46];
            assert_eq!(x.iter().sum::<f32>(), 2.0);
            assert_eq!(x[a], 1.0);
            assert_eq!(x[23 + b], 1.0);
        }
        assert_eq!(d, modular_arithmetic(23, Op::Add, 0.4, 7));
        assert_ne!(d.split, modular_arithmetic(23, Op::Add, 0.4, 8).split);
    }

    #[test]
    fn operations() {
        assert_eq!(Op::Sub.apply(2, 5, 7), 4);
        assert_eq!(Op::Mul.apply(3, 5, 7), 1);
        let d = modular_arithmetic(23, Op::Mul, 0.5, 1);
        for (row, &i) in d.split.test.iter().enumerate() {
            assert_eq!(d.test.y[row], (i / 23) * (i % 23) % 23);
        }
    }
}
