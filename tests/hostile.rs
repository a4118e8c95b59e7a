//! Hostile input: logs, names and files written by someone else's program
//! (issue 14). Every reproduction of the attack on the release binary is a
//! test here: each ends in a clear message, and nothing crashes, hangs,
//! leaks control bytes to the terminal or shows stale data.
//!
//! Where the real binary could hang, it runs under a timeout.

#[path = "support/common.rs"]
mod common;
#[path = "support/pty.rs"]
mod pty;

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use common::grokscope;
use grokscope::run::{parse_line, TailReader};
use grokscope::source::{discover, RunFeed, RunKind, RunSource};
use grokscope::tui::{ui, App, SharedRuns, Theme};
use grokscope::watch::WatchMode;
use predicates::prelude::*;
use pty::Pty;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::Value;

/// Generous: these commands finish in well under a second; a hang is what
/// the timeout catches.
const TIMEOUT: Duration = Duration::from_secs(60);

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn summary_json(path: &Path) -> Value {
    let out = grokscope()
        .args(["summary", "--json"])
        .arg(path)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_of(&out)
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Whether any character would act on a terminal (a newline aside).
fn has_unsafe(text: &str) -> bool {
    text.chars()
        .any(|c| c != '\n' && grokscope::text::is_unsafe(c))
}

// ---------------------------------------------------------------- crashes

/// Item 1: an unknown field nested 100,000 deep overflowed the parser's
/// stack (abort, rc 134).
#[test]
fn deep_nesting_is_a_malformed_line_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.jsonl");
    let n = 100_000;
    let mut text = format!("{{\"step\":1,\"x\":{}{}}}\n", "[".repeat(n), "]".repeat(n));
    text.push_str("{\"step\":2,\"scalars\":{\"train/loss\":1}}\n");
    fs::write(&p, text).unwrap();
    let s = summary_json(&p);
    assert_eq!(s["records"], 1);
    assert_eq!(s["malformed"]["count"], 1);
    assert!(s["malformed"]["first_reason"]
        .as_str()
        .unwrap()
        .contains("nested deeper than 128 levels"));
}

/// Item 1, `watch`: 20,000 levels aborted the reader thread (its stack is
/// smaller) and left the terminal on the alternate screen.
#[test]
fn watch_reads_a_deeply_nested_line_and_quits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let n = 20_000;
    fs::write(
        dir.path().join("metrics.jsonl"),
        format!(
            "{{\"step\":1,\"x\":{}{}}}\n{{\"step\":7,\"scalars\":{{\"train/loss\":1}}}}\n",
            "[".repeat(n),
            "]".repeat(n)
        ),
    )
    .unwrap();
    let mut term = Pty::spawn(&[OsStr::new("watch"), dir.path().as_os_str()], 30, 120);
    term.wait_for("1 malformed lines", Duration::from_secs(20));
    term.wait_for("step 7", Duration::from_secs(10));
    term.send(b"q");
    assert!(term.wait_exit(Duration::from_secs(10)).success());
    term.assert_restored();
}

/// Item 2: a FIFO named `meta.json` blocked `summary` forever.
#[cfg(unix)]
#[test]
fn a_fifo_meta_json_is_a_warning_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("f/r");
    fs::create_dir_all(&run).unwrap();
    fs::write(run.join("metrics.jsonl"), "{\"step\":0}\n").unwrap();
    mkfifo(&run.join("meta.json"));
    let s = summary_json(&dir.path().join("f"));
    assert_eq!(s["records"], 1);
    let warnings = s["warnings"].to_string();
    assert!(warnings.contains("named pipe"), "{warnings}");
}

/// Item 2: a FIFO `x.jsonl` appearing in a watched folder blocked the
/// ingest thread in `open()`: every run stopped updating, and quitting
/// left a process behind. Now it is a run that cannot be read.
#[cfg(unix)]
#[test]
fn a_fifo_log_in_a_watched_folder_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.jsonl");
    fs::write(&good, "{\"step\": 1}\n").unwrap();
    let runs = SharedRuns::default();
    let ingest = grokscope::tui::live::spawn_ingest(
        dir.path(),
        WatchMode::Poll(Duration::from_millis(10)),
        runs.clone(),
        || {},
    )
    .unwrap();
    wait_until("the good run", || runs.read().feeds.len() == 1);
    // Created while watched, as a writer that uses a named pipe would.
    mkfifo(&dir.path().join("x.jsonl"));
    wait_until("the FIFO to be found", || runs.read().feeds.len() == 2);
    let mut f = fs::OpenOptions::new().append(true).open(&good).unwrap();
    f.write_all(b"{\"step\": 2}\n").unwrap();
    wait_until("the good run to update past the FIFO", || {
        let set = runs.read();
        let fifo = set.feeds.iter().find(|f| f.source.name == "x");
        let good = set.feeds.iter().find(|f| f.source.name == "good");
        fifo.is_some_and(|f| {
            f.health
                .read_error
                .as_deref()
                .is_some_and(|e| e.contains("named pipe"))
        }) && good.is_some_and(|g| g.store.records() == 2)
    });
    let t = Instant::now();
    drop(ingest);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        t.elapsed()
    );
}

