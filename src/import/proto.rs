//! A minimal protobuf wire decoder for TensorBoard's `Event` messages.
//!
//! Written by hand rather than with prost: only a dozen fields of five
//! messages matter, decoding must borrow tags from the record buffer instead
//! of allocating a `String` per value (a million-scalar file loads in a
//! fraction of a second), and no `protoc` or generated code is needed. Field
//! numbers follow TensorFlow's `event.proto`, `summary.proto`, `tensor.proto`
//! and `tensor_shape.proto`. Unknown fields are skipped, as protobuf requires.

use std::fmt;

/// A decoding failure: the bytes are not the message they claim to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "bad protobuf: {}", self.0)
    }
}

type Result<T> = std::result::Result<T, DecodeError>;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A cursor over one message's bytes.
#[derive(Debug, Clone)]
pub struct Wire<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// One field's value, as the wire type gives it.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2: bytes, a string, a sub-message or a packed array.
    Len(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

impl<'a> Wire<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Wire { buf, pos: 0 }
    }

    #[inline]
    fn varint(&mut self) -> Result<u64> {
        // Keys and short lengths fit one byte: the common case, kept tight.
        if let Some(&b) = self.buf.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or(DecodeError("truncated varint"))?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(DecodeError("varint longer than 10 bytes"))
    }

    /// The next byte.
    #[inline]
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// Reads a length and returns how many bytes past it are left over
    /// beyond that length (`None` if the length is unreadable or runs past
    /// the end).
    #[inline]
    fn len_to_end(&mut self) -> Option<usize> {
        let n = self.varint().ok()?;
        let rest = (self.buf.len() - self.pos) as u64;
        rest.checked_sub(n).map(|r| r as usize)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(DecodeError("length overflow"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError("truncated field"))?;
        self.pos = end;
        Ok(s)
    }

    /// The next (field number, value), or `None` at the end.
    #[inline]
    pub fn next_field(&mut self) -> Result<Option<(u32, Field<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| DecodeError("field number too large"))?;
        let value = match (key & 7) as u8 {
            VARINT => Field::Varint(self.varint()?),
            FIXED64 => Field::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().expect("8 bytes"),
            )),
            LEN => {
                let n =
                    usize::try_from(self.varint()?).map_err(|_| DecodeError("length too large"))?;
                Field::Len(self.take(n)?)
            }
            FIXED32 => Field::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().expect("4 bytes"),
            )),
            _ => return Err(DecodeError("unsupported wire type")),
        };
        Ok(Some((number, value)))
    }
}

/// Appends the doubles of a repeated `double` field (packed or not).
fn push_doubles(field: Field<'_>, out: &mut Vec<f64>) -> Result<()> {
    match field {
        Field::Fixed64(bits) => out.push(f64::from_bits(bits)),
        Field::Len(bytes) => {
            if bytes.len() % 8 != 0 {
                return Err(DecodeError("packed doubles not a multiple of 8 bytes"));
            }
            out.extend(
                bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8"))),
            );
        }
        _ => return Err(DecodeError("wrong wire type for double")),
    }
    Ok(())
}

