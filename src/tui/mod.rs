//! The dashboard: `grokscope watch` (live) and `grokscope replay` (a
//! logged run under a virtual clock, [`replay`]).
//!
//! Threads: the watcher (file events), the ingest thread ([`live`]: reads
//! new bytes into the stores), the input thread (terminal events), and the
//! UI thread, which blocks on one channel of [`Event`]s, turns them into
//! [`Action`]s for [`App::update`], and redraws through the pure
//! [`ui::render`] only when something changed, at most [`MAX_FPS`] times a
//! second. The UI thread does no file I/O.

pub mod app;
pub mod events;
pub mod filter;
pub mod keymap;
pub mod live;
pub mod panels;
pub mod plot;
pub mod replay;
pub mod run_state;
pub mod smooth;
pub mod theme;
pub mod ticks;
pub mod ui;
pub mod widgets;

use std::io::stdout;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use ratatui::backend::Backend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::{DefaultTerminal, Terminal};

pub use app::{Action, App};
pub use keymap::Hits;
pub use live::{RunSet, SharedRuns};
pub use theme::Theme;

use crate::watch::WatchMode;

/// Most frames drawn per second.
pub const MAX_FPS: f64 = 30.0;
/// How often the clock is checked (ages, live/stale); it redraws only
/// when the text on screen changes.
pub const TICK: Duration = Duration::from_secs(1);

/// What `grokscope watch` was asked for.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// A run folder, a `.jsonl` file or a folder of runs.
    pub path: PathBuf,
    /// Theme name or path to a `.toml` file.
    pub theme: Option<String>,
    /// Poll period in milliseconds instead of file notifications.
    pub poll: Option<u64>,
}

/// What wakes the UI thread.
#[derive(Debug)]
pub enum Event {
    /// A terminal event (key, mouse, resize).
    Input(ratatui::crossterm::event::Event),
    /// The ingest thread read new data.
    Data,
}

/// Runs the dashboard until the user quits. Theme and path problems are
/// reported before the terminal changes mode.
pub fn run_watch(opts: &WatchOptions) -> anyhow::Result<()> {
    let theme = Theme::load(opts.theme.as_deref())?;
    let mode = match opts.poll {
        Some(ms) => WatchMode::Poll(Duration::from_millis(ms.max(1))),
        None => WatchMode::Notify,
    };
    let (tx, rx) = mpsc::channel();
    let runs = SharedRuns::default();
    let pending = Arc::new(AtomicBool::new(false));
    let notify = {
        let (tx, pending) = (tx.clone(), pending.clone());
        move || {
            // One queued "data changed" is enough: the UI reads the latest.
            if !pending.swap(true, Ordering::AcqRel) {
                let _ = tx.send(Event::Data);
            }
        }
    };
    // The error names the path.
    let _ingest =
        live::spawn_ingest(&opts.path, mode, runs.clone(), notify).context("cannot watch")?;
    let app = App::new(runs, theme, SystemTime::now());
    check_terminal()?;
    let mut guard = TerminalGuard::enter().context("cannot set up the terminal")?;
    spawn_input(tx);
    run_loop(&mut guard.terminal, app, &rx, &pending)?;
    Ok(())
}

/// The UI loop: blocks on `rx`, updates, redraws when needed (frame-capped).
pub fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    mut app: App,
    rx: &Receiver<Event>,
    pending: &AtomicBool,
) -> anyhow::Result<App>
where
    B::Error: Send + Sync + 'static,
{
    let frame = Duration::from_secs_f64(1.0 / MAX_FPS);
    let mut hits = Hits::default();
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut next_tick = Instant::now() + TICK;
    // While a replay plays, its clock is ticked once per frame; paused,
    // nothing wakes the loop but input and the clock tick.
    let mut next_play: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if dirty && last_draw.is_none_or(|t| now >= t + frame) {
            terminal.draw(|f| hits = ui::render(f, &app))?;
            last_draw = Some(now);
            dirty = false;
        }
        next_play = if app.playing() {
            Some(next_play.unwrap_or(now))
        } else {
            None
        };
        let mut deadline = match (dirty, last_draw) {
            (true, Some(t)) => (t + frame).min(next_tick),
            _ => next_tick,
        };
        if let Some(t) = next_play {
            deadline = deadline.min(t);
        }
        let handle = |event: Event, app: &mut App| -> bool {
            let action = match event {
                Event::Data => {
                    pending.store(false, Ordering::Release);
                    Some(Action::DataChanged)
                }
                Event::Input(e) => keymap::action_for(&e, app, &hits),
            };
            action.is_some_and(|a| app.update(a))
        };
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(event) => {
                dirty |= handle(event, &mut app);
                while !app.quit {
                    match rx.try_recv() {
                        Ok(event) => dirty |= handle(event, &mut app),
                        Err(_) => break,
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(app),
        }
        if app.quit {
            return Ok(app);
        }
        if Instant::now() >= next_tick {
            next_tick = Instant::now() + TICK;
            dirty |= app.update(Action::Tick(SystemTime::now()));
        }
        if next_play.is_some_and(|t| Instant::now() >= t) {
            let now = Instant::now();
            next_play = Some(now + frame);
            dirty |= app.update(Action::ReplayTick(now));
        }
    }
}

/// Replays a logged run until the user quits. The run is read and
/// analysed, and the options checked, before the terminal changes mode.
pub fn run_replay(opts: &replay::ReplayOptions) -> anyhow::Result<()> {
    let theme = Theme::load(opts.theme.as_deref())?;
    let app = replay::prepare(opts, theme, SystemTime::now())?;
    check_terminal()?;
    let (tx, rx) = mpsc::channel();
    let mut guard = TerminalGuard::enter().context("cannot set up the terminal")?;
    spawn_input(tx);
    run_loop(&mut guard.terminal, app, &rx, &AtomicBool::new(false))?;
    Ok(())
}

/// Refuses to start a dashboard where it cannot work: when standard output
/// is not a terminal (a file or a pipe would receive its escape codes as
/// text), or when `TERM=dumb` says the terminal cannot move the cursor.
pub fn check_terminal() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if !stdout().is_terminal() {
        anyhow::bail!(
            "standard output is not a terminal: the dashboard would write its screen codes into the file or pipe; for text use `grokscope summary`, for data `grokscope export --csv`"
        );
    }
    if std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
        anyhow::bail!(
            "TERM=dumb: this terminal cannot move the cursor, which the dashboard needs; set TERM to your terminal's type (e.g. xterm-256color), or use `grokscope summary`"
        );
    }
    Ok(())
}