/// Item 2: a FIFO given as the run is refused at once.
#[cfg(unix)]
#[test]
fn a_fifo_given_as_the_run_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pipe.jsonl");
    mkfifo(&p);
    for args in [
        vec!["summary"],
        vec!["export", "--csv", "-"],
        vec!["replay"],
    ] {
        let out = grokscope()
            .args(&args)
            .arg(&p)
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("named pipe"), "{args:?}: {err}");
        // Item 16: the path is named once, not "X: ...: X: ...".
        let shown = p.display().to_string();
        assert_eq!(err.matches(&shown).count(), 1, "{args:?}: {err}");
    }
}

/// Item 3: `export --png` spun forever on a series spanning ±1e308.
#[test]
fn png_export_of_values_spanning_the_whole_f64_range_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("h.jsonl");
    fs::write(
        &log,
        "{\"step\":0,\"scalars\":{\"train/loss\":1e308}}\n{\"step\":1,\"scalars\":{\"train/loss\":-1e308}}\n",
    )
    .unwrap();
    let png = dir.path().join("h.png");
    grokscope()
        .args(["export"])
        .arg(&log)
        .arg("--png")
        .arg(&png)
        .timeout(TIMEOUT)
        .assert()
        .success();
    assert!(fs::metadata(&png).unwrap().len() > 1000);
}

/// A TensorBoard event file of scalar events `(step, tag, value)`.
fn event_file(events: &[(i64, &str, f32)]) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn len_field(n: u32, bytes: &[u8], out: &mut Vec<u8>) {
        varint(u64::from(n << 3 | 2), out);
        varint(bytes.len() as u64, out);
        out.extend_from_slice(bytes);
    }
    let mut file = Vec::new();
    for &(step, tag, value) in events {
        let mut v = Vec::new();
        len_field(1, tag.as_bytes(), &mut v);
        v.push(2 << 3 | 5);
        v.extend_from_slice(&value.to_le_bytes());
        let mut summary = Vec::new();
        len_field(1, &v, &mut summary);
        let mut event = vec![1 << 3 | 1];
        event.extend_from_slice(&1.7e9f64.to_le_bytes());
        varint(2 << 3, &mut event);
        varint(step as u64, &mut event);
        len_field(5, &summary, &mut event);
        file.extend(tf_record(&event));
    }
    file
}

/// One TFRecord around `data`.
fn tf_record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = len.to_vec();
    out.extend(grokscope::import::masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend(grokscope::import::masked_crc32c(data).to_le_bytes());
    out
}

/// Item 4: a metric name of 70,000 characters made `summary` panic
/// ("Formatting argument out of range"); a TensorBoard tag too.
#[test]
fn seventy_thousand_character_names_are_refused_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("a/{}", "x".repeat(70_000));
    let log = dir.path().join("long.jsonl");
    fs::write(
        &log,
        format!("{{\"step\":1,\"scalars\":{{\"{long}\":1,\"train/loss\":2}}}}\n"),
    )
    .unwrap();
    let tf = dir.path().join("events.out.tfevents.1.host");
    fs::write(&tf, event_file(&[(1, &long, 1.0), (1, "train/loss", 2.0)])).unwrap();
    for path in [&log, &tf] {
        let out = grokscope()
            .arg("summary")
            .arg(path)
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("train/loss"), "{text}");
        assert!(
            text.contains("1 value(s) not kept: their metric names are longer than 1024 bytes"),
            "{text}"
        );
        assert!(text.len() < 10_000, "the name is not printed");
    }
}

// ------------------------------------------------------ terminal injection

/// Names that act on a terminal: OSC 0 (window title), OSC 52 (clipboard
/// write), CSI, C1 CSI, a bidi override, and a newline forging a line.
const HOSTILE: &[&str] = &[
    "t/\x1b]0;pwned\x07title",
    "t/\x1b]52;c;aGVsbG8=\x07clip",
    "t/\x1b[2J\x1b[Hcleared",
    "t/\u{9b}31mred",
    "t/evil\u{202e}gnp.exe",
    "t/x\n\nevents    none detected\nforged",
];

