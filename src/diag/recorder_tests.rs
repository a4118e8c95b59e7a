//! Recorder tests: cadence, metric names and the written log.

use super::*;
use crate::run::{RunMeta, METRICS_FILE};
use dfdx::nn::builders as b;

type Model = (
    b::Linear<5, 8>,
    b::ReLU,
    b::Linear<8, 6>,
    b::ReLU,
    b::UnbiasedLinear<6, 3>,
);

fn setup(dev: &Cpu) -> DiagData<f32> {
    let x: Tensor<(usize, usize), f32, _> = dev.sample_normal_like(&(40, 5));
    let y = (0..40).map(|i| i % 3).collect();
    let test: Tensor<(usize, usize), f32, _> = dev.sample_normal_like(&(10, 5));
    DiagData::new(&x, y).unwrap().with_test(&test).unwrap()
}

fn config() -> RecorderConfig {
    RecorderConfig {
        cadence: Cadence {
            log_every: 5,
            collapse: 1,
            nlm: 1,
            local_complexity: 2,
            sensitivity: 1,
            region_map: 2,
            log_spaced: false,
        },
        lc: LcConfig {
            directions: 3,
            radius: Radius::Relative(0.05),
            points: 16,
        },
        sens_probe: 12,
        ..RecorderConfig::default()
    }
}

#[test]
fn records_follow_the_cadence_and_naming() {
    let dev = Cpu::seed_from_u64(3);
    let model = dev.build_module::<Model, f32>();
    let tmp = tempfile::tempdir().unwrap();
    let writer = RunWriter::create(tmp.path(), &RunMeta::new("t", serde_json::json!({}))).unwrap();
    let mut rec = Recorder::new(Some(writer), setup(&dev), config()).unwrap();
    assert!(rec.radius() > 0.0);
    let mut written = Vec::new();
    for step in 0..=20u64 {
        let out = rec.log(step, &model, None, &[("train/loss", 1.0)]).unwrap();
        assert_eq!(out.is_some(), step % 5 == 0, "step {step}");
        written.extend(out);
    }
    assert_eq!(written.len(), 5);
    let first = &written[0];
    for name in [
        "sc/collapsed",
        "sc/zero_loss",
        "sc/margin",
        "norm/logits",
        "norm/weights",
        "norm/weights/l0",
        "norm/weights/l2",
        "lc/train",
        "lc/test",
        "lc/random",
        "lc/train/l0",
        "lc/test/l1",
        "lc/random/l2",
        "train/loss",
    ] {
        assert!(first.scalars.contains_key(name), "missing {name}");
    }
    // No gradient given: no alignment.
    assert!(!first.scalars.contains_key("sc/nlm_cos"));
    // LC every 2nd record: steps 0, 10, 20.
    let with_lc: Vec<i64> = written
        .iter()
        .filter(|r| r.scalars.contains_key("lc/train"))
        .map(|r| r.step)
        .collect();
    assert_eq!(with_lc, vec![0, 10, 20]);
    // Sensitivity needs K = 3 snapshots: from the third record (step 10) on.
    assert!(!written[1].vectors.contains_key("sens/h1"));
    let third = &written[2];
    assert_eq!(third.vectors["sens/h1"].len(), 6);
    assert_eq!(third.vectors["sens/top_ids"].len(), 2);
    assert!(third.scalars.contains_key("sens/top_share"));
    // A constant model has zero sensitivity.
    assert_eq!(third.scalars["sens/net_variability"], 0.0);
    let text = std::fs::read_to_string(tmp.path().join(METRICS_FILE)).unwrap();
    assert_eq!(text.lines().count(), 5);
}

#[test]
fn gradients_add_alignment_and_grad_norm() {
    let dev = Cpu::seed_from_u64(4);
    let model = dev.build_module::<Model, f32>();
    let data = setup(&dev);
    let x = dev.sample_normal_like(&(40usize, Const::<5>));
    let grads = model
        .forward(x.trace(model.alloc_grads()))
        .square()
        .mean()
        .backward();
    let mut rec = Recorder::new(None, data, config()).unwrap();
    let r = rec.record(0, &model, Some(&grads)).unwrap().unwrap();
    for name in [
        "sc/nlm_cos",
        "sc/nlm_cos/l0",
        "sc/nlm_cos/l1",
        "sc/nlm_cos/l2",
        "norm/grad",
    ] {
        assert!(r.scalars.contains_key(name), "missing {name}");
    }
    assert!(rec.record(3, &model, Some(&grads)).unwrap().is_none());
}

