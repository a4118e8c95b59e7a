//! [`FollowedFile`]: a growing file read from a remembered offset, open only
//! while it is being read.
//!
//! Holding no file descriptor between reads lets one process follow
//! thousands of runs under a small `ulimit -n`. What an open descriptor
//! would have guaranteed is checked again at every reopen instead:
//!
//! * the path still names the same file (device and inode), else the file
//!   was replaced (log rotation, an atomic rename);
//! * the file is not shorter than what was read, else it was truncated;
//! * the first and the last [`WINDOW`] bytes read are still what they were,
//!   else the file was rewritten in place (`cp new metrics.jsonl`, or a
//!   writer that opened it with `"w"`) — possibly already longer than
//!   before, which neither of the other checks would notice.
//!
//! Any of these voids what was read, and reading starts over.

use std::fs::{self, File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::tail::ResetReason;
use crate::files::{not_regular, open_regular, with_path};

/// Bytes remembered at each end of what was read, to notice a rewrite.
pub const WINDOW: usize = 256;

/// Identity of a file: device and inode where the platform has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

#[cfg(unix)]
fn file_id(m: &Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some(FileId(m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &Metadata) -> Option<FileId> {
    None
}

/// A file followed by offset; see the module documentation.
#[derive(Debug)]
pub struct FollowedFile {
    path: PathBuf,
    id: Option<FileId>,
    /// Bytes consumed so far.
    offset: u64,
    /// Modification time when the file was last opened.
    modified: Option<SystemTime>,
    /// The first bytes of the file (up to [`WINDOW`]).
    head: Vec<u8>,
    /// The last bytes before `offset` (up to [`WINDOW`]), when known.
    tail: Vec<u8>,
}

/// The file, opened and positioned at the offset.
#[derive(Debug)]
pub struct Opened {
    /// The open file; dropping it closes it.
    pub file: File,
    /// Its length when opened.
    pub len: u64,
    /// Why what was read before is void, if it is: the offset is back at 0.
    pub reset: Option<ResetReason>,
}

impl FollowedFile {
    /// `path`, nothing read yet.
    pub fn new(path: impl Into<PathBuf>) -> FollowedFile {
        FollowedFile {
            path: path.into(),
            id: None,
            offset: 0,
            modified: None,
            head: Vec::new(),
            tail: Vec::new(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Forgets everything read: the next open starts at 0.
    pub fn restart(&mut self) {
        self.id = None;
        self.offset = 0;
        self.modified = None;
        self.head.clear();
        self.tail.clear();
    }

    /// Opens the file to read what is new, or returns `None` when nothing
    /// changed since the last open (same file, length equal to the offset,
    /// same modification time): then no descriptor is opened at all. A
    /// path that is not a regular file is an error.
    pub fn open(&mut self) -> io::Result<Option<Opened>> {
        let m = fs::metadata(&self.path).map_err(|e| with_path(e, &self.path))?;
        if !m.is_file() {
            return Err(not_regular(&self.path, &m));
        }
        if self.id.is_some()
            && file_id(&m) == self.id
            && m.len() == self.offset
            && m.modified().ok() == self.modified
        {
            return Ok(None);
        }
        let mut file = open_regular(&self.path)?;
        let m = file.metadata().map_err(|e| with_path(e, &self.path))?;
        let id = file_id(&m);
        let reset = if self.id.is_some() && id.is_some() && id != self.id {
            Some(ResetReason::Replaced)
        } else if m.len() < self.offset {
            Some(ResetReason::Truncated {
                offset: self.offset,
                len: m.len(),
            })
        } else if !self.same_bytes(&mut file)? {
            Some(ResetReason::Rewritten)
        } else {
            None
        };
        if reset.is_some() {
            self.restart();
        }
        self.id = id;
        self.modified = m.modified().ok();
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| with_path(e, &self.path))?;
        Ok(Some(Opened {
            file,
            len: m.len(),
            reset,
        }))
    }

    /// Records that `data`, the next bytes at the offset, were consumed.
    pub fn consumed(&mut self, data: &[u8]) {
        if self.head.len() < WINDOW && self.offset == self.head.len() as u64 {
            let take = data.len().min(WINDOW - self.head.len());
            self.head.extend_from_slice(&data[..take]);
        }
        if data.len() >= WINDOW {
            self.tail.clear();
            self.tail.extend_from_slice(&data[data.len() - WINDOW..]);
        } else {
            self.tail.extend_from_slice(data);
            let extra = self.tail.len().saturating_sub(WINDOW);
            self.tail.drain(..extra);
        }
        self.offset += data.len() as u64;
    }

    /// Moves the offset forward to `to` without reading (a record too large
    /// to hold). The caller checks that the file is at least that long.
    pub fn skip_to(&mut self, to: u64) {
        if to > self.offset {
            self.offset = to;
            self.tail.clear();
        }
    }

    /// Whether the remembered head and tail bytes are still in the file.
    fn same_bytes(&self, file: &mut File) -> io::Result<bool> {
        let mut buf = [0u8; WINDOW];
        let tail_at = self.offset - self.tail.len() as u64;
        for (at, want) in [(0, &self.head), (tail_at, &self.tail)] {
            if want.is_empty() {
                continue;
            }
            let got = &mut buf[..want.len()];
            file.seek(SeekFrom::Start(at))
                .and_then(|_| file.read_exact(got))
                .map_err(|e| with_path(e, &self.path))?;
            if got != want.as_slice() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(f: &mut FollowedFile) -> (Vec<u8>, Option<ResetReason>) {
        let Some(mut o) = f.open().unwrap() else {
            return (Vec::new(), None);
        };
        let mut out = Vec::new();
        o.file.read_to_end(&mut out).unwrap();
        f.consumed(&out);
        (out, o.reset)
    }

    #[test]
    fn reads_only_what_is_new_and_holds_no_descriptor_when_idle() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        fs::write(&p, b"abc").unwrap();
        let mut f = FollowedFile::new(&p);
        assert_eq!(read_all(&mut f), (b"abc".to_vec(), None));
        assert!(f.open().unwrap().is_none(), "unchanged: not even opened");
        let mut w = fs::OpenOptions::new().append(true).open(&p).unwrap();
        w.write_all(b"def").unwrap();
        assert_eq!(read_all(&mut f), (b"def".to_vec(), None));
        assert_eq!(f.offset(), 6);
    }

    #[test]
    fn a_rewrite_in_place_is_noticed_even_when_longer() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        let old: Vec<u8> = (0..1000u32)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        fs::write(&p, &old).unwrap();
        let mut f = FollowedFile::new(&p);
        read_all(&mut f);
        // Same inode, truncated and rewritten longer before the next look.
        let mut new = b"other run\n".repeat(500);
        new.truncate(old.len() + 100);
        let mut w = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        w.write_all(&new).unwrap();
        drop(w);
        let (bytes, reset) = read_all(&mut f);
        assert_eq!(reset, Some(ResetReason::Rewritten));
        assert_eq!(bytes, new);
        // An append that keeps the bytes read is not a rewrite.
        let mut w = fs::OpenOptions::new().append(true).open(&p).unwrap();
        w.write_all(b"more\n").unwrap();
        assert_eq!(read_all(&mut f), (b"more\n".to_vec(), None));
    }

    #[test]
    fn a_copy_of_the_same_bytes_plus_more_reads_on() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.jsonl");
        fs::write(&p, b"line 1\nline 2\n").unwrap();
        let mut f = FollowedFile::new(&p);
        read_all(&mut f);
        fs::write(&p, b"line 1\nline 2\nline 3\n").unwrap();
        assert_eq!(read_all(&mut f), (b"line 3\n".to_vec(), None));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pipe.jsonl");
        let status = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(status.success());
        let e = FollowedFile::new(&p).open().unwrap_err().to_string();
        assert!(e.contains("named pipe"), "{e}");
    }
}