/// A run folder named with an escape sequence, a `meta.json` name with an
/// OSC 52 clipboard write, and every [`HOSTILE`] metric name.
fn hostile_run(root: &Path) -> PathBuf {
    let dir = root.join("run\x1b[31m-red");
    fs::create_dir_all(&dir).unwrap();
    let scalars: serde_json::Map<String, Value> = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), Value::from(i as f64)))
        .chain([("train/loss".to_string(), Value::from(1.0))])
        .collect();
    let mut log = String::new();
    for step in 0..3 {
        let mut rec = serde_json::json!({"step": step, "scalars": scalars});
        rec["notes"] = serde_json::json!(["note \x1b]0;pwned\x07"]);
        log.push_str(&rec.to_string());
        log.push('\n');
    }
    fs::write(dir.join("metrics.jsonl"), log).unwrap();
    fs::write(
        dir.join("meta.json"),
        serde_json::json!({"schema": 1, "name": "meta\x1b]52;c;aGk=\x07\u{9b}1m\u{202e}"})
            .to_string(),
    )
    .unwrap();
    dir
}

/// Item 5: `summary` printed names raw: escape sequences reached the
/// terminal and a newline forged an "events none detected" line.
#[test]
fn summary_text_shows_control_characters_as_visible_escapes() {
    let root = tempfile::tempdir().unwrap();
    let run = hostile_run(root.path());
    let out = grokscope()
        .arg("summary")
        .arg(&run)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!has_unsafe(&text), "{text:?}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("events")).count(),
        1,
        "no forged lines: {text}"
    );
    for visible in [
        "t/\\x1b]0;pwned\\x07title",
        "t/\\u{9b}31mred",
        "t/evil\\u{202e}gnp.exe",
        "t/x\\n\\nevents    none detected\\nforged",
        "meta\\x1b]52;c;aGk=\\x07\\u{9b}1m\\u{202e}",
        "run\\x1b[31m-red",
    ] {
        assert!(text.contains(visible), "{visible} in {text}");
    }
}

/// Item 5: `--json` escaped C0 but wrote U+009B and U+202E raw. Now every
/// such character is a `\uXXXX` escape, and the JSON reads back exactly.
#[test]
fn summary_json_escapes_them_and_reads_back_the_same_names() {
    let root = tempfile::tempdir().unwrap();
    let run = hostile_run(root.path());
    let out = grokscope()
        .args(["summary", "--json"])
        .arg(&run)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    let raw = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(!has_unsafe(&raw), "{raw:?}");
    let s = json_of(&out);
    for name in HOSTILE {
        assert!(s["metrics"][name].is_object(), "{name:?}");
    }
    assert_eq!(s["run"], "meta\x1b]52;c;aGk=\x07\u{9b}1m\u{202e}");
}

/// Item 5: `export --csv -` printed names raw. Now they are visible
/// escapes, in cells quoted as RFC 4180 says.
#[test]
fn csv_to_standard_output_is_inert_and_well_quoted() {
    let root = tempfile::tempdir().unwrap();
    let run = hostile_run(root.path());
    let out = grokscope()
        .args(["export", "--csv", "-"])
        .arg(&run)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!has_unsafe(&text), "{text:?}");
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let names: std::collections::BTreeSet<String> =
        rows.records().map(|r| r.unwrap()[1].to_string()).collect();
    assert!(
        names.contains("t/x\\n\\nevents    none detected\\nforged"),
        "{names:?}"
    );
    assert!(names.contains("t/\\u{9b}31mred"), "{names:?}");
    // One row per point: 7 metrics × 3 steps, plus the header.
    assert_eq!(text.lines().count(), 1 + 7 * 3, "{text}");
    // A comma or quote in a name is quoted, not a new column.
    let dir = root.path().join("q.jsonl");
    fs::write(&dir, "{\"step\":1,\"scalars\":{\"a/\\\"x,y\\\"\":1}}\n").unwrap();
    let out = grokscope()
        .args(["export", "--csv", "-"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("q,\"a/\"\"x,y\"\"\",1,,1"), "{text}");
}

