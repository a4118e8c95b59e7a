//! Axis ticks: "nice" values (1, 2 or 5 × 10ᵏ apart) on linear, log10 and
//! log-step axes, labelled with exactly as many digits as it takes to tell
//! neighbouring ticks apart. Shared by the dashboard's charts and the
//! exported figures, so both read the same.
//!
//! A label is always the tick's own value (never a value cut to fit), and
//! the labels of one axis are always distinct.

/// One tick: where (in axis units: the value, its log10, or log10(step+1))
/// and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Position in axis units.
    pub at: f64,
    /// The label.
    pub label: String,
}

/// The nice step (1, 2 or 5 × 10ᵏ) that splits `span` into at most
/// `max_ticks - 1` intervals.
pub fn nice_step(span: f64, max_ticks: usize) -> f64 {
    let intervals = max_ticks.saturating_sub(1).max(1) as f64;
    let raw = (span / intervals).abs();
    if !raw.is_finite() || raw == 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= raw * (1.0 - 1e-9) {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Formats `v`, a multiple of `step`, with just enough digits that
/// multiples of `step` read differently. Plain decimals for magnitudes
/// from 0.001 to below 100,000, else scientific (`2.5e-7`, `1.2e6`).
pub fn format_tick(v: f64, step: f64) -> String {
    if v == 0.0 || (step > 0.0 && v.abs() < step * 1e-6) {
        return "0".into();
    }
    let step_exp = if step > 0.0 && step.is_finite() {
        step.log10().floor() as i32
    } else {
        v.abs().log10().floor() as i32
    };
    // A step like 0.25 needs one more digit than its power of ten says.
    let extra = if step > 0.0 {
        let m = step / 10f64.powi(step_exp);
        i32::from((m - m.round()).abs() > 1e-6)
    } else {
        0
    };
    let a = v.abs();
    let big = a.max(step.abs());
    let plain = (1e-3..1e5).contains(&big).then(|| {
        let decimals = (extra - step_exp).max(0) as usize;
        let s = format!("{v:.decimals$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.')
        } else {
            &s
        };
        if s == "-0" {
            "0".to_string()
        } else {
            s.to_string()
        }
    });
    match plain {
        Some(p) if step_exp >= -4 => p,
        // Fine steps on a moderate value (0.10000002): whichever is shorter.
        Some(p) => {
            let sci = scientific(v, step_exp, extra);
            if p.len() <= sci.len() {
                p
            } else {
                sci
            }
        }
        None => scientific(v, step_exp, extra),
    }
}

/// `v` as `m.mmme±k` with the digits a step of 10^`step_exp` needs.
fn scientific(v: f64, step_exp: i32, extra: i32) -> String {
    let exp = v.abs().log10().floor() as i32;
    let digits = (exp - step_exp + extra).max(0) as usize;
    let mantissa = v / 10f64.powi(exp);
    let m = format!("{mantissa:.digits$}");
    // Rounding can carry into the next power of ten (9.96 → "10.0").
    if m.trim_start_matches('-').starts_with("10") {
        let mantissa = mantissa / 10.0;
        return format!("{mantissa:.digits$}e{}", exp + 1);
    }
    format!("{m}e{exp}")
}

/// Nice ticks within `lo..=hi` on a linear axis, at most `max_ticks`
/// (at least two when the range allows; one for a constant range).
pub fn linear(lo: f64, hi: f64, max_ticks: usize) -> Vec<Tick> {
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(f64::MIN_POSITIVE) {
        let step = if lo == 0.0 {
            1.0
        } else {
            10f64.powf(lo.abs().log10().floor() - 3.0)
        };
        return vec![Tick {
            at: lo,
            label: format_tick(lo, step),
        }];
    }
    let max_ticks = max_ticks.max(2);
    let mut step = nice_step(hi - lo, max_ticks);
    let mut ticks = multiples(lo, hi, step);
    while ticks.len() > max_ticks {
        step = nice_step(step * 1.5, 2);
        ticks = multiples(lo, hi, step);
    }
    // Too coarse to put two ticks inside: finer steps, thinned to fit.
    let mut finer = step;
    for _ in 0..4 {
        if ticks.len() >= 2 {
            break;
        }
        finer = nice_step(finer / 2.5, 2);
        let more = multiples(lo, hi, finer);
        if more.len() >= 2 {
            let every = more.len().div_ceil(max_ticks);
            let last = more.len() - 1;
            ticks = more
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % every == 0 || (*i == last && every == 1))
                .map(|(_, v)| v)
                .collect();
            step = finer;
        }
    }
    labelled(ticks, step)
}

fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step - 1e-9).ceil();
    let last = (hi / step + 1e-9).floor();
    if !(first.is_finite() && last.is_finite()) || last - first > 10_000.0 {
        return Vec::new();
    }
    // Counted, not stepped: past 2^53, `k += 1.0` would not advance.
    let n = (last - first).max(-1.0) as i64 + 1;
    (0..n)
        .map(|i| (first + i as f64) * step + 0.0) // never -0
        .collect()
}

