//! The events of the highlighted run as something to read and navigate:
//! which one is selected, what `n` / `N` / Enter do, and how the charts
//! are moved to an event. The pane itself is drawn by `ui::events`.
//!
//! One event is *current* at any time: the one the user selected, else the
//! one the status line would report anyway (the most severe, latest event
//! on show). The status line, the pane and the chart labels all show the
//! current event, so what `n` jumps to is what the screen describes.
//!
//! Moving the charts to an event means, in `watch`, a view around its step
//! with the value cursor on it (kept there while the run grows, until the
//! view or the cursor is moved by hand); in `replay`, the clock at its
//! record.

use crate::analysis::{Event, EventKind};
use crate::source::RunFeed;
use crate::store::RunStore;

use super::app::App;
use super::plot::{time_offset, XMode, XView};

/// Width of the view, as a fraction of the run, that a jump to an event
/// zooms to when the charts show the whole run (narrower views are kept).
pub const JUMP_VIEW: f64 = 0.25;

/// What identifies an event across re-analyses of a growing run (its
/// index changes as earlier events appear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventKey {
    segment: usize,
    step: i64,
    kind: EventKind,
    metric: String,
}

impl EventKey {
    /// The key of `e`.
    pub fn of(e: &Event) -> EventKey {
        EventKey {
            segment: e.segment,
            step: e.step,
            kind: e.kind,
            metric: e.metric.clone(),
        }
    }

    /// The index of this event in `events`; if analysis re-dated it (a
    /// growing run), the same kind of event of the same metric nearest to
    /// its old step.
    pub fn find(&self, events: &[Event]) -> Option<usize> {
        let same = |e: &Event| e.kind == self.kind && e.metric == self.metric;
        events
            .iter()
            .position(|e| same(e) && e.step == self.step && e.segment == self.segment)
            .or_else(|| {
                events
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| same(e) && e.segment == self.segment)
                    .min_by_key(|(_, e)| e.step.abs_diff(self.step))
                    .map(|(i, _)| i)
            })
    }
}

/// A selected event of a run.
#[derive(Debug, Clone, PartialEq)]
struct Selection {
    run: usize,
    key: EventKey,
    /// Records of the run on show when it was selected: an event found
    /// in later records releases the selection (see
    /// [`App::release_passed_selection`]).
    upto: usize,
}

/// A `watch` view that was moved to an event: while the view and the
/// cursor are still the ones set, they follow the event as the run grows.
#[derive(Debug, Clone, PartialEq)]
struct Anchor {
    run: usize,
    key: EventKey,
    view: XView,
    cursor: Option<f64>,
}

/// The events pane and the selected event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventsPane {
    /// The pane is on screen.
    pub open: bool,
    /// The pane takes the keys (↑↓ j k, Enter) instead of the panels.
    pub focused: bool,
    /// The pane takes the whole body (to read long messages).
    pub maximised: bool,
    selected: Option<Selection>,
    anchor: Option<Anchor>,
}

impl EventsPane {
    /// The selected event of run `run`, as an index into `events` (`None`
    /// when the user selected none in this run, or it is gone).
    pub fn selected(&self, run: usize, events: &[Event]) -> Option<usize> {
        self.selected
            .as_ref()
            .filter(|s| s.run == run)
            .and_then(|s| s.key.find(events))
    }

    /// Selects `events[i]` of run `run`, whose first `upto` records are
    /// on show.
    pub fn select(&mut self, run: usize, events: &[Event], i: usize, upto: usize) {
        self.selected = events.get(i).map(|e| Selection {
            run,
            key: EventKey::of(e),
            upto,
        });
    }
}

/// The event the status line reports when none is selected: the most
/// severe of those before record `limit`, the latest of equals.
pub fn headline(events: &[Event], limit: usize) -> Option<usize> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.record < limit)
        .max_by_key(|(i, e)| (e.severity, e.step, *i))
        .map(|(i, _)| i)
}

/// x of `event` in `mode` (`None` in a time mode for a record without a
/// wall time), as the charts place it.
pub fn event_x(store: &RunStore, mode: XMode, event: &Event) -> Option<f64> {
    if mode.is_time() {
        let t = store.record_time(event.record)?;
        Some(t - time_offset(store, mode))
    } else {
        Some(mode.of_step(event.step))
    }
}

impl App {
    /// Records of run `run` on show, as a number (all: `usize::MAX`).
    fn shown_limit(&self, run: usize) -> usize {
        self.limit(run).unwrap_or(usize::MAX)
    }

    /// The current event of run `run` among `events`: the selected one,
    /// else [`headline`]. The pane and `n` / `N` / Enter start from it.
    pub fn current_event(&self, run: usize, events: &[Event]) -> Option<usize> {
        self.events
            .selected(run, events)
            .or_else(|| headline(events, self.shown_limit(run)))
    }

