//! Region maps through the real binary: `summary` reports them, a reader
//! that does not know maps reads the same records, a bad map costs only
//! itself, and `export --png --map-steps` draws a row of small multiples.

use std::io::Write;
use std::path::{Path, PathBuf};

use common::grokscope;
use grokscope::export::palette::{category, category_edge, Palette};
use grokscope::run::map::{CLASS_MAP, REGION_MAP, SLICE_REGIONS};
use grokscope::run::{GridMap, MapMark, Record, RunMeta, RunWriter};
use predicates::prelude::*;
use serde_json::Value;

#[path = "support/common.rs"]
mod common;

const W: usize = 24;
const H: usize = 16;

/// Regions of a 24×16 map: left/right of column `cut`, above/below row 8.
fn quadrants(cut: usize) -> Vec<u32> {
    (0..W * H)
        .map(|k| u32::from(k % W >= cut) + 2 * u32::from(k / W >= 8))
        .collect()
}

/// 40 records ten steps apart; every tenth carries the maps (steps 0, 100,
/// 200, 300), whose vertical boundary moves right. With `maps` false, the
/// same records without them.
fn write_run(dir: &Path, name: &str, maps: bool) -> PathBuf {
    let run = dir.join(name);
    let mut w = RunWriter::create(&run, &RunMeta::new(name, serde_json::json!({}))).unwrap();
    for i in 0..40i64 {
        let mut r = Record::new(i * 10)
            .scalar("train/loss", 1.0 / (1.0 + i as f64))
            .scalar("lc/train", 20.0 - i as f64 / 4.0);
        r.time = Some(1_764_400_000.0 + i as f64);
        if i % 10 == 0 && maps {
            let cut = 4 + 4 * (i / 10) as usize;
            let regions = quadrants(cut);
            // Past the cut on the right the right half is one region.
            let classes: Vec<u32> = (0..W * H).map(|k| u32::from(k % W >= cut)).collect();
            let marks = vec![MapMark {
                x: 4.0,
                y: 12.0,
                label: Some("A: train #1 (class 0)".into()),
            }];
            let grid = |v: &[u32]| {
                GridMap::from_values(W, H, v)
                    .unwrap()
                    .with_marks(marks.clone())
            };
            let n = if cut < W { 4.0 } else { 2.0 };
            r = r
                .map(REGION_MAP, grid(&regions))
                .map(CLASS_MAP, grid(&classes))
                .scalar(SLICE_REGIONS, n);
        }
        w.append(&r).unwrap();
    }
    run
}

fn summary_json(path: &Path) -> Value {
    let out = grokscope()
        .args(["summary", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn summary_reports_maps_and_their_regions_over_time() {
    let dir = tempfile::tempdir().unwrap();
    let run = write_run(dir.path(), "maps", true);
    let s = summary_json(&run);
    let m = &s["maps"][REGION_MAP];
    assert_eq!(m["count"], 4);
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(24), Some(16))
    );
    assert_eq!(
        (m["first_step"].as_i64(), m["last_step"].as_i64()),
        (Some(0), Some(300))
    );
    let over_time: Vec<(i64, u64)> = m["distinct"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_i64().unwrap(), p[1].as_u64().unwrap()))
        .collect();
    assert_eq!(over_time, vec![(0, 4), (100, 4), (200, 4), (300, 4)]);
    assert_eq!(s["maps"][CLASS_MAP]["distinct"][0][1], 2);
    assert!(s.get("skipped_maps").is_none());
    let text = grokscope().arg("summary").arg(&run).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("lc/slice/region      4  24x16"), "{text}");
    assert!(
        text.contains("lc/slice/region by step  0:4  100:4  200:4  300:4"),
        "{text}"
    );
}

/// A reader that does not know `maps` (`grokscope` before maps, or any
/// consumer of scalars) sees exactly the records it saw without them, and
/// a malformed or unknown map loses nothing but itself.
#[test]
fn maps_change_nothing_for_readers_that_ignore_them_and_bad_ones_cost_only_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let with = summary_json(&write_run(dir.path(), "with", true));
    let without = summary_json(&write_run(dir.path(), "without", false));
    let scalars_only = |s: &Value| {
        let mut m = s["metrics"].as_object().unwrap().clone();
        m.remove(SLICE_REGIONS);
        m
    };
    assert_eq!(scalars_only(&with), scalars_only(&without));
    assert_eq!(with["records"], without["records"]);
    assert_eq!(with["malformed"]["count"], 0);
    // Bad maps: a wrong cell count, an encoding from the future, not an
    // object. Each is skipped with a warning; the records and their
    // scalars stay.
    let log = dir.path().join("with/metrics.jsonl");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    let lines = [
        r#"{"step": 400, "scalars": {"train/loss": 0.5}, "maps": {"lc/slice/region": {"width": 3, "height": 2, "values": [1, 2]}}}"#,
        r#"{"step": 410, "scalars": {"train/loss": 0.25}, "maps": {"lc/slice/region": {"width": 2, "height": 1, "zstd": "KLUv/Q=="}, "x/y": 7}}"#,
        r#"{"step": 420, "scalars": {"train/loss": 0.125}, "maps": {"lc/slice/region": {"width": 2, "height": 1, "values": [0, 1]}}}"#,
    ];
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let s = summary_json(&dir.path().join("with"));
    assert_eq!(s["records"], 43);
    assert_eq!(s["malformed"]["count"], 0);
    assert_eq!(s["metrics"]["train/loss"]["last"], 0.125);
    assert_eq!(s["skipped_maps"], 3);
    let warnings: Vec<&str> = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("line 41: map lc/slice/region skipped") && w.contains("2 values")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("line 42")),
        "{warnings:?}"
    );
    // The good one at step 420 (a 2×1 map) is kept.
    assert_eq!(s["maps"][REGION_MAP]["count"], 5);
    assert_eq!(s["maps"][REGION_MAP]["last_step"], 420);
}

fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// The colours of the pixels in columns `x0..x1` of row `y`.
fn row(rgb: &[u8], width: u32, y: u32, x0: u32, x1: u32) -> Vec<[u8; 3]> {
    (x0..x1)
        .map(|x| {
            let k = ((y * width + x) * 3) as usize;
            [rgb[k], rgb[k + 1], rgb[k + 2]]
        })
        .collect()
}

#[test]
fn export_draws_the_maps_at_the_chosen_steps_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let run = write_run(dir.path(), "maps", true);
    let out = dir.path().join("maps.png");
    grokscope()
        .args(["export"])
        .arg(&run)
        .arg("--png")
        .arg(&out)
        .args(["--map-steps", "0,290"])
        .assert()
        .success()
        .stderr(predicate::str::contains("2 region map(s)"));
    let (w, h, rgb) = decode(&out);
    assert_eq!(w, 1600);
    // Two slots of (1600 − 12) / 2 px: cells of 8 px (24 × 8 = 192 px),
    // 16 rows of them under a 40 px header.
    let cell = 8;
    assert_eq!(h, 40 + 16 * cell + 24 + 30 + 12);
    let bg = Palette::dark().background;
    let colour = |k: u32| {
        let c = category(k);
        [c.0, c.1, c.2]
    };
    // The second row of cells (y = 40 + 8 + 4): region 0 left of the cut,
    // region 1 right of it, a boundary between.
    let y = 40 + cell + cell / 2;
    let first = row(&rgb, w, y, 12, 12 + 24 * cell);
    assert!(first.contains(&colour(0)) && first.contains(&colour(1)));
    let edge = category_edge(0);
    assert!(
        first.contains(&[edge.0, edge.1, edge.2]),
        "the cut is a dark line"
    );
    assert!(
        !first.contains(&[bg.0, bg.1, bg.2]),
        "no gaps between cells"
    );
    // Map 1 at step 0 cuts at column 4, map 2 (nearest to 290: step 300)
    // at column 16: region 0 is four times wider.
    let slot = (1600 - 12) / 2;
    let second = row(&rgb, w, y, 12 + slot, 12 + slot + 24 * cell);
    let zeros = |r: &[[u8; 3]]| r.iter().filter(|&&p| p == colour(0)).count();
    assert!(
        zeros(&second) > 3 * zeros(&first),
        "{} {}",
        zeros(&first),
        zeros(&second)
    );
    assert!(!second.contains(&[bg.0, bg.1, bg.2]));
    // By class: two colours, class 0 and 1, and the region boundaries.
    let out = dir.path().join("classes.png");
    grokscope()
        .args(["export"])
        .arg(&run)
        .arg("--png")
        .arg(&out)
        .args(["--map-steps", "300", "--map-colour", "class"])
        .assert()
        .success();
    let (w, _, rgb) = decode(&out);
    let r = row(&rgb, w, 40 + 12 * cell + 2, 12, 12 + 24 * cell);
    assert!(r.contains(&colour(0)) && r.contains(&colour(1)) && !r.contains(&colour(3)));
}

#[test]
fn map_export_errors_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write_run(dir.path(), "plain", false);
    grokscope()
        .args(["export"])
        .arg(&plain)
        .arg("--png")
        .arg(dir.path().join("x.png"))
        .args(["--map-steps", "0"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("x.png").and(predicate::str::contains(
                "the run has no region map (lc/slice/region)",
            )),
        );
    grokscope()
        .args(["export"])
        .arg(&plain)
        .args(["--map-steps", "0"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--png"));
    grokscope()
        .args(["export"])
        .arg(&plain)
        .arg("--png")
        .arg(dir.path().join("y.png"))
        .args(["--map-steps", "0,x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("invalid value 'x'"));
}

#[test]
fn svg_export_holds_the_same_maps_as_the_png() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let run = write_run(dir.path(), "maps", true);
    let (png_out, svg_out) = (dir.path().join("m.png"), dir.path().join("m.svg"));
    grokscope()
        .args(["export"])
        .arg(&run)
        .arg("--png")
        .arg(&png_out)
        .arg("--svg")
        .arg(&svg_out)
        .args(["--map-steps", "0,290"])
        .assert()
        .success()
        .stderr(predicate::str::contains("m.svg (2 region map(s))"));
    let text = std::fs::read_to_string(&svg_out).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG parses");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let title = root
        .children()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(
        title.contains("maps") && title.contains("0, 290"),
        "{title}"
    );
    let href = root
        .children()
        .find(|n| n.has_tag_name("image"))
        .and_then(|n| n.attribute("href"))
        .unwrap();
    let data = href.strip_prefix("data:image/png;base64,").unwrap();
    let embedded = dir.path().join("embedded.png");
    std::fs::write(
        &embedded,
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap(),
    )
    .unwrap();
    let (w, h, rgb) = decode(&embedded);
    assert_eq!(root.attribute("width"), Some(w.to_string().as_str()));
    assert_eq!(root.attribute("height"), Some(h.to_string().as_str()));
    assert_eq!((w, h, rgb), decode(&png_out), "the PNG's very pixels");
}
