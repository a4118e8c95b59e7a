//! Whether a run is live, finished or stale, and ages as shown.

use std::time::{Duration, SystemTime};

use crate::source::RunFeed;

/// A run whose log was written less than this long ago is live; older ones
/// are stale (the writer died or paused) unless they marked themselves
/// finished.
pub const LIVE_WINDOW: Duration = Duration::from_secs(20);

/// The state of a run as shown in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Written to within [`LIVE_WINDOW`].
    Live,
    /// Its last record carries the note `finished`.
    Finished,
    /// Not written to for longer than [`LIVE_WINDOW`].
    Stale,
}

impl RunState {
    /// Of a feed at time `now`.
    pub fn of(feed: &RunFeed, now: SystemTime) -> RunState {
        let last = feed.store.records().checked_sub(1);
        let finished = last.is_some_and(|r| {
            feed.store.notes().any(|(rec, text)| {
                rec == r && text.trim().eq_ignore_ascii_case(crate::run::FINISHED_NOTE)
            })
        });
        if finished {
            return RunState::Finished;
        }
        match feed
            .health
            .last_write
            .and_then(|t| now.duration_since(t).ok())
        {
            Some(age) if age >= LIVE_WINDOW => RunState::Stale,
            _ => RunState::Live,
        }
    }

    /// Word shown in the list.
    pub fn label(self) -> &'static str {
        match self {
            RunState::Live => "live",
            RunState::Finished => "done",
            RunState::Stale => "stale",
        }
    }
}

/// Age as shown: seconds in steps of 5 under a minute, then minutes, hours.
pub fn format_age(age: Duration) -> String {
    let s = age.as_secs();
    if s < 5 {
        "now".into()
    } else if s < 60 {
        format!("{}s ago", s / 5 * 5)
    } else if s < 3600 {
        format!("{}m ago", s / 60)
    } else if s < 86400 {
        format!("{}h ago", s / 3600)
    } else {
        format!("{}d ago", s / 86400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_well() {
        assert_eq!(format_age(Duration::from_secs(3)), "now");
        assert_eq!(format_age(Duration::from_secs(17)), "15s ago");
        assert_eq!(format_age(Duration::from_secs(125)), "2m ago");
    }
}
