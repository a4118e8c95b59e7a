//! The dashboard's state and the only place it changes: [`App::update`].

use std::collections::BTreeSet;
use std::time::{Instant, SystemTime};

use super::events::EventsPane;
use super::filter::MetricFilter;
use super::live::RunSet;
use super::live::SharedRuns;
use super::panels::PanelId;
use super::plot::{run_domain, union_domain, RecordLimit, XMode, XView};
use super::replay::Replay;
use super::run_state::{age_text, RunState};
use super::smooth::{SmoothCache, WEIGHTS};
use super::theme::Theme;
use super::ui::MapColour;
use super::widgets::heatmap::HeatScale;
use crate::analysis::Event;

/// Everything the user can ask for, and the events of the outside world.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Leave the dashboard.
    Quit,
    /// Close whatever is open (help, filter, full screen), else quit.
    Back,
    /// Show or hide the key overlay.
    ToggleHelp,
    /// Scroll the key overlay to this row.
    ScrollHelp(u16),
    /// Focus the next panel.
    NextPanel,
    /// Focus the previous panel.
    PrevPanel,
    /// Focus this panel.
    Focus(PanelId),
    /// Focused panel full screen, or back.
    ToggleFullscreen,
    /// Pan the x window by this many window widths.
    Pan(f64),
    /// Zoom the x window by this factor (< 1 zooms in).
    Zoom(f64),
    /// Back to the whole x domain, following new data.
    ResetView,
    /// Log y axis on the focused panel, or not.
    ToggleLogY,
    /// Next x-axis mode.
    NextXMode,
    /// More smoothing.
    SmoothMore,
    /// Less smoothing.
    SmoothLess,
    /// Move the highlight in the runs list.
    MoveRun(isize),
    /// Highlight run `i`.
    HighlightRun(usize),
    /// Select or unselect the highlighted run for overlay.
    ToggleOverlay,
    /// Start typing a metric filter.
    FilterStart,
    /// A character typed into the filter.
    FilterChar(char),
    /// Delete the last character of the filter.
    FilterBackspace,
    /// Apply the typed filter (empty clears it).
    FilterApply,
    /// Stop typing and keep the previous filter.
    FilterCancel,
    /// Freeze the display (data keeps arriving), or thaw it.
    TogglePause,
    /// Linear regions: totals or per layer.
    ToggleBreakdown,
    /// Sensitivity heatmap: next layer.
    NextLayer,
    /// Linear regions: LC curves or the region map of the slice.
    ToggleRegionMap,
    /// Region map: colour by region or by predicted class.
    ToggleMapColour,
    /// Show or hide the value cursor.
    ToggleCursor,
    /// Move the cursor by this fraction of the window.
    MoveCursor(f64),
    /// The ingest thread read new data.
    DataChanged,
    /// The clock moved on (ages and live/stale states).
    Tick(SystemTime),
    /// The terminal changed size.
    Resize,
    /// Replay: play or pause (at the end: play again from the start).
    PlayPause,
    /// Replay: the next speed up.
    Faster,
    /// Replay: the next speed down.
    Slower,
    /// Replay: move by this fraction of the run (negative: back).
    Seek(f64),
    /// Replay: move to this fraction of the run (a click on the scrubber).
    SeekTo(f64),
    /// Replay: to the first record.
    SeekStart,
    /// Replay: to the last record.
    SeekEnd,
    /// Select the next event and move the charts (a replay: the clock) to it.
    NextEvent,
    /// Select the previous event and move the charts (a replay: the clock) to it.
    PrevEvent,
    /// Events pane: open (and focus), focus, or close.
    ToggleEvents,
    /// Events pane: full height, or back.
    MaximiseEvents,
    /// Events pane: move the selection by this many events.
    MoveEvent(isize),
    /// Events pane: select event `i` of the highlighted run (a click).
    SelectEvent(usize),
    /// Move the charts (a replay: the clock, paused) to the current event.
    JumpToEvent,
    /// Replay: real time passed while playing.
    ReplayTick(Instant),
    /// Runs list: full list or one-line selector (default: by width).
    ToggleRunsList,
    /// The focused panel's next (+1) or previous (-1) page of charts.
    Page(isize),
    /// Heatmap colour scale: linear, log, per neuron.
    NextHeatScale,
}

