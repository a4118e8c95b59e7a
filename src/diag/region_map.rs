//! The region map: the partition of input space into linear regions, drawn
//! on a 2-D slice through the data (`lc/slice/region`, `lc/slice/class`,
//! `lc/slice_regions`).
//!
//! Source: Humayun, Balestriero, Baraniuk, "Deep Networks Always Grok and
//! Here is Why" (ICML 2024), whose figures show the partition on the plane
//! through three training points: regions crowd around the training points,
//! then migrate towards the decision boundary. A ReLU network is affine on
//! each set of inputs that share one activation pattern (the signs of every
//! hidden neuron's pre-activation); those sets are its linear regions.
//!
//! The slice is the plane through three anchor points A, B, C, seen in their
//! own affine coordinates: A sits at the bottom left, B at the bottom right
//! and C at the top centre of the map, whatever the triangle looks like in
//! input space, and the map extends `margin` × the anchors' extent beyond
//! them on every side. Straight lines stay straight (one neuron's boundary
//! in the first layer is a straight line across the map); lengths and angles
//! are those of the triangle ABC.

use std::collections::HashMap;

use dfdx::prelude::*;

use super::model::Matrix;
use super::{DiagError, ReluMlp};

/// How the three anchor points of the slice are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchors {
    /// Three training points of different classes (when the data has three
    /// classes), drawn from the recorder's seed.
    Seeded,
    /// These training points (indices into the training inputs), as A, B, C.
    Indices([usize; 3]),
}

/// Region-map settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliceConfig {
    /// Cells across. Default 96.
    pub width: usize,
    /// Cells down. Default 64.
    pub height: usize,
    /// How far the map extends beyond the anchors on every side, as a
    /// fraction of their extent. Default 0.25.
    pub margin: f64,
    /// The anchor points. Default [`Anchors::Seeded`].
    pub anchors: Anchors,
}

impl Default for SliceConfig {
    fn default() -> Self {
        SliceConfig {
            width: 96,
            height: 64,
            margin: 0.25,
            anchors: Anchors::Seeded,
        }
    }
}

/// A W×H grid on the plane through three points.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    width: usize,
    height: usize,
    /// Fraction of the map beyond the anchors on each side.
    edge: f64,
    origin: Vec<f64>,
    to_b: Vec<f64>,
    to_c: Vec<f64>,
    labels: [String; 3],
}

/// Names of the anchors, in the order A, B, C.
pub const ANCHOR_NAMES: [&str; 3] = ["A", "B", "C"];

/// Whether `b - a` and `c - a` span a plane (not collinear, within a
/// relative tolerance).
fn spans_a_plane(a: &[f64], b: &[f64], c: &[f64]) -> bool {
    let (mut uu, mut vv, mut uv) = (0.0, 0.0, 0.0);
    for ((a, b), c) in a.iter().zip(b).zip(c) {
        let (u, v) = (b - a, c - a);
        uu += u * u;
        vv += v * v;
        uv += u * v;
    }
    uu > 0.0 && vv > 0.0 && uu * vv - uv * uv > 1e-9 * uu * vv
}

impl Slice {
    /// The slice through `a`, `b`, `c` (A bottom left, B bottom right, C top
    /// centre), `width × height` cells, extending `margin` × the anchors'
    /// extent beyond them. `labels` describe the anchors (shown with the
    /// map's marks).
    pub fn through(
        [a, b, c]: [&[f64]; 3],
        width: usize,
        height: usize,
        margin: f64,
        labels: [String; 3],
    ) -> Result<Slice, DiagError> {
        if width < 2 || height < 2 || width * height > crate::run::map::MAX_MAP_CELLS as usize {
            return Err(DiagError::Config(format!(
                "a region map of {width}×{height} cells: each side must be at least 2 and the \
                 map at most {} cells",
                crate::run::map::MAX_MAP_CELLS
            )));
        }
        if !(margin.is_finite() && margin >= 0.0) {
            return Err(DiagError::Config(format!(
                "the region map's margin must be ≥ 0, got {margin}"
            )));
        }
        if a.len() != b.len() || a.len() != c.len() || a.is_empty() {
            return Err(DiagError::Shape(
                "the three anchor points must have the same, non-zero dimension".into(),
            ));
        }
        if !spans_a_plane(a, b, c) {
            return Err(DiagError::Config(
                "the three anchor points are (nearly) collinear: they span no plane".into(),
            ));
        }
        Ok(Slice {
            width,
            height,
            edge: margin / (1.0 + 2.0 * margin),
            origin: a.to_vec(),
            to_b: b.iter().zip(a).map(|(b, a)| b - a).collect(),
            to_c: c.iter().zip(a).map(|(c, a)| c - a).collect(),
            labels,
        })
    }

