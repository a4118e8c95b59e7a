//! Things that should not happen: the first NaN/Inf of a metric, and loss
//! spikes far outside the recent noise.
//!
//! Losses are judged in log space when they are positive: a loss falling by
//! orders of magnitude has a noise that falls with it, and a jump from 10⁻⁶
//! to 10⁻³ is as large a change as one from 0.1 to 100.

use std::collections::{BTreeMap, VecDeque};

use super::robust::{SortedWindow, MAD_TO_SIGMA};
use super::roles::Metric;
use super::thresholds::{COLLAPSE_UNDER_WAY, GROKKED_ACC};
use super::{Event, EventKind, Scope, Severity};
use crate::numfmt::{percent, short};
use crate::store::SeriesView;

/// A point is past the bar when it lies this many robust standard
/// deviations (1.4826 × MAD of the trailing window) above the trailing
/// median. Eight is far beyond Gaussian noise (p ≈ 6·10⁻¹⁶ per point), yet
/// every instability worth a look (a slingshot, an Adam ε blow-up) jumps by
/// tens.
pub const SPIKE_DEVIATIONS: f64 = 8.0;

/// A spike of a single point must be twice as far out: heavy-tailed
/// minibatch losses put a lone batch 8–10 deviations out now and then, and
/// one bad batch is noise, not an event.
pub const SPIKE_SINGLE_DEVIATIONS: f64 = 16.0;

/// …and a positive loss must at least double over its trailing median
/// (ln 2 in log space): on a smooth full-batch loss a 20% wobble is many
/// deviations but no spike.
pub const SPIKE_MIN_LOG_RISE: f64 = std::f64::consts::LN_2;

/// A loss that is not always positive is judged on its values; it must
/// rise by at least this fraction of its trailing median.
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

/// Spikes of one metric separated by fewer points than this are one
/// episode (an instability that comes back), reported once.
pub const SPIKE_MERGE_GAP: usize = 16;

/// A train-loss spike "loses the fit" (a warning) when its peak reaches
/// this fraction of the segment's starting loss, or when train accuracy
/// falls by this much around it; a spike that leaves both intact (a loss of
/// 10⁻⁶ that touches 10⁻³ with train accuracy at 100%) is information.
pub const SPIKE_LOST_FIT: f64 = 0.1;

/// At most this many spikes per metric and segment are reported, the
/// largest ones: a run with hundreds has one problem, not hundreds.
pub const MAX_SPIKES_PER_SERIES: usize = 20;

/// Floor of the noise scale: relative to the level for values, absolute
/// for logarithms, so a loss exactly constant over the window does not turn
/// 1 ulp into a spike.
const SCALE_FLOOR_REL: f64 = 1e-3;

/// How many robust deviations a spike is, for its message: a spike over a
/// near-constant median can be billions of deviations, which says no more
/// than "far above".
fn deviations_text(z: f64) -> String {
    if z > 1000.0 {
        "over 1,000".to_string()
    } else {
        format!("{z:.0}")
    }
}

/// The record and the (metric, value) pairs that turned non-finite first at
/// one (segment, step), in metric order.
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
/// `test/loss`, `val/loss_ce`, `loss`, `val_loss`, and the run's train and
/// test loss under any name).
fn is_loss(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    // `val_loss`, `train_loss` (no group), but not `sc/zero_loss`.
    last.starts_with("loss") || (!name.contains('/') && last.ends_with("_loss"))
}

/// One spike: consecutive points past the bar (or an episode of them).
#[derive(Debug, Clone)]
struct Spike {
    start: usize,
    end: usize,
    peak: usize,
    /// Trailing median before it, in the series' own units.
    median: f64,
    /// Robust deviations of the peak (in log space for a positive loss).
    deviations: f64,
    points: usize,
}

/// One spike of one loss, with the other losses that spiked with it.
struct Incident<'a> {
    seg: usize,
    metric: Metric<'a>,
    spike: Spike,
    end_step: i64,
    also: Vec<String>,
    acc_drop: Option<f64>,
    lost_fit: bool,
    /// `sc/collapsed` just before the spike, when collapse was under way.
    collapsed_before: Option<f64>,
    /// Test accuracy just before the spike.
    test_before: Option<f64>,
}