/// Item 5, kept held: the dashboard (`watch` and `replay`) draws through
/// ratatui, which drops control characters and zero-width bidi marks. Every
/// cell of the frame, and every byte sent to the terminal, is checked.
#[test]
fn the_dashboard_never_sends_control_or_bidi_characters() {
    let mut feed = RunFeed::new(RunSource {
        name: "meta\x1b]52;c;aGk=\x07\u{9b}1m\u{202e}evil".into(),
        path: "/x".into(),
        log: "/x/metrics.jsonl".into(),
        kind: RunKind::Jsonl,
        meta: None,
        meta_error: Some("/x/meta.json: bad \x1b]0;t\x07 \u{202e}".into()),
    });
    for step in 0..40 {
        let scalars: Vec<String> = HOSTILE
            .iter()
            .chain(&[
                "train/loss",
                "sc/\x1b[5mcollapsed",
                "lc/\u{202e}x",
                "sens/\u{9b}v",
            ])
            .map(|n| {
                format!(
                    "{}: {}",
                    serde_json::to_string(n).unwrap(),
                    if step == 20 {
                        1e6
                    } else {
                        1.0 / (step + 1) as f64
                    }
                )
            })
            .collect();
        let line = format!(
            "{{\"step\": {step}, \"scalars\": {{{}}}, \"vectors\": {{\"sens/\\u009bh\": [1, 2]}}, \"notes\": [\"n\\u001b]0;x\\u0007\\u202e\"]}}",
            scalars.join(", ")
        );
        let mut scratch = Vec::new();
        feed.store
            .push(&parse_line(line.as_bytes(), &mut scratch).unwrap());
    }
    feed.health.read_error = Some("/x/metrics.jsonl: \x1b[2J\u{202e}gone".into());
    feed.health.warnings.push("w \u{9b}2J".into());
    let runs = SharedRuns::from_feeds(vec![feed]);
    runs.write().warnings.push("watch \x1b]0;w\x07".into());
    let mut app = App::new(runs, Theme::default_theme(), SystemTime::now());
    let mut frames = Vec::new();
    for action in [
        None,
        Some(grokscope::tui::Action::ToggleHelp),
        Some(grokscope::tui::Action::ToggleHelp),
        Some(grokscope::tui::Action::ToggleFullscreen),
        Some(grokscope::tui::Action::ToggleCursor),
    ] {
        if let Some(a) = action {
            app.update(a);
        }
        let mut t = Terminal::new(TestBackend::new(140, 40)).unwrap();
        t.draw(|f| {
            ui::render(f, &app);
        })
        .unwrap();
        let cells: String = t
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(!has_unsafe(&cells), "a cell holds {cells:?}");
        frames.push(cells);
        // The bytes a real terminal would receive.
        let mut bytes = Vec::new();
        {
            let backend = ratatui::backend::CrosstermBackend::new(&mut bytes);
            let mut t = Terminal::with_options(
                backend,
                ratatui::TerminalOptions {
                    viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 140, 40)),
                },
            )
            .unwrap();
            t.draw(|f| {
                ui::render(f, &app);
            })
            .unwrap();
        }
        let sent = String::from_utf8_lossy(&bytes);
        assert!(!sent.contains("\x1b]"), "an OSC reached the terminal");
        assert!(!sent.contains('\x07') && !sent.contains("\x1b[2J") && !sent.contains("\x1b[5m"));
        assert!(!sent.contains('\u{9b}') && !sent.contains('\u{202e}'));
    }
    // The names are there, only inert.
    assert!(
        frames[0].contains("meta]52;c;aGk=1mevil") && frames[0].contains("sc/[5mcollapsed"),
        "{}",
        frames[0]
    );
}

// ---------------------------------------------------------- data shown wrong

/// `n` records of train/loss, decreasing from `start`.
fn loss_log(n: usize, start: f64) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"step\": {i}, \"scalars\": {{\"train/loss\": {}}}}}\n",
                start / (i + 1) as f64
            )
        })
        .collect()
}

/// Item 6: truncated and rewritten larger on the same inode before the next
/// check (`cp new metrics.jsonl`), the old steps were kept and a false
/// "Loss spike" raised.
#[test]
fn a_file_rewritten_in_place_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("metrics.jsonl");
    fs::write(&log, loss_log(100, 1.0)).unwrap();
    let mut feed = RunFeed::new(RunSource::at(dir.path()).unwrap());
    feed.poll().unwrap();
    assert_eq!(feed.store.records(), 100);
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&log).unwrap());
    // Same inode, truncated and rewritten, longer than before.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    f.write_all(loss_log(150, 50.0).as_bytes()).unwrap();
    drop(f);
    #[cfg(unix)]
    assert_eq!(
        inode,
        std::os::unix::fs::MetadataExt::ino(&fs::metadata(&log).unwrap())
    );
    feed.poll().unwrap();
    assert_eq!(feed.store.records(), 150, "the new content only");
    assert_eq!(feed.store.series("train/loss").unwrap().value(0), 50.0);
    assert_eq!(feed.health.resets.len(), 1);
    assert!(
        feed.health.resets[0].contains("rewritten"),
        "{:?}",
        feed.health.resets
    );
    let events =
        grokscope::analysis::analyze_with(&feed.store, grokscope::analysis::RunContext::of(None));
    assert!(
        !events
            .iter()
            .any(|e| e.kind == grokscope::analysis::EventKind::LossSpike),
        "{events:?}"
    );
}