/// The first element of a repeated `float` field (packed or not).
fn first_float(field: Field<'_>) -> Result<Option<f64>> {
    match field {
        Field::Fixed32(bits) => Ok(Some(f64::from(f32::from_bits(bits)))),
        Field::Len(bytes) => Ok(bytes
            .get(..4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4"))))),
        _ => Err(DecodeError("wrong wire type for float")),
    }
}

/// The first element of a repeated varint field (packed or not).
fn first_varint(field: Field<'_>) -> Result<Option<u64>> {
    match field {
        Field::Varint(v) => Ok(Some(v)),
        Field::Len([]) => Ok(None),
        Field::Len(bytes) => Wire::new(bytes).varint().map(Some),
        _ => Err(DecodeError("wrong wire type for varint")),
    }
}

/// `s` as text if it is valid UTF-8; short ASCII tags (nearly all of them)
/// skip the general validator.
#[inline]
fn utf8(s: &[u8]) -> Option<&str> {
    if s.is_ascii() {
        // SAFETY: ASCII is valid UTF-8. (The general validator cost 3% of
        // loading a million-scalar event file.)
        Some(unsafe { std::str::from_utf8_unchecked(s) })
    } else {
        std::str::from_utf8(s).ok()
    }
}

/// `Event`: the parts grokscope uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event<'a> {
    /// Seconds since the epoch.
    pub wall_time: f64,
    /// Global step.
    pub step: i64,
    /// `file_version`, on the first event of a file.
    pub file_version: Option<&'a str>,
    /// The encoded `Summary`, if the event carries one.
    pub summary: Option<&'a [u8]>,
    /// `SessionLog.status` (1 start, 2 stop, 3 checkpoint), if present.
    pub session_status: Option<u64>,
}

impl<'a> Event<'a> {
    /// Decodes an `Event`.
    pub fn decode(buf: &'a [u8]) -> Result<Event<'a>> {
        let mut e = Event::default();
        let mut w = Wire::new(buf);
        while let Some((n, f)) = w.next_field()? {
            match (n, f) {
                (1, Field::Fixed64(bits)) => e.wall_time = f64::from_bits(bits),
                (2, Field::Varint(v)) => e.step = v as i64,
                (3, Field::Len(s)) => e.file_version = utf8(s),
                (5, Field::Len(s)) => e.summary = Some(s),
                (7, Field::Len(s)) => {
                    let mut sw = Wire::new(s);
                    while let Some((n, f)) = sw.next_field()? {
                        if let (1, Field::Varint(v)) = (n, f) {
                            e.session_status = Some(v);
                        }
                    }
                    e.session_status.get_or_insert(0);
                }
                _ => {}
            }
        }
        Ok(e)
    }
}

/// The commonest event, decoded in one pass: see [`simple_scalar`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimpleScalar<'a> {
    /// `Event.wall_time` (0 when absent, as [`Event::decode`] gives it).
    pub wall_time: f64,
    /// `Event.step` (0 when absent).
    pub step: i64,
    /// `Summary.Value.tag`.
    pub tag: &'a str,
    /// `Summary.Value.simple_value`.
    pub value: f32,
}

/// Keys (field number << 3 | wire type) of the fields [`simple_scalar`] reads.
mod key {
    pub const WALL_TIME: u8 = 1 << 3 | super::FIXED64;
    pub const STEP: u8 = 2 << 3 | super::VARINT;
    pub const SUMMARY: u8 = 5 << 3 | super::LEN;
    pub const VALUE: u8 = 1 << 3 | super::LEN;
    pub const TAG: u8 = 1 << 3 | super::LEN;
    pub const SIMPLE_VALUE: u8 = 2 << 3 | super::FIXED32;
}

/// Decodes `buf` if it is exactly the event that PyTorch's `add_scalar`,
/// TF1 and TensorBoard's own writers emit for a scalar: `Event { wall_time?,
/// step?, summary { value { tag, simple_value } } }`, those fields in that
/// order, each once, and nothing else. `None` for any other shape, or a
/// tag that is not UTF-8: decode those with [`Event::decode`], which gives
/// the same result for every event this accepts (the tests check that on
/// random events), but walks the fields generically and costs several
/// times more.
#[inline]
pub fn simple_scalar(buf: &[u8]) -> Option<SimpleScalar<'_>> {
    let mut w = Wire::new(buf);
    let mut k = w.byte()?;
    let mut wall_time = 0.0;
    if k == key::WALL_TIME {
        wall_time = f64::from_le_bytes(w.take(8).ok()?.try_into().ok()?);
        k = w.byte()?;
    }
    let mut step = 0;
    if k == key::STEP {
        step = w.varint().ok()? as i64;
        k = w.byte()?;
    }
    // The summary, its one value and the value's fields must each end
    // exactly where the enclosing message does.
    if k != key::SUMMARY || w.len_to_end()? != 0 {
        return None;
    }
    if w.byte()? != key::VALUE || w.len_to_end()? != 0 {
        return None;
    }
    if w.byte()? != key::TAG {
        return None;
    }
    let n = usize::try_from(w.varint().ok()?).ok()?;
    let tag = utf8(w.take(n).ok()?)?;
    if w.byte()? != key::SIMPLE_VALUE {
        return None;
    }
    let value = f32::from_le_bytes(w.take(4).ok()?.try_into().ok()?);
    if w.pos != w.buf.len() {
        return None;
    }
    Some(SimpleScalar {
        wall_time,
        step,
        tag,
        value,
    })
}

/// Iterates the `Summary.Value`s of an encoded `Summary`.
pub fn summary_values(summary: &[u8]) -> impl Iterator<Item = Result<Value<'_>>> {
    let mut w = Wire::new(summary);
    std::iter::from_fn(move || loop {
        match w.next_field() {
            Err(e) => return Some(Err(e)),
            Ok(None) => return None,
            Ok(Some((1, Field::Len(v)))) => return Some(Value::decode(v)),
            Ok(Some(_)) => continue,
        }
    })
}

/// `SummaryMetadata`: the plugin and data class of a tag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metadata<'a> {
    /// `plugin_data.plugin_name` ("scalars", "histograms", ...).
    pub plugin: Option<&'a str>,
    /// `data_class` (1 scalar, 2 tensor, 3 blob sequence).
    pub data_class: u64,
}

