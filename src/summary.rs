//! `grokscope summary`: a run read headlessly, as JSON or a text table.
//!
//! Both forms are safe to print on a terminal whatever the log holds: the
//! table writes control and bidi characters of names and messages as
//! visible escapes ([`crate::text::printable`]); the JSON escapes them as
//! `\uXXXX`, which any JSON reader turns back into the same string
//! ([`write_json`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;

use serde::Serialize;

use crate::analysis::{diagnose, Diagnosis, Event, RunContext, Verdict};
use crate::numfmt::precise as format_value;
use crate::run::Num;
use crate::source::{RunFeed, RunKind};
use crate::text::{pad, printable, width};

/// Per-metric facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSummary {
    /// Number of points.
    pub count: usize,
    /// Step of the first point.
    pub first_step: i64,
    /// Step of the last point.
    pub last_step: i64,
    /// Last value (may be non-finite).
    pub last: Num,
    /// Smallest finite value (null when none is finite).
    pub min: Option<Num>,
    /// Largest finite value (null when none is finite).
    pub max: Option<Num>,
    /// Number of NaN and ±Infinity values.
    pub non_finite: u64,
}

/// Per-vector-metric facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VectorSummary {
    /// Number of vectors.
    pub count: usize,
    /// Length of the longest vector.
    pub width: usize,
    /// Step of the first vector.
    pub first_step: i64,
    /// Step of the last vector.
    pub last_step: i64,
}

/// Per-map facts (2-D maps such as the region map of a slice).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapSummary {
    /// Number of maps.
    pub count: usize,
    /// Cells across (of the last map).
    pub width: usize,
    /// Cells down (of the last map).
    pub height: usize,
    /// Step of the first map.
    pub first_step: i64,
    /// Step of the last map.
    pub last_step: i64,
    /// `[step, distinct values]` of every map, in record order: for a map
    /// of region labels, the number of linear regions on the slice over
    /// time.
    pub distinct: Vec<(i64, usize)>,
}

/// Malformed-line facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MalformedSummary {
    /// How many lines were skipped.
    pub count: u64,
    /// Their line numbers (the first ones, up to a limit).
    pub lines: Vec<u64>,
    /// The reason the first one was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_reason: Option<String>,
}

/// A last line without its newline that is not a complete record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartialLineSummary {
    /// Its line number.
    pub line: u64,
    /// Its length in bytes (null when it was too long to hold).
    pub bytes: Option<usize>,
    /// Why it is not a record.
    pub reason: String,
}

/// Everything `summary` reports about one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Run name.
    pub run: String,
    /// Run folder or file.
    pub path: String,
    /// Log kind: "jsonl" or "tfevents".
    pub kind: &'static str,
    /// Records read.
    pub records: u64,
    /// Segments (a step going backwards starts one).
    pub segments: usize,
    /// Malformed lines.
    pub malformed: MalformedSummary,
    /// An unfinished last line (a writer still writing, or one that
    /// crashed): not a malformed line, and not read.
    pub partial_last_line: Option<PartialLineSummary>,
    /// Warnings: broken meta.json, re-reads, an unreadable log, values
    /// over the name limits.
    pub warnings: Vec<String>,
    /// Scalar metrics by name.
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Vector metrics by name.
    pub vectors: BTreeMap<String, VectorSummary>,
    /// 2-D maps by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub maps: BTreeMap<String, MapSummary>,
    /// Maps skipped because they were malformed (their records were kept).
    #[serde(skip_serializing_if = "is_zero")]
    pub skipped_maps: u64,
    /// Number of notes.
    pub notes: usize,
    /// The state of the run now, with its reason ([`crate::analysis::Verdict`]).
    pub verdict: Verdict,
    /// What the run is doing, from [`crate::analysis`], by segment and step.
    pub events: Vec<Event>,
}

