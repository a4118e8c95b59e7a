//! Tidy CSV: one row per scalar point, `run,metric,step,time,value`.
//!
//! Values are written in Rust's shortest round-trip form, so parsing a cell
//! gives back the stored `f64` exactly; non-finite values are spelled `NaN`,
//! `Infinity` and `-Infinity` (as in the log format), and a record without
//! wall time has an empty `time`. Metrics come in order of first appearance,
//! each in record order (a resumed run's steps go back where it did).
//! Vector metrics (`sens/<layer>`) have no scalar points and are left out.
//! Cells are quoted as RFC 4180 says (by the `csv` crate); control and bidi
//! characters in run and metric names are written as visible escapes
//! ([`crate::text::printable`]), so that the CSV is safe to print on a
//! terminal (`--csv -`) and to open in any viewer.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::ExportError;
use crate::store::RunStore;
use crate::text::printable;

/// The header row.
pub const HEADER: [&str; 5] = ["run", "metric", "step", "time", "value"];

/// A number as a CSV cell: shortest round-trip decimal, or the log
/// format's spelling of a non-finite value.
pub fn number_cell(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Infinity".into()
    } else if v == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        format!("{v:?}")
    }
}

/// Writes every scalar point of `store` as CSV to `out`.
pub fn write_csv<W: Write>(run: &str, store: &RunStore, out: W) -> io::Result<()> {
    write_csv_runs(&[(run, store)], out)
}

/// Writes every scalar point of several runs as one CSV (one header).
pub fn write_csv_runs<W: Write>(runs: &[(&str, &RunStore)], out: W) -> io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(HEADER).map_err(io_error)?;
    for (run, store) in runs {
        write_rows(&mut w, run, store)?;
    }
    w.flush()
}

fn write_rows<W: Write>(w: &mut ::csv::Writer<W>, run: &str, store: &RunStore) -> io::Result<()> {
    let run = printable(run);
    let run = run.as_ref();
    let mut step = String::new();
    for name in store.metric_names() {
        let Some(series) = store.series(name) else {
            continue;
        };
        let name = printable(name);
        let name = name.as_ref();
        for i in 0..series.len() {
            step.clear();
            step.push_str(&series.step(i).to_string());
            let time = series.time(i).map(number_cell).unwrap_or_default();
            let value = number_cell(series.value(i));
            w.write_record([run, name, &step, &time, &value])
                .map_err(io_error)?;
        }
    }
    Ok(())
}

/// An I/O error of the kind the writer met: `csv`'s own conversion makes
/// every error `Other`, which would hide a closed pipe (`| head`) from the
/// caller.
fn io_error(e: ::csv::Error) -> io::Error {
    let kind = match e.kind() {
        ::csv::ErrorKind::Io(io) => io.kind(),
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

/// Writes the CSV of `store` to the file `path`.
pub fn export_csv(run: &str, store: &RunStore, path: &Path) -> Result<(), ExportError> {
    export_csv_runs(&[(run, store)], path)
}

/// Writes the CSV of several runs to the file `path`.
pub fn export_csv_runs(runs: &[(&str, &RunStore)], path: &Path) -> Result<(), ExportError> {
    let fail = |error| ExportError::Write {
        path: path.to_path_buf(),
        error,
    };
    let file = File::create(path).map_err(fail)?;
    let mut out = BufWriter::new(file);
    write_csv_runs(runs, &mut out).map_err(fail)?;
    out.flush().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip() {
        for v in [
            0.1,
            1.0,
            -2.5e-300,
            1e300,
            1764412345.123456,
            -0.0,
            f64::MIN_POSITIVE,
        ] {
            let back: f64 = number_cell(v).parse().unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v}");
        }
        assert_eq!(number_cell(f64::NAN), "NaN");
        assert_eq!(number_cell(f64::NEG_INFINITY), "-Infinity");
        assert!("Infinity".parse::<f64>().unwrap().is_infinite());
    }
}
