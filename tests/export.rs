//! `grokscope export` and the events of `grokscope summary`, through the
//! real binary, on runs written by `RunWriter`.

use std::path::{Path, PathBuf};

use common::grokscope;
use grokscope::run::{Record, RunMeta, RunWriter};
use grokscope::source::{RunFeed, RunSource};
use predicates::prelude::*;

#[path = "support/common.rs"]
mod common;

/// A run with every panel's metrics, planted events, NaN/±Inf values,
/// records without wall time and a resumed segment.
fn write_run(dir: &Path) -> PathBuf {
    let run = dir.join("grok-p97");
    let mut w = RunWriter::create(&run, &RunMeta::new("grok-p97", serde_json::json!({}))).unwrap();
    let n = 300;
    for i in 0..n {
        let f = i as f64 / n as f64;
        let mut r = Record::new(i * 10)
            .scalar(
                "train/loss",
                2.0 * (-f * 20.0).exp() + 1e-3 + 1e-4 * (i % 7) as f64,
            )
            .scalar("train/acc", (f * 10.0).min(1.0))
            .scalar("test/acc", if f < 0.7 { 0.05 } else { 0.95 })
            // Short of 1: every sample collapsed would make the loss exactly 0.
            .scalar("sc/collapsed", ((f - 0.3) * 3.0).clamp(0.0, 0.995))
            .scalar("lc/train", 40.0 + 30.0 * (f * 6.0).sin())
            .vector(
                "sens/h1",
                (0..16).map(|k| ((k * i) % 13) as f64 / 13.0).collect(),
            );
        if i % 3 != 0 {
            r.time = Some(1.7e9 + i as f64 * 0.5);
        }
        let test_loss = match i {
            150 => f64::NAN,
            151 => f64::INFINITY,
            152 => f64::NEG_INFINITY,
            _ => 2.5 - f,
        };
        r = r
            .scalar("test/loss", test_loss)
            .scalar("norm/grad", 0.1 + f * 1e-7);
        w.append(&r).unwrap();
    }
    // Resumed from an earlier checkpoint: the steps go back.
    for i in 0..20 {
        w.append(&Record::new(2000 + i * 10).scalar("train/loss", 0.5))
            .unwrap();
    }
    run
}

fn load(run: &Path) -> RunFeed {
    RunFeed::load(RunSource::at(run).unwrap()).unwrap()
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn csv_round_trip_equals_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let run = write_run(dir.path());
    let out = dir.path().join("out.csv");
    grokscope()
        .arg("export")
        .arg(&run)
        .arg("--csv")
        .arg(&out)
        .assert()
        .success();
    let feed = load(&run);
    let store = &feed.store;
    let mut reader = csv::Reader::from_path(&out).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["run", "metric", "step", "time", "value"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), store.points());
    let mut k = 0;
    let mut non_finite = 0;
    for name in store.metric_names() {
        let s = store.series(name).unwrap();
        for i in 0..s.len() {
            let row = &rows[k];
            k += 1;
            assert_eq!(&row[0], "grok-p97");
            assert_eq!(&row[1], name);
            assert_eq!(row[2].parse::<i64>().unwrap(), s.step(i));
            match s.time(i) {
                Some(t) => assert!(same(row[3].parse().unwrap(), t), "{row:?}"),
                None => assert_eq!(&row[3], ""),
            }
            let v: f64 = row[4].parse().unwrap();
            assert!(same(v, s.value(i)), "{row:?} vs {}", s.value(i));
            if !v.is_finite() {
                non_finite += 1;
                assert!(["NaN", "Infinity", "-Infinity"].contains(&&row[4]));
            }
        }
    }
    assert_eq!(non_finite, 3);
    // The resumed segment is there, after the first one.
    let train_loss: Vec<_> = rows.iter().filter(|r| &r[1] == "train/loss").collect();
    assert_eq!(train_loss.len(), 320);
    assert_eq!(&train_loss[299][2], "2990");
    assert_eq!(&train_loss[300][2], "2000");
    assert_eq!(&train_loss[319][2], "2190");
}

#[test]
fn csv_to_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let run = write_run(dir.path());
    let out = grokscope()
        .arg("export")
        .arg(&run)
        .args(["--csv", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("run,metric,step,time,value\n"));
    assert!(text.contains("grok-p97,test/loss,1500,,NaN\n"));
    assert!(text.contains("grok-p97,train/loss,0,,"));
}

fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn count_colour(rgb: &[u8], c: [u8; 3]) -> usize {
    rgb.chunks_exact(3).filter(|p| *p == c).count()
}