/// All UI state; rendering reads it and nothing else.
#[derive(Debug)]
pub struct App {
    /// The runs (written by the ingest thread).
    pub runs: SharedRuns,
    /// Colours.
    pub theme: Theme,
    /// Focused panel.
    pub focus: PanelId,
    /// Focused panel shown full screen.
    pub fullscreen: bool,
    /// Key overlay shown.
    pub help: bool,
    /// First row of the key overlay on show (scrolled).
    pub help_scroll: u16,
    /// Highlighted run in the list.
    pub highlighted: usize,
    /// Runs selected for overlay (empty: the highlighted run alone).
    pub overlay: BTreeSet<usize>,
    /// Visible part of the x domain.
    pub view: XView,
    /// x-axis mode.
    pub x_mode: XMode,
    /// Log y per panel (by [`PanelId::index`]).
    pub log_y: [bool; 6],
    /// Smoothed copies of the series (weight 0: off).
    pub smooth: SmoothCache,
    /// Value cursor, as a fraction of the x window.
    pub cursor: Option<f64>,
    /// Applied metric filter.
    pub filter: Option<MetricFilter>,
    /// Filter being typed.
    pub filter_input: Option<String>,
    /// Records per run on show while paused.
    pub paused: Option<Vec<usize>>,
    /// Linear regions per layer.
    pub per_layer: bool,
    /// Sensitivity layer shown (index into the `sens/` vectors).
    pub layer: usize,
    /// The linear-regions panel shows the region map instead of the curves.
    pub region_map: bool,
    /// What the region map is coloured by.
    pub map_colour: MapColour,
    /// The time the screen is drawn for.
    pub now: SystemTime,
    /// The user asked to leave.
    pub quit: bool,
    /// Replaying a finished run (run 0) instead of watching.
    pub replay: Option<Replay>,
    /// The runs list is a one-line selector when narrower than
    /// [`crate::tui::ui::COMPACT_BELOW`] columns; `r` flips that.
    pub runs_flip: bool,
    /// Page of charts shown per panel (by [`PanelId::index`]; wraps).
    pub pages: [isize; 6],
    /// Colour scale of the heatmap.
    pub heat_scale: HeatScale,
    /// The events pane and the selected event.
    pub events: EventsPane,
}

impl App {
    /// A dashboard over `runs`.
    pub fn new(runs: SharedRuns, theme: Theme, now: SystemTime) -> App {
        let mut log_y = [false; 6];
        log_y[PanelId::Loss.index()] = true;
        App {
            runs,
            theme,
            focus: PanelId::Loss,
            fullscreen: false,
            help: false,
            help_scroll: 0,
            highlighted: 0,
            overlay: BTreeSet::new(),
            view: XView::default(),
            x_mode: XMode::Step,
            log_y,
            smooth: SmoothCache::default(),
            cursor: None,
            filter: None,
            filter_input: None,
            paused: None,
            per_layer: false,
            layer: 0,
            region_map: false,
            map_colour: MapColour::Region,
            now,
            quit: false,
            replay: None,
            runs_flip: false,
            pages: [0; 6],
            heat_scale: HeatScale::default(),
            events: EventsPane::default(),
        }
    }