/// Data class value of scalar time series.
pub const DATA_CLASS_SCALAR: u64 = 1;

/// `Summary.Value`: the parts grokscope uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Value<'a> {
    /// The tag (metric name).
    pub tag: &'a str,
    /// Metadata, present on a tag's first value.
    pub metadata: Option<Metadata<'a>>,
    /// `simple_value`.
    pub simple_value: Option<f32>,
    /// The encoded `HistogramProto`.
    pub histo: Option<&'a [u8]>,
    /// The encoded `TensorProto`.
    pub tensor: Option<&'a [u8]>,
}

impl<'a> Value<'a> {
    fn decode(buf: &'a [u8]) -> Result<Value<'a>> {
        let mut v = Value::default();
        let mut w = Wire::new(buf);
        while let Some((n, f)) = w.next_field()? {
            match (n, f) {
                (1, Field::Len(s)) => v.tag = utf8(s).ok_or(DecodeError("tag is not UTF-8"))?,
                (2, Field::Fixed32(bits)) => v.simple_value = Some(f32::from_bits(bits)),
                (5, Field::Len(s)) => v.histo = Some(s),
                (8, Field::Len(s)) => v.tensor = Some(s),
                (9, Field::Len(s)) => v.metadata = Some(Metadata::decode(s)?),
                _ => {}
            }
        }
        Ok(v)
    }
}

impl<'a> Metadata<'a> {
    fn decode(buf: &'a [u8]) -> Result<Metadata<'a>> {
        let mut m = Metadata::default();
        let mut w = Wire::new(buf);
        while let Some((n, f)) = w.next_field()? {
            match (n, f) {
                (1, Field::Len(s)) => {
                    let mut pw = Wire::new(s);
                    while let Some((n, f)) = pw.next_field()? {
                        if let (1, Field::Len(name)) = (n, f) {
                            m.plugin = std::str::from_utf8(name).ok();
                        }
                    }
                }
                (4, Field::Varint(c)) => m.data_class = c,
                _ => {}
            }
        }
        Ok(m)
    }
}

/// `HistogramProto`: bucket right edges and counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Right edge of each bucket.
    pub limits: Vec<f64>,
    /// Count of each bucket.
    pub counts: Vec<f64>,
}

impl Histogram {
    /// Decodes a `HistogramProto`.
    pub fn decode(buf: &[u8]) -> Result<Histogram> {
        let mut h = Histogram::default();
        let mut w = Wire::new(buf);
        while let Some((n, f)) = w.next_field()? {
            match n {
                6 => push_doubles(f, &mut h.limits)?,
                7 => push_doubles(f, &mut h.counts)?,
                _ => {}
            }
        }
        Ok(h)
    }
}

/// TensorFlow `DataType` values grokscope reads.
mod dtype {
    pub const FLOAT: u64 = 1;
    pub const DOUBLE: u64 = 2;
    pub const INT32: u64 = 3;
    pub const INT64: u64 = 9;
    pub const BFLOAT16: u64 = 14;
    pub const HALF: u64 = 19;
}

/// The value of a rank-0 numeric `TensorProto`, from its typed field or
/// from `tensor_content`. `Ok(None)` for other ranks or types.
pub fn tensor_scalar(buf: &[u8]) -> Result<Option<f64>> {
    let mut w = Wire::new(buf);
    let mut dtype = 0;
    let mut rank = 0usize;
    let mut content: Option<&[u8]> = None;
    let mut typed: Option<f64> = None;
    let mut half_bits: Option<u64> = None;
    while let Some((n, f)) = w.next_field()? {
        match (n, f) {
            (1, Field::Varint(d)) => dtype = d,
            (2, Field::Len(shape)) => {
                let mut sw = Wire::new(shape);
                while let Some((n, f)) = sw.next_field()? {
                    if let (2, Field::Len(dim)) = (n, f) {
                        // A dimension of size 1 does not change the element count.
                        let mut dw = Wire::new(dim);
                        let mut size = 0;
                        while let Some((n, f)) = dw.next_field()? {
                            if let (1, Field::Varint(s)) = (n, f) {
                                size = s;
                            }
                        }
                        if size != 1 {
                            rank += 1;
                        }
                    }
                }
            }
            (4, Field::Len(c)) => content = Some(c),
            (5, f) => typed = typed.or(first_float(f)?),
            (6, f) => {
                let mut v = Vec::new();
                push_doubles(f, &mut v)?;
                typed = typed.or(v.first().copied());
            }
            (7, f) => typed = typed.or(first_varint(f)?.map(|v| v as i32 as f64)),
            (10, f) => typed = typed.or(first_varint(f)?.map(|v| v as i64 as f64)),
            (13, f) => half_bits = half_bits.or(first_varint(f)?),
            _ => {}
        }
    }
    if rank != 0 {
        return Ok(None);
    }
    let from_content = |c: &[u8]| -> Option<f64> {
        Some(match dtype {
            dtype::FLOAT => f64::from(f32::from_le_bytes(c.get(..4)?.try_into().ok()?)),
            dtype::DOUBLE => f64::from_le_bytes(c.get(..8)?.try_into().ok()?),
            dtype::INT32 => f64::from(i32::from_le_bytes(c.get(..4)?.try_into().ok()?)),
            dtype::INT64 => i64::from_le_bytes(c.get(..8)?.try_into().ok()?) as f64,
            dtype::HALF => f64::from(half::f16::from_bits(u16::from_le_bytes(
                c.get(..2)?.try_into().ok()?,
            ))),
            dtype::BFLOAT16 => f64::from(half::bf16::from_bits(u16::from_le_bytes(
                c.get(..2)?.try_into().ok()?,
            ))),
            _ => return None,
        })
    };
    let from_half = |bits: u64| -> Option<f64> {
        let bits = bits as u16;
        match dtype {
            dtype::HALF => Some(f64::from(half::f16::from_bits(bits))),
            dtype::BFLOAT16 => Some(f64::from(half::bf16::from_bits(bits))),
            _ => None,
        }
    };
    Ok(content
        .and_then(from_content)
        .or(typed)
        .or_else(|| half_bits.and_then(from_half)))
}

/// A protobuf encoder for the tests of this module and of `tfevents`.
#[cfg(test)]
pub(crate) mod encode {
    /// Appends `v` as a varint.
    pub fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// Appends the key of field `n` with wire type `wire`.
    pub fn key(n: u32, wire: u8, out: &mut Vec<u8>) {
        varint(u64::from(n) << 3 | u64::from(wire), out);
    }

