//! From a stored series to what a chart draws: x-axis modes, the visible
//! window, and the min/max envelope at screen resolution (read from the
//! store's index in O(columns · log n), never by walking the points).

use crate::store::{Bucket, Extent, NonFinite, RunStore, SeriesView};

/// What the x axis measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XMode {
    /// Training step.
    #[default]
    Step,
    /// log10(step + 1): early phases get room.
    LogStep,
    /// Wall-clock time (UTC).
    WallClock,
    /// Seconds since the run's first record (runs overlaid from 0).
    Relative,
}

impl XMode {
    /// The next mode (the `x` key).
    pub fn next(self) -> XMode {
        match self {
            XMode::Step => XMode::LogStep,
            XMode::LogStep => XMode::WallClock,
            XMode::WallClock => XMode::Relative,
            XMode::Relative => XMode::Step,
        }
    }

    /// Short name for titles and the status line.
    pub fn label(self) -> &'static str {
        match self {
            XMode::Step => "step",
            XMode::LogStep => "log step",
            XMode::WallClock => "wall clock",
            XMode::Relative => "relative time",
        }
    }

    /// Whether x is a time.
    pub fn is_time(self) -> bool {
        matches!(self, XMode::WallClock | XMode::Relative)
    }

    /// x of a step (step modes only).
    pub fn of_step(self, step: i64) -> f64 {
        match self {
            XMode::LogStep => (step.max(0) as f64 + 1.0).log10(),
            _ => step as f64,
        }
    }

    /// Inverse of [`XMode::of_step`].
    pub fn to_step(self, x: f64) -> f64 {
        match self {
            XMode::LogStep => 10f64.powf(x) - 1.0,
            _ => x,
        }
    }
}

/// The part of the x domain on screen, as fractions of the whole domain:
/// `hi == 1` follows the newest data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct XView {
    /// Left edge, fraction of the domain.
    pub lo: f64,
    /// Right edge, fraction of the domain.
    pub hi: f64,
}

impl Default for XView {
    fn default() -> Self {
        XView { lo: 0.0, hi: 1.0 }
    }
}

/// Narrowest view, as a fraction of the domain.
const MIN_VIEW: f64 = 1e-6;

impl XView {
    /// Zooms by `factor` (< 1 zooms in) around the centre.
    pub fn zoom(self, factor: f64) -> XView {
        let w = ((self.hi - self.lo) * factor).clamp(MIN_VIEW, 1.0);
        // Zooming a view that follows the newest data keeps following it.
        if self.hi >= 1.0 {
            return XView {
                lo: 1.0 - w,
                hi: 1.0,
            };
        }
        let c = (self.lo + self.hi) / 2.0;
        XView {
            lo: c - w / 2.0,
            hi: c + w / 2.0,
        }
        .clamped()
    }

    /// A view `width` wide centred on `at` (fractions of the domain),
    /// shifted to lie within it.
    pub fn around(at: f64, width: f64) -> XView {
        let w = width.clamp(MIN_VIEW, 1.0);
        XView {
            lo: at - w / 2.0,
            hi: at + w / 2.0,
        }
        .clamped()
    }

    /// Pans by `by` view widths (negative: to the left).
    pub fn pan(self, by: f64) -> XView {
        let d = (self.hi - self.lo) * by;
        XView {
            lo: self.lo + d,
            hi: self.hi + d,
        }
        .clamped()
    }

    fn clamped(self) -> XView {
        let w = self.hi - self.lo;
        if self.lo < 0.0 {
            XView { lo: 0.0, hi: w }
        } else if self.hi > 1.0 {
            XView {
                lo: 1.0 - w,
                hi: 1.0,
            }
        } else {
            self
        }
    }

    /// The window in x units of a domain `(d0, d1)`.
    pub fn window(self, (d0, d1): (f64, f64)) -> (f64, f64) {
        let span = d1 - d0;
        (d0 + self.lo * span, d0 + self.hi * span)
    }
}

/// One column of an envelope: the x span it covers and its values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvPoint {
    /// x of the first point in the column.
    pub x0: f64,
    /// x of the last point.
    pub x1: f64,
    /// Value of the first point.
    pub first: f64,
    /// Value of the last point.
    pub last: f64,
    /// Finite min/max and non-finite flags.
    pub extent: Extent,
    /// Segment (points of different segments are not joined).
    pub segment: usize,
    /// Series indices covered: `start..end`.
    pub start: usize,
    /// End (exclusive) of the covered indices.
    pub end: usize,
}

/// How much of a run is on show: everything, or (paused) its first records.
pub type RecordLimit = Option<usize>;

