//! 2-D maps in a record (docs/FORMAT.md, "Maps"): a grid of small
//! non-negative integers (region labels, predicted classes), stored
//! compactly as a run-length code and read leniently, so that a bad map
//! costs that map and never the record it came with.
//!
//! The compact code (`rle`): the cells in row-major order from the top-left,
//! as (value, count) pairs of unsigned LEB128 varints, base64-encoded
//! (standard alphabet, padded). A 96×64 map of region labels takes a few
//! kilobytes; a JSON array of its 6,144 numbers would take 20–30.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use base64::Engine as _;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::record::Name;

/// The region map of the slice: each cell's linear-region label, stable
/// between records (docs/METRICS.md).
pub const REGION_MAP: &str = "lc/slice/region";
/// The predicted class of each cell of the slice.
pub const CLASS_MAP: &str = "lc/slice/class";
/// The scalar: number of linear regions on the slice's grid.
pub const SLICE_REGIONS: &str = "lc/slice_regions";

/// Most cells a map may have (width × height); larger ones are skipped.
pub const MAX_MAP_CELLS: u64 = 1 << 20;

/// A point drawn on top of a map (e.g. the anchors of a slice), in cell
/// units: `x` from the left edge, `y` from the top edge; cell (i, j) spans
/// `[i, i+1) × [j, j+1)`, so its centre is (i + 0.5, j + 0.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapMark {
    /// Horizontal position in cells from the left edge.
    pub x: f64,
    /// Vertical position in cells from the top edge.
    pub y: f64,
    /// What the point is ("A: train #12, class 3").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A `width × height` grid of non-negative integers, held run-length
/// encoded (row-major from the top-left), with optional marks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GridMap {
    width: u32,
    height: u32,
    /// (value, count) runs, adjacent runs of equal values merged.
    runs: Vec<(u32, u32)>,
    /// Points to mark on the map.
    pub marks: Vec<MapMark>,
}

/// Why a map was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapError(pub String);

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, MapError> {
    Err(MapError(msg.into()))
}

fn check_size(width: u64, height: u64) -> Result<(u32, u32), MapError> {
    if width == 0 || height == 0 {
        return err(format!("a map of {width}×{height} cells is empty"));
    }
    if width.saturating_mul(height) > MAX_MAP_CELLS {
        return err(format!(
            "a map of {width}×{height} cells is larger than the {MAX_MAP_CELLS} cells allowed"
        ));
    }
    Ok((width as u32, height as u32))
}

impl GridMap {
    /// A map of `values` (row-major from the top-left, `width × height` of
    /// them).
    pub fn from_values(width: usize, height: usize, values: &[u32]) -> Result<GridMap, MapError> {
        let (w, h) = check_size(width as u64, height as u64)?;
        if values.len() != width * height {
            return err(format!(
                "{} values for a map of {width}×{height} = {} cells",
                values.len(),
                width * height
            ));
        }
        let mut map = GridMap {
            width: w,
            height: h,
            runs: Vec::new(),
            marks: Vec::new(),
        };
        for &v in values {
            map.push_run(v, 1);
        }
        Ok(map)
    }

    /// Adds marks.
    pub fn with_marks(mut self, marks: Vec<MapMark>) -> GridMap {
        self.marks = marks;
        self
    }

    fn push_run(&mut self, value: u32, count: u32) {
        match self.runs.last_mut() {
            Some((v, n)) if *v == value => *n += count,
            _ => self.runs.push((value, count)),
        }
    }

    /// Width in cells.
    pub fn width(&self) -> usize {
        self.width as usize
    }

    /// Height in cells.
    pub fn height(&self) -> usize {
        self.height as usize
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.width() * self.height()
    }

    /// The runs of equal values, in row-major order: (value, count).
    pub fn runs(&self) -> &[(u32, u32)] {
        &self.runs
    }

