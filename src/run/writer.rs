//! [`RunWriter`]: appends records to a run, one whole line per `write`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::{now_epoch_seconds, Record};
use super::with_path;

/// File name of a run folder's log.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// File name of a run folder's metadata.
pub const META_FILE: &str = "meta.json";
/// Schema version written into `meta.json`.
pub const SCHEMA_VERSION: u32 = 1;
/// The note that marks a run as finished when its last record carries it.
pub const FINISHED_NOTE: &str = "finished";

/// `meta.json`: who the run is and how it was configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// Version of the log format (currently 1).
    #[serde(default = "default_schema")]
    pub schema: u32,
    /// Human-readable run name.
    #[serde(default)]
    pub name: String,
    /// Creation time, seconds since the Unix epoch.
    #[serde(default)]
    pub created: Option<f64>,
    /// Free-form configuration (hyper-parameters, command line, ...).
    #[serde(default)]
    pub config: serde_json::Value,
}

fn default_schema() -> u32 {
    SCHEMA_VERSION
}

impl RunMeta {
    /// Metadata for a run called `name`, created now, with the given config.
    pub fn new(name: impl Into<String>, config: serde_json::Value) -> Self {
        RunMeta {
            schema: SCHEMA_VERSION,
            name: name.into(),
            created: Some(now_epoch_seconds()),
            config,
        }
    }

    /// Reads `meta.json` from a run folder: a regular file of at most
    /// [`MAX_META_BYTES`](crate::files::MAX_META_BYTES). Errors name the file.
    pub fn read(dir: &Path) -> io::Result<RunMeta> {
        let path = dir.join(META_FILE);
        let text = crate::files::read_bounded(&path, crate::files::MAX_META_BYTES)?;
        RunMeta::from_slice(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// Parses the bytes of a `meta.json` (JSON nested deeper than 128
    /// levels is an error, not a stack overflow).
    pub fn from_slice(bytes: &[u8]) -> serde_json::Result<RunMeta> {
        serde_json::from_slice(bytes)
    }
}

/// Appends records to a run's `metrics.jsonl`.
///
/// Each [`append`](RunWriter::append) serialises the record into a buffer and
/// hands the whole line, newline included, to one `write` call, so a reader
/// never sees two records interleaved and a crash leaves at most one partial
/// last line (which readers hold back until it is complete).
#[derive(Debug)]
pub struct RunWriter {
    path: PathBuf,
    file: File,
    line: Vec<u8>,
    fsync: bool,
}

impl RunWriter {
    /// Creates the run folder `dir` (and its parents), writes `meta.json`
    /// and opens `metrics.jsonl` for appending. An existing log is appended
    /// to: a resumed run continues in the same file.
    pub fn create(dir: impl AsRef<Path>, meta: &RunMeta) -> io::Result<RunWriter> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|e| with_path(e, dir))?;
        let meta_path = dir.join(META_FILE);
        let tmp = dir.join(".meta.json.tmp");
        let text = serde_json::to_vec_pretty(meta).map_err(io::Error::other)?;
        fs::write(&tmp, text).map_err(|e| with_path(e, &tmp))?;
        fs::rename(&tmp, &meta_path).map_err(|e| with_path(e, &meta_path))?;
        RunWriter::append_to(dir.join(METRICS_FILE))
    }

    /// Opens a bare `.jsonl` log for appending, creating it if needed.
    pub fn append_to(path: impl AsRef<Path>) -> io::Result<RunWriter> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| with_path(e, &path))?;
        Ok(RunWriter {
            path,
            file,
            line: Vec::with_capacity(4096),
            fsync: false,
        })
    }

    /// With `true`, every append is followed by `fsync` (durable across a
    /// power cut, at the cost of a disk round trip per record).
    pub fn set_fsync(&mut self, fsync: bool) {
        self.fsync = fsync;
    }

    /// Path of the log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Marks the run finished: appends a record at `step` whose only note
    /// is [`FINISHED_NOTE`]. Readers show such a run as done, not stale.
    pub fn finish(&mut self, step: i64) -> io::Result<()> {
        self.append(&Record::new(step).at_now().note(FINISHED_NOTE))
    }

    /// Appends one record as one line.
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record).map_err(io::Error::other)?;
        self.line.push(b'\n');
        // O_APPEND + one write of the whole line: on a local file system the
        // line lands whole or not at all, never interleaved.
        self.file
            .write_all(&self.line)
            .map_err(|e| with_path(e, &self.path))?;
        self.file.flush()?;
        if self.fsync {
            self.file
                .sync_data()
                .map_err(|e| with_path(e, &self.path))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_folder_meta_and_whole_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/run1");
        let meta = RunMeta::new("run1", serde_json::json!({"lr": 0.01}));
        let mut w = RunWriter::create(&dir, &meta).unwrap();
        for step in 0..3 {
            w.append(&Record::new(step).scalar("train/loss", 1.0 / (step + 1) as f64))
                .unwrap();
        }
        let text = fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.ends_with('\n'));
        let back = RunMeta::read(&dir).unwrap();
        assert_eq!(back, meta);
        // Re-creating appends instead of truncating.
        let mut w = RunWriter::create(&dir, &meta).unwrap();
        w.set_fsync(true);
        w.append(&Record::new(0).note("resumed")).unwrap();
        let text = fs::read_to_string(dir.join(METRICS_FILE)).unwrap();
        assert_eq!(text.lines().count(), 4);
    }
}
