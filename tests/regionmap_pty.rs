//! End to end: `grokscope replay` in a pseudo-terminal, switching the
//! linear-regions panel to the region map (`m`) and its colouring (`M`);
//! the map follows the replay position; `q` leaves the terminal restored.

#[path = "support/pty.rs"]
mod pty;

use std::time::Duration;

use grokscope::run::map::{CLASS_MAP, REGION_MAP, SLICE_REGIONS};
use grokscope::run::{GridMap, MapMark, Record, RunMeta, RunWriter};
use pty::Pty;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn replay_switches_to_the_region_map_and_it_follows_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("maps");
    let mut w = RunWriter::create(&run, &RunMeta::new("maps", serde_json::json!({}))).unwrap();
    // 100 records a second apart; maps at steps 0, 100, …, 900 with one
    // more region each time (columns split at 3, 6, 9, …).
    for i in 0..100i64 {
        let mut r = Record::new(i * 10).scalar("lc/train", 5.0);
        r.time = Some(1_764_000_000.0 + i as f64);
        if i % 10 == 0 {
            let n = 1 + i as u32 / 10;
            let regions: Vec<u32> = (0..30 * 20).map(|k| (k % 30) as u32 * n / 30).collect();
            let mark = MapMark {
                x: 5.0,
                y: 15.0,
                label: Some("A: train #7 (class 2)".into()),
            };
            let grid = |v: &[u32]| {
                GridMap::from_values(30, 20, v)
                    .unwrap()
                    .with_marks(vec![mark.clone()])
            };
            r = r
                .map(REGION_MAP, grid(&regions))
                .map(CLASS_MAP, grid(&vec![0; 600]))
                .scalar(SLICE_REGIONS, f64::from(n));
        }
        w.append(&r).unwrap();
    }
    let path = run.to_str().unwrap();
    let mut term = Pty::spawn(&["replay", path, "--speed", "1"], 30, 100);
    term.wait_for("▶ playing ×1", WAIT);
    term.send(b" ");
    term.wait_for("❚❚ paused", WAIT);
    term.send(b"4m\r");
    term.send(b"\x1b[H"); // Home: the first record, the map of step 0
    let s = term.wait_for("1 region on the slice, step 0 ", WAIT);
    assert!(s.contains("A: train #7 (class 2)"), "{s}");
    term.send(b"\x1b[F"); // End: the map of step 900, ten regions
    term.wait_for("10 regions on the slice, step 900 ", WAIT);
    term.send(b"M");
    term.wait_for("colour: predicted class", WAIT);
    term.send(b"m");
    term.wait_for("lc/train", WAIT);
    term.send(b"q");
    let status = term.wait_exit(WAIT);
    assert!(status.success(), "exit status {status:?}");
    term.assert_restored();
}