impl RunSummary {
    /// Summarises what a feed has read.
    pub fn of(feed: &RunFeed) -> RunSummary {
        let store = &feed.store;
        let health = &feed.health;
        let metrics = store
            .metric_names()
            .filter_map(|name| {
                let s = store.series(name)?;
                let (last_step, last) = s.last()?;
                let e = s.total_extent();
                let finite = e.has_finite();
                Some((
                    name.to_string(),
                    MetricSummary {
                        count: s.len(),
                        first_step: s.step(0),
                        last_step,
                        last: Num(last),
                        min: finite.then_some(Num(e.min)),
                        max: finite.then_some(Num(e.max)),
                        non_finite: s.non_finite(),
                    },
                ))
            })
            .collect();
        let vectors = store
            .vector_names()
            .filter_map(|name| {
                let v = store.vector(name)?;
                let n = v.len();
                (n > 0).then(|| {
                    (
                        name.to_string(),
                        VectorSummary {
                            count: n,
                            width: v.max_width(),
                            first_step: v.step(0),
                            last_step: v.step(n - 1),
                        },
                    )
                })
            })
            .collect();
        let maps = store
            .maps()
            .names()
            .filter_map(|name| {
                let m = store.maps().series(name)?;
                let last = m.len().checked_sub(1)?;
                let step = |i: usize| store.record_step(m.record(i));
                Some((
                    name.to_string(),
                    MapSummary {
                        count: m.len(),
                        width: m.get(last).width(),
                        height: m.get(last).height(),
                        first_step: step(0),
                        last_step: step(last),
                        distinct: (0..m.len()).map(|i| (step(i), m.distinct(i))).collect(),
                    },
                ))
            })
            .collect();
        let mut warnings = Vec::new();
        if let Some(e) = &feed.source.meta_error {
            warnings.push(format!("meta.json ignored: {e}"));
        }
        warnings.extend(health.resets.iter().cloned());
        warnings.extend(health.warnings.iter().cloned());
        warnings.extend(store.refused().warnings());
        if let Some(e) = &health.read_error {
            warnings.push(e.clone());
        }
        if health.pending_bytes > 0 {
            warnings.push(format!(
                "{} bytes of an incomplete last record were not read (a writer still running, or one that crashed)",
                health.pending_bytes
            ));
        }
        let Diagnosis { events, verdict } = diagnose(
            store,
            RunContext::of(feed.source.meta.as_ref()),
            store.records(),
        );
        let kind = match feed.source.kind {
            RunKind::Jsonl => "jsonl",
            RunKind::TfEvents => "tfevents",
        };
        RunSummary {
            run: feed.source.name.clone(),
            path: feed.source.path.display().to_string(),
            kind,
            records: health.records,
            segments: store.segment_count(),
            malformed: MalformedSummary {
                count: health.malformed,
                lines: health.malformed_lines.clone(),
                first_reason: health
                    .first_malformed
                    .as_ref()
                    .map(|(l, r)| format!("line {l}: {r}")),
            },
            partial_last_line: health
                .partial_last_line
                .as_ref()
                .map(|p| PartialLineSummary {
                    line: p.line,
                    bytes: p.bytes,
                    reason: p.reason.clone(),
                }),
            warnings,
            metrics,
            vectors,
            maps,
            skipped_maps: health.skipped_maps,
            notes: store.notes().count(),
            verdict,
            events,
        }
    }