/// Item 7: `summary FOLDER` printed nothing and exited 1 when one run could
/// not be read. Now it reports the others and warns about that one.
#[cfg(unix)]
#[test]
fn summary_of_a_folder_reports_every_run_it_can_read() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("a")).unwrap();
    fs::write(dir.path().join("a/metrics.jsonl"), loss_log(3, 1.0)).unwrap();
    fs::write(dir.path().join("c.jsonl"), loss_log(5, 1.0)).unwrap();
    mkfifo(&dir.path().join("b.jsonl"));
    let out = grokscope()
        .args(["summary", "--json"])
        .arg(dir.path())
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "some run was not read");
    let s = json_of(&out);
    let runs = s.as_array().unwrap();
    let records: Vec<(String, u64)> = runs
        .iter()
        .map(|r| {
            (
                r["run"].as_str().unwrap().to_string(),
                r["records"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        records,
        vec![("a".into(), 3), ("b".into(), 0), ("c".into(), 5)]
    );
    assert!(runs[1]["warnings"].to_string().contains("named pipe"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("b.jsonl") && err.contains("1 of 3 runs could not be read"),
        "{err}"
    );
    // Permission denied, where the tests do not run as root.
    let locked = dir.path().join("c.jsonl");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&locked).is_err() {
        grokscope()
            .arg("summary")
            .arg(dir.path())
            .timeout(TIMEOUT)
            .assert()
            .code(1)
            .stdout(predicate::str::contains("run       a"))
            .stderr(predicate::str::contains("Permission denied"));
    }
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
}

/// Item 9: `1e400` read as Infinity on a plain line but dropped the record
/// when the line also had notes, vectors or escaped names; a UTF-8 BOM made
/// the first record malformed; `{"step": -0}` was rejected.
#[test]
fn overflow_bom_and_minus_zero_read_like_their_plain_forms() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("n.jsonl");
    let mut bytes = b"\xef\xbb\xbf{\"step\": -0, \"scalars\": {\"a/b\": 1e400}}\n".to_vec();
    bytes.extend_from_slice(b"{\"step\": 1, \"scalars\": {\"a/b\": 1e400}, \"notes\": [\"x\"]}\n");
    bytes.extend_from_slice(
        b"{\"step\": 2, \"scalars\": {\"a/b\": -1e400}, \"vectors\": {\"v/w\": [1e999]}}\n",
    );
    bytes.extend_from_slice(b"{\"step\": 3, \"scalars\": {\"a\\u002fb\": 1e400}}\n");
    bytes.extend_from_slice(b"{\"step\": -0, \"notes\": [\"resumed\"]}\n");
    fs::write(&p, bytes).unwrap();
    let s = summary_json(&p);
    assert_eq!(s["malformed"]["count"], 0, "{s}");
    assert_eq!(s["records"], 5);
    let m = &s["metrics"]["a/b"];
    assert_eq!(m["count"], 4);
    assert_eq!(m["non_finite"], 4);
    assert_eq!(m["first_step"], 0);
    assert_eq!(m["last"], "Infinity");
    assert_eq!(s["segments"], 2, "step -0 after 3 resumes the run");
}

fn wide_feed(name: &str) -> RunFeed {
    let mut feed = RunFeed::new(RunSource {
        name: name.into(),
        path: "/x".into(),
        log: "/x/metrics.jsonl".into(),
        kind: RunKind::Jsonl,
        meta: None,
        meta_error: None,
    });
    let mut scratch = Vec::new();
    feed.store.push(
        &parse_line(
            br#"{"step": 1, "scalars": {"train/loss": 1}}"#,
            &mut scratch,
        )
        .unwrap(),
    );
    feed.health.last_write = Some(SystemTime::now());
    feed
}

/// Item 10: wide CJK and emoji run names were padded by characters, not
/// columns, and pushed the state word out of the runs list.
#[test]
fn wide_run_names_keep_the_state_word_in_view() {
    let names = [
        "学习率调度实验第一组长名字很长很长",
        "🔥🔥🔥-emoji-run-🔥🔥🔥🔥🔥🔥🔥",
        "mixed-名前-run",
        "plain-ascii-run-name-that-is-long",
    ];
    let app = App::new(
        SharedRuns::from_feeds(names.iter().map(|n| wide_feed(n)).collect()),
        Theme::default_theme(),
        SystemTime::now(),
    );
    let mut t = Terminal::new(TestBackend::new(100, 30)).unwrap();
    t.draw(|f| {
        ui::render(f, &app);
    })
    .unwrap();
    let screen = t.backend().to_string();
    let live_rows = screen.lines().filter(|l| l.contains(" live")).count();
    assert_eq!(live_rows, names.len(), "{screen}");
    // Every runs-list row ends its first column at the same place.
    let ends: Vec<usize> = screen
        .lines()
        .filter(|l| l.contains(" live"))
        .map(|l| {
            let before = &l[..l.find(" live").unwrap()];
            grokscope::text::width(before)
        })
        .collect();
    assert!(ends.windows(2).all(|w| w[0] == w[1]), "{ends:?}\n{screen}");
}

/// Item 11: a writer logging 1,000 records a second in 5 ms batches for
/// 60 s replayed in 0.6 s at ×1 ("0:00 / 0:00").
#[test]
fn bursty_timestamps_replay_at_their_recorded_pace() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bursty.jsonl");
    let mut text = String::new();
    for i in 0..60_000u64 {
        let t = 1.7e9 + (i / 5) as f64 * 0.005 + (i % 5) as f64 * 1e-5;
        text.push_str(&format!(
            "{{\"step\": {i}, \"time\": {t}, \"scalars\": {{\"train/loss\": 1}}}}\n"
        ));
    }
    fs::write(&log, text).unwrap();
    let app = grokscope::tui::replay::prepare(
        &grokscope::tui::replay::ReplayOptions {
            run: log,
            speed: Some(1.0),
            ..Default::default()
        },
        Theme::default_theme(),
        SystemTime::now(),
    )
    .unwrap();
    let duration = app.replay.as_ref().unwrap().clock.timeline().duration();
    assert!((duration - 60.0).abs() < 0.1, "{duration}");
}