/// Loss spikes on every loss metric; spikes of several losses that start
/// together are one event, named after the train loss.
pub(super) fn spikes(scope: &Scope<'_>, out: &mut Vec<Event>) {
    let train_name = scope.roles.train_loss.clone();
    let test_name = scope.roles.test_loss.clone();
    let is = |n: &str, role: &Option<String>| Some(n) == role.as_deref();
    let mut names: Vec<&str> = scope
        .store
        .metric_names()
        .filter(|n| is_loss(n) || is(n, &train_name) || is(n, &test_name))
        .collect();
    // The train loss first, so it names the incidents it shares.
    names.sort_by_key(|n| (!is(n, &train_name), !is(n, &test_name), n.to_string()));
    let train_acc = scope.train_acc();
    let test_acc = scope.test_acc();
    let collapsed = scope
        .collapse_is_real
        .then(|| scope.metric("sc/collapsed"))
        .flatten();
    let mut incidents: Vec<Incident<'_>> = Vec::new();
    for name in names {
        let Some(metric) = Metric::of(scope, name) else {
            continue;
        };
        let (is_train, is_test) = (is(name, &train_name), is(name, &test_name));
        for (seg, range) in metric.ranges.clone().into_iter().enumerate() {
            let first = initial_level(&metric.series, range.clone());
            let mut spikes = merge(spikes_in(&metric.series, range));
            spikes.sort_by(|a, b| b.deviations.total_cmp(&a.deviations));
            spikes.truncate(MAX_SPIKES_PER_SERIES);
            spikes.sort_by_key(|s| s.start);
            for spike in spikes {
                let (start_step, end_step) = (metric.step(spike.start), metric.step(spike.end));
                let shared = incidents.iter_mut().find(|c| {
                    c.seg == seg
                        && start_step >= c.metric.step(c.spike.start)
                        && start_step <= c.end_step
                });
                if let Some(c) = shared {
                    c.end_step = c.end_step.max(end_step);
                    c.also.push(name.to_string());
                    continue;
                }
                let acc = if is_train {
                    train_acc.as_ref()
                } else if is_test {
                    test_acc.as_ref()
                } else {
                    None
                };
                let acc_drop = acc.and_then(|a| accuracy_drop(a, seg, start_step, end_step));
                let peak = metric.series.value(spike.peak);
                let lost_fit = acc_drop.is_some_and(|d| d >= 0.05)
                    || (is_train && first.is_some_and(|f| peak >= SPIKE_LOST_FIT * f));
                let before =
                    metric.step(spike.start.saturating_sub(1).max(range_start(&metric, seg)));
                // The collapsed share falls back a little before the
                // unstable step, so look at its highest over the trailing
                // window the spike was measured against.
                let window_start = metric.step(
                    spike
                        .start
                        .saturating_sub(SPIKE_WINDOW)
                        .max(range_start(&metric, seg)),
                );
                let collapsed_before = collapsed
                    .as_ref()
                    .and_then(|m| m.highest_between(seg, window_start, before))
                    .filter(|&c| c >= COLLAPSE_UNDER_WAY);
                let test_before = test_acc.as_ref().and_then(|m| m.at_step(seg, before));
                incidents.push(Incident {
                    seg,
                    metric: metric.clone(),
                    spike,
                    end_step,
                    also: Vec::new(),
                    acc_drop,
                    lost_fit,
                    collapsed_before,
                    test_before,
                });
            }
        }
    }
    out.extend(incidents.iter().map(spike_event));
}