    /// A readable table; every name and message from the log is
    /// [printable](crate::text::printable).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "run       {}  ({})",
            printable(&self.run),
            printable(&self.path)
        );
        let _ = writeln!(
            out,
            "records   {}   segments {}   notes {}",
            self.records, self.segments, self.notes
        );
        if self.malformed.count > 0 {
            let lines: Vec<String> = self
                .malformed
                .lines
                .iter()
                .take(10)
                .map(u64::to_string)
                .collect();
            let more = if self.malformed.count as usize > lines.len() {
                ", ..."
            } else {
                ""
            };
            let unit = if self.kind == "tfevents" {
                "record"
            } else {
                "line"
            };
            let _ = writeln!(
                out,
                "malformed {} {unit}(s): {}{more}",
                self.malformed.count,
                lines.join(", ")
            );
            if let Some(r) = &self.malformed.first_reason {
                let _ = writeln!(out, "          first: {}", printable(r));
            }
        }
        if let Some(p) = &self.partial_last_line {
            let size = p.bytes.map_or(String::new(), |b| format!(" ({b} bytes)"));
            let _ = writeln!(
                out,
                "partial   line {}{size} has no newline and is not a complete record: a writer still writing it, or one that crashed ({})",
                p.line,
                printable(&p.reason)
            );
        }
        for w in &self.warnings {
            let _ = writeln!(out, "warning   {}", printable(w));
        }
        if self.metrics.is_empty() {
            let _ = writeln!(out, "\n(no scalar metrics)");
        } else {
            let header = [
                "metric",
                "count",
                "first step",
                "last step",
                "last",
                "min",
                "max",
                "non-finite",
            ];
            let rows: Vec<[String; 8]> = self
                .metrics
                .iter()
                .map(|(name, m)| {
                    [
                        printable(name).into_owned(),
                        m.count.to_string(),
                        m.first_step.to_string(),
                        m.last_step.to_string(),
                        format_value(m.last.0),
                        m.min.map_or("-".into(), |v| format_value(v.0)),
                        m.max.map_or("-".into(), |v| format_value(v.0)),
                        m.non_finite.to_string(),
                    ]
                })
                .collect();
            out.push('\n');
            write_table(&mut out, &header, &rows);
        }
        if !self.vectors.is_empty() {
            let header = ["vector", "count", "width", "first step", "last step"];
            let rows: Vec<[String; 5]> = self
                .vectors
                .iter()
                .map(|(name, v)| {
                    [
                        printable(name).into_owned(),
                        v.count.to_string(),
                        v.width.to_string(),
                        v.first_step.to_string(),
                        v.last_step.to_string(),
                    ]
                })
                .collect();
            out.push('\n');
            write_table(&mut out, &header, &rows);
        }
        let _ = writeln!(out, "\nverdict   {}", self.verdict.line());
        if !self.verdict.advice.is_empty() {
            let _ = writeln!(out, "          {}", self.verdict.advice);
        }
        self.write_maps(&mut out);
        self.write_events(&mut out);
        out
    }

    /// The maps: one row each, then their distinct values (regions) over
    /// time at up to [`MAP_POINTS_SHOWN`] evenly spread maps.
    fn write_maps(&self, out: &mut String) {
        if self.maps.is_empty() {
            if self.skipped_maps > 0 {
                let _ = writeln!(out, "\nmaps      {} skipped", self.skipped_maps);
            }
            return;
        }
        let header = [
            "map",
            "count",
            "size",
            "first step",
            "last step",
            "distinct",
        ];
        let rows: Vec<[String; 6]> = self
            .maps
            .iter()
            .map(|(name, m)| {
                let lo = m.distinct.iter().map(|d| d.1).min().unwrap_or(0);
                let hi = m.distinct.iter().map(|d| d.1).max().unwrap_or(0);
                [
                    name.clone(),
                    m.count.to_string(),
                    format!("{}x{}", m.width, m.height),
                    m.first_step.to_string(),
                    m.last_step.to_string(),
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}-{hi}")
                    },
                ]
            })
            .collect();
        out.push('\n');
        write_table(out, &header, &rows);
        if self.skipped_maps > 0 {
            let _ = writeln!(out, "({} malformed maps skipped)", self.skipped_maps);
        }
        for (name, m) in &self.maps {
            let n = m.distinct.len();
            let shown = n.min(MAP_POINTS_SHOWN);
            let points: Vec<String> = (0..shown)
                .map(|k| {
                    let i = if shown > 1 {
                        k * (n - 1) / (shown - 1)
                    } else {
                        0
                    };
                    format!("{}:{}", m.distinct[i].0, m.distinct[i].1)
                })
                .collect();
            let _ = writeln!(out, "  {name} by step  {}", points.join("  "));
        }
    }

    /// The events, one line each: segment (when there are several), step,
    /// kind and message.
    fn write_events(&self, out: &mut String) {
        if self.events.is_empty() {
            let _ = writeln!(out, "\nevents    none detected");
            return;
        }
        let _ = writeln!(out, "\nevents    {}", self.events.len());
        let at: Vec<String> = self
            .events
            .iter()
            .map(|e| {
                if self.segments > 1 {
                    format!("segment {} step {}", e.segment, e.step)
                } else {
                    format!("step {}", e.step)
                }
            })
            .collect();
        let w_at = at.iter().map(|a| width(a)).max().unwrap_or(0);
        let w_kind = self
            .events
            .iter()
            .map(|e| width(e.kind.as_str()))
            .max()
            .unwrap_or(0);
        for (e, at) in self.events.iter().zip(&at) {
            out.push_str("  ");
            pad(out, at, w_at, false);
            out.push_str("  ");
            pad(out, e.kind.as_str(), w_kind, false);
            let _ = writeln!(out, "  {}", printable(&e.message));
        }
    }
}

/// How many (step, regions) points the text summary shows per map.
pub const MAP_POINTS_SHOWN: usize = 8;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Left-aligns the first column and right-aligns the others, by terminal
/// columns (a wide CJK character takes two).
fn write_table<const N: usize>(out: &mut String, header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(width);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    for row in std::iter::once(header.as_slice()).chain(rows.iter().map(|r| r.as_slice())) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            pad(&mut line, cell, w, i > 0);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// Writes `value` as pretty JSON that is safe to print on a terminal:
/// besides the C0 controls JSON always escapes, C1 controls, DEL, the bidi
/// formatting characters and the line separators are written as `\uXXXX`
/// escapes, so the document reads back to exactly the same strings.
pub fn write_json<W: io::Write, T: Serialize + ?Sized>(out: W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, TerminalSafe::default());
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// serde_json's pretty formatter, escaping [unsafe](crate::text::is_unsafe)
/// characters that JSON leaves alone.
#[derive(Default)]
struct TerminalSafe(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for TerminalSafe {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(i) = rest.find(crate::text::is_unsafe) {
            w.write_all(&rest.as_bytes()[..i])?;
            let c = rest[i..].chars().next().expect("found a char at i");
            write!(w, "\\u{:04x}", u32::from(c))?;
            rest = &rest[i + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_what_a_terminal_would_obey_and_reads_back_the_same() {
        let names = [
            "a\u{9b}31m",
            "b\u{202e}c",
            "plain/ä",
            "d\x1b]52;c;x\x07",
            "\u{7f}\u{2028}",
        ];
        let mut out = Vec::new();
        write_json(&mut out, &names).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\\u009b") && text.contains("\\u202e"),
            "{text}"
        );
        assert!(text.contains("plain/ä"), "{text}");
        assert!(
            !text.chars().any(|c| crate::text::is_unsafe(c) && c != '\n'),
            "{text:?}"
        );
        let back: Vec<String> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, names);
        // Pretty, as before.
        assert!(text.starts_with("[\n  \""), "{text}");
    }
}
