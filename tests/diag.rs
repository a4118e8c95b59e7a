//! A user's own dfdx MLP (five linear layers, biases, nested tuples and
//! `Repeated`) gets every diagnostic through the public API unchanged.

use dfdx::prelude::*;
use grokscope::diag::{
    Cadence, CollapseLoss, DiagData, LcConfig, Radius, Recorder, RecorderConfig, SoftmaxDtype,
};

type Block = (Linear<12, 12>, ReLU);
type DeepMlp = ((Linear<7, 12>, ReLU), Repeated<Block, 3>, Linear<12, 4>);

#[test]
fn five_layer_user_mlp_gets_every_metric() {
    let dev = Cpu::seed_from_u64(9);
    let model = dev.build_module::<DeepMlp, f64>();
    let x = dev.sample_normal_like(&(30usize, Const::<7>));
    let labels: Vec<usize> = (0..30).map(|i| i % 4).collect();
    let test_x = dev.sample_normal_like(&(8usize, Const::<7>));
    let config = RecorderConfig {
        cadence: Cadence {
            log_every: 1,
            collapse: 1,
            nlm: 1,
            local_complexity: 1,
            sensitivity: 1,
            region_map: 1,
            log_spaced: false,
        },
        collapse: Some(CollapseLoss::Softmax(SoftmaxDtype::F64)),
        lc: LcConfig {
            directions: 4,
            radius: Radius::Absolute(0.05),
            points: 10,
        },
        sens_window: 2,
        ..RecorderConfig::default()
    };
    let data = DiagData::new(&x, labels)
        .unwrap()
        .with_test(&test_x)
        .unwrap();
    let mut recorder = Recorder::new(None, data, config).unwrap();

    let grads = model
        .forward(x.trace(model.alloc_grads()))
        .square()
        .mean()
        .backward();
    let mut last = None;
    for step in 0..2 {
        last = recorder.record(step, &model, Some(&grads)).unwrap();
    }
    let rec = last.unwrap();
    let mut expected = vec![
        "sc/collapsed".to_string(),
        "sc/zero_loss".into(),
        "sc/collapsed_grad_share".into(),
        "sc/margin".into(),
        "norm/logits".into(),
        "sc/nlm_cos".into(),
        "norm/weights".into(),
        "norm/grad".into(),
        "lc/train".into(),
        "lc/test".into(),
        "lc/random".into(),
        "sens/net_variability".into(),
        "sens/top_share".into(),
        "lc/slice_regions".into(),
    ];
    for l in 0..5 {
        expected.push(format!("sc/nlm_cos/l{l}"));
        expected.push(format!("norm/weights/l{l}"));
        for set in ["train", "test", "random"] {
            expected.push(format!("lc/{set}/l{l}"));
        }
    }
    let mut names: Vec<&String> = rec.scalars.keys().collect();
    names.sort();
    expected.sort();
    assert_eq!(names, expected.iter().collect::<Vec<_>>());
    // Default sensitivity layer: the last hidden layer, h3 (12 neurons).
    assert_eq!(rec.vectors["sens/h3"].len(), 12);
    assert_eq!(rec.vectors["sens/top_ids"].len(), 3);
    // The region map of the default slice: 96×64 cells, the anchors marked.
    let map = &rec.maps["lc/slice/region"];
    assert_eq!((map.width(), map.height(), map.marks.len()), (96, 64, 3));
    assert_eq!(map.distinct() as f64, rec.scalars["lc/slice_regions"]);
    assert!(rec.maps["lc/slice/class"].max_value() < 4);
    for v in rec.scalars.values() {
        assert!(v.is_finite());
    }
}