    /// Every cell's value, row-major from the top-left.
    pub fn values(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.cells());
        for &(v, n) in &self.runs {
            out.extend(std::iter::repeat_n(v, n as usize));
        }
        out
    }

    /// Number of distinct values (for a map of region labels: the number
    /// of regions on the grid).
    pub fn distinct(&self) -> usize {
        self.runs.iter().map(|r| r.0).collect::<HashSet<_>>().len()
    }

    /// The largest value.
    pub fn max_value(&self) -> u32 {
        self.runs.iter().map(|r| r.0).max().unwrap_or(0)
    }

    /// The compact code: base64 of (value, count) varint pairs.
    pub fn to_rle(&self) -> String {
        let mut bytes = Vec::with_capacity(self.runs.len() * 3);
        for &(v, n) in &self.runs {
            put_varint(&mut bytes, v);
            put_varint(&mut bytes, n);
        }
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A map from its compact code.
    pub fn from_rle(width: u64, height: u64, rle: &str) -> Result<GridMap, MapError> {
        let (w, h) = check_size(width, height)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(rle.trim())
            .map_err(|e| MapError(format!("rle is not base64: {e}")))?;
        let cells = u64::from(w) * u64::from(h);
        let mut map = GridMap {
            width: w,
            height: h,
            runs: Vec::new(),
            marks: Vec::new(),
        };
        let mut i = 0;
        let mut total = 0u64;
        while i < bytes.len() {
            let value = get_varint(&bytes, &mut i)?;
            let count = get_varint(&bytes, &mut i)?;
            if count == 0 {
                return err("rle has a run of length 0");
            }
            total += u64::from(count);
            if total > cells {
                return err(format!("rle holds more than the {cells} cells of the map"));
            }
            map.push_run(value, count);
        }
        if total != cells {
            return err(format!(
                "rle holds {total} cells, the map has {width}×{height} = {cells}"
            ));
        }
        Ok(map)
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], i: &mut usize) -> Result<u32, MapError> {
    let mut v: u64 = 0;
    for shift in (0..35).step_by(7) {
        let Some(&b) = bytes.get(*i) else {
            return err("rle ends inside a number");
        };
        *i += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return u32::try_from(v).map_err(|_| MapError("rle number over 2^32".into()));
        }
    }
    err("rle number longer than 5 bytes")
}

impl Serialize for GridMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("width", &self.width)?;
        m.serialize_entry("height", &self.height)?;
        m.serialize_entry("rle", &self.to_rle())?;
        if !self.marks.is_empty() {
            m.serialize_entry("marks", &self.marks)?;
        }
        m.end()
    }
}

/// A map object as written: every field optional, checked afterwards.
#[derive(Deserialize)]
struct RawMap {
    width: Option<u64>,
    height: Option<u64>,
    rle: Option<String>,
    values: Option<Vec<u64>>,
    #[serde(default)]
    marks: Vec<MapMark>,
}

impl RawMap {
    fn build(self) -> Result<GridMap, MapError> {
        let (Some(width), Some(height)) = (self.width, self.height) else {
            return err("a map needs integer width and height");
        };
        let map = match (self.rle, self.values) {
            (Some(rle), None) => GridMap::from_rle(width, height, &rle)?,
            (None, Some(values)) => {
                let (w, h) = check_size(width, height)?;
                let values = values
                    .into_iter()
                    .map(|v| u32::try_from(v).map_err(|_| MapError(format!("value {v} over 2^32"))))
                    .collect::<Result<Vec<u32>, _>>()?;
                GridMap::from_values(w as usize, h as usize, &values)?
            }
            (Some(_), Some(_)) => return err("a map has either rle or values, not both"),
            (None, None) => return err("a map needs rle or values"),
        };
        if self
            .marks
            .iter()
            .any(|m| !(m.x.is_finite() && m.y.is_finite()))
        {
            return err("a mark's x and y must be finite numbers");
        }
        Ok(map.with_marks(self.marks))
    }
}

/// `maps` of a parsed line, in file order: each map, or why it was skipped.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MapList<'a>(pub Vec<(Cow<'a, str>, Result<GridMap, MapError>)>);

/// One map value: whatever it holds, it parses; a bad one becomes an error.
struct MapValue(Result<GridMap, MapError>);

