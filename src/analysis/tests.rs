//! Whole-run tests: every detector at once on noise, on NaN-laden noise, on
//! a run with every event planted, and the caching and replay entry points.

use super::testkit::{noisy, with_non_finite, Rng, Synth};
use super::{
    analyze, analyze_until, Analyzer, EventKind, MIN_REANALYSIS_INTERVAL, REANALYSIS_COST_FACTOR,
};

/// A run in which nothing happens: every diagnostic metric at a level away
/// from its thresholds, with Gaussian, uniform or log-normal noise.
fn noise_run(seed: u64, n: usize, style: u32) -> Synth {
    let mut rng = Rng::new(seed);
    let mut draw = move |level: f64, scale: f64| -> Vec<f64> {
        (0..n)
            .map(|_| match style {
                0 => level + scale * rng.normal(),
                1 => level + scale * 3.0 * (rng.uniform() - 0.5),
                _ => level * (scale / level.abs() * rng.normal()).exp(),
            })
            .collect()
    };
    let train_loss = draw(1.0, 0.05);
    let test_loss = draw(2.3, 0.1);
    let train_acc = draw(0.3, 0.05);
    let test_acc = draw(0.1, 0.03);
    let sc: Vec<f64> = draw(0.2, 0.05)
        .into_iter()
        .map(|v| v.clamp(0.0, 1.0))
        .collect();
    let lc = draw(50.0, 5.0);
    let grad = draw(3.0, 1.0);
    Synth::new(10)
        .series("train/loss", &train_loss)
        .series("test/loss", &test_loss)
        .series("train/acc", &train_acc)
        .series("test/acc", &test_acc)
        .series("sc/collapsed", &sc)
        .series("lc/train", &lc)
        .series("norm/grad", &grad)
}

/// The events of a run of pure noise: at most that its loss never moved
/// (stuck, at its first step), once the run is long enough to tell.
fn assert_only_stuck(events: &[super::Event], n: usize, what: &str) {
    let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.step)).collect();
    let allowed = if n >= super::STALL_MIN_POINTS {
        vec![(EventKind::Stuck, 0)]
    } else {
        vec![]
    };
    assert_eq!(kinds, allowed, "{what}: {events:#?}");
}

#[test]
fn pure_noise_makes_no_events_but_stuck() {
    for seed in 1..=6 {
        for style in 0..3 {
            for n in [30, 400, 4000] {
                let store = noise_run(seed, n, style).build();
                let events = analyze(&store);
                assert_only_stuck(&events, n, &format!("seed {seed} style {style} n {n}"));
            }
        }
    }
}

#[test]
fn long_noise_runs_make_no_events_but_stuck_either() {
    // Many more chances for a false event: 20 seeds × 20,000 points × 7 metrics.
    for seed in 100..120 {
        let store = noise_run(seed, 20_000, (seed % 3) as u32).build();
        let events = analyze(&store);
        assert_only_stuck(&events, 20_000, &format!("seed {seed}"));
    }
}

#[test]
fn nan_laden_noise_makes_only_non_finite_events() {
    for seed in 1..=4 {
        let synth = noise_run(seed, 3000, 0);
        let clean = synth.build();
        let mut laden = Synth::new(10);
        for name in clean.metric_names() {
            let values = clean.series(name).unwrap().values().to_vec();
            laden = laden.series(name, &with_non_finite(values, seed * 31, 0.15));
        }
        let store = laden.build();
        let events = analyze(&store);
        assert!(!events.is_empty());
        assert!(
            events
                .iter()
                .all(|e| e.kind == EventKind::NonFinite
                    || (e.kind == EventKind::Stuck && e.step == 0)),
            "seed {seed}: {events:#?}"
        );
        // One event per distinct first step, covering every metric.
        let covered: f64 = events
            .iter()
            .filter(|e| e.kind == EventKind::NonFinite)
            .map(|e| e.evidence.get("metrics").unwrap())
            .sum();
        assert_eq!(covered as usize, store.metric_count());
    }
}

