//! Shared by the JSONL targets: the fast path and the general parser
//! must read a line the same way.

use grokscope::run::fastpath::parse_common;
use grokscope::run::record::parse_line_general;

/// Equal values, NaN equal to NaN and either zero to either zero.
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

pub fn check_fast_path(line: &[u8]) {
    let Some(fast) = parse_common(line) else {
        return;
    };
    let mut scratch = Vec::new();
    let general = parse_line_general(line, &mut scratch).unwrap_or_else(|e| {
        panic!(
            "the fast path accepts a line the general parser rejects ({e}): {:?}",
            String::from_utf8_lossy(line)
        )
    });
    assert_eq!(fast.step, general.step);
    assert_eq!(fast.time.is_some(), general.time.is_some());
    if let (Some(a), Some(b)) = (fast.time, general.time) {
        assert!(same(a, b), "time {a} vs {b}");
    }
    assert_eq!(fast.scalars.0.len(), general.scalars.0.len());
    for (a, b) in fast.scalars.0.iter().zip(&general.scalars.0) {
        assert_eq!(a.0, b.0);
        assert!(same(a.1, b.1), "{}: {} vs {}", a.0, a.1, b.1);
    }
}
