//! The JSONL line parser on any bytes: every line gives a record or a
//! reason, never a panic, a hang or a stack overflow; wherever the fast
//! path accepts a line, the general deserialiser reads the same record; and
//! what was read goes through the store, the analysis and both forms of
//! `summary` without a panic, the JSON reading back and the text carrying
//! no terminal control characters.

#![no_main]

use std::path::PathBuf;

use grokscope::run::parse_line;
use grokscope::source::{RunFeed, RunKind, RunSource};
use grokscope::store::RunStore;
use grokscope::summary::{write_json, RunSummary};
use libfuzzer_sys::fuzz_target;

#[path = "common/line.rs"]
mod line;
use line::check_fast_path;

fuzz_target!(|data: &[u8]| {
    let mut store = RunStore::new();
    for line in data.split(|&b| b == b'\n') {
        check_fast_path(line);
        let mut scratch = Vec::new();
        if let Ok(record) = parse_line(line, &mut scratch) {
            store.push(&record);
        }
    }
    let source = RunSource {
        name: String::from_utf8_lossy(data.get(..16).unwrap_or(data)).into_owned(),
        path: PathBuf::from("fuzz.jsonl"),
        log: PathBuf::from("fuzz.jsonl"),
        kind: RunKind::Jsonl,
        meta: None,
        meta_error: None,
    };
    let mut feed = RunFeed::new(source);
    feed.store = store;
    let summary = RunSummary::of(&feed);
    let text = summary.to_text();
    assert!(
        !text
            .chars()
            .any(|c| c != '\n' && grokscope::text::is_unsafe(c)),
        "{text:?}"
    );
    let mut json = Vec::new();
    write_json(&mut json, &summary).unwrap();
    let back: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(back["run"].as_str(), Some(summary.run.as_str()));
});