/// The event of one incident.
fn spike_event(c: &Incident<'_>) -> Event {
    let (metric, s, acc_drop, lost_fit) = (&c.metric, &c.spike, c.acc_drop, c.lost_fit);
    let name = metric.name();
    let peak = metric.series.value(s.peak);
    let ratio = peak / s.median;
    let size = if s.median > 0.0 && ratio.is_finite() && ratio >= 2.0 {
        format!("{}×", short(ratio))
    } else {
        format!("{} robust deviations", deviations_text(s.deviations))
    };
    let span = if s.points == 1 {
        "for one point".to_string()
    } else {
        format!("for {} points", s.points)
    };
    let consequence = match acc_drop {
        Some(d) if d >= 0.05 => format!(" and accuracy fell by {}", percent(d)),
        _ => String::new(),
    };
    let advice = match (c.collapsed_before, lost_fit) {
        (Some(sc), _) => format!(
            "up to {} of the training samples had collapsed shortly before it: with their gradient gone the optimiser's step turns unstable (Adam's ε at tiny gradients) and the collapsed share falls back — the sawtooth of softmax collapse{}; StableMax, ⊥Grad or weight decay avoid it",
            percent(sc),
            if lost_fit { ", and this one lost part of the fit" } else { "" }
        ),
        (None, true) => "the run lost part of what it had learned — often a learning rate too high or an unstable optimiser (Adam's ε at tiny gradients); check norm/grad around it".to_string(),
        (None, false) => {
            // A jump in test accuracy is only worth hoping for while there
            // is room for one.
            let hope = if c.test_before.is_none_or(|t| t < GROKKED_ACC) {
                " and often come with a jump in test accuracy"
            } else {
                ""
            };
            format!("accuracy held and the loss stayed small, so nothing was lost: such spikes at tiny losses are common with Adam (the slingshot effect){hope}")
        }
    };
    let also = if c.also.is_empty() {
        String::new()
    } else {
        format!(" ({} with it)", c.also.join(", "))
    };
    let message = format!(
        "Loss spike: {name} jumped from {} to {} ({size}) {span}{also}{consequence}; {advice}",
        short(s.median),
        short(peak),
    );
    let mut evidence = vec![
        ("value", metric.series.value(s.start)),
        ("peak", peak),
        ("median", s.median),
        ("deviations", s.deviations),
        ("points", s.points as f64),
        ("end_step", metric.step(s.end) as f64),
    ];
    if let Some(d) = acc_drop {
        evidence.push(("acc_drop", d));
    }
    if let Some(sc) = c.collapsed_before {
        evidence.push(("collapsed_before", sc));
    }
    let mut e = Event::at(
        EventKind::LossSpike,
        &metric.series,
        s.start,
        c.seg,
        message,
        evidence,
    );
    e.severity = if lost_fit {
        Severity::Warning
    } else {
        Severity::Info
    };
    e
}

/// The first point of segment `seg` of `m`.
fn range_start(m: &Metric<'_>, seg: usize) -> usize {
    m.ranges.get(seg).map_or(0, |r| r.start)
}

/// The median of the first few finite points of a segment: the level the
/// loss started from.
fn initial_level(series: &SeriesView<'_>, range: std::ops::Range<usize>) -> Option<f64> {
    let mut first: Vec<f64> = range
        .map(|i| series.value(i))
        .filter(|v| v.is_finite())
        .take(5)
        .collect();
    let m = super::robust::median_in_place(&mut first);
    m.is_finite().then_some(m)
}

/// How far an accuracy fell during a spike from `start` to `end` (steps):
/// its level just before minus its lowest until a little after.
fn accuracy_drop(acc: &Metric<'_>, seg: usize, start: i64, end: i64) -> Option<f64> {
    let range = acc.ranges.get(seg)?.clone();
    let before = acc.at_step(seg, start - 1)?;
    let a = acc.series.lower_bound(range.clone(), start);
    let b = acc.series.lower_bound(range, end.saturating_add(1));
    let low = (a..(b + 2).min(acc.series.len()))
        .map(|i| acc.value(i))
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    low.is_finite().then(|| (before - low).max(0.0))
}

/// Spikes of one metric closer than [`SPIKE_MERGE_GAP`] points joined into
/// episodes (the peak is the highest, the deviations the largest).
fn merge(spikes: Vec<Spike>) -> Vec<Spike> {
    let mut out: Vec<Spike> = Vec::new();
    for s in spikes {
        match out.last_mut() {
            Some(last) if s.start <= last.end + SPIKE_MERGE_GAP => {
                last.end = s.end;
                last.points += s.points;
                if s.deviations > last.deviations {
                    last.deviations = s.deviations;
                    last.peak = s.peak;
                }
            }
            _ => out.push(s),
        }
    }
    out
}

/// Points whose median is the level a spike rises from: recent enough to
/// follow a loss falling by orders of magnitude, many enough that one noisy
/// point does not move it.
const LEVEL_POINTS: usize = 8;

