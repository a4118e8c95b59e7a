//! Property tests of the foundation: the min/max index against brute force,
//! and the tail reader against reading the whole file at once.

use std::fs::OpenOptions;
use std::io::Write;

use grokscope::run::{Record, TailItem, TailReader};
use grokscope::store::{Extent, MinMaxIndex, RunStore};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -1e6f64..1e6,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
    ]
}

fn brute(values: &[f64]) -> Extent {
    let mut e = Extent::EMPTY;
    values.iter().for_each(|v| e.merge(Extent::of(*v)));
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn index_extent_equals_brute_force(
        values in prop::collection::vec(value(), 0..5000),
        ranges in prop::collection::vec((0usize..5001, 0usize..5001), 1..20),
    ) {
        let mut index = MinMaxIndex::new();
        values.iter().for_each(|v| index.push(*v));
        for (a, b) in ranges {
            let (lo, hi) = (a.min(b).min(values.len()), a.max(b).min(values.len()));
            prop_assert_eq!(index.extent(&values, lo, hi), brute(&values[lo..hi]));
        }
    }

    #[test]
    fn step_buckets_equal_brute_force(
        points in prop::collection::vec((0i64..4, value()), 1..3000),
        backs in prop::collection::vec(0usize..3000, 0..3),
        range in (0i64..3000, 0i64..3000),
        width in 1usize..300,
    ) {
        // Steps grow by 0..3 per record, and go back to 0 at a few places (segments).
        let mut store = RunStore::new();
        let mut step = 0;
        let mut expected: Vec<(usize, i64, f64)> = Vec::new(); // (segment, step, value)
        let mut segment = 0;
        for (i, (inc, v)) in points.iter().enumerate() {
            if backs.contains(&i) && step > 0 {
                step = 0;
                segment += 1;
            } else {
                step += inc;
            }
            let line = Record::new(step).scalar("m/x", *v).to_json_line();
            let mut scratch = Vec::new();
            store.push(&grokscope::run::parse_line(line.as_bytes(), &mut scratch).unwrap());
            expected.push((segment, step, *v));
        }
        let (a, b) = (range.0.min(range.1), range.0.max(range.1));
        let series = store.series("m/x").unwrap();
        let buckets = series.buckets(a..=b, width);
        // Every point in range is in exactly one bucket, in order.
        let covered: Vec<usize> = buckets.iter().flat_map(|b| b.start..b.end).collect();
        let wanted: Vec<usize> = expected
            .iter()
            .enumerate()
            .filter(|(_, (_, s, _))| (a..=b).contains(s))
            .map(|(i, _)| i)
            .collect();
        prop_assert_eq!(&covered, &wanted);
        let segments = 1 + expected.last().unwrap().0;
        prop_assert!(buckets.len() <= width * segments);
        for bk in &buckets {
            let pts = &expected[bk.start..bk.end];
            prop_assert!(pts.iter().all(|p| p.0 == bk.segment));
            let vals: Vec<f64> = pts.iter().map(|p| p.2).collect();
            prop_assert_eq!(bk.extent, brute(&vals));
            prop_assert_eq!(bk.first_step, pts[0].1);
            prop_assert_eq!(bk.last_step, pts[pts.len() - 1].1);
            prop_assert_eq!(bk.first.to_bits(), vals[0].to_bits());
            prop_assert_eq!(bk.last.to_bits(), vals[vals.len() - 1].to_bits());
        }
    }
}

/// What a reader delivered, in a comparable form.
#[derive(Debug, PartialEq)]
enum Item {
    Record(u64, String),
    Malformed(u64),
}

