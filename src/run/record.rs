//! Records of the log format (docs/FORMAT.md): one JSON object per line.
//!
//! Two views of a record exist. [`Record`] is the owned form that
//! [`RunWriter`](super::RunWriter) writes. [`LineRecord`] is the borrowed form
//! the reader parses: metric names point into the line buffer whenever they
//! contain no escapes, so ingest allocates almost nothing per line.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::map::{GridMap, MapList};

/// One step of a run, as written by [`RunWriter`](super::RunWriter).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Record {
    /// Training step (or epoch) this record belongs to.
    pub step: i64,
    /// Wall-clock time in seconds since the Unix epoch, if known.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_num"
    )]
    pub time: Option<f64>,
    /// Scalar metrics, `group/name` → value. Non-finite values are allowed.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "ser_scalars"
    )]
    pub scalars: BTreeMap<String, f64>,
    /// Vector metrics (per-neuron sensitivities, histograms), `group/name` → values.
    #[serde(
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "ser_vectors"
    )]
    pub vectors: BTreeMap<String, Vec<f64>>,
    /// Free-form notes ("lr decayed", "resumed from checkpoint").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// 2-D maps (region labels of a slice through the data), `group/name` → map.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub maps: BTreeMap<String, GridMap>,
}

impl Record {
    /// An empty record for `step`.
    pub fn new(step: i64) -> Self {
        Record {
            step,
            ..Record::default()
        }
    }

    /// Sets the wall-clock time to now.
    pub fn at_now(mut self) -> Self {
        self.time = Some(now_epoch_seconds());
        self
    }

    /// Adds (or replaces) a scalar.
    pub fn scalar(mut self, name: impl Into<String>, value: f64) -> Self {
        self.scalars.insert(name.into(), value);
        self
    }

    /// Adds (or replaces) a vector.
    pub fn vector(mut self, name: impl Into<String>, values: Vec<f64>) -> Self {
        self.vectors.insert(name.into(), values);
        self
    }

    /// Adds (or replaces) a 2-D map.
    pub fn map(mut self, name: impl Into<String>, map: GridMap) -> Self {
        self.maps.insert(name.into(), map);
        self
    }

    /// Adds a note.
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    /// Serialises the record as one JSON line (without the newline).
    pub fn to_json_line(&self) -> String {
        // Serialising a map of strings and numbers cannot fail.
        serde_json::to_string(self).expect("a record always serialises")
    }
}

/// Seconds since the Unix epoch, as a float.
pub fn now_epoch_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A number as the format writes it: finite values as JSON numbers, the
/// others as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() {
            s.serialize_f64(v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if v > 0.0 {
            s.serialize_str("Infinity")
        } else {
            s.serialize_str("-Infinity")
        }
    }
}

fn ser_opt_num<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => Num(*v).serialize(s),
        None => s.serialize_none(),
    }
}

fn ser_scalars<S: Serializer>(m: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        map.serialize_entry(k, &Num(*v))?;
    }
    map.end()
}

fn ser_vectors<S: Serializer>(m: &BTreeMap<String, Vec<f64>>, s: S) -> Result<S::Ok, S::Error> {
    struct NumSlice<'a>(&'a [f64]);
    impl Serialize for NumSlice<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(|v| Num(*v)))
        }
    }
    let mut map = s.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        map.serialize_entry(k, &NumSlice(v))?;
    }
    map.end()
}

/// Parses the textual spellings of non-finite numbers the format accepts.
fn parse_non_finite(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" | "NAN" => Some(f64::NAN),
        "Infinity" | "+Infinity" | "inf" | "+inf" | "Inf" | "INF" => Some(f64::INFINITY),
        "-Infinity" | "-inf" | "-Inf" | "-INF" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NumVisitor;
        impl<'de> Visitor<'de> for NumVisitor {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, or \"NaN\", \"Infinity\", \"-Infinity\"")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
                Ok(Num(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                parse_non_finite(v)
                    .map(Num)
                    .ok_or_else(|| E::custom(format!("string {v:?} is not a number")))
            }
            // JavaScript's JSON.stringify writes NaN as null.
            fn visit_unit<E>(self) -> Result<Num, E> {
                Ok(Num(f64::NAN))
            }
        }
        d.deserialize_any(NumVisitor)
    }
}

/// A metric name borrowed from the line when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Name<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a metric name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        d.deserialize_str(NameVisitor)
    }
}

/// `scalars` of a parsed line, in file order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ScalarList<'a>(pub Vec<(Cow<'a, str>, f64)>);

