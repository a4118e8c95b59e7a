//! End to end: the real binary in a pseudo-terminal, on a folder of runs
//! that grows while it watches. The new step and the new run must show up,
//! `q` must exit cleanly and leave the terminal restored.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, CommandBuilder, PtySize};

const ROWS: u16 = 30;
const COLS: u16 = 100;

/// The bytes the binary printed so far.
type Output = Arc<Mutex<Vec<u8>>>;

fn screen(out: &Output) -> String {
    let size = |n: u16| std::num::NonZero::new(n).expect("non-zero size");
    let mut parser = vt100::Parser::new(size(ROWS), size(COLS), 0);
    parser.process(&out.lock().unwrap());
    parser.screen().contents()
}

fn wait_for(out: &Output, what: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let s = screen(out);
        if s.contains(what) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what:?} never appeared; screen:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

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

    let pty = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_grokscope"));
    cmd.arg("watch");
    cmd.arg(dir.path());
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);

    let out: Output = Arc::default();
    let mut reader = pty.master.try_clone_reader().unwrap();
    let sink = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let mut keys = pty.master.take_writer().unwrap();

    wait_for(&out, "alpha · step 2", Duration::from_secs(20));
    assert!(screen(&out).contains("Neuron sensitivity"));

    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(record(4242).as_bytes()).unwrap();
    wait_for(&out, "step 4242", Duration::from_secs(10));

    // A run that starts later joins the list.
    std::fs::create_dir(dir.path().join("beta")).unwrap();
    std::fs::write(dir.path().join("beta/metrics.jsonl"), record(7)).unwrap();
    wait_for(&out, "beta", Duration::from_secs(10));

    keys.write_all(b"?").unwrap();
    wait_for(&out, "this help", Duration::from_secs(10));
    keys.write_all(b"q").unwrap();
    keys.flush().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("grokscope did not exit on q");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
    std::thread::sleep(Duration::from_millis(100));
    let bytes = out.lock().unwrap().clone();
    let text = String::from_utf8_lossy(&bytes);
    let left_alt = text
        .rfind("\x1b[?1049l")
        .expect("left the alternate screen");
    let entered_alt = text
        .rfind("\x1b[?1049h")
        .expect("entered the alternate screen");
    assert!(left_alt > entered_alt);
    assert!(
        text.rfind("\x1b[?1000l").is_some(),
        "mouse capture released"
    );
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
