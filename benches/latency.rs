//! Append-to-screen latency as a user sees it: the release binary, `grokscope
//! watch` on a run of 1,000,000 records, in a pseudo-terminal whose output
//! is read through a VT100 parser. A record is appended to the log and the
//! time taken until its step is on the parsed screen (the status line shows
//! the last step) is one sample. Everything is included: the file
//! notification, reading and parsing the new bytes, the "data changed"
//! event, the UI update, the frame cap, rendering, the terminal write and
//! the pty.
//!
//! Three patterns of appends:
//! * `quiet`: each append comes after at least 1 s without writes (a
//!   training run logging every few seconds: the usual case);
//! * `100ms` and `10ms`: appends in quick succession, one every 100 ms or
//!   10 ms (the next one is written at its slot or, if later, once the
//!   previous one is on screen).
//!
//! The same is measured first for `tail -n0 -f` on the same file in the
//! same kind of pty: the floor of the method (inotify, a write, the pty and
//! the parser), side by side with grokscope.
//!
//! ```text
//! cargo bench --bench latency            # 1,000,000 records loaded
//! cargo bench --bench latency -- 10000   # another size
//! GROKSCOPE_BIN=/tmp/grokscope-old cargo bench --bench latency  # another build
//! ```

#[path = "../tests/support/synth.rs"]
mod synth;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

const ROWS: u16 = 40;
const COLS: u16 = 120;

/// What the pty has shown, parsed, and a signal for each chunk of output.
struct Screen {
    parser: Mutex<vt100::Parser>,
    changed: Condvar,
}

/// A program running in a pseudo-terminal whose screen is kept parsed.
struct Term {
    screen: Arc<Screen>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

impl Term {
    fn spawn(program: &OsStr, args: &[&OsStr]) -> Term {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let size = |n: u16| std::num::NonZero::new(n).unwrap();
        let screen = Arc::new(Screen {
            parser: Mutex::new(vt100::Parser::new(size(ROWS), size(COLS), 0)),
            changed: Condvar::new(),
        });
        let mut reader = pty.master.try_clone_reader().unwrap();
        let s = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1 << 16];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.parser.lock().unwrap().process(&buf[..n]);
                s.changed.notify_all();
            }
        });
        Term {
            screen,
            child,
            _master: pty.master,
        }
    }

    /// Waits until `shown` is true of the screen; returns when it became
    /// so, or `None` after `timeout`.
    fn wait(&self, timeout: Duration, shown: impl Fn(&str) -> bool) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        let mut parser = self.screen.parser.lock().unwrap();
        loop {
            if shown(&parser.screen().contents()) {
                return Some(Instant::now());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            parser = self.screen.changed.wait_timeout(parser, left).unwrap().0;
        }
    }

    fn contents(&self) -> String {
        self.screen.parser.lock().unwrap().screen().contents()
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `text` holds `what` not followed by another digit.
fn holds(text: &str, what: &str) -> bool {
    text.match_indices(what).any(|(i, _)| {
        !text[i + what.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

fn line_of(step: i64) -> String {
    format!(
        "{}\n",
        synth::record(step, synth::LEAN, 1000, 1.7e9 + step as f64).to_json_line()
    )
}

/// The ways appends are spaced.
#[derive(Clone, Copy)]
enum Pattern {
    /// After at least this long without writes.
    Quiet(Duration),
    /// One every this long (or as soon as the previous one is on screen).
    Every(Duration),
}

impl Pattern {
    fn name(self) -> String {
        match self {
            Pattern::Quiet(_) => "quiet".into(),
            Pattern::Every(d) => format!("{}ms", d.as_millis()),
        }
    }
}

/// Appends `n` records to `log` from step `*next`, spaced as `pattern` says,
/// and times each until `shown(screen, step)`.
fn measure(
    term: &Term,
    log: &Path,
    next: &mut i64,
    n: usize,
    pattern: Pattern,
    shown: &dyn Fn(&str, i64) -> bool,
) -> Vec<Duration> {
    let mut file = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    let mut out = Vec::with_capacity(n);
    let mut slot = Instant::now();
    for _ in 0..n {
        match pattern {
            Pattern::Quiet(d) => std::thread::sleep(d),
            Pattern::Every(d) => {
                if let Some(wait) = slot.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                slot = Instant::now() + d;
            }
        }
        let step = *next;
        *next += 1;
        let line = line_of(step);
        let t0 = Instant::now();
        file.write_all(line.as_bytes()).unwrap();
        let Some(t1) = term.wait(Duration::from_secs(30), |s| shown(s, step)) else {
            panic!("step {step} never shown; screen:\n{}", term.contents());
        };
        out.push(t1 - t0);
    }
    out
}

/// Median, p95 and max, in ms.
fn stats(mut d: Vec<Duration>) -> (f64, f64, f64) {
    d.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p = |q: f64| ms(d[((d.len() - 1) as f64 * q).round() as usize]);
    (p(0.5), p(0.95), ms(*d.last().unwrap()))
}

fn report(who: &str, records: i64, pattern: Pattern, d: Vec<Duration>) {
    let n = d.len();
    let (med, p95, max) = stats(d);
    println!(
        "{who:<9} {records} records  {:<6} n={n:<3} median {med:7.2} ms  p95 {p95:7.2} ms  max {max:7.2} ms",
        pattern.name()
    );
}

fn main() {
    let records: i64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("metrics.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
        for step in 0..records {
            f.write_all(line_of(step).as_bytes()).unwrap();
        }
    }
    let quiet = Pattern::Quiet(Duration::from_millis(1100));
    let patterns = [
        (quiet, 20),
        (Pattern::Every(Duration::from_millis(100)), 60),
        (Pattern::Every(Duration::from_millis(10)), 60),
    ];
    let mut next = records;

    // The floor: tail -f in the same kind of pty.
    {
        let tail = Term::spawn(
            OsStr::new("tail"),
            &[OsStr::new("-n0"), OsStr::new("-f"), log.as_os_str()],
        );
        std::thread::sleep(Duration::from_millis(500));
        let shown = |s: &str, step: i64| holds(s, &format!("{{\"step\":{step}"));
        for (pattern, n) in patterns {
            let d = measure(&tail, &log, &mut next, n.min(30), pattern, &shown);
            report("tail -f", records, pattern, d);
        }
    }

    // GROKSCOPE_BIN: another build to measure (an older one, side by side).
    let bin =
        std::env::var_os("GROKSCOPE_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_grokscope").into());
    let start = Instant::now();
    let gs = Term::spawn(&bin, &[OsStr::new("watch"), dir.path().as_os_str()]);
    let last = next - 1;
    let loaded = gs.wait(Duration::from_secs(300), |s| {
        holds(s, &format!("step {last}"))
    });
    assert!(loaded.is_some(), "never loaded; screen:\n{}", gs.contents());
    eprintln!("loaded {records} records in {:.2?}", start.elapsed());
    // Let the first analysis of the whole run finish.
    std::thread::sleep(Duration::from_secs(3));
    let shown = |s: &str, step: i64| holds(s, &format!("step {step}"));
    for (pattern, n) in patterns {
        let d = measure(&gs, &log, &mut next, n, pattern, &shown);
        report("grokscope", records, pattern, d);
    }
}
