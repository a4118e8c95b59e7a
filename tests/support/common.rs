//! What several integration tests share: the real binary and the fixtures.

#![allow(dead_code)]

use std::path::PathBuf;

use assert_cmd::Command;

/// The `grokscope` binary of this build.
pub fn grokscope() -> Command {
    Command::cargo_bin("grokscope").unwrap()
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A run fed from JSON lines, as if read from `/fixtures/<name>`.
pub fn run_feed(name: &str, lines: impl IntoIterator<Item = String>) -> grokscope::source::RunFeed {
    use grokscope::source::{RunFeed, RunKind, RunSource};
    let mut feed = RunFeed::new(RunSource {
        name: name.into(),
        path: format!("/fixtures/{name}").into(),
        log: format!("/fixtures/{name}/metrics.jsonl").into(),
        kind: RunKind::Jsonl,
        meta: None,
        meta_error: None,
    });
    let mut scratch = Vec::new();
    for line in lines {
        let record = grokscope::run::parse_line(line.as_bytes(), &mut scratch).unwrap();
        feed.store.push(&record);
        feed.health.records += 1;
    }
    feed
}
