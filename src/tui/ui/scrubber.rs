//! The replay scrubber row(s): the replayed run's events placed on its
//! timeline, the position, and the play state.

use ratatui::layout::Rect;
use ratatui::Frame;

use super::Ctx;
use crate::tui::replay::{Pacing, Replay};
use crate::tui::widgets::{ScrubMark, Scrubber};

/// Draws the scrubber into `area`; returns its track (for mouse hits).
pub fn render(frame: &mut Frame<'_>, ctx: &Ctx<'_>, replay: &Replay, area: Rect) -> Rect {
    let clock = &replay.clock;
    let timeline = clock.timeline();
    let duration = timeline.duration();
    let events = ctx.runs.events(0);
    let at = |record: usize| {
        if duration > 0.0 && record < timeline.len() {
            timeline.at(record) / duration
        } else {
            1.0
        }
    };
    let marks: Vec<ScrubMark> = events
        .iter()
        .map(|e| ScrubMark {
            at: at(e.record),
            severity: e.severity,
        })
        .collect();
    let shown = clock.records();
    let passed = events.iter().filter(|e| e.record < shown).count();
    let next = events
        .iter()
        .filter(|e| e.record >= shown)
        .min_by_key(|e| e.record)
        .map(|e| format!("{} @{}", e.kind.short_label(), e.step));
    let feed = ctx.feeds.first();
    let widget = Scrubber {
        position: clock.shown_fraction(),
        marks: &marks,
        playing: clock.playing(),
        at_end: clock.at_end(),
        speed: clock.speed(),
        step: feed.and_then(|f| ctx.app.step_shown(f, 0)),
        last_step: feed.and_then(|f| f.store.last_step()),
        clock: match timeline.pacing() {
            Pacing::WallTime { .. } => Some((clock.position(), duration)),
            Pacing::Steady => None,
        },
        passed,
        next,
        theme: &ctx.app.theme,
    };
    let track = widget.track(area);
    frame.render_widget(widget, area);
    track
}
