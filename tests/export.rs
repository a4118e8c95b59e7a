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

fn count_near(rgb: &[u8], c: [u8; 3], tol: u8) -> usize {
    rgb.chunks_exact(3)
        .filter(|p| p.iter().zip(c).all(|(&a, b)| a.abs_diff(b) <= tol))
        .count()
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
    // A figure for print: white, mostly.
    let white = count_colour(&rgb, [0xff, 0xff, 0xff]);
    assert!(
        white > total / 2 && white < total * 97 / 100,
        "{white}/{total}"
    );
    // The light theme's first series colour, the alert colour of the NaN
    // event and the non-finite marks are all there.
    assert!(count_colour(&rgb, [0x00, 0x5f, 0xd7]) > 500);
    assert!(count_near(&rgb, [0xd7, 0x00, 0x00], 40) > 50);
    assert!(count_colour(&rgb, [0xd7, 0x00, 0xd7]) > 10, "NaN marks");
}

#[test]
fn a_run_without_diagnostics_gets_its_own_scalars_not_empty_panels() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("plain.jsonl");
    let mut w = RunWriter::append_to(&run).unwrap();
    for i in 0..10 {
        w.append(&Record::new(i).scalar("other/thing", i as f64))
            .unwrap();
    }
    let out = dir.path().join("plain.svg");
    grokscope()
        .arg("export")
        .arg(&run)
        .arg("--svg")
        .arg(&out)
        .assert()
        .success();
    let texts = svg_texts(&out);
    assert!(texts.iter().any(|t| t == "Other scalars"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "other/thing"), "{texts:?}");
    assert!(!texts.iter().any(|t| t.contains("no data")), "{texts:?}");
}

