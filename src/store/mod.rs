//! In-memory columnar storage of runs, with a min/max index per series.
//!
//! A [`RunStore`] keeps, per record, its step and wall time once; per scalar
//! metric a [`Series`] of (record number, value) columns and a
//! [`MinMaxIndex`]; per vector metric the concatenated values. A point costs
//! 4 bytes (record number) + 8 (value) + ~0.8 (index), plus 16 bytes per
//! record shared by all of its metrics.

pub mod index;
pub mod maps;

use std::ops::{Range, RangeInclusive};

use rustc_hash::FxHashMap;

pub use index::{Extent, MinMaxIndex, NonFinite, FANOUT};
pub use maps::{MapSeries, MapStore};

use crate::run::LineRecord;

/// Number of a metric within its run.
pub type MetricId = usize;

/// Most distinct metric names one run keeps, scalars and vectors together
/// (docs/FORMAT.md). Values of further names are counted, not kept: each
/// name costs several hundred bytes before its first point, so a log of
/// millions of names would otherwise take gigabytes.
pub const MAX_NAMES: usize = 10_000;

/// Longest metric name kept, in bytes; values of longer names are counted,
/// not kept.
pub const MAX_NAME_BYTES: usize = 1024;

/// Values a store did not keep because of a name limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refused {
    /// Values whose name would have been one more than [`MAX_NAMES`].
    pub over_count: u64,
    /// Values whose name is longer than [`MAX_NAME_BYTES`].
    pub too_long: u64,
}

impl Refused {
    /// Whether any value was refused.
    pub fn any(&self) -> bool {
        self.over_count + self.too_long > 0
    }

    /// What was refused, in words, one line per limit.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.over_count > 0 {
            out.push(format!(
                "{} value(s) not kept: their metric names are beyond the limit of {MAX_NAMES} names per run",
                self.over_count
            ));
        }
        if self.too_long > 0 {
            out.push(format!(
                "{} value(s) not kept: their metric names are longer than {MAX_NAME_BYTES} bytes",
                self.too_long
            ));
        }
        out
    }
}

/// One scalar metric of a run.
#[derive(Debug, Clone, Default)]
pub struct Series {
    name: Box<str>,
    records: Vec<u32>,
    values: Vec<f64>,
    index: MinMaxIndex,
    non_finite: u64,
    /// The metric that followed this one last time ([`NO_METRIC`] if none):
    /// logs repeat their order, so this predicts the next name.
    successor: MetricId,
}

/// "No metric" in [`Series::successor`].
const NO_METRIC: MetricId = MetricId::MAX;

impl Series {
    fn new(name: &str) -> Series {
        Series {
            name: name.into(),
            successor: NO_METRIC,
            ..Series::default()
        }
    }

    #[inline]
    fn push(&mut self, record: u32, v: f64) {
        self.records.push(record);
        self.values.push(v);
        self.index.push(v);
        self.non_finite += u64::from(!v.is_finite());
    }

    fn heap_bytes(&self) -> usize {
        self.records.capacity() * 4 + self.values.capacity() * 8 + self.index.heap_bytes()
    }
}

/// One vector metric of a run (e.g. per-neuron sensitivity).
#[derive(Debug, Clone, Default)]
pub struct VectorSeries {
    name: Box<str>,
    records: Vec<u32>,
    starts: Vec<usize>,
    data: Vec<f64>,
    max_len: usize,
}

/// One bucket of a downsampled series: everything a chart column needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Segment the bucket belongs to (buckets never straddle segments).
    pub segment: usize,
    /// Series indices covered: `start..end`, never empty.
    pub start: usize,
    /// End (exclusive) of the covered indices.
    pub end: usize,
    /// Step of the first point.
    pub first_step: i64,
    /// Step of the last point.
    pub last_step: i64,
    /// Value of the first point (may be non-finite).
    pub first: f64,
    /// Value of the last point (may be non-finite).
    pub last: f64,
    /// Min/max over finite values and the non-finite flags.
    pub extent: Extent,
}

