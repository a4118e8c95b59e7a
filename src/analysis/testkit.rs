//! Synthetic runs for the analysis tests: series with planted events and
//! seeded noise, built straight into a store.

use std::borrow::Cow;

use crate::run::record::{ScalarList, VectorList};
use crate::run::LineRecord;
use crate::store::RunStore;

/// A deterministic generator (SplitMix64) with Gaussian samples.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// `f(i) + sigma · N(0, 1)` for i in 0..n.
pub fn noisy(n: usize, seed: u64, f: impl Fn(usize) -> f64, sigma: f64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    (0..n).map(|i| f(i) + sigma * rng.normal()).collect()
}

/// `values` with about `share` of them replaced by NaN, +∞ or −∞.
pub fn with_non_finite(mut values: Vec<f64>, seed: u64, share: f64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    for v in &mut values {
        if rng.uniform() < share {
            *v = match (rng.uniform() * 3.0) as u32 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                _ => f64::NEG_INFINITY,
            };
        }
    }
    values
}

struct Segment {
    first_step: i64,
    metrics: Vec<(String, Vec<f64>)>,
}

/// Builds a store: each segment's record `k` has step `first + k · stride`
/// and the `k`-th value of every series of that segment long enough.
pub struct Synth {
    stride: i64,
    segments: Vec<Segment>,
}

impl Synth {
    /// A run whose steps go 0, stride, 2·stride, ...
    pub fn new(stride: i64) -> Synth {
        Synth {
            stride,
            segments: vec![Segment {
                first_step: 0,
                metrics: Vec::new(),
            }],
        }
    }

    /// Adds a series to the current segment.
    pub fn series(mut self, name: &str, values: &[f64]) -> Synth {
        let seg = self.segments.last_mut().expect("one segment");
        seg.metrics.push((name.to_string(), values.to_vec()));
        self
    }

    /// Starts a new segment at `step` (a resumed run).
    pub fn resume_at(mut self, step: i64) -> Synth {
        self.segments.push(Segment {
            first_step: step,
            metrics: Vec::new(),
        });
        self
    }

    /// The store.
    pub fn build(&self) -> RunStore {
        let mut store = RunStore::new();
        for seg in &self.segments {
            let n = seg.metrics.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
            for k in 0..n {
                let scalars = seg
                    .metrics
                    .iter()
                    .filter_map(|(name, v)| v.get(k).map(|&x| (Cow::Borrowed(name.as_str()), x)))
                    .collect();
                store.push(&LineRecord {
                    step: seg.first_step + k as i64 * self.stride,
                    time: Some(1.7e9 + k as f64),
                    scalars: ScalarList(scalars),
                    vectors: VectorList(Vec::new()),
                    notes: Vec::new(),
                    maps: Default::default(),
                });
            }
        }
        store
    }
}
