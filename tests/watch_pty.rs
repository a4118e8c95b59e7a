//! End to end: the real binary in a pseudo-terminal, on a folder of runs
//! that grows while it watches. The new step and the new run must show up,
//! `q` must exit cleanly and leave the terminal restored.

#[path = "support/pty.rs"]
mod pty;

use std::ffi::OsStr;
use std::io::Write;
use std::time::Duration;

use pty::Pty;

const ROWS: u16 = 30;
const COLS: u16 = 100;

fn record(step: i64) -> String {
    format!(
        "{{\"step\": {step}, \"scalars\": {{\"train/loss\": {}, \"sc/collapsed\": 0.1}}, \"vectors\": {{\"sens/l1\": [0.1, 0.2]}}}}\n",
        1.0 / (step + 1) as f64
    )
}

#[test]
fn watch_shows_appended_steps_and_quits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("alpha")).unwrap();
    let log = dir.path().join("alpha/metrics.jsonl");
    std::fs::write(&log, (0..3).map(record).collect::<String>()).unwrap();

    let mut term = Pty::spawn(&[OsStr::new("watch"), dir.path().as_os_str()], ROWS, COLS);

    term.wait_for("alpha · step 2", Duration::from_secs(20));
    assert!(term.screen().contains("Neuron sensitivity"));

    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(record(4242).as_bytes()).unwrap();
    term.wait_for("step 4242", Duration::from_secs(10));

    // A run that starts later joins the list.
    std::fs::create_dir(dir.path().join("beta")).unwrap();
    std::fs::write(dir.path().join("beta/metrics.jsonl"), record(7)).unwrap();
    term.wait_for("beta", Duration::from_secs(10));

    term.send(b"?");
    term.wait_for("this help", Duration::from_secs(10));
    term.send(b"q");
    let status = term.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "exit status {status:?}");
    term.assert_restored();
}

#[test]
fn a_missing_theme_fails_before_the_terminal_changes_mode() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("metrics.jsonl"), record(0)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_grokscope"))
        .args(["watch", "--theme", "no-such-theme"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown theme 'no-such-theme'"), "{err}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("\x1b["),
        "no escape codes"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_grokscope"))
        .args(["watch", "/no/such/run"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/run"));
}

#[test]
fn watch_n_selects_an_event_and_moves_the_charts_to_it() {
    let dir = tempfile::tempdir().unwrap();
    // Softmax collapse from step 1500 of 3000.
    let log: String = (0..300)
        .map(|i| {
            format!(
                "{{\"step\": {}, \"scalars\": {{\"train/loss\": {}, \"sc/collapsed\": {}}}}}\n",
                i * 10,
                1.0 / (1.0 + i as f64),
                if i < 150 { 0.1 } else { 0.8 }
            )
        })
        .collect();
    std::fs::write(dir.path().join("metrics.jsonl"), log).unwrap();
    let mut term = Pty::spawn(&[OsStr::new("watch"), dir.path().as_os_str()], ROWS, COLS);
    let wait = Duration::from_secs(20);
    term.wait_for("step 2990", wait);
    term.wait_for("◆ SC @1500", wait);

    // n: the event after the one the status line shows (round the ends):
    // the status line now reports it, the charts zoom around it with the
    // value cursor on its step.
    term.send(b"n");
    let s = term.wait_for("zoom ×4", wait);
    let status = s.lines().last().unwrap();
    let at = status.rfind(" @").expect("an event on the status line") + 2;
    let step: i64 = status[at..status[at..].find(':').unwrap() + at]
        .parse()
        .unwrap();
    assert!(
        s.contains(&format!("@ step {step} ")),
        "the legends read the values at step {step}:\n{s}"
    );
    // Again: the next event, and the charts follow.
    term.send(b"N");
    term.send(b"N");
    let s = term.wait_for("@ step 1500 ", wait);
    assert!(s.lines().last().unwrap().contains("◆ SC @1500"), "{s}");
    term.send(b"q");
    assert!(term.wait_exit(wait).success());
    term.assert_restored();
}