fn spawn_input(tx: Sender<Event>) {
    let _ = std::thread::Builder::new()
        .name("grokscope-input".into())
        .spawn(move || {
            while let Ok(e) = ratatui::crossterm::event::read() {
                if tx.send(Event::Input(e)).is_err() {
                    break;
                }
            }
        });
}

/// The one owner of the terminal: raw mode, alternate screen and mouse
/// capture on creation; all undone on drop and on panic.
struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    fn enter() -> std::io::Result<TerminalGuard> {
        let terminal = match ratatui::try_init() {
            Ok(t) => t,
            Err(e) => {
                ratatui::restore();
                return Err(e);
            }
        };
        // ratatui's hook restores raw mode and the screen; undo the mouse
        // capture and show the cursor too.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = execute!(stdout(), DisableMouseCapture, Show);
            hook(info);
        }));
        let guard = TerminalGuard { terminal };
        execute!(stdout(), EnableMouseCapture)?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(stdout(), DisableMouseCapture, Show);
        ratatui::restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{Event as Term, KeyCode, KeyEvent, KeyModifiers};

    fn key(c: char) -> Event {
        Event::Input(Term::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }

    #[test]
    fn the_loop_applies_queued_events_and_stops_on_q() {
        let (tx, rx) = mpsc::channel();
        let pending = AtomicBool::new(true);
        for e in [key('4'), Event::Data, key('y'), key('q'), key('5')] {
            tx.send(e).unwrap();
        }
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let app = App::new(
            SharedRuns::default(),
            Theme::default_theme(),
            SystemTime::now(),
        );
        let app = run_loop(&mut terminal, app, &rx, &pending).unwrap();
        assert!(app.quit);
        assert_eq!(
            app.focus,
            panels::PanelId::Regions,
            "keys after q are not applied"
        );
        assert!(app.log_y[panels::PanelId::Regions.index()]);
        assert!(!pending.load(Ordering::Acquire), "the data flag is cleared");
        assert!(terminal.backend().to_string().contains("no runs yet"));
    }

    #[test]
    fn the_loop_ticks_a_playing_replay_to_its_end() {
        use replay::{Replay, ReplayClock, Timeline};
        let (tx, rx) = mpsc::channel();
        let mut app = App::new(
            SharedRuns::default(),
            Theme::default_theme(),
            SystemTime::now(),
        );
        // Three records 50 ms apart: 0.1 s at ×1.
        let times = (0..3).map(|i| Some(f64::from(i) * 0.05));
        let mut clock = ReplayClock::new(Timeline::from_times(times), 1.0);
        clock.set_playing(true);
        app.replay = Some(Replay::new(clock, &[]));
        let quit = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(600));
            tx.send(key('q')).unwrap();
        });
        let mut terminal = Terminal::new(TestBackend::new(60, 20)).unwrap();
        let app = run_loop(&mut terminal, app, &rx, &AtomicBool::new(false)).unwrap();
        quit.join().unwrap();
        let clock = &app.replay.as_ref().unwrap().clock;
        assert!(clock.at_end() && !clock.playing(), "{clock:?}");
        assert!(terminal.backend().to_string().contains("■"));
    }

    #[test]
    fn the_loop_ends_when_every_producer_is_gone() {
        let (tx, rx) = mpsc::channel::<Event>();
        drop(tx);
        let mut terminal = Terminal::new(TestBackend::new(10, 3)).unwrap();
        let app = App::new(
            SharedRuns::default(),
            Theme::default_theme(),
            SystemTime::now(),
        );
        let app = run_loop(&mut terminal, app, &rx, &AtomicBool::new(false)).unwrap();
        assert!(!app.quit);
    }
}
