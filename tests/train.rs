//! The built-in trainer: every preset writes a valid run, softmax collapses,
//! stopping leaves a complete log, checkpoints load, and the CLI rejects bad
//! options before training. Small p and few epochs keep this fast.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::grokscope;
use dfdx::prelude::*;
use grokscope::run::{RunMeta, FINISHED_NOTE, METRICS_FILE};
use grokscope::source::{RunFeed, RunSource};
use grokscope::train::{
    self, checkpoint_path, LossKind, ModularMlp, Preset, Task, TrainConfig, SPLIT_FILE,
};

#[path = "support/common.rs"]
mod common;

/// `preset` shrunk to p = 23 (or 200 glyphs) and `epochs`.
fn small(preset: Preset, epochs: u64) -> TrainConfig {
    let mut c = preset.config();
    c.task = match c.task {
        Task::ModularArithmetic { op, train_frac, .. } => Task::ModularArithmetic {
            p: 23,
            op,
            train_frac,
        },
        Task::Glyphs { noise, .. } => Task::Glyphs {
            train: 200,
            test: 100,
            noise,
        },
    };
    c.epochs = epochs;
    c.log_every = 1;
    c
}

fn load(dir: &Path) -> RunFeed {
    let feed = RunFeed::load(RunSource::at(dir).expect("a run folder")).unwrap();
    assert_eq!(
        feed.health.malformed,
        0,
        "malformed lines in {}",
        dir.display()
    );
    feed
}

fn run(config: &TrainConfig, dir: &Path) -> train::TrainSummary {
    train::train(config, dir, Arc::new(AtomicBool::new(false)), false).unwrap()
}

#[test]
fn every_preset_writes_a_valid_run_with_every_metric() {
    let tmp = tempfile::tempdir().unwrap();
    for preset in Preset::ALL {
        let config = small(preset, 21);
        let dir = tmp.path().join(preset.name());
        let s = run(&config, &dir);
        assert_eq!((s.epochs, s.stopped_early), (21, false));
        let feed = load(&dir);
        assert_eq!(feed.health.records, 22, "{}: epochs 0..=21", preset.name());
        let names: Vec<&str> = feed.store.metric_names().collect();
        let collapse: &[&str] = match config.loss {
            // MSE has no softmax: nothing to collapse.
            LossKind::Mse => &[],
            LossKind::Stablemax => &[
                "sc/collapsed",
                "sc/zero_loss",
                "sc/collapsed_grad_share",
                "sc/softmax_f32_collapsed",
            ],
            _ => &["sc/collapsed", "sc/zero_loss", "sc/collapsed_grad_share"],
        };
        for name in collapse {
            assert!(names.contains(name), "{}: no {name}", preset.name());
        }
        if config.loss != LossKind::Stablemax {
            assert!(!names.contains(&"sc/softmax_f32_collapsed"));
        }
        for name in [
            "train/loss",
            "train/acc",
            "test/loss",
            "test/acc",
            "sc/margin",
            "sc/nlm_cos",
            "sc/nlm_cos/l0",
            "norm/weights",
            "norm/grad",
            "norm/logits",
            "lc/train",
            "lc/test",
            "lc/random",
            "lc/train/l1",
            "sens/net_variability",
            "sens/top_share",
        ] {
            assert!(names.contains(&name), "{}: no {name}", preset.name());
        }
        assert!(feed.store.vector_names().any(|n| n.starts_with("sens/h")));
        let text = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
        let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        assert_eq!(last["notes"], serde_json::json!([FINISHED_NOTE]));
        // The region map comes with LC (every 10th record, and lc's
        // log-spaced ones), 96×64, through the anchors meta.json records.
        let maps = feed.store.maps().series("lc/slice/region").unwrap();
        let lc = feed.store.series("lc/train").unwrap().len();
        assert_eq!(maps.len(), lc, "{}", preset.name());
        assert!(lc >= 3, "{}: epochs 0, 10, 20 at least", preset.name());
        assert_eq!((maps.get(0).width(), maps.get(0).height()), (96, 64));
        assert!(names.contains(&"lc/slice_regions"));
        let meta = RunMeta::read(&dir).unwrap();
        let back: TrainConfig = serde_json::from_value(meta.config).unwrap();
        let anchors = back.map_anchors.expect("the anchors used");
        let label = maps.get(0).marks[0].label.clone().unwrap();
        assert!(
            label.starts_with(&format!("A: train #{} ", anchors[0])),
            "{label}"
        );
        assert_eq!(
            back,
            TrainConfig {
                map_anchors: Some(anchors),
                ..config
            }
        );
    }
}