/// The seed papers' story in one run: memorise, collapse, spike, then (in a
/// second run with StableMax) grok while local complexity falls again.
fn story(n: usize) -> Synth {
    let f = |i: usize| i as f64 / n as f64;
    let train_acc: Vec<f64> = (0..n).map(|i| (f(i) * 20.0).min(1.0)).collect();
    let test_acc = noisy(
        n,
        2,
        |i| {
            if f(i) < 0.6 {
                0.05
            } else {
                (0.05 + (f(i) - 0.6) * 4.0).min(0.97)
            }
        },
        0.01,
    );
    let sc: Vec<f64> = (0..n)
        .map(|i| ((f(i) - 0.2) * 4.0).clamp(0.0, 0.995))
        .collect();
    let mut loss = noisy(n, 3, |i| 2.0 * (-f(i) * 30.0).exp() + 0.05, 0.002);
    loss[n / 2] = 1.5;
    let lc = noisy(
        n,
        4,
        |i| {
            let x = f(i);
            if x < 0.3 {
                30.0 + 100.0 * x
            } else if x < 0.5 {
                60.0
            } else {
                (60.0 - 150.0 * (x - 0.5)).max(25.0)
            }
        },
        1.0,
    );
    Synth::new(10)
        .series("train/acc", &train_acc)
        .series("test/acc", &test_acc)
        .series("sc/collapsed", &sc)
        .series("train/loss", &loss)
        .series("lc/train", &lc)
}

#[test]
fn a_run_with_every_phase_lists_them_in_order() {
    let store = story(2000).build();
    let events = analyze(&store);
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    for kind in [
        EventKind::Memorisation,
        EventKind::CollapseOnset,
        EventKind::CollapseSaturation,
        EventKind::LossSpike,
        EventKind::LcPeak,
        EventKind::LcSecondDescent,
        EventKind::Grokking,
    ] {
        assert_eq!(
            kinds.iter().filter(|&&k| k == kind).count(),
            1,
            "{kind:?} in {events:#?}"
        );
    }
    assert!(events.windows(2).all(|w| w[0].step <= w[1].step));
    let spike = events
        .iter()
        .find(|e| e.kind == EventKind::LossSpike)
        .unwrap();
    assert_eq!(spike.step, 10_000);
    // JSON carries kind, step and message.
    let json = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(json["kind"], "memorisation");
    assert!(json["message"]
        .as_str()
        .unwrap()
        .starts_with("Memorisation"));
    assert!(json["evidence"]["value"].is_number());
}

#[test]
fn analysis_of_a_prefix_sees_only_what_happened_by_then() {
    let store = story(2000).build();
    let all = analyze(&store);
    let early = analyze_until(&store, 300);
    assert!(!early.is_empty());
    assert!(early.len() < all.len());
    assert!(early.iter().all(|e| e.record < 300));
    assert!(early.iter().all(|e| e.kind != EventKind::Grokking));
    assert_eq!(analyze_until(&store, usize::MAX), all);
    assert!(analyze_until(&store, 0).is_empty());
}

#[test]
fn the_analyzer_runs_again_only_when_the_store_changed() {
    let mut store = story(600).build();
    let mut analyzer = Analyzer::new();
    assert!(analyzer.update(&store));
    let first = analyzer.events().to_vec();
    assert!(!first.is_empty());
    assert!(!analyzer.update(&store));
    store.clear();
    assert!(analyzer.update(&store));
    assert!(analyzer.events().is_empty());
}

