//! Parsing a large read of whole lines on two threads.
//!
//! A first load of a big log is mostly parsing (numbers, names), which is
//! independent from line to line; storing is not (records go into the
//! store in order). So the bytes are split at a line boundary: a helper
//! thread parses the second part into a compact list (step, time, and the
//! scalars of every line in one buffer, borrowing names from the read
//! buffer), while this thread parses and delivers the first part as usual;
//! then this thread delivers the helper's lines, in order. Lines the fast
//! path does not take (vectors, notes, escapes, malformed lines) are left
//! by the helper for this thread to parse in its turn, with the full
//! parser and its error messages: every item, line number and message is
//! the same as from one thread (the tests check it on random splits).
//!
//! This thread also stores everything, so it parses less than the helper:
//! [`MAIN_SHARE`] of the bytes.

use std::borrow::Cow;

use super::fastpath::parse_common_into;
use super::record::{LineRecord, ScalarList, VectorList};
use super::tail::{content, deliver, PollStats, TailItem};

/// The share of the bytes this thread parses itself (it also stores all
/// of them, which costs about as much as parsing a fifth of them).
const MAIN_SHARE: f64 = 0.25;

/// What the helper found in a line.
enum Line<'a> {
    /// A record of the common shape: its scalars are `scalars[from..to]`
    /// of the part.
    Common {
        line: u64,
        step: i64,
        time: Option<f64>,
        from: u32,
        to: u32,
    },
    /// Anything else, to parse on the storing thread.
    Other { line: u64, bytes: &'a [u8] },
}

/// A part's lines, numbered from 1 within the part.
struct Part<'a> {
    lines: Vec<Line<'a>>,
    scalars: Vec<(&'a str, f64)>,
    /// Line count of the part (blank lines included).
    count: u64,
}

impl Part<'_> {
    /// An empty part sized for about `bytes` of a typical log (about 40
    /// bytes per scalar). Allocated by the storing thread, which also frees
    /// it, so that it comes from that thread's allocator arena. (glibc
    /// still keeps some memory for the helper threads: docs/BENCHMARKS.md
    /// measures it.)
    fn for_bytes(bytes: usize) -> Self {
        Part {
            lines: Vec::with_capacity(bytes / 256),
            scalars: Vec::with_capacity(bytes / 32),
            count: 0,
        }
    }
}

/// Parses the complete lines of `bytes` (ending with a newline) into
/// `part`, empty.
fn parse_part<'a>(bytes: &'a [u8], mut part: Part<'a>) -> Part<'a> {
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', bytes) {
        part.count += 1;
        let raw = &bytes[start..nl];
        start = nl + 1;
        let Some(line) = content(raw) else {
            continue;
        };
        // A part is one read, far less than 2^32 scalars.
        let from = part.scalars.len() as u32;
        part.lines
            .push(match parse_common_into(line, &mut part.scalars) {
                Some((step, time)) => Line::Common {
                    line: part.count,
                    step,
                    time,
                    from,
                    to: part.scalars.len() as u32,
                },
                None => Line::Other {
                    line: part.count,
                    bytes: raw,
                },
            });
    }
    part
}