    /// Applies `action`; returns whether the screen may look different.
    pub fn update(&mut self, action: Action) -> bool {
        let n_runs = self.runs.read().feeds.len();
        match action {
            Action::Quit => self.quit = true,
            Action::Back => {
                if self.help {
                    self.help = false;
                    self.help_scroll = 0;
                } else if self.filter_input.is_some() {
                    self.filter_input = None;
                } else if self.events.maximised {
                    self.events.maximised = false;
                } else if self.events.open {
                    self.events.open = false;
                    self.events.focused = false;
                } else if self.fullscreen {
                    self.fullscreen = false;
                } else {
                    self.quit = true;
                }
            }
            Action::ToggleHelp => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::ScrollHelp(to) => {
                if to == self.help_scroll {
                    return false;
                }
                self.help_scroll = to;
            }
            Action::NextPanel => {
                self.focus = PanelId::ALL[(self.focus.index() + 1) % 6];
                self.events.focused = false;
            }
            Action::PrevPanel => {
                self.focus = PanelId::ALL[(self.focus.index() + 5) % 6];
                self.events.focused = false;
            }
            Action::Focus(p) => {
                self.focus = p;
                self.events.focused = false;
            }
            Action::ToggleFullscreen => self.fullscreen = !self.fullscreen,
            Action::Pan(by) => self.view = self.view.pan(by),
            Action::Zoom(f) => self.view = self.view.zoom(f),
            Action::ResetView => {
                self.view = XView::default();
                self.cursor = None;
            }
            Action::ToggleLogY => {
                let i = self.focus.index();
                self.log_y[i] = !self.log_y[i];
            }
            Action::NextXMode => {
                self.x_mode = self.x_mode.next();
                self.follow_anchor();
            }
            Action::SmoothMore | Action::SmoothLess => {
                let k = WEIGHTS
                    .iter()
                    .position(|&w| w >= self.smooth.weight())
                    .unwrap_or(0);
                let k = if action == Action::SmoothMore {
                    (k + 1).min(WEIGHTS.len() - 1)
                } else {
                    k.saturating_sub(1)
                };
                let runs = self.runs.clone();
                self.smooth.set_weight(WEIGHTS[k], &runs.read().feeds);
            }
            Action::MoveRun(d) => {
                if n_runs > 0 {
                    let i = self.highlighted as isize + d;
                    self.highlighted = i.clamp(0, n_runs as isize - 1) as usize;
                }
            }
            Action::HighlightRun(i) => {
                if i < n_runs {
                    self.highlighted = i;
                    self.focus = PanelId::Runs;
                    self.events.focused = false;
                }
            }
            Action::ToggleOverlay => {
                if self.highlighted < n_runs && !self.overlay.remove(&self.highlighted) {
                    self.overlay.insert(self.highlighted);
                }
                self.follow_anchor();
            }
            // A new filter starts empty (the applied one shows on the
            // status line; Esc keeps it).
            Action::FilterStart => self.filter_input = Some(String::new()),
            Action::FilterChar(c) => {
                if let Some(s) = &mut self.filter_input {
                    s.push(c);
                }
            }
            Action::FilterBackspace => {
                if let Some(s) = &mut self.filter_input {
                    s.pop();
                }
            }
            Action::FilterApply => {
                if let Some(s) = self.filter_input.take() {
                    self.filter = (!s.is_empty()).then(|| MetricFilter::new(&s));
                }
            }
            Action::FilterCancel => self.filter_input = None,
            Action::TogglePause => {
                self.paused = match self.paused {
                    Some(_) => None,
                    None => Some(
                        self.runs
                            .read()
                            .feeds
                            .iter()
                            .map(|f| f.store.records())
                            .collect(),
                    ),
                };
            }
            Action::ToggleBreakdown => self.per_layer = !self.per_layer,
            Action::NextLayer => self.layer = self.layer.wrapping_add(1),
            Action::ToggleRegionMap => self.region_map = !self.region_map,
            Action::ToggleMapColour => self.map_colour = self.map_colour.toggle(),
            Action::ToggleCursor => {
                self.cursor = match self.cursor {
                    Some(_) => None,
                    None => Some(0.5),
                }
            }
            Action::MoveCursor(d) => {
                if let Some(c) = &mut self.cursor {
                    *c = (*c + d).clamp(0.0, 1.0);
                }
            }
            Action::DataChanged => {
                if n_runs > 0 && self.highlighted >= n_runs {
                    self.highlighted = n_runs - 1;
                }
                let runs = self.runs.clone();
                self.smooth.refresh(&runs.read().feeds);
                self.follow_anchor();
                self.release_passed_selection();
                // While paused the charts do not move; the status line
                // counts what arrived, so it still redraws.
            }
            Action::Tick(now) => {
                let before = self.clock_text();
                self.now = now;
                return self.clock_text() != before;
            }
            Action::Resize => {}
            Action::ToggleRunsList => self.runs_flip = !self.runs_flip,
            Action::Page(d) => self.pages[self.focus.index()] += d,
            Action::NextHeatScale => self.heat_scale = self.heat_scale.next(),
            Action::PlayPause
            | Action::Faster
            | Action::Slower
            | Action::Seek(_)
            | Action::SeekTo(_)
            | Action::SeekStart
            | Action::SeekEnd
            | Action::ReplayTick(_) => {
                let changed = self.update_replay(action);
                self.release_passed_selection();
                return changed;
            }
            Action::NextEvent
            | Action::PrevEvent
            | Action::ToggleEvents
            | Action::MaximiseEvents
            | Action::MoveEvent(_)
            | Action::SelectEvent(_)
            | Action::JumpToEvent => return self.update_events(action),
        }
        true
    }