#[test]
fn png_has_the_size_the_panels_and_the_markers() {
    let dir = tempfile::tempdir().unwrap();
    let run = write_run(dir.path());
    let out = dir.path().join("panels.png");
    grokscope()
        .arg("export")
        .arg(&run)
        .arg("--png")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("panels.png"));
    let (w, h, rgb) = decode(&out);
    assert_eq!((w, h), (1600, 1000));
    let total = (w * h) as usize;
    let background = count_colour(&rgb, [0x1c, 0x1c, 0x1c]);
    assert!(
        background < total * 95 / 100,
        "mostly blank: {background}/{total}"
    );
    // First series colour (train/loss, lc/train, ...), alert markers (the
    // NaN event) and the heatmap's top colour are all there.
    assert!(count_colour(&rgb, [0x5f, 0xaf, 0xff]) > 500);
    assert!(count_colour(&rgb, [0xff, 0x5f, 0x5f]) > 50);
    assert!(count_colour(&rgb, [0xff, 0x00, 0xff]) > 10, "NaN marks");
}

#[test]
fn png_of_a_run_without_diagnostics_draws_empty_panels() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("plain.jsonl");
    let mut w = RunWriter::append_to(&run).unwrap();
    for i in 0..10 {
        w.append(&Record::new(i).scalar("other/thing", i as f64))
            .unwrap();
    }
    let out = dir.path().join("plain.png");
    grokscope()
        .arg("export")
        .arg(&run)
        .arg("--png")
        .arg(&out)
        .assert()
        .success();
    let (w, h, rgb) = decode(&out);
    assert_eq!((w, h), (1600, 1000));
    // Titles and notes are drawn (text in the foreground and dim colours).
    assert!(count_colour(&rgb, [0x6c, 0x6c, 0x6c]) > 200);
    assert!(
        count_colour(&rgb, [0x4e, 0x4e, 0x4e]) > 1000,
        "panel frames"
    );
}

#[test]
fn png_takes_the_colours_of_a_theme() {
    let dir = tempfile::tempdir().unwrap();
    let run = write_run(dir.path());
    let out = dir.path().join("light.png");
    grokscope()
        .arg("export")
        .arg(&run)
        .arg("--png")
        .arg(&out)
        .args(["--theme", "light"])
        .assert()
        .success();
    let (_, _, rgb) = decode(&out);
    let light = rgb
        .chunks_exact(3)
        .filter(|p| p.iter().all(|&c| c >= 0xf0))
        .count();
    assert!(
        light > rgb.len() / 3 / 2,
        "a light theme has a light background"
    );
    grokscope()
        .arg("export")
        .arg(&run)
        .arg("--png")
        .arg(dir.path().join("x.png"))
        .args(["--theme", "no-such-theme"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no-such-theme"));
}

#[test]
fn export_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let run = write_run(dir.path());
    grokscope()
        .args(["export", "/no/such/run", "--csv", "x.csv"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("/no/such/run"));
    for flag in ["--csv", "--png"] {
        let bad = dir.path().join("missing-dir/out.file");
        grokscope()
            .arg("export")
            .arg(&run)
            .arg(flag)
            .arg(&bad)
            .assert()
            .failure()
            .stderr(predicate::str::contains(bad.display().to_string()));
    }
    grokscope()
        .arg("export")
        .arg(&run)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--csv FILE and/or --png FILE"));
    grokscope()
        .arg("export")
        .arg(dir.path())
        .args(["--csv", "-"])
        .assert()
        .success();
    let other = write_run(&dir.path().join("more"));
    assert!(other.exists());
    grokscope()
        .arg("export")
        .arg(dir.path())
        .args(["--csv", "-"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("export takes one run"));
}

#[test]
fn summary_lists_the_events_in_json_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let run = write_run(dir.path());
    let out = grokscope()
        .args(["summary", "--json"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(out.status.success());
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Existing fields are still there.
    assert_eq!(s["records"], 320);
    assert_eq!(s["segments"], 2);
    let events = s["events"].as_array().unwrap();
    let find = |kind: &str| {
        events
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind} in {events:#?}"))
    };
    let onset = find("collapse_onset");
    // sc/collapsed = (f - 0.3)·3 > 0.5 first at i = 257/… : f > 0.4667, i = 141.
    assert_eq!(onset["step"], 1410);
    assert!(onset["message"].as_str().unwrap().contains("StableMax"));
    assert_eq!(onset["segment"], 0);
    assert_eq!(find("memorisation")["step"], 300);
    assert_eq!(find("non_finite")["step"], 1500);
    assert_eq!(find("non_finite")["evidence"]["value"], "NaN");
    let grok = find("grokking");
    assert_eq!(grok["step"], 2100);
    let train_step = grok["evidence"]["train_step"].as_f64().unwrap();
    assert!((270.0..=280.0).contains(&train_step));
    assert_eq!(grok["evidence"]["delay_steps"], 2100.0 - train_step);
    for e in events {
        assert!(e["kind"].is_string() && e["step"].is_i64() && e["message"].is_string());
    }
    grokscope()
        .arg("summary")
        .arg(&run)
        .assert()
        .success()
        .stdout(predicate::str::contains("collapse_onset"))
        .stdout(predicate::str::contains("segment 0 step 1410"));
}