/// Delivers every line of `whole` (complete lines, each ending with a
/// newline) numbered after `lines`, parsing on two threads; returns the new
/// line count. The same items as [`super::tail`]'s one-thread delivery.
pub(super) fn deliver_lines(
    whole: &[u8],
    lines: u64,
    scratch: &mut Vec<u8>,
    stats: &mut PollStats,
    sink: &mut dyn FnMut(TailItem<'_>),
) -> u64 {
    let at = (whole.len() as f64 * MAIN_SHARE) as usize;
    deliver_split(whole, at, lines, scratch, stats, sink)
}

/// [`deliver_lines`], the helper taking the lines after the first newline
/// at or after byte `at`.
fn deliver_split(
    whole: &[u8],
    at: usize,
    mut lines: u64,
    scratch: &mut Vec<u8>,
    stats: &mut PollStats,
    sink: &mut dyn FnMut(TailItem<'_>),
) -> u64 {
    let split =
        memchr::memchr(b'\n', &whole[at.min(whole.len())..]).map_or(whole.len(), |nl| at + nl + 1);
    let (mine, theirs) = whole.split_at(split);
    std::thread::scope(|s| {
        let helper = (!theirs.is_empty()).then(|| {
            let part = Part::for_bytes(theirs.len());
            s.spawn(move || parse_part(theirs, part))
        });
        lines = super::tail::deliver_lines(mine, lines, scratch, stats, sink);
        let Some(helper) = helper else {
            return;
        };
        let part = helper
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        for l in part.lines {
            match l {
                Line::Common {
                    line,
                    step,
                    time,
                    from,
                    to,
                } => {
                    stats.records += 1;
                    let scalars = part.scalars[from as usize..to as usize]
                        .iter()
                        .map(|&(n, v)| (Cow::Borrowed(n), v))
                        .collect();
                    sink(TailItem::Record {
                        line: lines + line,
                        record: LineRecord {
                            step,
                            time,
                            scalars: ScalarList(scalars),
                            vectors: VectorList::default(),
                            notes: Vec::new(),
                            maps: Default::default(),
                        },
                    });
                }
                Line::Other { line, bytes } => {
                    deliver(bytes, lines + line, scratch, stats, sink);
                }
            }
        }
        lines += part.count;
    });
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An item as plain data, to compare.
    #[derive(Debug, PartialEq)]
    enum Seen {
        Record {
            line: u64,
            step: i64,
            time: Option<u64>,
            scalars: Vec<(String, u64)>,
            vectors: Vec<(String, Vec<u64>)>,
            notes: Vec<String>,
        },
        Malformed(u64, String),
    }

    fn run(
        whole: &[u8],
        first: u64,
        deliver: impl Fn(&[u8], u64, &mut Vec<u8>, &mut PollStats, &mut dyn FnMut(TailItem<'_>)) -> u64,
    ) -> (Vec<Seen>, u64, PollStats) {
        let mut seen = Vec::new();
        let mut stats = PollStats::default();
        let mut scratch = Vec::new();
        let lines = deliver(whole, first, &mut scratch, &mut stats, &mut |item| {
            seen.push(match item {
                TailItem::Record { line, record } => Seen::Record {
                    line,
                    step: record.step,
                    time: record.time.map(f64::to_bits),
                    scalars: record
                        .scalars
                        .0
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_bits()))
                        .collect(),
                    vectors: record
                        .vectors
                        .0
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.iter().map(|x| x.to_bits()).collect()))
                        .collect(),
                    notes: record.notes,
                },
                TailItem::Malformed { line, reason } => Seen::Malformed(line, reason),
                other => panic!("unexpected {other:?}"),
            })
        });
        (seen, lines, stats)
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => (any::<i32>(), any::<f64>(), 0usize..4).prop_map(|(s, v, n)| {
                let scalars: Vec<String> =
                    (0..n).map(|i| format!("\"m/{i}\": {v:?}")).collect();
                format!("{{\"step\": {s}, \"time\": 1.5, \"scalars\": {{{}}}}}", scalars.join(", "))
            }),
            1 => Just(r#"{"step": 3, "vectors": {"sens/x": [1, 2.5]}, "notes": ["hi"]}"#.to_string()),
            1 => Just(r#"{"step": 4, "scalars": {"a\u0062/c": NaN, "x/y": 1e400}}"#.to_string()),
            1 => Just("{\"step\": 5, \"scalars\": {\"a/b\": 1}}\r".to_string()),
            1 => Just("\u{feff}{\"step\": 6}".to_string()),
            1 => Just("not json".to_string()),
            1 => Just("{\"step\": 1.5}".to_string()),
            1 => Just("[1, 2]".to_string()),
            1 => Just("   ".to_string()),
            1 => Just(String::new()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Wherever the split falls, two threads deliver exactly what one
        /// does: the same records in the same order, the same malformed
        /// lines with the same numbers and reasons, the same counts.
        #[test]
        fn a_split_anywhere_delivers_what_one_thread_does(
            lines in prop::collection::vec(line(), 0..60),
            at in 0.0f64..1.1,
            first in 0u64..1_000_000,
        ) {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            let whole = text.as_bytes();
            let at = (whole.len() as f64 * at) as usize;
            let one = run(whole, first, super::super::tail::deliver_lines);
            let two = run(whole, first, |w, l, sc, st, sink| deliver_split(w, at, l, sc, st, sink));
            prop_assert_eq!(&one.0, &two.0);
            prop_assert_eq!(one.1, two.1);
            prop_assert_eq!(one.1, first + lines.len() as u64);
            prop_assert_eq!(one.2, two.2);
        }
    }

    #[test]
    fn malformed_line_numbers_are_exact_past_the_split() {
        let mut text = String::new();
        for step in 0..1000 {
            if step % 97 == 0 {
                text.push_str("oops\n");
            } else {
                text.push_str(&format!(
                    "{{\"step\": {step}, \"scalars\": {{\"a/b\": 1}}}}\n"
                ));
            }
        }
        let (seen, lines, stats) = run(text.as_bytes(), 10, deliver_lines);
        assert_eq!(lines, 1010);
        let bad: Vec<u64> = seen
            .iter()
            .filter_map(|s| match s {
                Seen::Malformed(l, _) => Some(*l),
                Seen::Record { .. } => None,
            })
            .collect();
        let want: Vec<u64> = (0..1000)
            .filter(|s| s % 97 == 0)
            .map(|s| 10 + s + 1)
            .collect();
        assert_eq!(bad, want);
        assert_eq!(stats.malformed, want.len() as u64);
        assert_eq!(stats.records, 1000 - want.len() as u64);
    }
}