    /// The replay actions; nothing happens when not replaying.
    fn update_replay(&mut self, action: Action) -> bool {
        let Some(r) = &mut self.replay else {
            return false;
        };
        let before = r.clock.records();
        match action {
            Action::PlayPause => r.toggle(),
            Action::Faster => r.clock.faster(),
            Action::Slower => r.clock.slower(),
            Action::Seek(by) => r.clock.seek_by(by),
            Action::SeekTo(f) => r.clock.seek_fraction(f),
            Action::SeekStart => r.clock.home(),
            Action::SeekEnd => r.clock.end(),
            Action::ReplayTick(now) => return r.tick(now),
            _ => {}
        }
        // Play state and speed are on screen even when no record changed;
        // a seek within one record's span changes nothing visible.
        !matches!(
            action,
            Action::Seek(_) | Action::SeekTo(_) | Action::SeekStart | Action::SeekEnd
        ) || r.clock.records() != before
    }

    /// Whether a replay is playing (the UI loop then ticks it).
    pub fn playing(&self) -> bool {
        self.replay.as_ref().is_some_and(|r| r.clock.playing())
    }

    /// Runs on show: the overlay selection, else the highlighted run.
    pub fn shown_runs(&self) -> Vec<usize> {
        self.shown_of(self.runs.read().feeds.len())
    }

    /// [`App::shown_runs`] for a caller that already holds the lock (std's
    /// `RwLock` may deadlock on a second read while a writer waits).
    pub fn shown_of(&self, n: usize) -> Vec<usize> {
        if self.overlay.is_empty() {
            (self.highlighted < n)
                .then_some(self.highlighted)
                .into_iter()
                .collect()
        } else {
            self.overlay.iter().copied().filter(|&i| i < n).collect()
        }
    }

    /// Records of run `i` on show (`None`: all of them): those up to the
    /// replay position, or those that had arrived when the display was
    /// paused.
    pub fn limit(&self, run: usize) -> RecordLimit {
        if let Some(r) = &self.replay {
            return Some(if run == 0 { r.clock.records() } else { 0 });
        }
        self.paused
            .as_ref()
            .map(|p| p.get(run).copied().unwrap_or(0))
    }

