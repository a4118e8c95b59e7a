//! Things that should not happen: the first NaN/Inf of a metric, and loss
//! spikes far outside the recent noise.

use std::collections::BTreeMap;

use super::robust::{SortedWindow, MAD_TO_SIGMA};
use super::thresholds::show;
use super::{Event, EventKind, Scope};
use crate::store::SeriesView;

/// A point is a spike when it lies this many robust standard deviations
/// (1.4826 × MAD of the trailing window) above the trailing median. Eight
/// is far beyond Gaussian noise (p ≈ 6·10⁻¹⁶ per point) and beyond the
/// skewed noise of minibatch losses, yet every instability worth a look
/// (a slingshot, an Adam ε blow-up) jumps by tens.
pub const SPIKE_DEVIATIONS: f64 = 8.0;

/// …and at least this fraction above the trailing median: on a smooth,
/// almost noise-free full-batch loss a 2% wobble is many MADs but no spike.
pub const SPIKE_MIN_RISE: f64 = 0.25;

/// Trailing window of finite points the median and MAD are taken over:
/// long enough for a stable MAD, short enough to follow a falling loss.
pub const SPIKE_WINDOW: usize = 64;

/// Points needed in the window before spikes are looked for (the first
/// points of a segment are never spikes).
pub const SPIKE_MIN_HISTORY: usize = 32;

/// The median and MAD are refreshed every this many points (a lag of a few
/// points against a window of 64 does not matter; it saves three quarters
/// of the MAD merges).
pub const SPIKE_HOP: usize = 4;

/// At most this many spikes per metric and segment are reported, the
/// largest ones: a run with hundreds has one problem, not hundreds.
pub const MAX_SPIKES_PER_SERIES: usize = 20;

/// Floor of the noise scale relative to the median, so a loss that is
/// exactly constant over the window does not turn 1 ulp into a spike.
const SCALE_FLOOR_REL: f64 = 1e-3;

/// The record and the (metric, value) pairs that turned non-finite first at
/// one (segment, step), in metric order.
/// How many robust deviations a spike is, for its message: a spike over a
/// near-constant median (a loss at 1e-8) can be billions of deviations,
/// which says no more than "far above".
fn deviations_text(z: f64) -> String {
    if z > 1000.0 {
        "over 1,000".to_string()
    } else {
        format!("{z:.0}")
    }
}

type FirstNonFinite = (usize, Vec<(String, f64)>);

/// The first NaN or ±Infinity of every metric (scalar, or any element of a
/// vector), per segment; metrics that turn non-finite at the same step share
/// one event.
pub(super) fn non_finite(scope: &Scope<'_>, out: &mut Vec<Event>) {
    let mut first: BTreeMap<(usize, i64), FirstNonFinite> = BTreeMap::new();
    for name in scope.store.metric_names() {
        let Some((series, ranges)) = scope.series(name) else {
            continue;
        };
        if series.non_finite() == 0 {
            continue;
        }
        let values = series.values();
        for (seg, range) in ranges.into_iter().enumerate() {
            let Some(i) = range.clone().find(|&i| !values[i].is_finite()) else {
                continue;
            };
            first
                .entry((seg, series.step(i)))
                .or_insert_with(|| (series.record(i), Vec::new()))
                .1
                .push((name.to_string(), values[i]));
        }
    }
    // Vectors after scalars: a scalar names the event when both turn at once.
    for name in scope.store.vector_names() {
        let Some(vectors) = scope.store.vector(name) else {
            continue;
        };
        for (seg, recs) in scope.segments.iter().enumerate() {
            let found =
                (vectors.visible_len(recs.start)..vectors.visible_len(recs.end)).find_map(|i| {
                    let v = vectors.get(i).iter().copied().find(|v| !v.is_finite())?;
                    Some((i, v))
                });
            if let Some((i, v)) = found {
                first
                    .entry((seg, vectors.step(i)))
                    .or_insert_with(|| (vectors.record(i), Vec::new()))
                    .1
                    .push((name.to_string(), v));
            }
        }
    }
    for ((segment, step), (record, metrics)) in first {
        let (metric, value) = metrics[0].clone();
        let mut names = metrics
            .iter()
            .take(3)
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if metrics.len() > 3 {
            names.push_str(&format!(" and {} more", metrics.len() - 3));
        }
        let what = if value.is_nan() { "NaN" } else { "an infinity" };
        out.push(Event {
            kind: EventKind::NonFinite,
            step,
            message: format!(
                "First non-finite value: {names} became {what}; the run diverged or overflowed — lower the learning rate, clip gradients, or look for log(0) and division by zero"
            ),
            severity: EventKind::NonFinite.severity(),
            segment,
            metric,
            record,
            evidence: super::Evidence(vec![("value", value), ("metrics", metrics.len() as f64)]),
        });
    }
}