    /// The event the status line reports for run `run`: the selected one
    /// if it is on show, else [`headline`].
    pub fn status_event(&self, run: usize, events: &[Event]) -> Option<usize> {
        let limit = self.shown_limit(run);
        self.events
            .selected(run, events)
            .filter(|&i| events[i].record < limit)
            .or_else(|| headline(events, limit))
    }

    /// Records of run `run` on show, counted.
    fn records_on_show(&self, feeds: &[RunFeed], run: usize) -> usize {
        feeds
            .get(run)
            .map_or(0, |f| f.store.records().min(self.shown_limit(run)))
    }

    /// Selects `events[i]` of run `run`.
    fn select_event(&mut self, feeds: &[RunFeed], events: &[Event], run: usize, i: usize) {
        let upto = self.records_on_show(feeds, run);
        self.events.select(run, events, i, upto);
    }

    /// A selection is a place to read, not a lid on news: once the run
    /// shows an event found after it was made (new data in `watch`, the
    /// clock moving on in a replay), the status line goes back to the
    /// most severe, latest event — unless the pane has the focus, where
    /// the user is reading.
    pub(super) fn release_passed_selection(&mut self) {
        if self.events.open && self.events.focused {
            return;
        }
        let Some(sel) = &self.events.selected else {
            return;
        };
        let runs = self.runs.clone();
        let set = runs.read();
        let limit = self.records_on_show(&set.feeds, sel.run);
        if set
            .events(sel.run)
            .iter()
            .any(|e| e.record >= sel.upto && e.record < limit)
        {
            self.events.selected = None;
        }
    }

    /// Whether `event` of run `run` lies within the records on show.
    pub fn event_on_show(&self, run: usize, event: &Event) -> bool {
        event.record < self.shown_limit(run)
    }

    /// The events pane's own actions, `n` and `N`; returns whether the
    /// screen may look different.
    pub(super) fn update_events(&mut self, action: super::Action) -> bool {
        use super::Action;
        let run = self.highlighted;
        match action {
            Action::ToggleEvents => {
                let p = &mut self.events;
                if !p.open {
                    p.open = true;
                    p.focused = true;
                } else if p.focused {
                    p.open = false;
                    p.focused = false;
                    p.maximised = false;
                } else {
                    p.focused = true;
                }
                true
            }
            Action::MaximiseEvents => {
                let p = &mut self.events;
                p.maximised = !(p.open && p.maximised);
                p.open = true;
                p.focused = true;
                true
            }
            Action::MoveEvent(by) => {
                let runs = self.runs.clone();
                let set = runs.read();
                let events = set.events(run);
                let Some(last) = events.len().checked_sub(1) else {
                    return false;
                };
                let to = match self.current_event(run, events) {
                    Some(i) => i.saturating_add_signed(by).min(last),
                    None if by < 0 => last,
                    None => 0,
                };
                let before = self.events.selected(run, events);
                self.select_event(&set.feeds, events, run, to);
                self.events.focused = true;
                before != Some(to)
            }
            Action::SelectEvent(i) => {
                let runs = self.runs.clone();
                let set = runs.read();
                self.events.focused = true;
                if i < set.events(run).len() {
                    self.select_event(&set.feeds, set.events(run), run, i);
                }
                true
            }
            Action::JumpToEvent => {
                let runs = self.runs.clone();
                let set = runs.read();
                let events = set.events(run);
                match self.current_event(run, events) {
                    Some(i) => {
                        // Enter on a full-height pane: show the charts.
                        self.events.maximised = false;
                        let moved = self.show_event(&set.feeds, events, run, i, true);
                        self.select_event(&set.feeds, events, run, i);
                        moved
                    }
                    None => false,
                }
            }
            Action::NextEvent | Action::PrevEvent => {
                let forward = action == Action::NextEvent;
                if self.replay.is_some() {
                    return self.replay_step_event(forward);
                }
                let runs = self.runs.clone();
                let set = runs.read();
                let events = set.events(run);
                let Some(last) = events.len().checked_sub(1) else {
                    return false;
                };
                // From the current event, round the ends (as a search
                // does): the headline is often the last event.
                let to = match (self.current_event(run, events), forward) {
                    (Some(i), true) if i < last => i + 1,
                    (Some(i), false) if i > 0 => i - 1,
                    (_, true) => 0,
                    (_, false) => last,
                };
                self.show_event(&set.feeds, events, run, to, false);
                self.select_event(&set.feeds, events, run, to);
                true
            }
            _ => false,
        }
    }