/// Everything known about one run's data.
#[derive(Debug, Clone)]
pub struct RunStore {
    steps: Vec<i64>,
    times: Vec<f64>,
    segment_starts: Vec<u32>,
    metric_ids: FxHashMap<Box<str>, MetricId>,
    metrics: Vec<Series>,
    vector_ids: FxHashMap<Box<str>, usize>,
    vectors: Vec<VectorSeries>,
    notes: Vec<(u32, String)>,
    maps: MapStore,
    /// The metric of the last value stored (see [`Series::successor`]).
    last_metric: MetricId,
    /// Reused by [`RunStore::push_merging`].
    scratch_ids: Vec<Option<MetricId>>,
    /// Values not kept because of a name limit.
    refused: Refused,
}

impl Default for RunStore {
    fn default() -> Self {
        RunStore::new()
    }
}

impl RunStore {
    /// An empty store.
    pub fn new() -> RunStore {
        RunStore {
            steps: Vec::new(),
            times: Vec::new(),
            segment_starts: Vec::new(),
            metric_ids: FxHashMap::default(),
            metrics: Vec::new(),
            vector_ids: FxHashMap::default(),
            vectors: Vec::new(),
            notes: Vec::new(),
            maps: MapStore::default(),
            last_metric: NO_METRIC,
            scratch_ids: Vec::new(),
            refused: Refused::default(),
        }
    }

    /// Number of records.
    pub fn records(&self) -> usize {
        self.steps.len()
    }

    /// Number of segments (1 + number of times the step went backwards); 0 when empty.
    pub fn segment_count(&self) -> usize {
        if self.steps.is_empty() {
            0
        } else {
            self.segment_starts.len() + 1
        }
    }

    /// Record ranges of the segments, in order.
    pub fn segment_records(&self) -> Vec<Range<usize>> {
        if self.steps.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(self.segment_starts.len() + 1);
        let mut start = 0;
        for &s in &self.segment_starts {
            out.push(start..s as usize);
            start = s as usize;
        }
        out.push(start..self.steps.len());
        out
    }

    /// Step of record `r`.
    pub fn record_step(&self, r: usize) -> i64 {
        self.steps[r]
    }

    /// Wall time of record `r`, if it had one.
    pub fn record_time(&self, r: usize) -> Option<f64> {
        let t = self.times[r];
        (!t.is_nan()).then_some(t)
    }

    /// Step of the last record.
    pub fn last_step(&self) -> Option<i64> {
        self.steps.last().copied()
    }

    /// Wall time of the newest record that has one.
    pub fn last_time(&self) -> Option<f64> {
        self.times.iter().rev().copied().find(|t| !t.is_nan())
    }

    /// Notes with the record they came with.
    pub fn notes(&self) -> impl Iterator<Item = (usize, &str)> {
        self.notes.iter().map(|(r, n)| (*r as usize, n.as_str()))
    }

    /// Scalar metric names, in order of first appearance.
    pub fn metric_names(&self) -> impl Iterator<Item = &str> {
        self.metrics.iter().map(|s| &*s.name)
    }

    /// Values not kept because of the name limits ([`MAX_NAMES`],
    /// [`MAX_NAME_BYTES`]).
    pub fn refused(&self) -> Refused {
        self.refused
    }

    /// Number of scalar metrics.
    pub fn metric_count(&self) -> usize {
        self.metrics.len()
    }

    /// The id of a scalar metric.
    pub fn metric_id(&self, name: &str) -> Option<MetricId> {
        self.metric_ids.get(name).copied()
    }