    /// Field `n`, length-delimited.
    pub fn len_field(n: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        key(n, 2, &mut out);
        varint(bytes.len() as u64, &mut out);
        out.extend_from_slice(bytes);
        out
    }

    /// Field `n`, fixed 64 bits.
    pub fn fixed64(n: u32, v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        key(n, 1, &mut out);
        out.extend_from_slice(&v.to_le_bytes());
        out
    }

    /// Field `n`, fixed 32 bits.
    pub fn fixed32(n: u32, v: u32) -> Vec<u8> {
        let mut out = Vec::new();
        key(n, 5, &mut out);
        out.extend_from_slice(&v.to_le_bytes());
        out
    }

    /// Field `n`, a varint.
    pub fn varint_field(n: u32, v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        key(n, 0, &mut out);
        varint(v, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::encode::{len_field, varint};
    use super::*;

    #[test]
    fn decodes_rank0_tensors_of_every_supported_type() {
        // dtype HALF with half_val = 0x3c00 (1.0)
        let mut t = Vec::new();
        varint(1 << 3, &mut t);
        varint(dtype::HALF, &mut t);
        varint(13 << 3, &mut t);
        varint(0x3c00, &mut t);
        assert_eq!(tensor_scalar(&t).unwrap(), Some(1.0));
        // dtype BFLOAT16 in tensor_content: 0x4040 = 3.0
        let mut t = Vec::new();
        varint(1 << 3, &mut t);
        varint(dtype::BFLOAT16, &mut t);
        t.extend(len_field(4, &[0x40, 0x40]));
        assert_eq!(tensor_scalar(&t).unwrap(), Some(3.0));
        // dtype INT64 with int64_val = -5 (packed)
        let mut t = Vec::new();
        varint(1 << 3, &mut t);
        varint(dtype::INT64, &mut t);
        let mut packed = Vec::new();
        varint(-5i64 as u64, &mut packed);
        t.extend(len_field(10, &packed));
        assert_eq!(tensor_scalar(&t).unwrap(), Some(-5.0));
        // A vector shape [3] is not a scalar.
        let mut dim = Vec::new();
        varint(1 << 3, &mut dim);
        varint(3, &mut dim);
        let mut shape = Vec::new();
        shape.extend(len_field(2, &dim));
        let mut t = Vec::new();
        varint(1 << 3, &mut t);
        varint(dtype::DOUBLE, &mut t);
        t.extend(len_field(2, &shape));
        assert_eq!(tensor_scalar(&t).unwrap(), None);
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut t = Vec::new();
        t.extend(len_field(1, b"train/loss"));
        for cut in 0..t.len() {
            let _ = Value::decode(&t[..cut]);
        }
        assert!(Value::decode(&t[..t.len() - 1]).is_err());
    }
}