/// The spikes of one segment of a series: in log space when every finite
/// value of the segment is positive, in its values otherwise.
///
/// A point's rise is measured from the median of the [`LEVEL_POINTS`]
/// points before it, against the noise of the trailing [`SPIKE_WINDOW`]
/// points estimated from their first differences (1.4826 × MAD / √2), which
/// a steady trend does not inflate; the rise must also clear the same bar
/// against the noise of the [`SPIKE_WINDOW`] points after the spike, when
/// there are [`SPIKE_MIN_HISTORY`] of them.
fn spikes_in(series: &SeriesView<'_>, range: std::ops::Range<usize>) -> Vec<Spike> {
    let values = series.values();
    let positive = range
        .clone()
        .map(|i| values[i])
        .filter(|v| v.is_finite())
        .all(|v| v > 0.0);
    let tr = |v: f64| if positive { v.ln() } else { v };
    let range_end = range.end;
    let mut diffs = SortedWindow::new(SPIKE_WINDOW - 1);
    let mut recent: VecDeque<f64> = VecDeque::with_capacity(LEVEL_POINTS + 1);
    let mut previous: Option<f64> = None;
    let mut pushed = 0usize;
    let mut sigma: Option<f64> = None;
    let mut since_refresh = 0;
    let mut open: Option<Spike> = None;
    let mut found = Vec::new();
    let mut scratch = Vec::with_capacity(LEVEL_POINTS);
    let close = |s: Spike, found: &mut Vec<Spike>| {
        let bar = if s.points == 1 {
            SPIKE_SINGLE_DEVIATIONS
        } else {
            SPIKE_DEVIATIONS
        };
        if s.deviations >= bar {
            found.push(s);
        }
    };
    for i in range {
        let v = values[i];
        if !v.is_finite() {
            continue;
        }
        let y = tr(v);
        if pushed >= SPIKE_MIN_HISTORY {
            if sigma.is_none() || since_refresh >= SPIKE_HOP {
                let (_, mad) = diffs.median_mad();
                sigma = Some(MAD_TO_SIGMA * mad / std::f64::consts::SQRT_2);
                since_refresh = 0;
            }
            scratch.clear();
            scratch.extend(recent.iter().copied());
            let level = super::robust::median_in_place(&mut scratch);
            let floor = if positive {
                SCALE_FLOOR_REL
            } else {
                SCALE_FLOOR_REL * level.abs()
            };
            let scale = sigma.unwrap_or(0.0).max(floor).max(f64::MIN_POSITIVE);
            let rise = y - level;
            let enough = if positive {
                rise >= SPIKE_MIN_LOG_RISE
            } else {
                rise >= SPIKE_MIN_RISE * level.abs()
            };
            let past = rise >= SPIKE_DEVIATIONS * scale && enough;
            let z = rise / scale;
            match (&mut open, past) {
                (Some(s), true) => {
                    s.points += 1;
                    s.end = i;
                    if z > s.deviations {
                        s.deviations = z;
                        s.peak = i;
                    }
                }
                (None, true) => {
                    open = Some(Spike {
                        start: i,
                        end: i,
                        peak: i,
                        median: if positive { level.exp() } else { level },
                        deviations: z,
                        points: 1,
                    })
                }
                (Some(_), false) => {
                    if let Some(s) = open.take() {
                        close(s, &mut found);
                    }
                }
                (None, false) => {}
            }
        }
        // Points of an open spike stay out of the window for a while, so a
        // blow-up is measured against the level before it; a level that
        // stays up becomes the new normal after SPIKE_MERGE_GAP points.
        if open.as_ref().is_none_or(|s| s.points > SPIKE_MERGE_GAP) {
            if let Some(p) = previous {
                diffs.push(y - p);
            }
            previous = Some(y);
            recent.push_back(y);
            if recent.len() > LEVEL_POINTS {
                recent.pop_front();
            }
            pushed += 1;
            since_refresh += 1;
        }
    }
    if let Some(s) = open {
        close(s, &mut found);
    }
    // The local scale is on both sides of a jump: a rise no larger than the
    // noise of the points that follow it is where a noisier stretch begins
    // (a minibatch loss at tiny values), not a spike. A spike too near the
    // end to tell is kept.
    let end = range_end;
    found.retain(|s| {
        let after: Vec<f64> = (s.end + 1..end)
            .map(|i| values[i])
            .filter(|v| v.is_finite())
            .take(SPIKE_WINDOW)
            .map(tr)
            .collect();
        if after.len() < SPIKE_MIN_HISTORY {
            return true;
        }
        let sigma_after = super::robust::noise_sigma(&after, &mut Vec::new());
        let rise = tr(values[s.peak]) - tr(s.median);
        let bar = if s.points == 1 {
            SPIKE_SINGLE_DEVIATIONS
        } else {
            SPIKE_DEVIATIONS
        };
        rise >= bar * sigma_after
    });
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
        // A falling loss, so that it is not also stuck.
        let loss = with_non_finite(
            noisy(2000, 11, |i| 0.5 * (-(i as f64) / 500.0).exp(), 0.0001),
            12,
            0.2,
        );
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