    /// A scalar metric by name.
    pub fn series(&self, name: &str) -> Option<SeriesView<'_>> {
        self.metric_id(name).map(|id| self.series_by_id(id))
    }

    /// A scalar metric by id.
    pub fn series_by_id(&self, id: MetricId) -> SeriesView<'_> {
        SeriesView {
            run: self,
            s: &self.metrics[id],
        }
    }

    /// Vector metric names, in order of first appearance.
    pub fn vector_names(&self) -> impl Iterator<Item = &str> {
        self.vectors.iter().map(|v| &*v.name)
    }

    /// A vector metric by name.
    pub fn vector(&self, name: &str) -> Option<VectorView<'_>> {
        self.vector_ids.get(name).map(|&i| VectorView {
            run: self,
            v: &self.vectors[i],
        })
    }

    /// The 2-D maps (region maps of a slice), by name.
    pub fn maps(&self) -> &MapStore {
        &self.maps
    }

    /// Bytes of heap the stored data holds (capacity, not just length).
    pub fn heap_bytes(&self) -> usize {
        self.steps.capacity() * 8
            + self.times.capacity() * 8
            + self.metrics.iter().map(Series::heap_bytes).sum::<usize>()
            + self
                .vectors
                .iter()
                .map(|v| v.data.capacity() * 8 + v.records.capacity() * 4 + v.starts.capacity() * 8)
                .sum::<usize>()
            + self.maps.heap_bytes()
    }

    /// Total number of scalar points.
    pub fn points(&self) -> usize {
        self.metrics.iter().map(|s| s.values.len()).sum()
    }

    /// Forgets all data (the log was truncated or replaced), keeping nothing.
    pub fn clear(&mut self) {
        *self = RunStore::new();
    }

    /// Gives back spare capacity (after a bulk load).
    pub fn shrink_to_fit(&mut self) {
        self.steps.shrink_to_fit();
        self.times.shrink_to_fit();
        for s in &mut self.metrics {
            s.records.shrink_to_fit();
            s.values.shrink_to_fit();
        }
    }

    /// Appends one record.
    pub fn push(&mut self, r: &LineRecord<'_>) {
        let rec = self.open_record(r.step, r.time);
        for (name, v) in &r.scalars.0 {
            if let Some(id) = self.resolve(name) {
                self.metrics[id].push(rec, *v);
            }
        }
        self.append_vectors_and_notes(rec, r);
    }

    /// Appends a record, folding it into the previous record when that has
    /// the same step and holds none of its metrics: for sources that log one
    /// value per event (TensorBoard). The merged record keeps the first
    /// event's wall time.
    pub fn push_merging(&mut self, r: &LineRecord<'_>) {
        let Some(last) = self.steps.len().checked_sub(1) else {
            return self.push(r);
        };
        let rec = last as u32;
        let mut ids = std::mem::take(&mut self.scratch_ids);
        ids.clear();
        ids.extend(r.scalars.0.iter().map(|(name, _)| self.resolve(name)));
        let clash = self.steps[last] != r.step
            || ids
                .iter()
                .flatten()
                .any(|&id| self.metrics[id].records.last() == Some(&rec))
            || r.vectors.0.iter().any(|(name, _)| {
                self.vector_ids
                    .get(&**name)
                    .is_some_and(|&id| self.vectors[id].records.last() == Some(&rec))
            });
        let rec = if clash {
            self.open_record(r.step, r.time)
        } else {
            rec
        };
        for (&id, (_, v)) in ids.iter().zip(&r.scalars.0) {
            if let Some(id) = id {
                self.metrics[id].push(rec, *v);
            }
        }
        self.scratch_ids = ids;
        self.append_vectors_and_notes(rec, r);
    }

    /// The id of scalar metric `name`, created (empty) if new; `None`, and
    /// the value counted as [refused](RunStore::refused), when a name limit
    /// keeps it out.
    pub fn metric_id_or_insert(&mut self, name: &str) -> Option<MetricId> {
        self.intern_metric(name)
    }

    /// Appends a record of one scalar, of metric `id`, and nothing else:
    /// the same as [`RunStore::push_merging`] (`merge`) or
    /// [`RunStore::push`] of that record, without building one.
    #[inline]
    pub fn push_scalar(&mut self, step: i64, time: Option<f64>, id: MetricId, v: f64, merge: bool) {
        let rec = match self.steps.len().checked_sub(1) {
            Some(last)
                if merge
                    && self.steps[last] == step
                    && self.metrics[id].records.last() != Some(&(last as u32)) =>
            {
                last as u32
            }
            _ => self.open_record(step, time),
        };
        self.metrics[id].push(rec, v);
    }

    /// Starts a record (step, time, segment) and returns its number.
    fn open_record(&mut self, step: i64, time: Option<f64>) -> u32 {
        let rec = self.steps.len() as u32;
        if matches!(self.steps.last(), Some(&last) if step < last) {
            self.segment_starts.push(rec);
        }
        self.steps.push(step);
        self.times.push(time.unwrap_or(f64::NAN));
        rec
    }

    /// The id of metric `name`, creating it if new. Guesses first that it is
    /// the metric that followed the previous one last time: one string
    /// compare instead of a hash lookup, right for nearly every value of a
    /// log that repeats its order (JSONL records, TensorBoard's tag cycle).
    #[inline]
    fn resolve(&mut self, name: &str) -> Option<MetricId> {
        let prev = self.last_metric;
        if prev != NO_METRIC {
            let guess = self.metrics[prev].successor;
            if guess != NO_METRIC && *self.metrics[guess].name == *name {
                self.last_metric = guess;
                return Some(guess);
            }
        }
        let id = self.intern_metric(name)?;
        if prev != NO_METRIC {
            self.metrics[prev].successor = id;
        }
        self.last_metric = id;
        Some(id)
    }

    /// Adds the vectors and notes of `r` to record `rec`.
    fn append_vectors_and_notes(&mut self, rec: u32, r: &LineRecord<'_>) {
        for (name, values) in &r.vectors.0 {
            let id = match self.vector_ids.get(&**name).copied() {
                Some(id) => id,
                None if !self.admit(name) => continue,
                None => {
                    let id = self.vectors.len();
                    self.vectors.push(VectorSeries {
                        name: (&**name).into(),
                        ..VectorSeries::default()
                    });
                    self.vector_ids.insert((&**name).into(), id);
                    id
                }
            };
            let v = &mut self.vectors[id];
            v.records.push(rec);
            v.starts.push(v.data.len());
            v.data.extend_from_slice(values);
            v.max_len = v.max_len.max(values.len());
        }
        for n in &r.notes {
            self.notes.push((rec, n.clone()));
        }
        self.maps.push(rec, &r.maps);
    }

    fn intern_metric(&mut self, name: &str) -> Option<MetricId> {
        if name.len() <= MAX_NAME_BYTES {
            if let Some(&id) = self.metric_ids.get(name) {
                return Some(id);
            }
        }
        if !self.admit(name) {
            return None;
        }
        let id = self.metrics.len();
        self.metrics.push(Series::new(name));
        self.metric_ids.insert(name.into(), id);
        Some(id)
    }

    /// Whether a new name may be added; counts the value as refused if not.
    #[cold]
    fn admit(&mut self, name: &str) -> bool {
        if name.len() > MAX_NAME_BYTES {
            self.refused.too_long += 1;
            false
        } else if self.metrics.len() + self.vectors.len() >= MAX_NAMES {
            self.refused.over_count += 1;
            false
        } else {
            true
        }
    }
}