#[test]
fn throttled_updates_wait_for_the_interval_unless_the_log_was_replaced() {
    let full = story(600).build();
    let start = std::time::Instant::now();
    let second = std::time::Duration::from_secs(1);
    let prefix = |records: usize| {
        let mut s = store_prefix(&full, records);
        s.shrink_to_fit();
        s
    };
    let mut analyzer = Analyzer::new();
    assert!(analyzer.update_throttled(&prefix(200), start, second));
    let early = analyzer.events().len();
    // More data 0.1 s later: not analysed yet, but known to be stale.
    let grown = prefix(600);
    let soon = start + second / 10;
    assert!(!analyzer.update_throttled(&grown, soon, second));
    assert!(analyzer.is_stale(&grown));
    assert_eq!(analyzer.events().len(), early);
    // After the interval it is.
    assert!(analyzer.update_throttled(&grown, start + second * 2, second));
    assert!(!analyzer.is_stale(&grown));
    assert!(analyzer.events().len() > early);
    // A replaced (shorter) log is analysed at once.
    let replaced = prefix(100);
    assert!(analyzer.update_throttled(&replaced, start + second * 2 + second / 10, second));
    assert!(!analyzer.is_stale(&replaced));
}

#[test]
fn due_and_accept_throttle_by_the_cost_of_the_last_analysis() {
    use std::time::Duration;
    let full = story(600).build();
    let prefix = |records: usize| {
        let mut s = store_prefix(&full, records);
        s.shrink_to_fit();
        s
    };
    let t0 = std::time::Instant::now();
    let ms = Duration::from_millis;
    let first = prefix(200);
    let mut a = Analyzer::new();
    // Never analysed: due at once.
    assert!(a.due(&first, t0));
    assert!(a
        .due_at(&first)
        .is_some_and(|t| t <= std::time::Instant::now()));
    let mut result = a.compute(&first);
    result.took = ms(10);
    assert!(a.accept(result, t0));
    let early = a.events().len();
    // Unchanged: never due, nothing pending.
    assert!(!a.due(&first, t0 + ms(10_000)));
    assert_eq!(a.due_at(&first), None);
    // Grown: pending, due MIN_REANALYSIS_INTERVAL after the last analysis.
    assert_eq!(a.interval(), MIN_REANALYSIS_INTERVAL);
    let grown = prefix(400);
    assert!(a.is_stale(&grown));
    assert!(!a.due(&grown, t0 + ms(100)));
    assert!(!a.due(&grown, t0 + MIN_REANALYSIS_INTERVAL - ms(1)));
    assert!(a.due(&grown, t0 + MIN_REANALYSIS_INTERVAL));
    assert_eq!(a.due_at(&grown), Some(t0 + MIN_REANALYSIS_INTERVAL));
    // An expensive analysis stretches the interval to 4x its cost.
    let t1 = t0 + ms(600);
    let mut result = a.compute(&grown);
    result.took = ms(300);
    a.accept(result, t1);
    assert!(!a.is_stale(&grown));
    assert_eq!(a.interval(), ms(300) * REANALYSIS_COST_FACTOR);
    let all = prefix(600);
    assert!(!a.due(&all, t1 + ms(1199)));
    assert!(a.due(&all, t1 + ms(1200)));
    assert_eq!(a.due_at(&all), Some(t1 + ms(1200)));
    // A store that shrank (the log was replaced) is due at once.
    let replaced = prefix(100);
    assert!(a.due(&replaced, t1 + ms(1)));
    // accept reports whether the events changed.
    let mut result = a.compute(&all);
    result.took = ms(1);
    let before = (a.events().to_vec(), a.verdict().clone());
    let changed = a.accept(result, t1 + ms(1200));
    assert_eq!(
        changed,
        before != (a.events().to_vec(), a.verdict().clone())
    );
    assert!(a.events().len() > early);
    assert_eq!(a.interval(), MIN_REANALYSIS_INTERVAL);
    let again = a.compute(&all);
    assert!(!a.accept(again, t1 + ms(1300)));
}

/// The first `records` records of `store` as a store of their own.
fn store_prefix(store: &crate::store::RunStore, records: usize) -> crate::store::RunStore {
    use std::borrow::Cow;
    let mut out = crate::store::RunStore::new();
    for r in 0..records.min(store.records()) {
        let scalars = store
            .metric_names()
            .filter_map(|n| {
                let s = store.series(n)?;
                let i = (0..s.len()).find(|&i| s.record(i) == r)?;
                Some((Cow::Borrowed(n), s.value(i)))
            })
            .collect();
        out.push(&crate::run::LineRecord {
            step: store.record_step(r),
            time: store.record_time(r),
            scalars: crate::run::record::ScalarList(scalars),
            vectors: crate::run::record::VectorList(Vec::new()),
            notes: Vec::new(),
            maps: Default::default(),
        });
    }
    out
}