    /// Moves the charts to `events[i]` of run `run`. A replay's clock goes
    /// to the event's record (and pauses when `hold`: Enter is for
    /// reading); `watch` zooms the view around it and puts the cursor on
    /// it. Returns whether anything moved.
    fn show_event(
        &mut self,
        feeds: &[RunFeed],
        events: &[Event],
        run: usize,
        i: usize,
        hold: bool,
    ) -> bool {
        if let Some(r) = &mut self.replay {
            let before = (r.clock.clone(), self.view, self.cursor);
            r.clock.seek_record(events[i].record);
            if hold {
                r.clock.set_playing(false);
            }
            self.follow_replay_edge();
            let r = self.replay.as_ref().expect("replaying");
            return before != (r.clock.clone(), self.view, self.cursor);
        }
        if !self.event_on_show(run, &events[i]) {
            // Frozen before the event: show it (and everything since).
            self.paused = None;
        }
        self.anchor_view(feeds, events, run, i)
    }

    /// In a replay the event on show is the newest record, at the right
    /// edge of the charts: a view panned away from the edge comes back to
    /// it, and a value cursor moves onto it.
    fn follow_replay_edge(&mut self) {
        if self.view.hi < 1.0 {
            let w = self.view.hi - self.view.lo;
            self.view = XView {
                lo: 1.0 - w,
                hi: 1.0,
            };
        }
        if self.cursor.is_some() {
            self.cursor = Some(1.0);
        }
    }

    /// `watch`: a view of [`JUMP_VIEW`] of the run (or the narrower view
    /// already set) around `events[i]`, the cursor on it.
    fn anchor_view(&mut self, feeds: &[RunFeed], events: &[Event], run: usize, i: usize) -> bool {
        let e = &events[i];
        let shown = self.shown_of(feeds.len());
        let x = feeds
            .get(run)
            .and_then(|f| event_x(&f.store, self.x_mode, e));
        let (Some(x), Some((d0, d1))) = (x, self.x_domain(feeds, &shown)) else {
            self.events.anchor = None;
            return false;
        };
        let before = (self.view, self.cursor);
        let f = if d1 > d0 {
            ((x - d0) / (d1 - d0)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        let width = self.view.hi - self.view.lo;
        let width = if width < 1.0 { width } else { JUMP_VIEW };
        self.view = XView::around(f, width);
        let (w0, w1) = self.view.window((d0, d1));
        self.cursor = Some(if w1 > w0 {
            ((x - w0) / (w1 - w0)).clamp(0.0, 1.0)
        } else {
            0.5
        });
        self.events.anchor = Some(Anchor {
            run,
            key: EventKey::of(e),
            view: self.view,
            cursor: self.cursor,
        });
        before != (self.view, self.cursor)
    }

    /// Keeps a `watch` view moved to an event on the event while the run
    /// grows, the runs on show or the x mode change; lets go once the
    /// user moved the view or the cursor.
    pub(super) fn follow_anchor(&mut self) {
        let Some(a) = self.events.anchor.clone() else {
            return;
        };
        if self.replay.is_some() || a.view != self.view || a.cursor != self.cursor {
            self.events.anchor = None;
            return;
        }
        let runs = self.runs.clone();
        let set = runs.read();
        let events = set.events(a.run);
        match a.key.find(events) {
            Some(i) => {
                self.anchor_view(&set.feeds, events, a.run, i);
            }
            None => self.events.anchor = None,
        }
    }

    /// `n` / `N` in a replay: to the next / previous event and select it.
    /// Events of one instant (records logged at the same time) are one
    /// stop of the clock: `n` first selects the others of that instant in
    /// turn, then moves on; `N` likewise backwards.
    fn replay_step_event(&mut self, forward: bool) -> bool {
        let runs = self.runs.clone();
        let set = runs.read();
        let events = set.events(0);
        let selected = self.current_event(0, events);
        let Some(r) = &mut self.replay else {
            return false;
        };
        let instant = |clock: &super::replay::ReplayClock, e: &Event| {
            let tl = clock.timeline();
            (e.record < tl.len()).then(|| tl.at(e.record))
        };
        // Within the instant on show, from the selected event.
        if let (Some(i), Some(cur)) = (selected, r.clock.current()) {
            let now = r.clock.timeline().at(cur);
            if instant(&r.clock, &events[i]) == Some(now) {
                let j = if forward {
                    i.checked_add(1)
                } else {
                    i.checked_sub(1)
                };
                if let Some(j) = j.filter(|&j| {
                    events
                        .get(j)
                        .is_some_and(|e| instant(&r.clock, e) == Some(now))
                }) {
                    let upto = r.clock.records();
                    self.events.select(0, events, j, upto);
                    return true;
                }
            }
        }
        let moved = if forward {
            r.clock.next_mark(&r.marks)
        } else {
            r.clock.prev_mark(&r.marks)
        };
        let Some(cur) = r.clock.current().filter(|_| moved) else {
            return false;
        };
        let now = r.clock.timeline().at(cur);
        let mut here = (0..events.len()).filter(|&j| instant(&r.clock, &events[j]) == Some(now));
        let j = if forward {
            here.next()
        } else {
            here.next_back()
        };
        if let Some(j) = j {
            let upto = r.clock.records();
            self.events.select(0, events, j, upto);
        }
        self.follow_replay_edge();
        true
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