#[test]
fn softmax_collapses_in_half_precision() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = small(Preset::Softmax, 120);
    c.loss = LossKind::SoftmaxF16;
    // The preset's lr 5e-4 takes thousands of epochs; 0.01 collapses in f16
    // within a hundred.
    c.lr = 0.01;
    let s = run(&c, tmp.path());
    assert_eq!(s.train_acc, 1.0);
    assert!(s.test_acc < 0.2, "test acc {}", s.test_acc);
    let feed = load(tmp.path());
    let sc = feed.store.series("sc/collapsed").unwrap();
    let max = sc.values().iter().copied().fold(0.0, f64::max);
    assert!(max > 0.5, "sc/collapsed peaked at {max}");
    assert_eq!(sc.value(0), 0.0);
    assert!(s.first_collapse_above_half.is_some());
}

#[test]
fn stop_finishes_the_epoch_and_leaves_a_complete_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("stopped");
    let mut c = small(Preset::Demo, 1_000_000);
    c.log_every = 7;
    let handle = train::spawn(c, &dir).unwrap();
    assert!(dir.join("meta.json").is_file() && dir.join(SPLIT_FILE).is_file());
    let started = Instant::now();
    while std::fs::read(dir.join(METRICS_FILE)).map_or(0, |t| t.len()) < 2_000 {
        assert!(started.elapsed() < Duration::from_secs(30), "no records");
        std::thread::sleep(Duration::from_millis(20));
    }
    handle.stop();
    let s = handle.join().unwrap();
    assert!(s.stopped_early);
    let text = std::fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
    assert!(text.ends_with('\n'));
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["step"], s.epochs);
    assert!(last["notes"][0].as_str().unwrap().contains("stopped"));
    assert_eq!(last["notes"][1], FINISHED_NOTE);
    assert!(last["scalars"]["test/acc"].is_number());
    let feed = load(&dir);
    assert_eq!(feed.store.last_step(), Some(s.epochs as i64));
}

#[test]
fn checkpoints_and_split_are_written_and_load() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = small(Preset::Softmax, 7);
    c.checkpoint_every = 3;
    run(&c, tmp.path());
    let split: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join(SPLIT_FILE)).unwrap()).unwrap();
    let (tr, te) = (
        split["train"].as_array().unwrap(),
        split["test"].as_array().unwrap(),
    );
    assert_eq!(tr.len() + te.len(), 23 * 23);
    assert_eq!(tr.len(), 211, "floor(0.4 · 529), as the paper's int(…)");
    let dev = Cpu::default();
    let fresh = dev.build_module::<ModularMlp<46, 23>, f32>();
    for epoch in [3, 6, 7] {
        let path = checkpoint_path(tmp.path(), epoch);
        assert!(path.is_file(), "{}", path.display());
        let mut m = dev.build_module::<ModularMlp<46, 23>, f32>();
        m.load_safetensors(&path).unwrap();
        assert_ne!(m.0.weight.as_vec(), fresh.0.weight.as_vec());
    }
    assert!(!checkpoint_path(tmp.path(), 1).exists());
}