#[test]
fn each_segment_is_analysed_on_its_own() {
    let first: Vec<f64> = (0..100).map(|i| (i as f64 / 50.0).min(1.0)).collect();
    let mut second = vec![0.2; 100];
    second[60..].iter_mut().for_each(|v| *v = 0.8);
    let store = Synth::new(10)
        .series("sc/collapsed", &first)
        .resume_at(200)
        .series("sc/collapsed", &second)
        .build();
    let events = analyze(&store);
    let onsets: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::CollapseOnset)
        .map(|e| (e.segment, e.step))
        .collect();
    assert_eq!(onsets, vec![(0, 260), (1, 800)]);
}

/// Cost on a million points: run with `cargo test --release -- --ignored
/// analysis_cost --nocapture`.
#[test]
#[ignore]
fn analysis_cost_on_a_million_points() {
    let n = 200_000;
    let store = story(n)
        .series("test/loss", &noisy(n, 9, |_| 2.0, 0.1))
        .build();
    println!("{} points", store.points());
    let t = std::time::Instant::now();
    let events = analyze(&store);
    println!("analyze: {:?} ({} events)", t.elapsed(), events.len());
    let scope = super::Scope::new(&store, store.records(), super::RunContext::default());
    type Detector = fn(&super::Scope<'_>, &mut Vec<super::Event>);
    let detectors: [(&str, Detector); 6] = [
        ("non_finite", super::anomalies::non_finite),
        ("collapse", super::thresholds::collapse),
        ("accuracy", super::thresholds::accuracy),
        ("complexity", super::complexity::phases),
        ("spikes", super::anomalies::spikes),
        ("stalls", super::stall::stalls),
    ];
    for (name, detect) in detectors {
        let t = std::time::Instant::now();
        let mut out = Vec::new();
        detect(&scope, &mut out);
        println!("  {name}: {:?}", t.elapsed());
    }
}

#[test]
fn collapse_of_an_old_stablemax_log_is_not_this_runs_collapse() {
    use super::{analyze_with, RunContext};
    use crate::run::RunMeta;
    let meta = |config: serde_json::Value| RunMeta::new("r", config);
    let stablemax = RunContext::of(Some(&meta(serde_json::json!({"loss": "stablemax"}))));
    assert!(stablemax.stablemax);
    let softmax = RunContext::of(Some(&meta(serde_json::json!({
        "loss": "softmax-f16", "weight_decay": 1.0, "task": {"p": 97}
    }))));
    assert!(!softmax.stablemax);
    assert_eq!(softmax.dtype, super::SoftmaxDtype::F16);
    assert_eq!(
        (softmax.classes, softmax.weight_decay),
        (Some(97), Some(1.0))
    );
    assert_eq!(RunContext::of(None), RunContext::default());

    let sc: Vec<f64> = (0..200).map(|i| (i as f64 / 100.0).min(1.0)).collect();
    let acc = vec![1.0; 200];
    let loss: Vec<f64> = (0..200).map(|i| 1e-3 / (1.0 + i as f64)).collect();
    let plain = Synth::new(10)
        .series("sc/collapsed", &sc)
        .series("train/acc", &acc)
        .build();
    let kinds = |events: Vec<super::Event>| events.iter().map(|e| e.kind).collect::<Vec<_>>();
    let collapse = [
        EventKind::Memorisation,
        EventKind::CollapseOnset,
        EventKind::CollapseSaturation,
    ];
    assert_eq!(
        kinds(analyze(&plain)),
        [EventKind::Fitted, collapse[1], collapse[2]]
    );
    // The hint: a StableMax run without sc/softmax_f32_collapsed logged the
    // f32-softmax figure under sc/collapsed.
    assert_eq!(kinds(analyze_with(&plain, stablemax)), [EventKind::Fitted]);
    let new_log = Synth::new(10)
        .series("sc/collapsed", &sc)
        .series("sc/softmax_f32_collapsed", &sc)
        .series("train/acc", &acc)
        .build();
    assert_eq!(kinds(analyze_with(&new_log, stablemax)).len(), 3);
    // From the series alone: sc/collapsed at exactly 1 with a loss above 0.
    let contradicted = Synth::new(10)
        .series("sc/collapsed", &sc)
        .series("train/acc", &acc)
        .series("train/loss", &loss)
        .build();
    assert!(kinds(analyze(&contradicted))
        .iter()
        .all(|k| !collapse[1..].contains(k)));
}

#[test]
fn collapse_remedies_leave_out_what_the_run_already_does() {
    use super::RunContext;
    let plain = RunContext::default();
    assert_eq!(
        plain.collapse_remedies(None),
        "StableMax, ⊥Grad or weight decay"
    );
    assert_eq!(
        plain.collapse_remedies(Some("an f64 softmax")),
        "StableMax, ⊥Grad, weight decay or an f64 softmax"
    );
    let decayed = RunContext {
        weight_decay: Some(1.0),
        ..RunContext::default()
    };
    assert_eq!(
        decayed.collapse_remedies(None),
        "StableMax, ⊥Grad or stronger weight decay"
    );
    let zero_decay = RunContext {
        weight_decay: Some(0.0),
        ..RunContext::default()
    };
    assert_eq!(
        zero_decay.collapse_remedies(None),
        plain.collapse_remedies(None)
    );
    let perp = RunContext {
        perp_grad: true,
        ..RunContext::default()
    };
    assert_eq!(perp.collapse_remedies(None), "StableMax or weight decay");
}

/// A healthy run whose loss falls by six orders of magnitude under
/// log-normal noise: steady decay is progress, the noise is not a spike.
fn decaying(n: usize, seed: u64, sigma_after: f64) -> Synth {
    let mut rng = Rng::new(seed);
    let loss: Vec<f64> = (0..n)
        .map(|i| {
            let sigma = if i < n / 2 { 0.05 } else { sigma_after };
            10f64.powf(-6.0 * i as f64 / n as f64) * (sigma * rng.normal()).exp()
        })
        .collect();
    let acc: Vec<f64> = (0..n)
        .map(|i| (i as f64 / (0.3 * n as f64)).min(1.0))
        .collect();
    Synth::new(10)
        .series("train/loss", &loss)
        .series("train/acc", &acc)
        .series("test/acc", &acc)
}

#[test]
fn loss_falling_by_orders_of_magnitude_is_progress_not_a_stall() {
    for seed in 0..5 {
        let events = analyze(&decaying(1500, seed, 0.05).build());
        assert!(
            events.iter().all(|e| !matches!(
                e.kind,
                EventKind::Stall | EventKind::Stuck | EventKind::LossSpike
            )),
            "seed {seed}: {events:#?}"
        );
    }
}

#[test]
fn a_jump_into_a_noisier_stretch_is_not_a_spike() {
    // The noise grows twentyfold halfway: the first points of the noisy
    // half stand out against the quiet half, not against what follows.
    for seed in 0..5 {
        let events = analyze(&decaying(1500, seed, 1.0).build());
        assert!(
            events.iter().all(|e| e.kind != EventKind::LossSpike),
            "seed {seed}: {events:#?}"
        );
    }
    // A real spike in the quiet half still is one.
    let mut loss: Vec<f64> = (0..1500)
        .map(|i| 10f64.powf(-6.0 * i as f64 / 1500.0))
        .collect();
    loss[600] *= 1e4;
    let acc: Vec<f64> = (0..1500).map(|i| (i as f64 / 450.0).min(1.0)).collect();
    let synth = Synth::new(10)
        .series("train/loss", &loss)
        .series("train/acc", &acc)
        .series("test/acc", &acc);
    let events = analyze(&synth.build());
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::LossSpike && e.step == 6000),
        "{events:#?}"
    );
}