/// Item 17: `summary` counted an incomplete last line as malformed. It is
/// reported on its own, as what the reader holds while a writer runs.
#[test]
fn an_unfinished_last_line_is_reported_apart_from_malformed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.jsonl");
    fs::write(&p, "{\"step\": 1}\nnot json\n{\"step\": 2, \"scal").unwrap();
    let s = summary_json(&p);
    assert_eq!(s["records"], 1);
    assert_eq!(s["malformed"]["count"], 1);
    assert_eq!(s["malformed"]["lines"], serde_json::json!([2]));
    assert_eq!(s["partial_last_line"]["line"], 3);
    assert_eq!(s["partial_last_line"]["bytes"], 17);
    grokscope()
        .arg("summary")
        .arg(&p)
        .assert()
        .success()
        .stdout(predicate::str::contains("malformed 1 line(s): 2\n"))
        .stdout(predicate::str::contains(
            "partial   line 3 (17 bytes) has no newline and is not a complete record",
        ));
}

// ---------------------------------------------------------------- resources

/// Item 12: one 10 MB line of a million distinct names took 764 MB, three
/// such lines 2.2 GB. Names beyond the limit are counted, not kept: the
/// whole summary runs within 1 GB of address space.
#[cfg(unix)]
#[test]
fn a_million_names_are_capped_and_memory_stays_small() {
    let dir = memory_tempdir();
    let p = dir.path().join("names.jsonl");
    let mut f = std::io::BufWriter::new(fs::File::create(&p).unwrap());
    for step in 0..3 {
        write!(f, "{{\"step\": {step}, \"scalars\": {{").unwrap();
        for i in 0..1_000_000 {
            write!(f, "\"m/{i}\": 1, ").unwrap();
        }
        writeln!(f, "\"train/loss\": 1}}}}").unwrap();
    }
    drop(f);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 1000000 && exec "$0" summary --json "$1""#)
        .arg(env!("CARGO_BIN_EXE_grokscope"))
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = json_of(&out);
    assert_eq!(s["metrics"].as_object().unwrap().len(), 10_000);
    // train/loss came last in each line, after the limit was reached.
    let warnings = s["warnings"].to_string();
    assert!(
        warnings.contains("2970003 value(s) not kept") && warnings.contains("10000 names per run"),
        "{warnings}"
    );
}

/// A temporary folder in memory where there is a tmpfs (`/dev/shm`), for
/// the tests that write many files or many megabytes.
fn memory_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .unwrap()
}

/// Waits up to a minute for `ok`.
fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const CHILD: &str = "GROKSCOPE_HOSTILE_CHILD";

/// Item 13: with one file descriptor held per run, runs beyond the limit
/// came up empty with "Too many open files". The test runs itself again in
/// a child process limited to 256 descriptors (`ulimit -n 256`), which
/// follows 10,000 runs the way `watch` does.
#[cfg(unix)]
#[test]
fn ten_thousand_runs_are_followed_with_256_file_descriptors() {
    const NAME: &str = "ten_thousand_runs_are_followed_with_256_file_descriptors";
    if std::env::var_os(CHILD).is_some() {
        return follow_many_runs(10_000);
    }
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 256 && exec "$0" "$@""#)
        .arg(std::env::current_exe().unwrap())
        .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("followed 10000 runs with a limit of 256"),
        "{stdout}"
    );
}