impl<'de: 'a, 'a> Deserialize<'de> for ScalarList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = ScalarList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of metric name → number")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<ScalarList<'a>, A::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(16));
                while let Some((Name(k), Num(v))) = m.next_entry::<Name<'a>, Num>()? {
                    out.push((k, v));
                }
                Ok(ScalarList(out))
            }
            fn visit_unit<E>(self) -> Result<ScalarList<'a>, E> {
                Ok(ScalarList::default())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `vectors` of a parsed line, in file order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct VectorList<'a>(pub Vec<(Cow<'a, str>, Vec<f64>)>);

/// An array of format numbers.
struct NumVec(Vec<f64>);

impl<'de> Deserialize<'de> for NumVec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NumVec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of numbers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<NumVec, A::Error> {
                let mut out = Vec::with_capacity(s.size_hint().unwrap_or(64));
                while let Some(Num(v)) = s.next_element::<Num>()? {
                    out.push(v);
                }
                Ok(NumVec(out))
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for VectorList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = VectorList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of metric name → array of numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<VectorList<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some((Name(k), NumVec(v))) = m.next_entry::<Name<'a>, NumVec>()? {
                    out.push((k, v));
                }
                Ok(VectorList(out))
            }
            fn visit_unit<E>(self) -> Result<VectorList<'a>, E> {
                Ok(VectorList::default())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `step`: an integer that fits an i64. JSON's `-0` is an integer too,
/// which parsers hand over as the float -0.0: a zero float reads as 0.
fn de_step<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct StepVisitor;
    impl Visitor<'_> for StepVisitor {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer step")
        }
        fn visit_i64<E>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("step {v} is larger than 2^63 - 1")))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            if v == 0.0 {
                Ok(0)
            } else {
                Err(E::invalid_type(de::Unexpected::Float(v), &self))
            }
        }
    }
    d.deserialize_any(StepVisitor)
}

/// `time`: a number, a non-finite spelling, or null/absent.
fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(Option::<Num>::deserialize(d)?.map(|n| n.0))
}

/// `notes`: an array of strings, or null.
fn de_notes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// One parsed line, borrowing names from the line buffer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LineRecord<'a> {
    /// Step of the record.
    #[serde(deserialize_with = "de_step")]
    pub step: i64,
    /// Wall-clock time, seconds since the epoch.
    #[serde(default, deserialize_with = "de_time")]
    pub time: Option<f64>,
    /// Scalars in file order.
    #[serde(default, borrow)]
    pub scalars: ScalarList<'a>,
    /// Vectors in file order.
    #[serde(default, borrow)]
    pub vectors: VectorList<'a>,
    /// Notes.
    #[serde(default, deserialize_with = "de_notes")]
    pub notes: Vec<String>,
    /// 2-D maps in file order; a bad map is kept as the reason it was
    /// skipped, and the rest of the record still counts.
    #[serde(default, borrow)]
    pub maps: MapList<'a>,
}

impl LineRecord<'_> {
    /// An owned [`Record`] with the same content (later duplicates of a name win).
    pub fn to_record(&self) -> Record {
        Record {
            step: self.step,
            time: self.time,
            scalars: self
                .scalars
                .0
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            vectors: self
                .vectors
                .0
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            notes: self.notes.clone(),
            maps: self
                .maps
                .0
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.as_ref().ok()?.clone())))
                .collect(),
        }
    }
}

/// Why a line could not be read as a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError(pub String);

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Deepest nesting of arrays and objects a line may have (the format needs
/// three levels; unknown fields may add more). Deeper lines are malformed:
/// the parser recurses once per level, and a line of `[[[[...` would
/// otherwise overflow the stack.
pub const MAX_NESTING: usize = 128;

/// Parses one line (without its newline). Accepts Python's bare `NaN`,
/// `Infinity` and `-Infinity` tokens, and reads numbers too large for an
/// `f64` (`1e400`) as ±Infinity; for such a line `scratch` receives a
/// rewritten copy that the returned record borrows from.
pub fn parse_line<'a>(
    line: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> Result<LineRecord<'a>, LineError> {
    // serde would also build a struct from an array; the format wants objects.
    if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(LineError("expected a JSON object".into()));
    }
    if let Some(record) = super::fastpath::parse_common(line) {
        return Ok(record);
    }
    parse_line_general(line, scratch)
}

/// [`parse_line`] without its fast path: the general deserialiser alone,
/// which the fast path must agree with wherever it accepts a line (checked
/// by a property test and the `jsonl_line` fuzz target).
pub fn parse_line_general<'a>(
    line: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> Result<LineRecord<'a>, LineError> {
    if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(LineError("expected a JSON object".into()));
    }
    if too_deep(line) {
        return Err(LineError(format!(
            "nested deeper than {MAX_NESTING} levels"
        )));
    }
    match sonic_rs::from_slice::<LineRecord>(line) {
        Ok(r) => Ok(r),
        Err(first) => {
            if normalise(line, scratch) {
                sonic_rs::from_slice::<LineRecord>(scratch).map_err(|e| describe(&e))
            } else {
                Err(describe(&first))
            }
        }
    }
}