#[test]
fn png_takes_the_colours_of_a_theme() {
    let dir = tempfile::tempdir().unwrap();
    let run = write_run(dir.path());
    let out = dir.path().join("dark.png");
    grokscope()
        .arg("export")
        .arg(&run)
        .arg("--png")
        .arg(&out)
        .args(["--theme", "dark"])
        .assert()
        .success();
    let (_, _, rgb) = decode(&out);
    let dark = rgb
        .chunks_exact(3)
        .filter(|p| p.iter().all(|&c| c <= 0x30))
        .count();
    assert!(
        dark > rgb.len() / 3 / 2,
        "a dark theme has a dark background"
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
    for flag in ["--csv", "--png", "--svg"] {
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
        .stderr(predicate::str::contains(
            "--csv FILE, --png FILE and/or --svg FILE",
        ));
    for (flag, value, says) in [
        ("--panels", "loss,bogus", "unknown panel 'bogus'"),
        ("--metrics", "a(", "not a regular expression"),
    ] {
        grokscope()
            .arg("export")
            .arg(&run)
            .args(["--png", "x.png", flag, value])
            .assert()
            .failure()
            .stderr(predicate::str::contains(says));
    }
}

#[test]
fn a_folder_of_runs_gives_one_csv_and_one_figure_per_run() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path());
    write_run(&dir.path().join("more"));
    let out = grokscope()
        .arg("export")
        .arg(dir.path())
        .args(["--csv", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("run,metric,step,time,value").count(), 1);
    let figs = tempfile::tempdir().unwrap();
    grokscope()
        .arg("export")
        .arg(dir.path())
        .arg("--png")
        .arg(figs.path().join("fig.png"))
        .assert()
        .success();
    let mut written: Vec<String> = std::fs::read_dir(figs.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    // Both runs are named grok-p97: their paths keep the files apart.
    assert_eq!(written, ["fig-grok-p97.png", "fig-more_grok-p97.png"]);
    grokscope()
        .arg("export")
        .arg(dir.path())
        .args(["--run", "nope", "--csv", "-"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no run named 'nope'"));
}

#[test]
fn csv_into_a_closed_pipe_exits_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    // Two runs: more CSV than a pipe holds.
    write_run(dir.path());
    write_run(&dir.path().join("more"));
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("grokscope"))
        .arg("export")
        .arg(dir.path())
        .args(["--csv", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, like `head -1`, and close the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.is_empty(), "no message: {err}");
}

/// Every `<text>` of an SVG file (which must parse).
fn svg_texts(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&svg)
        .unwrap_or_else(|e| panic!("{}: not valid SVG: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

/// Exports `run` as PNG and SVG with the defaults (and `args`) and checks
/// both: the PNG's size and that every panel's region holds drawing; the
/// SVG parses and carries the title, the panel titles, every chart's axis
/// titles and every series in a legend (or as the title of its own small
/// chart). Returns the SVG's texts.
fn check_figures(run: &Path, args: &[&str], name: &str) -> Vec<String> {
    use grokscope::export::figure::{Figure, MAX_OTHER_CHARTS};
    use grokscope::tui::panels::{charts, PanelId};
    let dir = tempfile::tempdir().unwrap();
    let (png, svg) = (dir.path().join("f.png"), dir.path().join("f.svg"));
    grokscope()
        .arg("export")
        .arg(run)
        .args(args)
        .arg("--png")
        .arg(&png)
        .arg("--svg")
        .arg(&svg)
        .assert()
        .success();
    let (w, h, rgb) = decode(&png);
    assert_eq!((w, h), (1600, 1000));
    // Panels sit between the header (62 px) and the event list; each cell
    // of the grid holds drawing.
    let feed = grokscope::source::discover(run)
        .unwrap()
        .into_iter()
        .find(|s| s.name == name)
        .map(|s| RunFeed::load(s).unwrap())
        .unwrap_or_else(|| panic!("no run {name} at {}", run.display()));
    let panels = Figure::default().panels_for(&feed.store);
    let n = panels.len();
    let cols = if n == 1 {
        1
    } else if n <= 4 {
        2
    } else {
        3
    };
    let rows = n.div_ceil(cols);
    let (top, bottom) = (70usize, 820usize);
    let cell_h = (bottom - top) / rows;
    for (k, panel) in panels.iter().enumerate() {
        let (r, c) = (k / cols, k % cols);
        let in_row = if r + 1 == rows {
            n - cols * (rows - 1)
        } else {
            cols
        };
        let cell_w = w as usize / in_row;
        let (x0, y0) = (c * cell_w, top + r * cell_h);
        let mut ink = 0;
        for y in y0..y0 + cell_h {
            for x in x0..x0 + cell_w {
                let i = (y * w as usize + x) * 3;
                if rgb[i..i + 3] != [0xff, 0xff, 0xff] {
                    ink += 1;
                }
            }
        }
        let share = ink as f64 / (cell_w * cell_h) as f64;
        assert!(
            share > 0.03,
            "{name}: panel {panel:?} nearly empty ({share:.3})"
        );
    }
    let texts = svg_texts(&svg);
    let has = |t: &str| texts.iter().any(|x| x == t);
    // The title is the run's name with its verdict.
    let title = format!("{name} — ");
    assert!(
        texts.iter().any(|x| x.starts_with(&title)),
        "{name}: title in {texts:?}"
    );
    assert!(has("step"), "{name}: x axis title");
    let names: std::collections::BTreeSet<String> = feed
        .store
        .metric_names()
        .filter(|m| feed.store.series(m).is_some_and(|s| !s.is_empty()))
        .map(str::to_string)
        .collect();
    for panel in &panels {
        let title = panel.title();
        assert!(
            has(title) || (title == "Neuron sensitivity" && has("Histograms")),
            "{name}: panel title {title} in {texts:?}"
        );
        let specs = charts(*panel, &names, false);
        let drawn = match panel {
            PanelId::Sensitivity => 1,
            PanelId::Other => MAX_OTHER_CHARTS,
            _ => specs.len(),
        };
        for spec in specs.iter().take(drawn) {
            for (unit, metrics) in [(spec.unit, &spec.metrics), (spec.right_unit, &spec.right)] {
                if metrics.is_empty() || unit.is_empty() {
                    continue;
                }
                assert!(
                    has(unit) || has(&format!("{unit} (log scale)")),
                    "{name}: axis title {unit:?} in {texts:?}"
                );
            }
            for m in &spec.metrics {
                assert!(has(m), "{name}: {m:?} in a legend: {texts:?}");
            }
            for m in &spec.right {
                assert!(
                    has(&format!("{m} (right axis)")),
                    "{name}: {m:?} (right axis) in a legend: {texts:?}"
                );
            }
        }
    }
    texts
}

#[test]
fn every_shipped_run_exports_as_png_and_svg() {
    let runs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&runs).unwrap() {
        let path = entry.unwrap().path();
        if !path.join("metrics.jsonl").exists() {
            continue;
        }
        let name = load(&path).source.name;
        let texts = check_figures(&path, &[], &name);
        // Every shipped run has the loss panel and the linear regions.
        for t in ["train/loss", "lc/train", "accuracy"] {
            assert!(texts.iter().any(|x| x == t), "{name}: {t:?}");
        }
        seen += 1;
    }
    assert!(seen >= 6, "{seen} shipped runs");
}

#[test]
fn a_tensorboardx_run_exports_as_png_and_svg() {
    let logdir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tensorboard/tbx");
    // exp1 holds its add_scalars sub-runs: --run picks exp1 alone.
    let texts = check_figures(&logdir.join("exp1"), &["--run", "exp1"], "exp1");
    for t in [
        "train/loss",
        "test/loss",
        "test/acc (right axis)",
        "loss (log scale)",
        "accuracy",
        "Histograms",
        "count (log)",
        "lr",
    ] {
        assert!(texts.iter().any(|x| x == t), "{t:?} in {texts:?}");
    }
    // The log folder: one figure per run, the add_scalars runs named
    // parent/child.
    let dir = tempfile::tempdir().unwrap();
    grokscope()
        .arg("export")
        .arg(&logdir)
        .arg("--svg")
        .arg(dir.path().join("fig.svg"))
        .assert()
        .success()
        .stderr(predicate::str::contains("fig-exp1_grad_l1.svg"));
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "fig-exp1.svg",
            "fig-exp1_grad_l1.svg",
            "fig-exp1_grad_l2.svg"
        ]
    );
    let texts = svg_texts(&dir.path().join("fig-exp1_grad_l1.svg"));
    assert!(
        texts.iter().any(|t| t.starts_with("exp1/grad/l1 — ")),
        "{texts:?}"
    );
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

#[test]
fn names_with_markup_and_control_characters_make_a_valid_svg() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("r");
    let name = "a<b & \"c\" \u{1b}]0;title\u{7}";
    let mut w = RunWriter::create(&run, &RunMeta::new(name, serde_json::json!({}))).unwrap();
    for i in 0..20 {
        w.append(
            &Record::new(i)
                .scalar("train/loss", 1.0 / (i + 1) as f64)
                .scalar("x<y&z/w>", i as f64)
                .scalar("ctl/\u{1}\u{202e}", 1.0),
        )
        .unwrap();
    }
    drop(w);
    let out = dir.path().join("r.svg");
    grokscope()
        .arg("export")
        .arg(&run)
        .arg("--svg")
        .arg(&out)
        .assert()
        .success();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(!svg.contains('\u{1b}') && !svg.contains('\u{202e}'));
    let texts = svg_texts(&out);
    let has = |t: &str| texts.iter().any(|x| x == t);
    assert!(
        texts
            .iter()
            .any(|x| x.starts_with("a<b & \"c\" \\u{1b}]0;title\\u{7} — ")),
        "{texts:?}"
    );
    assert!(has("x<y&z/w>"), "{texts:?}");
    assert!(has("ctl/\\u{1}\\u{202e}"), "{texts:?}");
}