    /// Cells across.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Cells down.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.origin.len()
    }

    /// What each anchor is, A, B, C.
    pub fn labels(&self) -> &[String; 3] {
        &self.labels
    }

    /// Where A, B, C sit, in cell units (x from the left, y from the top).
    pub fn anchor_cells(&self) -> [(f64, f64); 3] {
        let (w, h, m) = (self.width as f64, self.height as f64, self.edge);
        [
            (m * w, (1.0 - m) * h),
            ((1.0 - m) * w, (1.0 - m) * h),
            (0.5 * w, m * h),
        ]
    }

    /// Affine coordinates (s, t) of the map position (fx, fy) ∈ [0, 1]²
    /// (from the top left): the point is A + s (B − A) + t (C − A).
    pub fn coordinates(&self, fx: f64, fy: f64) -> (f64, f64) {
        let m = self.edge;
        let span = 1.0 - 2.0 * m;
        // A = (m, 1−m), B − A = (span, 0), C − A = (1/2 − m, −span).
        let t = (1.0 - m - fy) / span;
        let s = (fx - m - t * (0.5 - m)) / span;
        (s, t)
    }

    /// The input at the centre of cell (i, j) (column i, row j from the top).
    pub fn point(&self, i: usize, j: usize) -> Vec<f64> {
        let fx = (i as f64 + 0.5) / self.width as f64;
        let fy = (j as f64 + 0.5) / self.height as f64;
        let (s, t) = self.coordinates(fx, fy);
        self.origin
            .iter()
            .zip(&self.to_b)
            .zip(&self.to_c)
            .map(|((o, u), v)| o + s * u + t * v)
            .collect()
    }

    /// The inputs at the centres of cells `first..first + count` in
    /// row-major order, as a `[count, D]` matrix.
    pub fn points<E: Dtype>(&self, dev: &Cpu, first: usize, count: usize) -> Matrix<E>
    where
        Cpu: Device<E>,
    {
        let d = self.dim();
        let mut data = Vec::with_capacity(count * d);
        for k in first..first + count {
            let p = self.point(k % self.width, k / self.width);
            data.extend(p.iter().map(|&v| E::from_f64(v).unwrap_or_default()));
        }
        dev.tensor_from_vec(data, (count, d))
    }
}

/// Picks the anchors of a slice among the training inputs `x` (`n` rows of
/// `d` values) with labels `y`: the given indices, or (seeded) three points
/// of different classes when there are three classes, in an order drawn from
/// `seed`, such that they span a plane.
pub fn choose_anchors(
    x: &[f64],
    y: &[usize],
    anchors: Anchors,
    seed: u64,
) -> Result<[usize; 3], DiagError> {
    let n = y.len();
    if n == 0 || !x.len().is_multiple_of(n) {
        return Err(DiagError::Shape(format!(
            "{} input values for {n} labels",
            x.len()
        )));
    }
    let d = x.len() / n;
    let row = |i: usize| &x[i * d..(i + 1) * d];
    match anchors {
        Anchors::Indices(idx) => {
            if let Some(&bad) = idx.iter().find(|&&i| i >= n) {
                return Err(DiagError::Config(format!(
                    "region-map anchor {bad} is not a training point (there are {n})"
                )));
            }
            if !spans_a_plane(row(idx[0]), row(idx[1]), row(idx[2])) {
                return Err(DiagError::Config(format!(
                    "region-map anchors {idx:?} are (nearly) collinear: they span no plane"
                )));
            }
            Ok(idx)
        }
        Anchors::Seeded => {
            // A seeded order of the training points (Fisher–Yates with
            // SplitMix64): the first point, then the first of another
            // class, then the first of a third class off their line.
            let mut order: Vec<usize> = (0..n).collect();
            let mut state = seed ^ 0x51ce_5eed;
            for i in (1..n).rev() {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^= z >> 31;
                order.swap(i, (z % (i as u64 + 1)) as usize);
            }
            let classes = {
                let mut c = y.to_vec();
                c.sort_unstable();
                c.dedup();
                c.len()
            };
            let distinct = |picked: &[usize], i: usize| {
                classes < picked.len() + 1 || picked.iter().all(|&p| y[p] != y[i])
            };
            let a = order[0];
            for &b in &order[1..] {
                if !distinct(&[a], b) || row(a) == row(b) {
                    continue;
                }
                for &c in &order[1..] {
                    if c != b && distinct(&[a, b], c) && spans_a_plane(row(a), row(b), row(c)) {
                        return Ok([a, b, c]);
                    }
                }
            }
            Err(DiagError::Config(
                "no three training points span a plane: the region map needs a slice".into(),
            ))
        }
    }
}

/// The partition of one slice: each cell's region (equal iff the cells'
/// activation patterns are equal) and predicted class.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionMap {
    /// Cells across.
    pub width: usize,
    /// Cells down.
    pub height: usize,
    /// Region of each cell, row-major from the top left: 0, 1, 2, … in order
    /// of first appearance.
    pub regions: Vec<u32>,
    /// The activation pattern of each region: one bit per hidden neuron
    /// (layers in forward order), set when its pre-activation is > 0.
    pub patterns: Vec<Box<[u64]>>,
    /// Predicted class (arg max of the logits, the first on ties) per cell.
    pub classes: Vec<u32>,
}