#[cfg(unix)]
fn follow_many_runs(n: usize) {
    let limit = std::process::Command::new("sh")
        .args(["-c", "ulimit -n"])
        .output()
        .unwrap();
    let limit = String::from_utf8_lossy(&limit.stdout).trim().to_string();
    assert_eq!(limit, "256", "the child runs under the limit");
    // 20,000 inodes on a busy disk take far longer to create and delete
    // than the test takes to run.
    let dir = memory_tempdir();
    for i in 0..n {
        let run = dir.path().join(format!("r{i:05}"));
        fs::create_dir(&run).unwrap();
        fs::write(run.join("metrics.jsonl"), loss_log(2, 1.0)).unwrap();
    }
    let runs = SharedRuns::default();
    let _ingest = grokscope::tui::live::spawn_ingest(
        dir.path(),
        WatchMode::Poll(Duration::from_millis(100)),
        runs.clone(),
        || {},
    )
    .unwrap();
    let loaded = |want: usize| {
        let set = runs.read();
        set.feeds.len() == n && set.feeds.iter().all(|f| f.store.records() == want)
    };
    wait_until("every run to load", || loaded(2));
    // Every run still grows: each is reopened at its offset.
    for i in (0..n).step_by(997) {
        let log = dir.path().join(format!("r{i:05}/metrics.jsonl"));
        let mut f = fs::OpenOptions::new().append(true).open(log).unwrap();
        f.write_all(b"{\"step\": 2, \"scalars\": {\"train/loss\": 0.1}}\n")
            .unwrap();
    }
    wait_until("the appended records", || {
        let set = runs.read();
        (0..n).step_by(997).all(|i| {
            set.feeds
                .iter()
                .any(|f| f.source.name == format!("r{i:05}") && f.store.records() == 3)
        })
    });
    let errors: Vec<String> = runs
        .read()
        .feeds
        .iter()
        .filter_map(|f| f.health.read_error.clone())
        .collect();
    assert!(
        errors.is_empty(),
        "{} errors, e.g. {:?}",
        errors.len(),
        errors.first()
    );
    println!("followed {n} runs with a limit of {limit}");
}

/// Item 14: six `ln -s . lN` made one run appear 1,555 times. Each real
/// folder is visited once; a second name for a run adds nothing.
#[cfg(unix)]
#[test]
fn symbolic_link_loops_and_aliases_find_each_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir(root.join("a")).unwrap();
    fs::write(root.join("a/metrics.jsonl"), loss_log(2, 1.0)).unwrap();
    fs::write(root.join("b.jsonl"), loss_log(2, 1.0)).unwrap();
    for i in 0..6 {
        std::os::unix::fs::symlink(".", root.join(format!("l{i}"))).unwrap();
    }
    std::os::unix::fs::symlink("a", root.join("z-alias")).unwrap();
    std::os::unix::fs::symlink("b.jsonl", root.join("z.jsonl")).unwrap();
    std::os::unix::fs::symlink("/nowhere", root.join("dangling.jsonl")).unwrap();
    let names: Vec<String> = discover(root)
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, vec!["a", "b"]);
    let s = summary_json(root);
    assert_eq!(s.as_array().map(Vec::len), Some(2));
}

/// Item 15: `--theme /dev/zero` was OOM-killed and a `meta.json` linked to
/// `/dev/zero` read ~2 GB: every whole-file read has a size limit, and only
/// regular files are read.
#[cfg(unix)]
#[test]
fn devices_and_huge_files_are_refused_by_whole_file_reads() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("r");
    fs::create_dir(&run).unwrap();
    fs::write(run.join("metrics.jsonl"), loss_log(2, 1.0)).unwrap();
    std::os::unix::fs::symlink("/dev/zero", run.join("meta.json")).unwrap();
    let s = summary_json(&run);
    assert_eq!(s["records"], 2);
    assert!(
        s["warnings"].to_string().contains("character device"),
        "{s}"
    );
    // Too big, though a regular file.
    fs::remove_file(run.join("meta.json")).unwrap();
    let big = fs::File::create(run.join("meta.json")).unwrap();
    big.set_len(2 << 20).unwrap();
    let s = summary_json(&run);
    assert!(
        s["warnings"]
            .to_string()
            .contains("over the 1 MiB size limit"),
        "{s}"
    );
    for args in [
        vec!["watch", "--theme", "/dev/zero"],
        vec!["replay", "--theme", "/dev/zero"],
        vec!["export", "--png", "/dev/null", "--theme", "/dev/zero"],
    ] {
        grokscope()
            .args(&args)
            .arg(&run)
            .timeout(TIMEOUT)
            .assert()
            .failure()
            .stderr(predicate::str::contains(
                "cannot read theme: /dev/zero: is a character device",
            ));
    }
    let huge = dir.path().join("huge.toml");
    fs::File::create(&huge).unwrap().set_len(2 << 20).unwrap();
    grokscope()
        .args(["export", "--png", "/dev/null", "--theme"])
        .arg(&huge)
        .arg(&run)
        .timeout(TIMEOUT)
        .assert()
        .failure()
        .stderr(predicate::str::contains("over the 1 MiB size limit"));
}

/// Item 16: `watch > file` wrote escape codes into the file.
#[test]
fn the_dashboard_refuses_a_standard_output_that_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("r.jsonl");
    fs::write(&log, loss_log(3, 1.0)).unwrap();
    for args in [vec!["watch"], vec!["replay"], vec!["demo"]] {
        let mut cmd = grokscope();
        cmd.args(&args);
        if args[0] != "demo" {
            cmd.arg(&log);
        }
        // `demo` would train into ./runs: refused before that, but were it
        // not, into the temporary folder.
        let out = cmd
            .current_dir(dir.path())
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(out.stdout.is_empty(), "nothing written to the file");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("standard output is not a terminal"),
            "{args:?}: {err}"
        );
    }
    assert!(!dir.path().join("runs").exists(), "demo trained nothing");
}