fn labelled(values: Vec<f64>, step: f64) -> Vec<Tick> {
    values
        .into_iter()
        .map(|v| Tick {
            at: v,
            label: format_tick(v, step),
        })
        .collect()
}

/// Ticks on a log10 axis spanning `lo..=hi` in log10 units (so `-7..0`
/// is 1e-7 to 1): powers of ten, every n-th of them when there are many,
/// with 2× and 5× between when there are few; within less than a decade,
/// nice linear values placed on the log axis.
pub fn log10(lo: f64, hi: f64, max_ticks: usize) -> Vec<Tick> {
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let max_ticks = max_ticks.max(2);
    let first = (lo - 1e-9).ceil() as i32;
    let last = (hi + 1e-9).floor() as i32;
    let decades = (last - first + 1).max(0) as usize;
    if decades >= 2 {
        let every = decades.div_ceil(max_ticks).max(1) as i32;
        let mut out: Vec<Tick> = (first..=last)
            .filter(|k| (k - first) % every == 0)
            .map(|k| Tick {
                at: f64::from(k),
                label: format_power(k),
            })
            .collect();
        if every == 1 && decades * 3 <= max_ticks {
            // Few decades: 2× and 5× between them.
            let mut fine = Vec::new();
            for k in first - 1..=last {
                for m in [2.0f64, 5.0] {
                    let at = f64::from(k) + m.log10();
                    if at >= lo - 1e-9 && at <= hi + 1e-9 {
                        let v = m * 10f64.powi(k);
                        fine.push(Tick {
                            at,
                            label: format_tick(v, 10f64.powi(k)),
                        });
                    }
                }
            }
            out.extend(fine);
            out.sort_by(|a, b| a.at.total_cmp(&b.at));
        }
        return out;
    }
    // Less than two powers of ten: nice values of the data, on a log axis.
    let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
    linear(a, b, max_ticks)
        .into_iter()
        .filter(|t| t.at > 0.0)
        .map(|t| Tick {
            at: t.at.log10(),
            label: t.label,
        })
        .collect()
}

/// 10ᵏ as a label: `0.001` … `10000` plainly, else `1e-7`, `1e6`.
pub fn format_power(k: i32) -> String {
    if (-3..5).contains(&k) {
        let v = 10f64.powi(k);
        format!("{v:.prec$}", prec = (-k).max(0) as usize)
    } else {
        format!("1e{k}")
    }
}

/// Ticks on a log-step axis, where x = log10(step + 1): step 0, then
/// powers of ten (and 2×, 5× between when there is room), labelled with
/// the step.
pub fn log_step(lo: f64, hi: f64, max_ticks: usize) -> Vec<Tick> {
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let max_ticks = max_ticks.max(2);
    let to_x = |s: f64| (s + 1.0).log10();
    let in_range = |x: f64| x >= lo - 1e-9 && x <= hi + 1e-9;
    let top = 10f64.powf(hi) - 1.0;
    let mut candidates: Vec<Vec<f64>> = Vec::new();
    // Coarse to fine: decades, then 1-2-5 within them.
    let max_k = top.max(1.0).log10().floor() as i32;
    let mut coarse = vec![0.0];
    coarse.extend((0..=max_k).map(|k| 10f64.powi(k)));
    candidates.push(coarse.clone());
    let mut fine = coarse;
    for k in 0..=max_k {
        for m in [2.0, 5.0] {
            fine.push(m * 10f64.powi(k));
        }
    }
    fine.sort_by(f64::total_cmp);
    candidates.push(fine);
    let pick = |steps: &[f64]| -> Vec<Tick> {
        steps
            .iter()
            .filter(|&&s| in_range(to_x(s)))
            .map(|&s| Tick {
                at: to_x(s),
                label: format_step(s),
            })
            .collect()
    };
    let coarse = pick(&candidates[0]);
    let fine = pick(&candidates[1]);
    let mut out = if fine.len() <= max_ticks && fine.len() > coarse.len() && coarse.len() < 3 {
        fine
    } else {
        coarse
    };
    if out.len() > max_ticks {
        let every = out.len().div_ceil(max_ticks);
        let last = out.len() - 1;
        out = out
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % every == 0 || *i == last && last % every == 0)
            .map(|(_, t)| t)
            .collect();
    }
    if out.len() < 2 {
        // A narrow window far from 0: nice steps placed on the log axis.
        let (a, b) = (10f64.powf(lo) - 1.0, top);
        return linear(a, b, max_ticks)
            .into_iter()
            .filter(|t| t.at > -1.0)
            .map(|t| Tick {
                at: to_x(t.at),
                label: t.label,
            })
            .collect();
    }
    out
}

