//! A fast path for the lines a writer of this format usually produces.
//!
//! Ingest must keep up with logs of millions of records (docs/BENCHMARKS.md),
//! and general JSON deserialisation spends most of its time dispatching
//! through serde. This scanner handles the common shape directly — an object
//! with `step`, `time` and `scalars` whose names have no escapes and no
//! non-ASCII bytes — and parses numbers with `fast-float2` (exact, like
//! serde's). Anything else (vectors, notes, unknown keys, escapes, odd
//! numbers, errors of any kind) returns `None`, and the caller falls back to
//! the full deserialiser, which also produces the error messages. The
//! property test in tests/ checks both paths agree on random lines.

use std::borrow::Cow;

use super::record::{LineRecord, ScalarList, VectorList};

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// A string without escapes, all printable ASCII.
    #[inline]
    fn plain_str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let b = self.b;
        let mut i = start;
        loop {
            match *b.get(i)? {
                b'"' => break,
                b'\\' => return None,
                0x20..=0x7e => i += 1,
                _ => return None,
            }
        }
        self.i = i + 1;
        // SAFETY: every byte of b[start..i] was checked above to be printable
        // ASCII, and ASCII is valid UTF-8. (`from_utf8` here cost 10% of
        // ingest time on the benchmark log.)
        Some(unsafe { std::str::from_utf8_unchecked(&b[start..i]) })
    }

    /// A JSON number, parsed exactly; `None` for anything JSON's grammar
    /// rejects that the float parser would take ("1.", "01", "inf", "+1").
    #[inline]
    fn number(&mut self) -> Option<f64> {
        self.ws();
        let rest = &self.b[self.i..];
        let digits = usize::from(rest.first() == Some(&b'-'));
        match rest.get(digits) {
            Some(b'0') if rest.get(digits + 1).is_some_and(u8::is_ascii_digit) => return None,
            Some(b'0'..=b'9') => {}
            _ => return None,
        }
        // "1." and "1.e5" are not JSON: a '.' must be followed by a digit.
        // The integer part is short, so find the '.' by walking it.
        let mut j = digits;
        while rest.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if rest.get(j) == Some(&b'.') && !rest.get(j + 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (v, len) = fast_float2::parse_partial::<f64, _>(rest).ok()?;
        self.i += len;
        Some(v)
    }

    /// A JSON integer that fits an i64.
    #[inline]
    fn integer(&mut self) -> Option<i64> {
        self.ws();
        let b = self.b;
        let mut i = self.i;
        let neg = b.get(i) == Some(&b'-');
        if neg {
            i += 1;
        }
        let digits = i;
        let mut v: i64 = 0;
        while let Some(d) = b.get(i).filter(|c| c.is_ascii_digit()) {
            v = v.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
            i += 1;
        }
        // No digits, a leading zero, or "-0" (which JSON parsers read as a float).
        if i == digits || (b[digits] == b'0' && (i - digits > 1 || neg)) {
            return None;
        }
        // A fraction or exponent makes it a float: not a step.
        if matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.i = i;
        Some(if neg { -v } else { v })
    }

    /// After an object member: `true` past a closing `}`, `false` past a
    /// `,`, `None` for anything else.
    #[inline]
    fn object_ends(&mut self) -> Option<bool> {
        let end = match self.peek()? {
            b',' => false,
            b'}' => true,
            _ => return None,
        };
        self.i += 1;
        Some(end)
    }

    /// A scalar value: a number or one of the non-finite spellings.
    #[inline]
    fn value(&mut self) -> Option<f64> {
        match self.peek()? {
            b'"' => match self.plain_str()? {
                "NaN" => Some(f64::NAN),
                "Infinity" => Some(f64::INFINITY),
                "-Infinity" => Some(f64::NEG_INFINITY),
                _ => None,
            },
            _ => self.number(),
        }
    }
}