/// Number of points of `view` within the first `limit` records.
pub fn visible_len(view: &SeriesView<'_>, limit: RecordLimit) -> usize {
    match limit {
        None => view.len(),
        Some(r) => {
            let (mut lo, mut hi) = (0, view.len());
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if view.record(mid) < r {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        }
    }
}

/// Time offset of a run for `mode` (its first wall time for relative time).
pub fn time_offset(store: &RunStore, mode: XMode) -> f64 {
    match mode {
        XMode::Relative => (0..store.records())
            .find_map(|r| store.record_time(r))
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

/// The x domain of a run's first `limit` records in `mode`; `None` when
/// there is nothing to plot (or no wall times in a time mode).
pub fn run_domain(store: &RunStore, mode: XMode, limit: RecordLimit) -> Option<(f64, f64)> {
    let n = limit.map_or(store.records(), |l| l.min(store.records()));
    if n == 0 {
        return None;
    }
    if mode.is_time() {
        let off = time_offset(store, mode);
        let first = (0..n).find_map(|r| store.record_time(r))?;
        let last = (0..n).rev().find_map(|r| store.record_time(r))?;
        return Some((first - off, last - off));
    }
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for seg in store.segment_records() {
        if seg.start >= n {
            break;
        }
        let end = seg.end.min(n);
        lo = lo.min(store.record_step(seg.start));
        hi = hi.max(store.record_step(end - 1));
    }
    Some((mode.of_step(lo), mode.of_step(hi)))
}

/// Union of domains, widened when empty so that a single point still shows.
pub fn union_domain(domains: impl IntoIterator<Item = (f64, f64)>) -> Option<(f64, f64)> {
    let (lo, hi) = domains
        .into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (c, d)| {
            (a.min(c), b.max(d))
        });
    if lo > hi {
        return None;
    }
    Some(if hi - lo < 1e-9 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    })
}

fn time_at(view: &SeriesView<'_>, i: usize) -> f64 {
    view.time(i).unwrap_or(f64::NAN)
}

/// First index in `0..n` whose time is ≥ `t` (times assumed non-decreasing;
/// points without a time sort first).
fn time_lower_bound(view: &SeriesView<'_>, n: usize, t: f64) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if time_at(view, mid).is_nan() || time_at(view, mid) < t {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

fn bucket_to_point(view: &SeriesView<'_>, b: &Bucket, mode: XMode, off: f64) -> EnvPoint {
    let (x0, x1) = if mode.is_time() {
        (time_at(view, b.start) - off, time_at(view, b.end - 1) - off)
    } else {
        (mode.of_step(b.first_step), mode.of_step(b.last_step))
    };
    EnvPoint {
        x0,
        x1,
        first: b.first,
        last: b.last,
        extent: b.extent,
        segment: b.segment,
        start: b.start,
        end: b.end,
    }
}

/// A bucket cut to the points before `n`, or `None` when it lies past them.
fn clip(view: &SeriesView<'_>, b: Bucket, n: usize) -> Option<Bucket> {
    if b.start >= n {
        return None;
    }
    if b.end <= n {
        return Some(b);
    }
    Some(Bucket {
        end: n,
        last_step: view.step(n - 1),
        last: view.value(n - 1),
        extent: view.extent(b.start..n),
        ..b
    })
}

/// The envelope of `view` over the x window `(lo, hi)` in at most `columns`
/// columns (per segment), reading only the store's min/max index.
pub fn envelope(
    view: &SeriesView<'_>,
    mode: XMode,
    (lo, hi): (f64, f64),
    columns: usize,
    limit: RecordLimit,
    time_off: f64,
) -> Vec<EnvPoint> {
    let n = visible_len(view, limit);
    if n == 0 || columns == 0 || lo.partial_cmp(&hi).is_none_or(|o| o.is_gt()) {
        return Vec::new();
    }
    let buckets = match mode {
        XMode::Step => {
            let a = lo.ceil().max(i64::MIN as f64) as i64;
            let b = hi.floor().min(i64::MAX as f64) as i64;
            view.buckets(a..=b, columns)
        }
        XMode::LogStep => log_step_buckets(view, (lo, hi), columns, n),
        XMode::WallClock | XMode::Relative => {
            let a = time_lower_bound(view, n, lo + time_off);
            let b = time_lower_bound(view, n, hi + time_off + 1e-9);
            view.buckets_by_index(a..b, columns)
        }
    };
    buckets
        .into_iter()
        .filter_map(|b| clip(view, b, n))
        .map(|b| bucket_to_point(view, &b, mode, time_off))
        .collect()
}

/// Buckets of equal width in log10(step + 1), per segment.
fn log_step_buckets(
    view: &SeriesView<'_>,
    (lo, hi): (f64, f64),
    columns: usize,
    n: usize,
) -> Vec<Bucket> {
    let edge = |k: usize| -> i64 {
        let x = lo + (hi - lo) * k as f64 / columns as f64;
        XMode::LogStep.to_step(x).ceil() as i64
    };
    let last_edge = XMode::LogStep.to_step(hi).floor() as i64 + 1;
    let mut out = Vec::new();
    for (seg, range) in view.segments().into_iter().enumerate() {
        let range = range.start.min(n)..range.end.min(n);
        if range.is_empty() {
            continue;
        }
        let mut start = view.lower_bound(range.clone(), edge(0));
        for k in 1..=columns {
            let e = if k == columns { last_edge } else { edge(k) };
            let end = view.lower_bound(start..range.end, e).max(start);
            if end > start {
                out.push(view.bucket(seg, start, end));
                start = end;
            }
        }
    }
    out
}

/// The point shown at `x`: (index, step, value) of the last point at or
/// before `x` (in the last segment that reaches that far).
pub fn value_at(
    view: &SeriesView<'_>,
    mode: XMode,
    x: f64,
    limit: RecordLimit,
    time_off: f64,
) -> Option<(usize, i64, f64)> {
    let n = visible_len(view, limit);
    if n == 0 {
        return None;
    }
    let i = if mode.is_time() {
        time_lower_bound(view, n, x + time_off + 1e-9).checked_sub(1)?
    } else {
        let step = mode.to_step(x).floor() as i64;
        view.segments()
            .into_iter()
            .rev()
            .filter(|r| r.start < n)
            .find_map(|r| {
                let r = r.start..r.end.min(n);
                view.lower_bound(r.clone(), step.saturating_add(1))
                    .checked_sub(1)
                    .filter(|&i| i >= r.start)
            })?
    };
    Some((i, view.step(i), view.value(i)))
}

/// Finite y range over envelopes, `None` when there is no finite value.
pub fn y_range<'a>(
    points: impl IntoIterator<Item = &'a EnvPoint>,
    log: bool,
) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for p in points {
        let e = &p.extent;
        if !e.has_finite() {
            continue;
        }
        if log {
            // The smallest positive value is unknown from min/max alone:
            // clamp non-positive minima to the maximum's scale.
            if e.max > 0.0 {
                hi = hi.max(e.max);
                lo = lo.min(if e.min > 0.0 { e.min } else { e.max * 1e-6 });
            }
        } else {
            lo = lo.min(e.min);
            hi = hi.max(e.max);
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// Non-finite flags of a whole envelope.
pub fn non_finite(points: &[EnvPoint]) -> NonFinite {
    NonFinite(points.iter().fold(0, |a, p| a | p.extent.non_finite.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::parse_line;

    fn store(n: i64, f: impl Fn(i64) -> String) -> RunStore {
        let mut s = RunStore::new();
        for i in 0..n {
            let l = format!(
                r#"{{"step": {i}, "time": {}, "scalars": {{"a/x": {}}}}}"#,
                1000 + i,
                f(i)
            );
            let mut scratch = Vec::new();
            s.push(&parse_line(l.as_bytes(), &mut scratch).unwrap());
        }
        s
    }

    #[test]
    fn envelope_keeps_a_spike_and_a_nan_among_many_points() {
        let s = store(100_000, |i| match i {
            31_337 => "1e6".into(),
            77_777 => "\"NaN\"".into(),
            _ => "1".into(),
        });
        let v = s.series("a/x").unwrap();
        for mode in [
            XMode::Step,
            XMode::LogStep,
            XMode::WallClock,
            XMode::Relative,
        ] {
            let off = time_offset(&s, mode);
            let d = run_domain(&s, mode, None).unwrap();
            let env = envelope(&v, mode, d, 80, None, off);
            assert!(env.len() <= 80 && env.len() > 10, "{mode:?}: {}", env.len());
            assert!(env.iter().any(|p| p.extent.max == 1e6), "{mode:?}");
            assert!(non_finite(&env).nan(), "{mode:?}");
            let covered: usize = env.len();
            assert!(covered > 0);
        }
    }

    #[test]
    fn a_record_limit_hides_newer_points() {
        let s = store(100, |i| i.to_string());
        let v = s.series("a/x").unwrap();
        let env = envelope(&v, XMode::Step, (0.0, 99.0), 10, Some(50), 0.0);
        assert_eq!(env.last().unwrap().last, 49.0);
        assert_eq!(run_domain(&s, XMode::Step, Some(50)), Some((0.0, 49.0)));
        assert_eq!(
            value_at(&v, XMode::Step, 70.0, Some(50), 0.0),
            Some((49, 49, 49.0))
        );
        assert_eq!(
            value_at(&v, XMode::Step, 20.4, None, 0.0),
            Some((20, 20, 20.0))
        );
    }

    #[test]
    fn views_zoom_and_pan_within_the_domain() {
        let v = XView::default().zoom(0.5);
        assert_eq!(v, XView { lo: 0.5, hi: 1.0 });
        let v = v.pan(-0.5);
        assert_eq!(v, XView { lo: 0.25, hi: 0.75 });
        let v = v.pan(-10.0);
        assert_eq!(v.lo, 0.0);
        assert_eq!(XView::default().zoom(4.0), XView::default());
        assert_eq!(v.window((100.0, 200.0)), (100.0, 150.0));
    }
}
