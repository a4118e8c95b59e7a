//! The JSONL line parser alone, on one line of any bytes: a record or a
//! reason, never a panic, a hang or a stack overflow, and wherever the
//! fast path accepts the line the general deserialiser reads the same
//! record. Much faster per input than `jsonl_line`, which also runs the
//! store, the analysis and `summary` on what was read.

#![no_main]

use grokscope::run::parse_line;
use libfuzzer_sys::fuzz_target;

#[path = "common/line.rs"]
mod line;

fuzz_target!(|data: &[u8]| {
    line::check_fast_path(data);
    let mut scratch = Vec::new();
    if let Ok(record) = parse_line(data, &mut scratch) {
        // What was read becomes an owned record, as the store keeps it.
        std::hint::black_box(record.to_record());
    }
});