/// A step count as a label: plain up to 99,999, then `1e5`, `2e5`.
fn format_step(s: f64) -> String {
    if s < 1e5 {
        format!("{s:.0}")
    } else {
        let k = s.log10().floor() as i32;
        let m = s / 10f64.powi(k);
        if (m - m.round()).abs() < 1e-9 {
            format!("{:.0}e{k}", m.round())
        } else {
            format!("{m:.1}e{k}")
        }
    }
}

/// Nice ticks on a time axis (seconds): steps of 1, 2, 5, 10, 15, 30 s,
/// 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, then days; positions in
/// seconds, labels left to the caller (`fmt`).
pub fn time(lo: f64, hi: f64, max_ticks: usize, fmt: impl Fn(f64) -> String) -> Vec<Tick> {
    const STEPS: [f64; 18] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        10800.0, 21600.0, 43200.0, 86400.0,
    ];
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Vec::new();
    }
    let max_ticks = max_ticks.max(2);
    let span = hi - lo;
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= (max_ticks - 1) as f64)
        .unwrap_or_else(|| (span / (max_ticks - 1) as f64 / 86400.0).ceil() * 86400.0);
    if span < 1.0 {
        return linear(lo, hi, max_ticks)
            .into_iter()
            .map(|t| Tick {
                label: fmt(t.at),
                ..t
            })
            .collect();
    }
    multiples(lo, hi, step)
        .into_iter()
        .map(|at| Tick { at, label: fmt(at) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(t: &[Tick]) -> Vec<&str> {
        t.iter().map(|t| t.label.as_str()).collect()
    }

    /// Every label is distinct, parses back to (about) its tick, and the
    /// ticks lie in the range.
    fn check(ticks: &[Tick], lo: f64, hi: f64, value: impl Fn(f64) -> f64, what: &str) {
        let mut seen = std::collections::HashSet::new();
        for t in ticks {
            assert!(
                seen.insert(t.label.clone()),
                "{what}: {:?} twice in {:?}",
                t.label,
                labels(ticks)
            );
            assert!(
                t.at >= lo - 1e-9 * (hi - lo).abs().max(1.0)
                    && t.at <= hi + 1e-9 * (hi - lo).abs().max(1.0),
                "{what}: {t:?} outside {lo}..{hi}"
            );
            let shown: f64 = t
                .label
                .parse()
                .unwrap_or_else(|_| panic!("{what}: {:?}", t.label));
            let real = value(t.at);
            let tol = (real.abs() * 1e-6).max((hi - lo).abs() * 1e-9);
            assert!(
                (shown - real).abs() <= tol,
                "{what}: label {:?} for {real}",
                t.label
            );
        }
    }

    #[test]
    fn linear_labels_are_distinct_and_true_over_many_ranges() {
        let ranges: &[(f64, f64)] = &[
            (0.0, 1.0),
            (1e-7, 1.0),
            (-41.09, 2727.0),
            (-1.0, -0.2),
            (0.998, 1.0),
            (1e6, 1.0000002e6),
            (3.2e-8, 90.18),
            (-5e-9, 5e-9),
            (0.0, 7637.0),
            (123456.0, 987654.0),
            (0.1, 0.3),
            (-1e300, 1e300),
            (2.0, 2.0),
            (0.0, 0.0),
            (-3.0, -3.0),
        ];
        for &(lo, hi) in ranges {
            for max in [2, 3, 5, 8, 12] {
                let t = linear(lo, hi, max);
                assert!(!t.is_empty(), "{lo}..{hi}");
                assert!(
                    t.len() <= max.max(2),
                    "{lo}..{hi} max {max}: {:?}",
                    labels(&t)
                );
                if hi - lo > 1e-300 && max >= 3 {
                    assert!(t.len() >= 2, "{lo}..{hi} max {max}: {:?}", labels(&t));
                }
                check(&t, lo, hi, |x| x, &format!("linear {lo}..{hi} max {max}"));
            }
        }
        assert_eq!(labels(&linear(0.0, 1.0, 3)), vec!["0", "0.5", "1"]);
        assert_eq!(
            labels(&linear(0.0, 1.0, 6)),
            vec!["0", "0.2", "0.4", "0.6", "0.8", "1"]
        );
        assert_eq!(
            labels(&linear(-41.09, 2727.0, 4)),
            vec!["0", "1000", "2000"]
        );
        assert_eq!(labels(&linear(0.998, 1.0, 3)), vec!["0.998", "0.999", "1"]);
        assert_eq!(labels(&linear(2.0, 2.0, 5)), vec!["2"]);
    }

    #[test]
    fn log_labels_are_decades_and_distinct() {
        for &(lo, hi) in &[
            (-7.0, 0.0),
            (-7.5, 1.95),
            (-1.0, 0.0),
            (-0.5, -0.1),
            (0.2, 0.25),
            (-300.0, 300.0),
            (2.0, 6.0),
        ] {
            for max in [2, 3, 5, 8] {
                let t = log10(lo, hi, max);
                assert!(!t.is_empty(), "log {lo}..{hi}");
                check(
                    &t,
                    lo,
                    hi,
                    |x| 10f64.powf(x),
                    &format!("log {lo}..{hi} max {max}"),
                );
            }
        }
        assert_eq!(
            labels(&log10(-7.0, 0.0, 8)),
            vec!["1e-7", "1e-6", "1e-5", "1e-4", "0.001", "0.01", "0.1", "1"]
        );
        assert_eq!(
            labels(&log10(-7.0, 0.0, 4)),
            vec!["1e-7", "1e-5", "0.001", "0.1"]
        );
        assert_eq!(
            labels(&log10(-1.0, 1.0, 9)),
            vec!["0.1", "0.2", "0.5", "1", "2", "5", "10"]
        );
    }

    #[test]
    fn log_step_labels_steps() {
        let x = |s: f64| (s + 1.0).log10();
        for &(lo, hi) in &[
            (0.0, x(4000.0)),
            (0.0, x(60000.0)),
            (x(100.0), x(200.0)),
            (x(5.0), x(9.0)),
            (0.0, x(1.0)),
        ] {
            for max in [2, 4, 6, 10] {
                let t = log_step(lo, hi, max);
                assert!(
                    t.len() >= 2,
                    "log step {lo}..{hi} max {max}: {:?}",
                    labels(&t)
                );
                check(
                    &t,
                    lo,
                    hi,
                    |x| 10f64.powf(x) - 1.0,
                    &format!("log step {lo}..{hi}"),
                );
            }
        }
        assert_eq!(
            labels(&log_step(0.0, x(4000.0), 6)),
            vec!["0", "1", "10", "100", "1000"]
        );
    }

    #[test]
    fn time_ticks_are_round() {
        let t = time(0.0, 3600.0, 5, |s| format!("{s}"));
        assert_eq!(labels(&t), vec!["0", "900", "1800", "2700", "3600"]);
    }

    #[test]
    fn formatting_is_short_and_exact() {
        assert_eq!(format_tick(0.5, 0.5), "0.5");
        assert_eq!(format_tick(2.5e-7, 5e-8), "2.5e-7");
        assert_eq!(format_tick(1.2e6, 2e5), "1.2e6");
        assert_eq!(format_tick(0.25, 0.25), "0.25");
        assert_eq!(format_tick(-0.0, 1.0), "0");
        // Fine steps on a moderate value: plain decimals when shorter.
        assert_eq!(format_tick(0.10000002, 2e-8), "0.10000002");
        assert_eq!(format_tick(1.2e-7, 2e-8), "1.2e-7");
        assert_eq!(format_power(-7), "1e-7");
        assert_eq!(format_power(3), "1000");
        assert_eq!(format_step(200000.0), "2e5");
    }
}