/// Whether spikes are looked for in a metric: every loss (`train/loss`,
/// `test/loss`, `val/loss_ce`, `loss`).
fn is_loss(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|n| n.starts_with("loss"))
}

/// One spike: consecutive points past the bar.
struct Spike {
    start: usize,
    peak: usize,
    median: f64,
    scale: f64,
    points: usize,
}

impl Spike {
    fn deviations(&self, series: &SeriesView<'_>) -> f64 {
        (series.value(self.peak) - self.median) / self.scale
    }
}

/// Loss spikes on every `*/loss*` metric.
pub(super) fn spikes(scope: &Scope<'_>, out: &mut Vec<Event>) {
    for name in scope.store.metric_names().filter(|n| is_loss(n)) {
        let Some((series, ranges)) = scope.series(name) else {
            continue;
        };
        for (seg, range) in ranges.into_iter().enumerate() {
            let mut found = spikes_in(&series, range);
            found.sort_by(|a, b| b.deviations(&series).total_cmp(&a.deviations(&series)));
            found.truncate(MAX_SPIKES_PER_SERIES);
            found.sort_by_key(|s| s.start);
            for s in found {
                let peak = series.value(s.peak);
                let z = s.deviations(&series);
                out.push(Event::at(
                    EventKind::LossSpike,
                    &series,
                    s.start,
                    seg,
                    format!(
                        "Loss spike: {name} jumped to {} ({} robust deviations above its recent median {}) for {} point(s); often a learning rate too high or an unstable optimiser — check norm/grad",
                        show(peak),
                        deviations_text(z),
                        show(s.median),
                        s.points
                    ),
                    vec![
                        ("value", series.value(s.start)),
                        ("peak", peak),
                        ("median", s.median),
                        ("sigma", s.scale),
                        ("deviations", z),
                        ("points", s.points as f64),
                    ],
                ));
            }
        }
    }
}