#[test]
fn cli_trains_and_rejects_bad_options_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let ok = grokscope()
        .args(["train", "--preset", "softmax", "--p", "23", "--epochs", "3"])
        .args(["--log-every", "1", "--op", "sub", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("run written to"));
    assert_eq!(load(&out).health.records, 4);

    let cases: &[(&[&str], &str)] = &[
        (&["--preset", "nope"], "nope"),
        (
            &["--preset", "softmax", "--p", "50"],
            "--p 50 is not supported",
        ),
        (
            &["--preset", "softmax", "--train-frac", "1.5"],
            "--train-frac",
        ),
        (&["--preset", "lc", "--p", "23"], "--p applies"),
        (&["--preset", "softmax", "--lr=-1"], "--lr"),
        (
            &["--preset", "softmax", "--loss", "softmax-f8"],
            "softmax-f8",
        ),
        (
            &["--preset", "softmax", "--batch-size", "0"],
            "--batch-size",
        ),
        (&["--preset", "softmax", "--beta2", "1"], "--beta2"),
        (
            &["--preset", "demo", "--send-frac", "1"],
            "--send-frac must be in [0, 1)",
        ),
        (
            &["--preset", "demo", "--send-frac=-0.1"],
            "--send-frac must be in [0, 1)",
        ),
        (
            &["--preset", "demo", "--send-frac", "0.999"],
            "would drop all 200 neurons",
        ),
        (&["--preset", "demo", "--send-every", "0"], "--send-every"),
        (
            &["--preset", "demo", "--map-anchors", "1,2"],
            "three training-set positions",
        ),
        (
            &["--preset", "demo", "--map-anchors", "1,2,1"],
            "the three anchors must differ",
        ),
        (
            &["--preset", "demo", "--map-anchors", "1,2,999999"],
            "region-map anchor 999999 is not a training point",
        ),
        (
            &[
                "--preset",
                "demo",
                "--send-frac",
                "0.1",
                "--send-every",
                "12",
            ],
            "multiple of --log-every 5",
        ),
    ];
    for (args, needle) in cases {
        let o = grokscope()
            .arg("train")
            .args(*args)
            .arg("--out")
            .arg(tmp.path().join("never"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(!tmp.path().join("never").exists());
    // An existing run is not appended to.
    let o = grokscope()
        .args(["train", "--preset", "softmax", "--p", "23", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("already holds a run"));
}

#[test]
fn cli_send_run_logs_its_selections_and_drops_the_logged_top_neurons() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("send");
    let o = grokscope()
        .args(["train", "--preset", "demo", "--p", "23", "--epochs", "22"])
        .args(["--log-every", "1", "--send-frac", "0.1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let feed = load(&out);
    assert_eq!(feed.health.records, 23);
    // meta.json holds the interval used: the sensitivity cadence, 10 records.
    let meta = RunMeta::read(&out).unwrap();
    let config: TrainConfig = serde_json::from_value(meta.config).unwrap();
    assert_eq!((config.send_frac, config.send_every), (0.1, Some(10)));

    let text = std::fs::read_to_string(out.join(METRICS_FILE)).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dropped: Vec<(u64, f64)> = records
        .iter()
        .filter_map(|r| Some((r["step"].as_u64()?, r["scalars"]["sens/dropped"].as_f64()?)))
        .collect();
    // Snapshots after epochs 0, 10, 20: the third one selects 10 % of 200.
    assert_eq!(dropped, vec![(0, 0.0), (10, 0.0), (20, 20.0)]);
    let at20 = &records[20];
    assert!(records[..20]
        .iter()
        .all(|r| r["vectors"].get("sens/send_mask").is_none()));
    let mask: Vec<f64> = serde_json::from_value(at20["vectors"]["sens/send_mask"].clone()).unwrap();
    let sens: Vec<f64> = serde_json::from_value(at20["vectors"]["sens/h1"].clone()).unwrap();
    assert_eq!((mask.len(), sens.len()), (200, 200));
    // The dropped neurons are the 20 most sensitive ones of the logged
    // `sens/h1` (same probe, same snapshots).
    let mut order: Vec<usize> = (0..200).collect();
    order.sort_by(|&a, &b| sens[b].total_cmp(&sens[a]).then(a.cmp(&b)));
    let mut top: Vec<usize> = order[..20].to_vec();
    top.sort_unstable();
    let chosen: Vec<usize> = (0..200).filter(|&i| mask[i] == 1.0).collect();
    assert_eq!(chosen, top);
    assert!(top.iter().all(|&i| sens[i] > 0.0));
    assert!(mask.iter().all(|&v| v == 0.0 || v == 1.0));
}

#[test]
fn lc_logs_at_log_spaced_epochs_too() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = small(Preset::Lc, 30);
    c.log_every = 4;
    assert!(c.log_spaced);
    run(&c, tmp.path());
    let feed = load(tmp.path());
    let lc = feed.store.series("lc/train").unwrap();
    let steps: Vec<i64> = (0..lc.len()).map(|i| lc.step(i)).collect();
    // Log-spaced epochs (1, 2, …, 13, 16, 20, 25) plus the regular LC grid
    // (every 10th record = every 40 epochs: 0).
    assert_eq!(
        steps,
        [0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25],
        "LC runs at every log-spaced record"
    );
    let sens = feed.store.series("sens/top_share");
    assert!(sens.is_none_or(|s| (0..s.len()).all(|i| s.step(i) % 4 == 0)));
}