/// Parses a line of the common shape, or returns `None` to defer to the
/// full deserialiser.
pub fn parse_common(line: &[u8]) -> Option<LineRecord<'_>> {
    let mut c = Cursor { b: line, i: 0 };
    c.eat(b'{')?;
    let (mut step, mut time, mut scalars) = (None, None, None);
    if c.peek()? == b'}' {
        return None;
    }
    loop {
        let key = c.plain_str()?;
        c.eat(b':')?;
        match key {
            "step" if step.is_none() => step = Some(c.integer()?),
            "time" if time.is_none() => {
                time = Some(if c.peek()? == b'n' {
                    c.b.get(c.i..c.i + 4).filter(|s| *s == b"null")?;
                    c.i += 4;
                    None
                } else {
                    Some(c.value()?)
                });
            }
            "scalars" if scalars.is_none() => {
                c.eat(b'{')?;
                let mut list: Vec<(Cow<'_, str>, f64)> = Vec::with_capacity(16);
                if c.peek()? == b'}' {
                    c.i += 1;
                } else {
                    loop {
                        let name = c.plain_str()?;
                        c.eat(b':')?;
                        list.push((Cow::Borrowed(name), c.value()?));
                        if c.object_ends()? {
                            break;
                        }
                    }
                }
                scalars = Some(list);
            }
            _ => return None,
        }
        if c.object_ends()? {
            break;
        }
    }
    c.ws();
    if c.i != line.len() {
        return None;
    }
    Some(LineRecord {
        step: step?,
        time: time.flatten(),
        scalars: ScalarList(scalars.unwrap_or_default()),
        vectors: VectorList::default(),
        notes: Vec::new(),
        maps: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Equal values, where NaN equals NaN and the sign of zero is ignored
    /// (sonic-rs reads `-0e0` as +0).
    fn same(a: f64, b: f64) -> bool {
        a == b || (a.is_nan() && b.is_nan())
    }

    fn full(line: &[u8]) -> Option<LineRecord<'_>> {
        sonic_rs::from_slice::<LineRecord>(line).ok()
    }

    fn ws() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just(""), Just(" "), Just("  "), Just("\t")]
    }

    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<f64>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(|v| v.to_string()),
            any::<f64>()
                .prop_filter("finite", |v| v.is_finite())
                .prop_map(|v| format!("{v:e}")),
            any::<i64>().prop_map(|v| v.to_string()),
            prop_oneof![
                Just("1."),
                Just("01"),
                Just("-0"),
                Just(".5"),
                Just("1e"),
                Just("1.e5"),
                Just("+1"),
                Just("inf"),
                Just("1E+300"),
                Just("-1e-400"),
                Just("\"NaN\""),
                Just("\"Infinity\""),
                Just("\"-Infinity\""),
                Just("\"nan\""),
                Just("null"),
                Just("0.1e-2"),
                Just("123456789012345678901234567890"),
            ]
            .prop_map(str::to_string),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"train/loss\"".to_string()),
            Just("\"a/b\"".to_string()),
            Just("\"a\\u0062/c\"".to_string()),
            Just("\"ä/b\"".to_string()),
            Just("\"a\\\"b\"".to_string()),
        ]
    }

    fn line() -> impl Strategy<Value = String> {
        let scalars = prop::collection::vec((key(), ws(), number()), 0..5).prop_map(|kv| {
            let body: Vec<String> = kv
                .into_iter()
                .map(|(k, w, v)| format!("{k}:{w}{v}"))
                .collect();
            format!("{{{}}}", body.join(", "))
        });
        let step = prop_oneof![
            any::<i64>().prop_map(|v| v.to_string()),
            Just("1.0".to_string()),
            Just("00".to_string()),
            Just("-0".to_string()),
            Just("99999999999999999999".to_string()),
        ];
        let parts = (
            step,
            prop::option::of(number()),
            prop::option::of(scalars),
            ws(),
            any::<bool>(),
            any::<bool>(),
        );
        parts.prop_map(|(step, time, scalars, w, swap, dup)| {
            let mut fields = vec![format!("\"step\":{w}{step}")];
            if let Some(t) = time {
                fields.push(format!("\"time\": {t}"));
            }
            if let Some(s) = scalars {
                fields.push(format!("\"scalars\":{w}{s}"));
            }
            if swap {
                fields.reverse();
            }
            if dup {
                fields.push(fields[0].clone());
            }
            format!("{w}{{{}}}{w}", fields.join(&format!(",{w}")))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn fast_path_agrees_with_the_full_parser(line in line()) {
            let fast = parse_common(line.as_bytes());
            let slow = full(line.as_bytes());
            if let Some(fast) = fast {
                let slow = slow.expect("the fast path accepted a line the full parser rejects");
                prop_assert_eq!(fast.step, slow.step);
                prop_assert_eq!(fast.time.is_some(), slow.time.is_some());
                prop_assert!(same(fast.time.unwrap_or(0.0), slow.time.unwrap_or(0.0)));
                prop_assert_eq!(fast.scalars.0.len(), slow.scalars.0.len());
                for (a, b) in fast.scalars.0.iter().zip(&slow.scalars.0) {
                    prop_assert_eq!(&a.0, &b.0);
                    prop_assert!(same(a.1, b.1), "{} in {}: {} vs {}", a.0, line, a.1, b.1);
                }
            }
        }
    }

    #[test]
    fn takes_the_common_shape_and_declines_the_rest() {
        assert!(parse_common(
            br#"{"step": 1, "time": 2.5, "scalars": {"a/b": 1e-3, "c/d": "NaN"}}"#
        )
        .is_some());
        assert!(parse_common(br#"{"step":1,"scalars":{}}"#).is_some());
        assert!(parse_common(br#"{"step": 1, "vectors": {"a/b": [1]}}"#).is_none());
        assert!(parse_common(br#"{"step": 1, "scalars": {"a/b": NaN}}"#).is_none());
        assert!(parse_common(br#"{"step": 1} x"#).is_none());
    }
}