/// Read access to one scalar series.
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'a> {
    run: &'a RunStore,
    s: &'a Series,
}

impl<'a> SeriesView<'a> {
    /// Metric name.
    pub fn name(&self) -> &'a str {
        &self.s.name
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.s.values.len()
    }

    /// Whether the series has no points.
    pub fn is_empty(&self) -> bool {
        self.s.values.is_empty()
    }

    /// All values, in record order.
    pub fn values(&self) -> &'a [f64] {
        &self.s.values
    }

    /// Value of point `i`.
    pub fn value(&self, i: usize) -> f64 {
        self.s.values[i]
    }

    /// Record number of point `i`.
    pub fn record(&self, i: usize) -> usize {
        self.s.records[i] as usize
    }

    /// Step of point `i`.
    pub fn step(&self, i: usize) -> i64 {
        self.run.steps[self.s.records[i] as usize]
    }

    /// Wall time of point `i`, if its record had one.
    pub fn time(&self, i: usize) -> Option<f64> {
        self.run.record_time(self.record(i))
    }

    /// Number of non-finite values.
    pub fn non_finite(&self) -> u64 {
        self.s.non_finite
    }

    /// Min/max over finite values of the whole series.
    pub fn total_extent(&self) -> Extent {
        self.extent(0..self.len())
    }

    /// Min/max over finite values of points `range`: O(log n).
    pub fn extent(&self, range: Range<usize>) -> Extent {
        self.s.index.extent(&self.s.values, range.start, range.end)
    }

    /// Last point as (step, value).
    pub fn last(&self) -> Option<(i64, f64)> {
        let n = self.len();
        (n > 0).then(|| (self.step(n - 1), self.value(n - 1)))
    }

    /// Point ranges of the run's segments (empty ranges dropped).
    pub fn segments(&self) -> Vec<Range<usize>> {
        let recs = &self.s.records;
        let mut out = Vec::new();
        for seg in self.run.segment_records() {
            let a = recs.partition_point(|&r| (r as usize) < seg.start);
            let b = recs.partition_point(|&r| (r as usize) < seg.end);
            if a < b {
                out.push(a..b);
            }
        }
        out
    }

    /// First index in `range` (within one segment) whose step is ≥ `step`.
    pub fn lower_bound(&self, range: Range<usize>, step: i64) -> usize {
        let (mut lo, mut hi) = (range.start, range.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.step(mid) < step {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The bucket of points `start..end` (non-empty, within `segment`).
    pub fn bucket(&self, segment: usize, start: usize, end: usize) -> Bucket {
        Bucket {
            segment,
            start,
            end,
            first_step: self.step(start),
            last_step: self.step(end - 1),
            first: self.value(start),
            last: self.value(end - 1),
            extent: self.extent(start..end),
        }
    }

    /// At most `width` buckets per segment over the steps `steps`, of equal
    /// step width; empty buckets are left out. Costs O(width · log n).
    pub fn buckets(&self, steps: RangeInclusive<i64>, width: usize) -> Vec<Bucket> {
        let (a, b) = (*steps.start(), *steps.end());
        let mut out = Vec::new();
        if width == 0 || a > b {
            return out;
        }
        let span = i128::from(b) - i128::from(a) + 1;
        let n = (width as i128).min(span);
        for (seg, range) in self.segments().into_iter().enumerate() {
            let lo = self.lower_bound(range.clone(), a);
            let hi = if b == i64::MAX {
                range.end
            } else {
                self.lower_bound(lo..range.end, b + 1)
            };
            if lo >= hi {
                continue;
            }
            let mut start = lo;
            for k in 1..=n {
                let end = if k == n {
                    hi
                } else {
                    let edge = i128::from(a) + k * span / n;
                    self.lower_bound(start..hi, edge as i64)
                };
                if end > start {
                    out.push(self.bucket(seg, start, end));
                    start = end;
                }
            }
        }
        out
    }

    /// At most `width` buckets of equal point count over the points
    /// `range`, split where segments change. Costs O(width · log n).
    pub fn buckets_by_index(&self, range: Range<usize>, width: usize) -> Vec<Bucket> {
        let hi = range.end.min(self.len());
        let lo = range.start.min(hi);
        let mut out = Vec::new();
        if width == 0 || lo >= hi {
            return out;
        }
        let segments = self.segments();
        let count = hi - lo;
        let n = width.min(count);
        let mut start = lo;
        for k in 1..=n {
            let end = lo + k * count / n;
            // Split at segment boundaries inside [start, end).
            let mut s = start;
            while s < end {
                let seg = segments.partition_point(|r| r.end <= s);
                let stop = end.min(segments[seg].end);
                out.push(self.bucket(seg, s, stop));
                s = stop;
            }
            start = end;
        }
        out
    }
}

/// Read access to one vector series.
#[derive(Debug, Clone, Copy)]
pub struct VectorView<'a> {
    run: &'a RunStore,
    v: &'a VectorSeries,
}

impl<'a> VectorView<'a> {
    /// Metric name.
    pub fn name(&self) -> &'a str {
        &self.v.name
    }

    /// Number of stored vectors.
    pub fn len(&self) -> usize {
        self.v.records.len()
    }

    /// Whether no vector is stored.
    pub fn is_empty(&self) -> bool {
        self.v.records.is_empty()
    }

    /// Length of the longest stored vector.
    pub fn max_width(&self) -> usize {
        self.v.max_len
    }

    /// Step of vector `i`.
    pub fn step(&self, i: usize) -> i64 {
        self.run.steps[self.v.records[i] as usize]
    }

    /// Record number of vector `i`.
    pub fn record(&self, i: usize) -> usize {
        self.v.records[i] as usize
    }

    /// Number of vectors within the run's first `records` records: O(log n).
    pub fn visible_len(&self, records: usize) -> usize {
        self.v.records.partition_point(|&r| (r as usize) < records)
    }

    /// Values of vector `i`.
    pub fn get(&self, i: usize) -> &'a [f64] {
        let start = self.v.starts[i];
        let end = self
            .v
            .starts
            .get(i + 1)
            .copied()
            .unwrap_or(self.v.data.len());
        &self.v.data[start..end]
    }
}

