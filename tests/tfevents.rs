//! TensorBoard event files read as runs: fixtures written by TensorBoard's
//! own writer (tests/fixtures/tensorboard/make_fixtures.py), corruption,
//! and growth in random pieces.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use grokscope::source::{discover, RunFeed, RunKind, RunSource};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tensorboard")
        .join(name)
}

fn load(path: &Path) -> RunFeed {
    RunFeed::load(RunSource::at(path).expect("a run")).unwrap()
}

fn values(feed: &RunFeed, name: &str) -> Vec<(i64, f64)> {
    let s = feed
        .store
        .series(name)
        .unwrap_or_else(|| panic!("no {name}"));
    (0..s.len()).map(|i| (s.step(i), s.value(i))).collect()
}

#[test]
fn both_scalar_styles_every_dtype_histograms_and_a_restart() {
    let feed = load(&fixture("logdir/mixed"));
    assert_eq!(feed.source.kind, RunKind::TfEvents);
    assert_eq!(feed.health.malformed, 0);
    let halves: Vec<(i64, f64)> = (0..6).map(|s| (s, 0.5 * s as f64)).collect();
    for tag in [
        "tensor/float",
        "tensor/double",
        "tensor/half",
        "tensor/bfloat16",
    ] {
        assert_eq!(values(&feed, tag), halves, "{tag}");
    }
    let ints: Vec<(i64, f64)> = (0..6).map(|s| (s, (s / 2) as f64)).collect();
    assert_eq!(values(&feed, "tensor/int64"), ints);
    // PyTorch-style tags land in grokscope's groups.
    let loss = values(&feed, "train/loss");
    assert_eq!(loss.len(), 8);
    assert_eq!(loss[0], (0, 1.0));
    // simple_value is an f32.
    assert_eq!(loss[6], (3, f64::from(0.025f32)));
    assert_eq!(values(&feed, "test/acc").len(), 6);
    // The restart goes back to step 3: a second segment, nothing dropped.
    assert_eq!(feed.store.segment_count(), 2);
    let notes: Vec<&str> = feed.store.notes().map(|(_, n)| n).collect();
    assert_eq!(notes, vec!["TensorBoard session start"]);
    // Histograms become vectors of counts, with their bucket edges alongside.
    let h = feed.store.vector("weights/l1").unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h.get(0).iter().sum::<f64>(), 100.0);
    assert_eq!(
        feed.store.vector("weights/l1/limits").unwrap().get(0).len(),
        5
    );
    // Events of one step share a record: steps 0..=5, then the restart's
    // session event and step 3 share one, then step 4.
    assert_eq!(feed.store.records(), 8);
}

#[test]
fn a_log_directory_maps_onto_runs() {
    let runs = discover(&fixture("logdir")).unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["mixed", "lr-0.001", "lr-0.01"]);
    assert!(runs.iter().all(|r| r.kind == RunKind::TfEvents));
}

#[test]
fn runs_are_named_as_tensorboard_names_them() {
    // add_scalars sub-folders: parent/child, from wherever the log folder
    // is opened.
    let tbx = fixture("tbx");
    for (root, want) in [
        (tbx.clone(), vec!["exp1", "exp1/grad/l1", "exp1/grad/l2"]),
        (
            tbx.join("exp1"),
            vec!["exp1", "exp1/grad/l1", "exp1/grad/l2"],
        ),
        (tbx.join("exp1/grad"), vec!["l1", "l2"]),
    ] {
        let runs = discover(&root).unwrap();
        let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, want, "{}", root.display());
    }
    // A file TensorBoard named (a time stamp and a host) is named after its
    // folder; a file someone named keeps its name.
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("exp7");
    std::fs::create_dir(&run).unwrap();
    let generated = run.join("events.out.tfevents.1796160940.vm");
    std::fs::copy(fixture("truncated.tfevents"), &generated).unwrap();
    assert_eq!(RunSource::at(&generated).unwrap().name, "exp7");
    assert_eq!(discover(&generated).unwrap()[0].name, "exp7");
    let named = fixture("truncated.tfevents");
    assert_eq!(RunSource::at(&named).unwrap().name, "truncated.tfevents");
}