impl<'de> Deserialize<'de> for MapValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Buffer the value first, so that a map of the wrong shape is
        // reported without failing the whole line.
        let value = serde_json::Value::deserialize(d)?;
        Ok(MapValue(match serde_json::from_value::<RawMap>(value) {
            Ok(raw) => raw.build(),
            Err(e) => Err(MapError(format!("not a map object: {e}"))),
        }))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for MapList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        fn not_an_object<'a>(what: &str) -> MapList<'a> {
            MapList(vec![(
                Cow::Borrowed("maps"),
                Err(MapError(format!("maps must be an object, got {what}"))),
            )])
        }
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = MapList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of map name → map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<MapList<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some((Name(k), MapValue(v))) = m.next_entry::<Name<'a>, MapValue>()? {
                    out.push((k, v));
                }
                Ok(MapList(out))
            }
            fn visit_unit<E>(self) -> Result<MapList<'a>, E> {
                Ok(MapList::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<MapList<'a>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(not_an_object("an array"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<MapList<'a>, E> {
                Ok(not_an_object("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<MapList<'a>, E> {
                Ok(not_an_object("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<MapList<'a>, E> {
                Ok(not_an_object("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<MapList<'a>, E> {
                Ok(not_an_object("a number"))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<MapList<'a>, E> {
                Ok(not_an_object("a string"))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varints_and_runs_round_trip() {
        let values: Vec<u32> = vec![0, 0, 0, 127, 128, 128, 300_000, 7, 7, u32::MAX];
        let map = GridMap::from_values(5, 2, &values).unwrap();
        assert_eq!(map.runs().len(), 6);
        assert_eq!(map.distinct(), 6);
        let back = GridMap::from_rle(5, 2, &map.to_rle()).unwrap();
        assert_eq!(back.values(), values);
        assert_eq!(back, map);
    }

    #[test]
    fn bad_codes_say_what_is_wrong() {
        let ok = GridMap::from_values(2, 2, &[1, 1, 2, 2]).unwrap().to_rle();
        for (w, h, rle, want) in [
            (3, 2, ok.as_str(), "holds 4 cells"),
            (1, 2, ok.as_str(), "more than the 2 cells"),
            (0, 2, ok.as_str(), "empty"),
            (2048, 1024, ok.as_str(), "larger than"),
            (2, 2, "not base64!", "not base64"),
            (2, 2, "gA==", "ends inside a number"),
            (2, 2, "AQA=", "length 0"),
            (2, 2, "//////8BAQ==", "longer than 5 bytes"),
        ] {
            let e = GridMap::from_rle(w, h, rle).unwrap_err();
            assert!(e.0.contains(want), "{w}×{h} {rle}: {e}");
        }
    }

    fn parse(json: &str) -> MapList<'_> {
        sonic_rs::from_str::<MapList>(json).unwrap()
    }

    #[test]
    fn maps_parse_from_rle_or_values_and_bad_ones_are_kept_as_errors() {
        let rle = GridMap::from_values(2, 1, &[3, 4]).unwrap().to_rle();
        let json = format!(
            r#"{{"a/rle": {{"width": 2, "height": 1, "rle": "{rle}", "marks": [{{"x": 0.5, "y": 0.5, "label": "A"}}]}},
                "a/values": {{"width": 2, "height": 1, "values": [3, 4]}},
                "a/short": {{"width": 3, "height": 1, "values": [3, 4]}},
                "a/both": {{"width": 2, "height": 1, "values": [3, 4], "rle": "{rle}"}},
                "a/neither": {{"width": 2, "height": 1}},
                "a/negative": {{"width": 2, "height": 1, "values": [-1, 4]}},
                "a/number": 5,
                "a/future": {{"width": 2, "height": 1, "rle": "{rle}", "palette": "viridis"}}}}"#
        );
        let list = parse(&json);
        let by_name: Vec<(&str, Result<Vec<u32>, String>)> = list
            .0
            .iter()
            .map(|(k, v)| {
                (
                    k.as_ref(),
                    v.as_ref().map(GridMap::values).map_err(|e| e.0.clone()),
                )
            })
            .collect();
        assert_eq!(by_name[0], ("a/rle", Ok(vec![3, 4])));
        assert_eq!(
            list.0[0].1.as_ref().unwrap().marks[0].label.as_deref(),
            Some("A")
        );
        assert_eq!(by_name[1], ("a/values", Ok(vec![3, 4])));
        assert!(by_name[2].1.as_ref().unwrap_err().contains("2 values"));
        assert!(by_name[3].1.as_ref().unwrap_err().contains("not both"));
        assert!(by_name[4].1.as_ref().unwrap_err().contains("rle or values"));
        assert!(by_name[5]
            .1
            .as_ref()
            .unwrap_err()
            .contains("not a map object"));
        assert!(by_name[6]
            .1
            .as_ref()
            .unwrap_err()
            .contains("not a map object"));
        // Unknown fields of a map are ignored: newer writers stay readable.
        assert_eq!(by_name[7], ("a/future", Ok(vec![3, 4])));
        assert!(parse("null").0.is_empty());
        assert!(parse("[1, 2]").0[0].1.is_err());
    }

    proptest! {
        #[test]
        fn any_map_round_trips(
            w in 1usize..20,
            h in 1usize..20,
            seed in any::<u64>(),
            spread in prop_oneof![Just(2u32), Just(300), Just(u32::MAX)],
        ) {
            let mut s = seed;
            let values: Vec<u32> = (0..w * h)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((s >> 33) as u32) % spread
                })
                .collect();
            let map = GridMap::from_values(w, h, &values).unwrap();
            let json = serde_json::to_string(&map).unwrap();
            let line = format!(r#"{{"m": {json}}}"#);
            let back = parse(&line);
            prop_assert_eq!(back.0[0].1.as_ref().unwrap().values(), values);
        }
    }
}