/// The spikes of one segment of a series.
fn spikes_in(series: &SeriesView<'_>, range: std::ops::Range<usize>) -> Vec<Spike> {
    let values = series.values();
    let mut window = SortedWindow::new(SPIKE_WINDOW);
    let mut reference: Option<(f64, f64)> = None;
    let mut since_refresh = 0;
    let mut open: Option<Spike> = None;
    let mut found = Vec::new();
    for i in range {
        let v = values[i];
        if !v.is_finite() {
            continue;
        }
        if window.len() >= SPIKE_MIN_HISTORY {
            if reference.is_none() || since_refresh >= SPIKE_HOP {
                let (m, mad) = window.median_mad();
                let scale = (MAD_TO_SIGMA * mad)
                    .max(SCALE_FLOOR_REL * m.abs())
                    .max(f64::MIN_POSITIVE);
                reference = Some((m, scale));
                since_refresh = 0;
            }
            let (m, scale) = reference.expect("set above");
            let past = v - m >= SPIKE_DEVIATIONS * scale && v - m >= SPIKE_MIN_RISE * m.abs();
            match (&mut open, past) {
                (Some(s), true) => {
                    s.points += 1;
                    if v > values[s.peak] {
                        s.peak = i;
                    }
                }
                (None, true) => {
                    open = Some(Spike {
                        start: i,
                        peak: i,
                        median: m,
                        scale,
                        points: 1,
                    })
                }
                (Some(_), false) => found.extend(open.take()),
                (None, false) => {}
            }
        }
        window.push(v);
        since_refresh += 1;
    }
    found.extend(open);
    found
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{noisy, with_non_finite, Synth};
    use super::super::{analyze, EventKind};
    use super::*;

    #[test]
    fn loss_names() {
        assert!(is_loss("train/loss"));
        assert!(is_loss("val/loss_ce"));
        assert!(is_loss("loss"));
        assert!(!is_loss("train/acc"));
        assert!(!is_loss("lossy/acc"));
    }

    #[test]
    fn planted_spikes_are_found_at_their_steps() {
        // A decaying noisy loss with spikes at points 300 and 700 (two points long).
        let mut loss = noisy(1000, 7, |i| 2.0 * (-(i as f64) / 400.0).exp() + 0.1, 0.005);
        loss[300] *= 4.0;
        loss[700] += 1.0;
        loss[701] += 0.8;
        let store = Synth::new(5).series("train/loss", &loss).build();
        let events = analyze(&store);
        let spikes: Vec<_> = events
            .iter()
            .filter(|e| e.kind == EventKind::LossSpike)
            .collect();
        assert_eq!(spikes.len(), 2, "{events:#?}");
        assert_eq!(spikes[0].step, 1500);
        assert_eq!(spikes[1].step, 3500);
        assert_eq!(spikes[1].evidence.get("points"), Some(2.0));
        assert_eq!(spikes[1].evidence.get("peak"), Some(loss[700]));
        assert!(spikes[0].evidence.get("deviations").unwrap() >= SPIKE_DEVIATIONS);
    }

    #[test]
    fn first_non_finite_per_step_names_the_metrics() {
        let mut a = vec![1.0; 20];
        let mut b = vec![2.0; 20];
        let mut c = vec![3.0; 20];
        a[12] = f64::NAN;
        b[12] = f64::INFINITY;
        b[15] = f64::NAN;
        c[17] = f64::NEG_INFINITY;
        let store = Synth::new(100)
            .series("train/loss", &a)
            .series("test/loss", &b)
            .series("norm/grad", &c)
            .build();
        let events = analyze(&store);
        let nf: Vec<_> = events
            .iter()
            .filter(|e| e.kind == EventKind::NonFinite)
            .collect();
        assert_eq!(nf.len(), 2, "{events:#?}");
        assert_eq!(nf[0].step, 1200);
        assert_eq!(nf[0].metric, "train/loss");
        assert!(nf[0].message.contains("train/loss, test/loss"));
        assert_eq!(nf[0].evidence.get("metrics"), Some(2.0));
        assert_eq!(nf[1].step, 1700);
        assert_eq!(nf[1].metric, "norm/grad");
        assert!(nf[1].evidence.get("value").unwrap() == f64::NEG_INFINITY);
    }

    #[test]
    fn nan_laden_loss_gives_only_its_first_non_finite_event() {
        let loss = with_non_finite(noisy(2000, 11, |_| 0.5, 0.01), 12, 0.2);
        let store = Synth::new(1).series("train/loss", &loss).build();
        let events = analyze(&store);
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0].kind, EventKind::NonFinite);
        let first = loss.iter().position(|v| !v.is_finite()).unwrap() as i64;
        assert_eq!(events[0].step, first);
    }

    #[test]
    fn huge_deviation_counts_read_as_over_a_thousand() {
        assert_eq!(deviations_text(12.4), "12");
        assert_eq!(deviations_text(1000.0), "1000");
        assert_eq!(deviations_text(5.7e9), "over 1,000");
    }

    #[test]
    fn a_non_finite_vector_element_is_an_event_once_per_segment() {
        let store = crate::store::from_lines(&[
            r#"{"step": 0, "scalars": {"train/loss": 1}, "vectors": {"sens/h1": [0.1, 0.2]}}"#,
            r#"{"step": 1, "scalars": {"train/loss": 1}, "vectors": {"sens/h1": [0.1, "NaN"]}}"#,
            r#"{"step": 2, "scalars": {"train/loss": 1}, "vectors": {"sens/h1": ["Infinity", 0.2]}}"#,
            r#"{"step": 0, "scalars": {"train/loss": 1}, "vectors": {"sens/h1": [0.1, 0.2]}}"#,
            r#"{"step": 1, "scalars": {"train/loss": "NaN"}, "vectors": {"sens/h1": ["-Infinity", 0.2]}}"#,
        ]);
        let events: Vec<_> = analyze(&store)
            .into_iter()
            .filter(|e| e.kind == EventKind::NonFinite)
            .collect();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!((events[0].segment, events[0].step), (0, 1));
        assert_eq!(events[0].metric, "sens/h1");
        assert!(
            events[0].message.contains("sens/h1 became NaN"),
            "{}",
            events[0].message
        );
        // Both turn at once in the resumed segment: the scalar names it.
        assert_eq!((events[1].segment, events[1].step), (1, 1));
        assert_eq!(events[1].metric, "train/loss");
        assert!(
            events[1].message.contains("train/loss, sens/h1"),
            "{}",
            events[1].message
        );
    }
}