    /// The x domain of runs `shown` in the current mode, up to the records
    /// on show (what the charts' view is a part of).
    pub fn x_domain(
        &self,
        feeds: &[crate::source::RunFeed],
        shown: &[usize],
    ) -> Option<(f64, f64)> {
        union_domain(
            shown
                .iter()
                .filter_map(|&r| run_domain(&feeds[r].store, self.x_mode, self.limit(r))),
        )
    }

    /// The events of run `run` that lie within the records on show.
    pub fn events_shown<'a>(&self, runs: &'a RunSet, run: usize) -> Vec<&'a Event> {
        let limit = self.limit(run).unwrap_or(usize::MAX);
        runs.events(run)
            .iter()
            .filter(|e| e.record < limit)
            .collect()
    }

    /// The step of the newest record of run `run` on show.
    pub fn step_shown(&self, feed: &crate::source::RunFeed, run: usize) -> Option<i64> {
        match self.limit(run) {
            None => feed.store.last_step(),
            Some(n) => n
                .min(feed.store.records())
                .checked_sub(1)
                .map(|r| feed.store.record_step(r)),
        }
    }

    /// Whether a metric passes the filter.
    pub fn passes(&self, name: &str) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(name))
    }

    /// Everything on screen that depends on the clock: a tick redraws only
    /// when this changes.
    pub fn clock_text(&self) -> String {
        if self.replay.is_some() {
            // A replay shows no ages and no live/stale states.
            return String::new();
        }
        let runs = self.runs.read();
        let mut out = String::new();
        for (i, f) in runs.feeds.iter().enumerate() {
            let activity = runs.activity(i);
            out.push_str(RunState::of(f, &activity, self.now).label());
            if i == self.highlighted {
                out.push_str(&age_text(f, &activity, self.now).unwrap_or_default());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{RunFeed, RunSource};
    use std::time::Duration;

    fn app_with_runs(n: usize) -> App {
        let feeds = (0..n)
            .map(|i| {
                RunFeed::new(RunSource {
                    name: format!("run{i}"),
                    path: format!("/nowhere/run{i}").into(),
                    log: format!("/nowhere/run{i}/metrics.jsonl").into(),
                    kind: crate::source::RunKind::Jsonl,
                    meta: None,
                    meta_error: None,
                })
            })
            .collect();
        App::new(
            SharedRuns::from_feeds(feeds),
            Theme::default_theme(),
            SystemTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn tab_cycles_panels_and_back_closes_before_quitting() {
        let mut app = app_with_runs(1);
        assert_eq!(app.focus, PanelId::Loss);
        app.update(Action::NextPanel);
        assert_eq!(app.focus, PanelId::Collapse);
        for _ in 0..6 {
            app.update(Action::PrevPanel);
        }
        assert_eq!(app.focus, PanelId::Collapse);
        app.update(Action::ToggleFullscreen);
        app.update(Action::ToggleHelp);
        app.update(Action::Back);
        assert!(!app.help && app.fullscreen && !app.quit);
        app.update(Action::Back);
        assert!(!app.fullscreen && !app.quit);
        app.update(Action::Back);
        assert!(app.quit);
    }

    #[test]
    fn runs_highlight_overlay_and_pause() {
        let mut app = app_with_runs(3);
        app.update(Action::MoveRun(5));
        assert_eq!(app.highlighted, 2);
        app.update(Action::ToggleOverlay);
        app.update(Action::MoveRun(-2));
        app.update(Action::ToggleOverlay);
        assert_eq!(app.shown_runs(), vec![0, 2]);
        app.update(Action::ToggleOverlay);
        assert_eq!(app.shown_runs(), vec![2]);
        app.update(Action::TogglePause);
        assert_eq!(app.limit(1), Some(0));
        app.update(Action::TogglePause);
        assert_eq!(app.limit(1), None);
    }

    #[test]
    fn filter_typing_applies_on_enter_and_cancels_on_escape() {
        let mut app = app_with_runs(1);
        app.update(Action::FilterStart);
        for c in "^sc/".chars() {
            app.update(Action::FilterChar(c));
        }
        app.update(Action::FilterApply);
        assert!(app.passes("sc/margin") && !app.passes("lc/sc/x"));
        app.update(Action::FilterStart);
        assert_eq!(app.filter_input.as_deref(), Some(""), "starts empty");
        app.update(Action::FilterChar('('));
        app.update(Action::Back);
        assert_eq!(app.filter.as_ref().unwrap().text, "^sc/");
        let bad = MetricFilter::new("a(b");
        assert!(
            bad.matches("xa(bc"),
            "invalid regex falls back to substring"
        );
    }

    #[test]
    fn view_smoothing_axes_and_cursor() {
        let mut app = app_with_runs(1);
        app.update(Action::Zoom(0.5));
        app.update(Action::Pan(-1.0));
        assert_eq!(app.view, XView { lo: 0.0, hi: 0.5 });
        app.update(Action::ResetView);
        assert_eq!(app.view, XView::default());
        app.update(Action::SmoothMore);
        app.update(Action::SmoothMore);
        assert_eq!(app.smooth.weight(), 0.8);
        app.update(Action::SmoothLess);
        assert_eq!(app.smooth.weight(), 0.5);
        assert!(app.log_y[PanelId::Loss.index()]);
        app.update(Action::ToggleLogY);
        assert!(!app.log_y[PanelId::Loss.index()]);
        app.update(Action::NextXMode);
        assert_eq!(app.x_mode, XMode::LogStep);
        app.update(Action::ToggleCursor);
        app.update(Action::MoveCursor(0.7));
        assert_eq!(app.cursor, Some(1.0));
    }

    #[test]
    fn ticks_redraw_only_when_visible_text_changes() {
        let mut app = app_with_runs(1);
        app.runs.write().feeds[0].health.last_write = Some(SystemTime::UNIX_EPOCH);
        let t = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert!(app.update(Action::Tick(t(6))));
        assert!(!app.update(Action::Tick(t(7))));
        assert!(app.update(Action::Tick(t(25))));
        let runs = app.runs.read();
        assert_eq!(
            RunState::of(&runs.feeds[0], &runs.activity(0), app.now),
            RunState::Idle
        );
    }

    #[test]
    fn replay_actions_move_the_record_limit_and_only_in_a_replay() {
        use crate::tui::replay::{Replay, ReplayClock, Timeline};
        use std::time::Instant;
        let mut app = app_with_runs(1);
        for a in [Action::PlayPause, Action::SeekEnd, Action::NextEvent] {
            assert!(!app.update(a), "nothing to do outside a replay");
        }
        assert!(!app.playing());
        assert_eq!(app.limit(0), None);
        // Ten records a second apart (the store itself is empty: the limit
        // is the clock's alone).
        let times = (0..10).map(|i| Some(f64::from(i)));
        let clock = ReplayClock::new(Timeline::from_times(times), 2.0);
        app.replay = Some(Replay::new(clock, &[]));
        app.runs.write().feeds[0].health.last_write = Some(SystemTime::UNIX_EPOCH);
        assert_eq!(app.limit(0), Some(1));
        assert!(app.update(Action::SeekEnd));
        assert_eq!(app.limit(0), Some(10));
        assert!(!app.update(Action::Seek(0.01)), "already at the end");
        assert!(app.update(Action::SeekStart));
        assert!(app.update(Action::PlayPause));
        let t0 = Instant::now();
        app.update(Action::ReplayTick(t0));
        assert!(app.update(Action::ReplayTick(t0 + Duration::from_secs(2))));
        assert_eq!(app.limit(0), Some(5), "2 s at ×2");
        assert!(app.update(Action::Faster));
        assert!(!app.update(Action::NextEvent), "no events");
        assert!(
            !app.update(Action::Tick(
                SystemTime::UNIX_EPOCH + Duration::from_secs(60)
            )),
            "the wall clock shows nothing in a replay"
        );
    }
}