/// Whether arrays and objects in `line` nest deeper than [`MAX_NESTING`].
fn too_deep(line: &[u8]) -> bool {
    // Fewer brackets than the limit cannot nest deeper than it: one fast
    // count settles nearly every line.
    if memchr::memchr2_iter(b'[', b'{', line).count() <= MAX_NESTING {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in line {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

fn describe(e: &sonic_rs::Error) -> LineError {
    // The parser's message may carry a multi-line excerpt of the input and
    // says "line 1 column N" for our single line: keep the first line and
    // the column.
    let msg = e.to_string();
    let first = msg.lines().next().unwrap_or_default().trim();
    let msg = match first.rsplit_once(" at line 1 column ") {
        Some((what, col)) => format!("{what} (column {})", col.trim()),
        None => first.to_string(),
    };
    LineError(msg)
}

/// Copies `line` into `out` with bare `NaN`, `Infinity`, `-Infinity` tokens
/// (outside strings) quoted, and numbers beyond the range of an `f64`
/// written as `"Infinity"` or `"-Infinity"` (what the fast path and
/// `float()` read them as). Returns false, leaving `out` unspecified, when
/// there was nothing to change.
fn normalise(line: &[u8], out: &mut Vec<u8>) -> bool {
    const TOKENS: [&[u8]; 3] = [b"-Infinity", b"Infinity", b"NaN"];
    out.clear();
    let mut changed = false;
    let mut in_string = false;
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if in_string {
            out.push(b);
            if b == b'\\' && i + 1 < line.len() {
                out.push(line[i + 1]);
                i += 2;
                continue;
            }
            if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            out.push(b);
            i += 1;
            continue;
        }
        if let Some(tok) = TOKENS.iter().find(|t| line[i..].starts_with(t)) {
            out.push(b'"');
            out.extend_from_slice(tok);
            out.push(b'"');
            i += tok.len();
            changed = true;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let len = line[i..]
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(line.len() - i);
            let token = &line[i..i + len];
            match fast_float2::parse::<f64, _>(token) {
                Ok(v) if v.is_infinite() => {
                    let spelled: &[u8] = if v > 0.0 {
                        b"\"Infinity\""
                    } else {
                        b"\"-Infinity\""
                    };
                    out.extend_from_slice(spelled);
                    changed = true;
                }
                _ => out.extend_from_slice(token),
            }
            i += len;
            continue;
        }
        out.push(b);
        i += 1;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Record, LineError> {
        let mut scratch = Vec::new();
        parse_line(s.as_bytes(), &mut scratch).map(|r| r.to_record())
    }

    #[test]
    fn round_trips_non_finite_values_as_strings() {
        let r = Record::new(7)
            .scalar("train/loss", f64::NAN)
            .scalar("train/acc", 0.5)
            .scalar("x/up", f64::INFINITY)
            .scalar("x/down", f64::NEG_INFINITY)
            .vector("sens/h1", vec![1.0, f64::NAN])
            .note("hi");
        let line = r.to_json_line();
        assert!(
            line.contains("\"NaN\"") && line.contains("\"-Infinity\""),
            "{line}"
        );
        let back = parse(&line).unwrap();
        assert_eq!(back.step, 7);
        assert!(back.scalars["train/loss"].is_nan());
        assert_eq!(back.scalars["x/up"], f64::INFINITY);
        assert_eq!(back.scalars["x/down"], f64::NEG_INFINITY);
        assert_eq!(back.scalars["train/acc"], 0.5);
        assert!(back.vectors["sens/h1"][1].is_nan());
        assert_eq!(back.notes, vec!["hi"]);
    }

    #[test]
    fn accepts_python_bare_tokens_but_not_inside_strings() {
        let r = parse(r#"{"step": 3, "scalars": {"a/NaN": NaN, "a/b": -Infinity, "a/c": Infinity}, "notes": ["NaN stays"]}"#)
            .unwrap();
        assert!(r.scalars["a/NaN"].is_nan());
        assert_eq!(r.scalars["a/b"], f64::NEG_INFINITY);
        assert_eq!(r.scalars["a/c"], f64::INFINITY);
        assert_eq!(r.notes, vec!["NaN stays"]);
    }

    #[test]
    fn floats_are_exact() {
        let r = parse(r#"{"step": 1, "scalars": {"a/b": 0.12345678901234568, "a/c": 1e-300}}"#)
            .unwrap();
        assert_eq!(r.scalars["a/b"], 0.123_456_789_012_345_68);
        assert_eq!(r.scalars["a/c"], 1e-300);
    }

    #[test]
    fn rejects_wrong_types_with_a_reason() {
        for bad in [
            r#"{"scalars": {"a/b": 1}}"#,
            r#"{"step": "3"}"#,
            r#"{"step": 1.5}"#,
            r#"{"step": 1, "scalars": {"a/b": "high"}}"#,
            r#"{"step": 1, "vectors": {"a/b": 3}}"#,
            r#"{"step": 1, "notes": [1]}"#,
            r#"[1, 2]"#,
            r#"{"step": 1"#,
        ] {
            let err = parse(bad).unwrap_err();
            assert!(!err.0.is_empty(), "{bad}");
        }
    }

    #[test]
    fn null_reads_as_nan_and_missing_parts_as_empty() {
        let r = parse(
            r#"{"step": 2, "time": null, "scalars": {"a/b": null}, "extra": {"ignored": true}}"#,
        )
        .unwrap();
        assert_eq!(r.time, None);
        assert!(r.scalars["a/b"].is_nan());
        assert!(r.vectors.is_empty() && r.notes.is_empty());
    }

    #[test]
    fn numbers_beyond_f64_read_as_infinity_on_every_path() {
        for line in [
            r#"{"step": 1, "scalars": {"a/b": 1e400, "a/c": -1e400}}"#,
            r#"{"step": 1, "scalars": {"a/b": 1e400, "a/c": -1e400}, "notes": ["x"]}"#,
            r#"{"step": 1, "scalars": {"a/b": 1e400, "a/c": -1e400}, "vectors": {"v/w": [1e999]}}"#,
            r#"{"step": 1, "scalars": {"a\u002fb": 1e400, "a/c": -1E+400}}"#,
            r#"{"step": 1, "scalars": {"a/b": 1e400, "a/c": -1e400, "n/x": NaN}}"#,
        ] {
            let r = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(r.scalars["a/b"], f64::INFINITY, "{line}");
            assert_eq!(r.scalars["a/c"], f64::NEG_INFINITY, "{line}");
        }
        let r = parse(r#"{"step": 2, "vectors": {"v/w": [1e999, -1e999, 1e-999]}}"#).unwrap();
        assert_eq!(
            r.vectors["v/w"],
            vec![f64::INFINITY, f64::NEG_INFINITY, 0.0]
        );
        // Inside strings nothing changes.
        let r = parse(r#"{"step": 3, "notes": ["1e400"], "scalars": {"a/b": 1e400}}"#).unwrap();
        assert_eq!(r.notes, vec!["1e400"]);
    }

    #[test]
    fn minus_zero_is_step_zero_on_every_path() {
        for line in [
            r#"{"step": -0}"#,
            r#"{"step": -0, "notes": ["resumed"]}"#,
            r#"{"step": -0, "scalars": {"a/b": NaN}}"#,
        ] {
            assert_eq!(parse(line).map(|r| r.step), Ok(0), "{line}");
        }
        assert!(parse(r#"{"step": -1.5, "notes": []}"#).is_err());
        assert!(parse(r#"{"step": 9223372036854775808}"#).is_err());
    }

    #[test]
    fn deep_nesting_is_malformed_not_a_stack_overflow() {
        let n = 100_000;
        let line = format!(r#"{{"step": 1, "x": {}{}}}"#, "[".repeat(n), "]".repeat(n));
        // A thread with a small stack, like the dashboard's reader.
        let err = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || parse(&line).unwrap_err())
            .unwrap()
            .join()
            .unwrap();
        assert!(err.0.contains("nested deeper than 128"), "{err}");
        // Brackets inside strings do not count, and moderate nesting is fine.
        let ok = format!(
            r#"{{"step": 1, "notes": ["{}"], "x": {}{}}}"#,
            "[".repeat(500),
            "[".repeat(100),
            "]".repeat(100)
        );
        assert_eq!(parse(&ok).unwrap().notes[0].len(), 500);
    }

    #[test]
    fn names_without_escapes_are_borrowed() {
        let line = br#"{"step": 1, "scalars": {"train/loss": 1.0, "we\u0069rd/x": 2.0}}"#;
        let mut scratch = Vec::new();
        let r = parse_line(line, &mut scratch).unwrap();
        assert!(matches!(r.scalars.0[0].0, Cow::Borrowed("train/loss")));
        assert_eq!(r.scalars.0[1].0, "weird/x");
    }
}