#[test]
fn a_bad_data_crc_skips_one_record_and_says_so() {
    let feed = load(&fixture("bad_data_crc.tfevents"));
    assert_eq!(feed.health.malformed, 1);
    let (_, reason) = feed.health.first_malformed.clone().unwrap();
    assert!(reason.contains("bad data CRC"), "{reason}");
    let clean = load(&fixture("logdir/mixed"));
    // The corrupted record was the first file's third; the rest is intact.
    assert_eq!(feed.health.records, 20);
    assert!(clean.health.records > feed.health.records);
}

#[test]
fn a_bad_length_crc_stops_the_file_with_a_warning() {
    let mut feed = load(&fixture("bad_length_crc.tfevents"));
    assert_eq!(feed.health.records, 3);
    assert_eq!(feed.health.warnings.len(), 1);
    assert!(feed.health.warnings[0].contains("bad record length CRC at byte"));
    // Polling again neither hangs nor repeats the warning.
    feed.poll().unwrap();
    assert_eq!(feed.health.warnings.len(), 1);
}

#[test]
fn a_truncated_record_is_held_until_it_is_complete() {
    let whole = std::fs::read(
        std::fs::read_dir(fixture("logdir/mixed"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".a"))
            .unwrap(),
    )
    .unwrap();
    let cut = std::fs::read(fixture("truncated.tfevents")).unwrap();
    assert!(whole.starts_with(&cut));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("events.out.tfevents.1.host");
    std::fs::write(&p, &cut).unwrap();
    let mut feed = RunFeed::new(RunSource::at(&p).unwrap());
    feed.poll().unwrap();
    assert_eq!(feed.health.records, 20);
    assert!(feed.health.pending_bytes > 0);
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(&whole[cut.len()..]).unwrap();
    feed.poll().unwrap();
    assert_eq!(feed.health.records, 21);
    assert_eq!(feed.health.pending_bytes, 0);
    assert_eq!(feed.health.malformed, 0);
}

#[test]
fn summary_reads_tensorboard_runs_transparently() {
    let out = Command::cargo_bin("grokscope")
        .unwrap()
        .args(["summary", "--json"])
        .arg(fixture("logdir"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["kind"], "tfevents");
    assert_eq!(runs[1]["metrics"]["train/loss"]["count"], 10);
    let out = Command::cargo_bin("grokscope")
        .unwrap()
        .args(["summary"])
        .arg(fixture("bad_length_crc.tfevents"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad record length CRC"));
}

fn snapshot(feed: &RunFeed) -> Vec<(String, Vec<(i64, u64)>)> {
    feed.store
        .metric_names()
        .map(|n| {
            let s = feed.store.series(n).unwrap();
            (
                n.to_string(),
                (0..s.len())
                    .map(|i| (s.step(i), s.value(i).to_bits()))
                    .collect(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn growing_event_files_read_the_same_in_any_chunking(
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        let src = fixture("logdir/mixed");
        let expected = snapshot(&load(&src));
        let dir = tempfile::tempdir().unwrap();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&src).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        let mut feed: Option<RunFeed> = None;
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let target = dir.path().join(file.file_name().unwrap());
            std::fs::write(&target, b"").unwrap();
            let mut offsets: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            offsets.extend([0, bytes.len()]);
            offsets.sort_unstable();
            let mut out = std::fs::OpenOptions::new().append(true).open(&target).unwrap();
            for w in offsets.windows(2) {
                out.write_all(&bytes[w[0]..w[1]]).unwrap();
                out.flush().unwrap();
                let feed = feed.get_or_insert_with(|| RunFeed::new(RunSource::at(dir.path()).unwrap()));
                feed.poll().unwrap();
            }
        }
        let feed = feed.unwrap();
        prop_assert_eq!(feed.health.malformed, 0);
        prop_assert_eq!(feed.health.pending_bytes, 0);
        prop_assert_eq!(snapshot(&feed), expected);
    }
}