#[test]
fn bad_configuration_is_an_error() {
    let dev: Cpu = Default::default();
    let mut cfg = config();
    cfg.lc.directions = 6; // more than the 5 input features
    assert!(matches!(
        Recorder::new(None, setup(&dev), cfg),
        Err(DiagError::Config(_))
    ));
    let mut cfg = config();
    cfg.cadence.log_every = 0;
    assert!(Recorder::new(None, setup(&dev), cfg).is_err());
    let x: Tensor<(usize, usize), f32, _> = dev.zeros_like(&(4, 5));
    assert!(DiagData::new(&x, vec![0, 1]).is_err());
}

#[test]
fn log_spaced_steps_are_about_ten_per_decade() {
    let steps: Vec<u64> = (0..=1000).filter(|&s| super::log_spaced_step(s)).collect();
    assert_eq!(
        &steps[..18],
        &[1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 32, 40, 50, 63, 79, 100]
    );
    assert_eq!(*steps.last().unwrap(), 1000);
    assert_eq!(steps.len(), 28);
}

#[test]
fn log_spaced_records_run_everything_but_sensitivity_between_the_grid() {
    let dev = Cpu::seed_from_u64(3);
    let model = dev.build_module::<Model, f32>();
    let mut cfg = config();
    cfg.cadence.log_spaced = true;
    cfg.cadence.sensitivity = 2;
    let mut rec = Recorder::new(None, setup(&dev), cfg).unwrap();
    // Step 3 is off the grid of 5 but log-spaced: a record with collapse,
    // norms and LC, no sensitivity.
    let r = rec.record(3, &model, None).unwrap().unwrap();
    assert!(r.scalars.contains_key("sc/collapsed"));
    assert!(r.scalars.contains_key("lc/train"));
    assert!(r.scalars.contains_key("norm/weights"));
    assert!(!r.scalars.keys().any(|k| k.starts_with("sens/")));
    // Step 7 is neither.
    assert!(rec.record(7, &model, None).unwrap().is_none());
    // Without the option, step 3 is not a record.
    let mut plain = Recorder::new(None, setup(&dev), config()).unwrap();
    assert!(plain.record(3, &model, None).unwrap().is_none());
}

#[test]
fn region_maps_come_with_local_complexity_and_round_trip_through_the_log() {
    use crate::run::map::{CLASS_MAP, REGION_MAP, SLICE_REGIONS};
    let dev = Cpu::seed_from_u64(3);
    let model = dev.build_module::<Model, f32>();
    let mut cfg = config();
    cfg.region_map = Some(SliceConfig {
        width: 12,
        height: 8,
        ..SliceConfig::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let writer = RunWriter::create(tmp.path(), &RunMeta::new("t", serde_json::json!({}))).unwrap();
    let mut rec = Recorder::new(Some(writer), setup(&dev), cfg).unwrap();
    let (slice, anchors) = rec.slice().unwrap();
    assert_eq!((slice.width(), slice.height()), (12, 8));
    let labels = slice.labels().clone();
    assert!(labels[0].starts_with(&format!("A: train #{} (class ", anchors[0])));
    let mut written = Vec::new();
    for step in (0..=20u64).step_by(5) {
        written.extend(rec.log(step, &model, None, &[]).unwrap());
    }
    // Every 2nd record, as LC: steps 0, 10, 20.
    let with_map: Vec<i64> = written
        .iter()
        .filter(|r| r.maps.contains_key(REGION_MAP))
        .map(|r| r.step)
        .collect();
    assert_eq!(with_map, vec![0, 10, 20]);
    let first = &written[0];
    let regions = &first.maps[REGION_MAP];
    assert_eq!((regions.width(), regions.height()), (12, 8));
    assert_eq!(first.scalars[SLICE_REGIONS], regions.distinct() as f64);
    assert_eq!(regions.marks.len(), 3);
    assert_eq!(regions.marks[2].label.as_deref(), Some(labels[2].as_str()));
    assert!(first.maps[CLASS_MAP].max_value() < 3);
    // The model does not change: neither do the labels.
    assert_eq!(written[2].maps[REGION_MAP], *regions);
    // What was written reads back the same.
    let text = std::fs::read_to_string(tmp.path().join(METRICS_FILE)).unwrap();
    let line = text.lines().next().unwrap();
    let mut scratch = Vec::new();
    let back = crate::run::parse_line(line.as_bytes(), &mut scratch).unwrap();
    assert_eq!(back.to_record().maps, first.maps);
    // Off: no map, no anchors.
    let mut cfg = config();
    cfg.region_map = None;
    let mut rec = Recorder::new(None, setup(&dev), cfg).unwrap();
    assert!(rec.slice().is_none());
    assert!(rec
        .record(0, &model, None)
        .unwrap()
        .unwrap()
        .maps
        .is_empty());
}
