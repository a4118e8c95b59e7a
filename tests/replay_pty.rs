//! End to end: `grokscope replay` in a pseudo-terminal. Keys play, pause,
//! change speed, seek and jump to events; the screen must follow, and `q`
//! must leave the terminal restored. A run that cannot be replayed fails
//! before the terminal changes mode (tests/cli.rs has the rest).

#[path = "support/pty.rs"]
mod pty;

use std::path::Path;
use std::time::Duration;

use pty::Pty;

const WAIT: Duration = Duration::from_secs(20);

/// 300 records one second and ten steps apart, softmax collapse from step
/// 1500, and one malformed line (line 101).
fn write_run(dir: &Path) {
    let mut log = String::new();
    for i in 0..300 {
        if i == 100 {
            log.push_str("{\"step\": oops}\n");
        }
        log.push_str(&format!(
            "{{\"step\": {}, \"time\": {}, \"scalars\": {{\"train/loss\": {}, \"sc/collapsed\": {}}}}}\n",
            i * 10,
            1_764_000_000 + i,
            1.0 / (1.0 + i as f64),
            if i < 150 { 0.1 } else { 0.8 }
        ));
    }
    std::fs::write(dir.join("metrics.jsonl"), log).unwrap();
}

/// The step the scrubber shows (`step N / total`).
fn shown_step(screen: &str) -> i64 {
    let at = screen.find(" · step ").expect("a step on the scrubber") + 8;
    screen[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn replay_plays_pauses_seeks_and_jumps_to_events() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path());
    let run = dir.path().to_str().unwrap();
    let mut term = Pty::spawn(&["replay", run, "--speed", "1", "--from", "1000"], 30, 100);

    let s = term.wait_for("▶ playing ×1 · step", WAIT);
    assert!(shown_step(&s) >= 1000, "starts at --from:\n{s}");
    assert!(
        s.contains("⚠ 1 malformed lines, first at line 101"),
        "malformed lines are counted, not fatal:\n{s}"
    );

    // Paused, the position stays.
    term.send(b" ");
    let s = term.wait_for("❚❚ paused ×1", WAIT);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(shown_step(&term.screen()), shown_step(&s), "paused");

    term.send(b"]");
    term.wait_for("❚❚ paused ×2 ", WAIT);
    term.send(b"[[");
    term.wait_for("❚❚ paused ×0.5 ", WAIT);

    term.send(b"\x1b[F"); // End
    term.wait_for("■ at the end ×0.5 · step 2990 / 2990", WAIT);
    term.send(b"\x1b[H"); // Home
    term.wait_for("step 0 / 2990", WAIT);

    // n: the collapse onset, which the status line now reports.
    term.send(b"n");
    let s = term.wait_for("step 1500 / 2990", WAIT);
    assert!(s.contains("◆ SC @1500"), "{s}");
    term.send(b"\x1b[6~"); // PgDn: +10% of 299 s
    term.wait_for("step 1790 / 2990", WAIT);
    term.send(b"\x1b[D"); // ←: −1%
    term.wait_for("step 1760 / 2990", WAIT);
    term.send(b"N");
    term.wait_for("step 1500 / 2990", WAIT);

    term.send(b" ");
    term.wait_for("▶ playing ×0.5", WAIT);
    term.send(b"?");
    term.wait_for("next / previous event", WAIT);
    term.send(b"?");
    term.send(b"q");
    let status = term.wait_exit(WAIT);
    assert!(status.success(), "exit status {status:?}");
    term.assert_restored();
}

#[test]
fn replay_fits_a_small_terminal_and_stops_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path());
    let run = dir.path().to_str().unwrap();
    let mut term = Pty::spawn(&["replay", run, "--speed", "1000"], 12, 40);
    // One scrubber row: state, speed and step before the track.
    term.wait_for("■ ×1000 2990/2990 ━", WAIT);
    term.send(b"q");
    assert!(term.wait_exit(WAIT).success());
}

/// The step in the events pane's detail (`… · step N · metric`).
fn detail_step(screen: &str) -> i64 {
    let at = screen.find(" · step ").expect("a step in the detail");
    let rest = &screen[at + " · step ".len()..];
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap();
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("no step in the detail:\n{screen}"))
}

#[test]
fn replay_selects_an_event_in_the_pane_and_moves_the_clock_and_charts_to_it() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path());
    let run = dir.path().to_str().unwrap();
    let mut term = Pty::spawn(&["replay", run, "--speed", "1"], 40, 100);
    term.wait_for("▶ playing ×1 · step", WAIT);

    // e: the pane; nothing passed yet, so j selects the first event.
    term.send(b"e");
    term.wait_for("Events · ", WAIT);
    term.send(b"j");
    let s = term.wait_for("▸ ◆", WAIT);
    let pane = &s[s.find("Events · ").unwrap()..];
    let step = detail_step(pane);
    assert!(
        pane.contains("Not reached yet in the replay"),
        "ahead of the clock:\n{s}"
    );

    // Enter: the clock at the event, paused; the charts end there.
    term.send(b"\r");
    let s = term.wait_for(&format!("❚❚ paused ×1 · step {step} / 2990"), WAIT);
    assert!(
        s.contains(&format!(" {step}│")),
        "the charts end at step {step}:\n{s}"
    );
    assert!(
        s.lines().last().unwrap().contains(&format!("@{step}")),
        "the status line: {s}"
    );
    assert!(!s.contains("Not reached yet"), "{s}");
    term.send(b"q");
    assert!(term.wait_exit(WAIT).success());
    term.assert_restored();
}