/// Item 16: `TERM=dumb` was ignored.
#[test]
fn the_dashboard_refuses_term_dumb_without_touching_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("r.jsonl");
    fs::write(&log, loss_log(3, 1.0)).unwrap();
    let mut term = Pty::spawn_env(
        &[OsStr::new("watch"), log.as_os_str()],
        24,
        80,
        &[("TERM", "dumb")],
    );
    let status = term.wait_exit(Duration::from_secs(20));
    assert!(!status.success());
    let raw = term.raw();
    assert!(raw.contains("TERM=dumb"), "{raw}");
    assert!(!raw.contains("\x1b[?1049h"), "no alternate screen: {raw:?}");
}

/// Item 16: a TensorBoard record longer than 1 GiB with a valid length CRC
/// was reported as a "bad length CRC" and the rest of the file dropped. It
/// is skipped as too long, without being read, and reading goes on after
/// it (the file is sparse: the gigabyte takes no disk).
#[test]
fn a_tensorboard_record_over_one_gib_is_skipped_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("events.out.tfevents.1.host");
    let mut bytes = event_file(&[(1, "train/loss", 1.0)]);
    let len: u64 = (1 << 30) + 5;
    let head = len.to_le_bytes();
    bytes.extend_from_slice(&head);
    bytes.extend(grokscope::import::masked_crc32c(&head).to_le_bytes());
    fs::write(&p, &bytes).unwrap();
    // The reader sees the start of the file first: the record is announced
    // and held until the file is long enough.
    let mut feed = RunFeed::new(RunSource::at(&p).unwrap());
    feed.poll().unwrap();
    assert_eq!(feed.health.malformed, 1);
    let reason = &feed.health.first_malformed.as_ref().unwrap().1;
    assert!(reason.contains("over the 1 GiB limit"), "{reason}");
    assert!(!reason.contains("CRC"), "{reason}");
    let f = fs::OpenOptions::new().append(true).open(&p).unwrap();
    f.set_len(bytes.len() as u64 + len + 4).unwrap();
    drop(f);
    let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(&event_file(&[(2, "train/loss", 0.5)])).unwrap();
    drop(f);
    let t = Instant::now();
    feed.poll().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "not read: {:?}",
        t.elapsed()
    );
    let loss = feed.store.series("train/loss").unwrap();
    assert_eq!((loss.len(), loss.step(1), loss.value(1)), (2, 2, 0.5));
    assert!(
        feed.health.warnings.is_empty(),
        "{:?}",
        feed.health.warnings
    );
    // The binary says the same.
    let s = summary_json(&p);
    assert_eq!(s["malformed"]["count"], 1);
    assert_eq!(s["metrics"]["train/loss"]["count"], 2);
}

/// Item 16: errors named their file twice ("X: Permission denied: X:
/// Permission denied"). Each message names it once.
#[test]
fn error_messages_name_their_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone/metrics.jsonl");
    let shown = missing.display().to_string();
    // A run whose log vanishes between discovery and reading.
    let mut reader = TailReader::new(&missing);
    let e = reader.poll(&mut |_| {}).unwrap_err().to_string();
    assert_eq!(e.matches(&shown).count(), 1, "{e}");
    let theme = dir.path().join("none.toml");
    let out = grokscope()
        .args(["export", "--png", "/dev/null", "--theme"])
        .arg(&theme)
        .arg(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches(&theme.display().to_string()).count(),
        1,
        "{err}"
    );
}

/// A theme that does not parse is one line saying where and what, however
/// long the offending line: nesting 300,000 deep once printed a 600 KB
/// excerpt of the file, its newlines shown as `\n`.
#[test]
fn a_broken_theme_is_reported_on_one_short_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("r.jsonl");
    fs::write(&log, loss_log(2, 1.0)).unwrap();
    let n = 300_000;
    let cases = [
        (
            "deep.toml",
            format!("x = {}{}\n", "[".repeat(n), "]".repeat(n)),
            "line 1, column",
        ),
        (
            "typo.toml",
            "name = \"t\"\n\naccent = \n".to_string(),
            "line 3, column 10: ",
        ),
    ];
    for (name, text, want) in cases {
        let theme = dir.path().join(name);
        fs::write(&theme, text).unwrap();
        let out = grokscope()
            .args(["export", "--png", "/dev/null", "--theme"])
            .arg(&theme)
            .arg(&log)
            .timeout(TIMEOUT)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(!err.contains("\\n") && err.len() < 500, "{name}: {err}");
    }
}