/// A store of the JSON log lines `lines` (tests).
#[cfg(test)]
pub(crate) fn from_lines(lines: &[&str]) -> RunStore {
    let mut s = RunStore::new();
    let mut scratch = Vec::new();
    for l in lines {
        s.push(&crate::run::parse_line(l.as_bytes(), &mut scratch).unwrap());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(lines: &[&str]) -> RunStore {
        from_lines(lines)
    }

    #[test]
    fn segments_start_where_the_step_goes_back() {
        let s = store(&[
            r#"{"step": 0, "scalars": {"a/x": 1}}"#,
            r#"{"step": 10, "scalars": {"a/x": 2, "a/y": 5}}"#,
            r#"{"step": 10, "scalars": {"a/x": 3}}"#,
            r#"{"step": 5, "scalars": {"a/y": 4, "a/x": 4}}"#,
            r#"{"step": 20, "scalars": {"a/x": "NaN"}, "vectors": {"s/h": [1, 2, 3]}, "notes": ["hi"]}"#,
        ]);
        assert_eq!(s.records(), 5);
        assert_eq!(s.segment_count(), 2);
        let x = s.series("a/x").unwrap();
        assert_eq!(x.len(), 5);
        assert_eq!(x.segments(), vec![0..3, 3..5]);
        assert_eq!(x.non_finite(), 1);
        let y = s.series("a/y").unwrap();
        assert_eq!(y.segments(), vec![0..1, 1..2]);
        assert_eq!(y.step(1), 5);
        let e = x.total_extent();
        assert_eq!((e.min, e.max), (1.0, 4.0));
        assert!(e.non_finite.nan());
        assert_eq!(s.vector("s/h").unwrap().get(0), &[1.0, 2.0, 3.0]);
        assert_eq!(s.vector("s/h").unwrap().visible_len(4), 0);
        assert_eq!(s.vector("s/h").unwrap().visible_len(5), 1);
        assert_eq!(s.notes().collect::<Vec<_>>(), vec![(4, "hi")]);
        assert_eq!(s.metric_names().collect::<Vec<_>>(), vec!["a/x", "a/y"]);
    }

    #[test]
    fn step_buckets_cover_the_range_and_keep_extremes() {
        let lines: Vec<String> = (0..1000)
            .map(|i| {
                let v = if i == 617 {
                    "1e9".to_string()
                } else {
                    format!("{}", i % 10)
                };
                format!(r#"{{"step": {}, "scalars": {{"a/x": {v}}}}}"#, i * 2)
            })
            .collect();
        let s = store(&lines.iter().map(String::as_str).collect::<Vec<_>>());
        let x = s.series("a/x").unwrap();
        let b = x.buckets(0..=1998, 10);
        assert_eq!(b.len(), 10);
        assert_eq!(b.iter().map(|b| b.end - b.start).sum::<usize>(), 1000);
        assert!(b.iter().any(|b| b.extent.max == 1e9));
        let sub = x.buckets(100..=119, 100);
        assert_eq!(sub.len(), 10, "one bucket per point when zoomed in");
        assert_eq!(sub[0].first_step, 100);
        let by_index = x.buckets_by_index(0..1000, 7);
        assert_eq!(by_index.len(), 7);
        assert_eq!(by_index.last().unwrap().end, 1000);
    }
}