impl RegionMap {
    /// Number of regions on the grid.
    pub fn region_count(&self) -> usize {
        self.patterns.len()
    }
}

/// Rows per batched forward, to bound memory on large grids.
const CHUNK: usize = 4096;

/// The region map of `model` on `slice`: every cell centre goes through the
/// model (in batches of up to 4,096); cells whose hidden neurons all have
/// the same signs share a region.
pub fn region_map<E: Dtype, M: ReluMlp<E>>(model: &M, slice: &Slice) -> Result<RegionMap, DiagError>
where
    Cpu: Device<E>,
{
    let view = model.mlp_view()?;
    if view.input_dim() != slice.dim() {
        return Err(DiagError::Shape(format!(
            "the slice lies in {} dimensions, the model expects {}",
            slice.dim(),
            view.input_dim()
        )));
    }
    let dev = view.layers()[0].weight.device().clone();
    let cells = slice.width * slice.height;
    let hidden: usize = view.widths()[..view.num_layers() - 1].iter().sum();
    let words = hidden.div_ceil(64).max(1);
    let mut ids: HashMap<Box<[u64]>, u32> = HashMap::new();
    let mut patterns: Vec<Box<[u64]>> = Vec::new();
    let mut regions = Vec::with_capacity(cells);
    let mut classes = Vec::with_capacity(cells);
    let zero = E::default();
    let mut first = 0;
    while first < cells {
        let count = CHUNK.min(cells - first);
        let z = view.pre_activations(slice.points::<E>(&dev, first, count))?;
        let (logits, layers) = z.split_last().expect("at least one layer");
        let data: Vec<Vec<E>> = layers.iter().map(|l| l.as_vec()).collect();
        let mut bits = vec![0u64; words];
        for row in 0..count {
            bits.fill(0);
            let mut k = 0;
            for (l, values) in data.iter().enumerate() {
                let w = layers[l].shape().1;
                for &v in &values[row * w..(row + 1) * w] {
                    if v > zero {
                        bits[k / 64] |= 1 << (k % 64);
                    }
                    k += 1;
                }
            }
            let id = match ids.get(&bits[..]) {
                Some(&id) => id,
                None => {
                    let id = patterns.len() as u32;
                    let key: Box<[u64]> = bits.clone().into_boxed_slice();
                    ids.insert(key.clone(), id);
                    patterns.push(key);
                    id
                }
            };
            regions.push(id);
        }
        let c = logits.shape().1;
        for row in logits.as_vec().chunks_exact(c) {
            // NaN never wins; the first of equal maxima does.
            let mut best: Option<(usize, f64)> = None;
            for (j, v) in row.iter().enumerate() {
                let v = v.to_f64().unwrap_or(f64::NAN);
                if !v.is_nan() && best.is_none_or(|(_, b)| v > b) {
                    best = Some((j, v));
                }
            }
            classes.push(best.map_or(0, |(j, _)| j as u32));
        }
        first += count;
    }
    Ok(RegionMap {
        width: slice.width,
        height: slice.height,
        regions,
        patterns,
        classes,
    })
}

/// Region labels that stay put between records: a region whose activation
/// pattern was on the previous map keeps its label; a new one takes the
/// smallest label not held by a region that stayed. Within one map, two
/// cells share a label iff they share a pattern, and labels stay below the
/// largest region count seen.
#[derive(Debug, Clone, Default)]
pub struct RegionLabels {
    previous: HashMap<Box<[u64]>, u32>,
}

impl RegionLabels {
    /// Fresh labels (the next map is labelled in order of first appearance).
    pub fn new() -> Self {
        RegionLabels::default()
    }

    /// The stable label of every cell of `map`, row-major.
    pub fn assign(&mut self, map: &RegionMap) -> Vec<u32> {
        let kept: Vec<Option<u32>> = map
            .patterns
            .iter()
            .map(|p| self.previous.get(p).copied())
            .collect();
        let mut taken: Vec<bool> = Vec::new();
        for &l in kept.iter().flatten() {
            let l = l as usize;
            if taken.len() <= l {
                taken.resize(l + 1, false);
            }
            taken[l] = true;
        }
        let mut next = 0usize;
        let mut label_of = Vec::with_capacity(kept.len());
        for k in &kept {
            label_of.push(match k {
                Some(l) => *l,
                None => {
                    while taken.get(next).copied().unwrap_or(false) {
                        next += 1;
                    }
                    next += 1;
                    (next - 1) as u32
                }
            });
        }
        self.previous = map
            .patterns
            .iter()
            .cloned()
            .zip(label_of.iter().copied())
            .collect();
        map.regions.iter().map(|&r| label_of[r as usize]).collect()
    }
}

#[cfg(test)]
#[path = "region_map_tests.rs"]
mod tests;