fn line() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("train/loss".to_string()),
        Just("sc/collapsed".to_string()),
        Just("größe/√x".to_string()),
        Just("日本/語".to_string()),
    ];
    let record = (
        0i64..1000,
        prop::collection::vec((name, value()), 0..4),
        "[a-zé✓]{0,6}",
    )
        .prop_map(|(step, scalars, note)| {
            let mut r = Record::new(step);
            for (k, v) in scalars {
                r.scalars.insert(k, v);
            }
            if !note.is_empty() {
                r.notes.push(note);
            }
            r.to_json_line()
        });
    prop_oneof![
        6 => record,
        1 => Just("{\"step\": 1, \"scalars\": {\"a/b\": NaN}}".to_string()),
        1 => Just("not json at all".to_string()),
        1 => Just("{\"step\": \"three\"}".to_string()),
        1 => Just("".to_string()),
        1 => Just("{\"step\": 2, \"notes\": [\"ünïcødé ✓\"]}".to_string()),
    ]
}

fn read_all(reader: &mut TailReader, out: &mut Vec<Item>) {
    read_some(reader, out, u64::MAX);
}

/// One poll of at most `budget` bytes; returns whether more is left.
fn read_some(reader: &mut TailReader, out: &mut Vec<Item>, budget: u64) -> bool {
    reader
        .poll_limited(
            &mut |item| match item {
                TailItem::Record { line, record } => {
                    out.push(Item::Record(line, record.to_record().to_json_line()))
                }
                TailItem::Scalar { .. } => panic!("JSONL lines come as records"),
                TailItem::Malformed { line, .. } => out.push(Item::Malformed(line)),
                TailItem::Reset(r) => panic!("unexpected reset: {r}"),
                TailItem::Warning(w) => panic!("unexpected warning: {w}"),
            },
            budget,
        )
        .unwrap()
        .more
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tail_reader_is_independent_of_chunking(
        lines in prop::collection::vec(line(), 0..40),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..30),
    ) {
        let mut content = Vec::new();
        for l in &lines {
            content.extend_from_slice(l.as_bytes());
            content.push(b'\n');
        }
        let dir = tempfile::tempdir().unwrap();
        let whole_path = dir.path().join("whole.jsonl");
        std::fs::write(&whole_path, &content).unwrap();
        let mut expected = Vec::new();
        read_all(&mut TailReader::new(&whole_path), &mut expected);

        // Same bytes, appended in random pieces (splitting lines and UTF-8
        // characters alike), with a poll after every piece.
        let mut offsets: Vec<usize> = cuts.iter().map(|c| c.index(content.len() + 1)).collect();
        offsets.push(0);
        offsets.push(content.len());
        offsets.sort_unstable();
        let path = dir.path().join("grown.jsonl");
        std::fs::write(&path, b"").unwrap();
        let mut reader = TailReader::new(&path);
        let mut got = Vec::new();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        for w in offsets.windows(2) {
            file.write_all(&content[w[0]..w[1]]).unwrap();
            file.flush().unwrap();
            read_all(&mut reader, &mut got);
        }
        prop_assert_eq!(reader.pending_bytes(), 0);
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn budgeted_polls_deliver_what_one_poll_does(
        lines in prop::collection::vec(line(), 0..40),
        budgets in prop::collection::vec(1u64..200, 1..20),
        partial in "[ -~]{0,20}",
    ) {
        let mut content = Vec::new();
        for l in &lines {
            content.extend_from_slice(l.as_bytes());
            content.push(b'\n');
        }
        // A last line without its newline is held back by both.
        content.extend_from_slice(partial.as_bytes());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        std::fs::write(&path, &content).unwrap();
        let mut whole = TailReader::new(&path);
        let mut expected = Vec::new();
        read_all(&mut whole, &mut expected);

        // Many small budgets, cycling through the drawn ones.
        let mut reader = TailReader::new(&path);
        let mut got = Vec::new();
        let mut polls = 0;
        for budget in budgets.iter().cycle() {
            polls += 1;
            prop_assert!(polls <= content.len() + 2, "no progress");
            if !read_some(&mut reader, &mut got, *budget) {
                break;
            }
        }
        prop_assert_eq!(reader.offset(), content.len() as u64);
        prop_assert_eq!(reader.lines(), whole.lines());
        prop_assert_eq!(reader.pending_bytes(), whole.pending_bytes());
        prop_assert_eq!(got, expected);
    }
}
