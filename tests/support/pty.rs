//! The real `grokscope` binary in a pseudo-terminal: what it draws, read
//! through a VT100 parser, and keys sent to it. Shared by the end-to-end
//! dashboard tests.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

/// A running `grokscope` in a pseudo-terminal of `rows` × `cols`.
pub struct Pty {
    /// Everything the binary printed so far.
    pub out: Arc<Mutex<Vec<u8>>>,
    keys: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
    rows: u16,
    cols: u16,
}

impl Pty {
    /// Starts `grokscope ARGS...`.
    pub fn spawn<S: AsRef<OsStr>>(args: &[S], rows: u16, cols: u16) -> Pty {
        Pty::spawn_env(args, rows, cols, &[("TERM", "xterm-256color")])
    }

    /// Starts `grokscope ARGS...` with these environment variables set.
    pub fn spawn_env<S: AsRef<OsStr>>(
        args: &[S],
        rows: u16,
        cols: u16,
        env: &[(&str, &str)],
    ) -> Pty {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_grokscope"));
        for a in args {
            cmd.arg(a);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let out: Arc<Mutex<Vec<u8>>> = Arc::default();
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
        let keys = pty.master.take_writer().unwrap();
        Pty {
            out,
            keys,
            child,
            _master: pty.master,
            rows,
            cols,
        }
    }

    /// Everything printed so far, as text (escape codes included).
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// The screen as it looks now.
    pub fn screen(&self) -> String {
        let size = |n: u16| std::num::NonZero::new(n).expect("non-zero size");
        let mut parser = vt100::Parser::new(size(self.rows), size(self.cols), 0);
        parser.process(&self.out.lock().unwrap());
        parser.screen().contents()
    }

    /// Waits until the screen contains `what`; panics with the screen if
    /// it does not within `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{what:?} never appeared; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends keys (bytes as a terminal sends them).
    pub fn send(&mut self, keys: &[u8]) {
        self.keys.write_all(keys).unwrap();
        self.keys.flush().unwrap();
    }

    /// Waits for the binary to exit; kills it and panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last bytes.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() > deadline {
                self.child.kill().unwrap();
                panic!("grokscope did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Checks that the terminal was handed back: the alternate screen left
    /// after it was entered, mouse capture released.
    pub fn assert_restored(&self) {
        let bytes = self.out.lock().unwrap().clone();
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
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}
