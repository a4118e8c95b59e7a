//! Opening files that other programs wrote.
//!
//! Only regular files are ever opened for reading: a FIFO would block the
//! reader until some writer opens it, and a device such as `/dev/zero`
//! never ends. Files are opened without blocking and checked on the open
//! handle, so a path that changes into a FIFO between a check and the open
//! cannot block either. Whole-file reads ([`read_bounded`]) have a size
//! limit; logs, which are followed incrementally, have none.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// Largest `meta.json` read (docs/FORMAT.md).
pub const MAX_META_BYTES: u64 = 1 << 20;
/// Largest theme file read (docs/WATCH.md).
pub const MAX_THEME_BYTES: u64 = 1 << 20;

/// What a path names, in words, when it is not a regular file.
fn kind(m: &Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    "not a regular file"
}

/// The error for `path`, which is not a regular file but `m`.
pub fn not_regular(path: &Path, m: &Metadata) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{}: is {}; only regular files are read",
            path.display(),
            kind(m)
        ),
    )
}

/// `e` with `path` in front of its message, unless the message already
/// names it (so that an error passed up through several layers names its
/// file once).
pub fn with_path(e: io::Error, path: &Path) -> io::Error {
    let shown = path.display().to_string();
    if e.to_string().contains(&shown) {
        return e;
    }
    io::Error::new(e.kind(), format!("{shown}: {e}"))
}

/// Opens `path` for reading if it is a regular file (following symlinks);
/// never blocks on a FIFO. Errors name the path.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Opening a FIFO for reading waits for a writer, unless O_NONBLOCK.
        // On a regular file the flag changes nothing.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| with_path(e, path))?;
    let m = file.metadata().map_err(|e| with_path(e, path))?;
    if !m.is_file() {
        return Err(not_regular(path, &m));
    }
    Ok(file)
}

/// The whole content of the regular file `path`, refused when longer than
/// `limit` bytes. Errors name the path.
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let too_big = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{}: over the {} size limit for this kind of file",
                path.display(),
                bytes(limit)
            ),
        )
    };
    let len = file.metadata().map_err(|e| with_path(e, path))?.len();
    if len > limit {
        return Err(too_big());
    }
    let mut out = Vec::with_capacity(len as usize);
    // The file may grow while it is read: stop one byte past the limit.
    file.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| with_path(e, path))?;
    if out.len() as u64 > limit {
        return Err(too_big());
    }
    Ok(out)
}

/// A byte count in words ("1 MiB", "16 MiB", "900 bytes").
pub fn bytes(n: u64) -> String {
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{} GiB", n >> 30)
    } else if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_open() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_regular(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("is a folder") && e.contains(&dir.path().display().to_string()),
            "{e}"
        );
        let f = dir.path().join("a.json");
        std::fs::write(&f, b"{}").unwrap();
        std::fs::write(&f, vec![b' '; 2048]).unwrap();
        assert_eq!(read_bounded(&f, 2048).unwrap().len(), 2048);
        let e = read_bounded(&f, 1024).unwrap_err().to_string();
        assert!(e.contains("over the 1 KiB size limit"), "{e}");
        #[cfg(unix)]
        {
            let e = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
            assert!(e.to_string().contains("character device"), "{e}");
        }
    }

    #[test]
    fn paths_are_named_once() {
        let p = Path::new("/no/such/file");
        let e = open_regular(p).unwrap_err();
        let again = with_path(e, p).to_string();
        assert_eq!(again.matches("/no/such/file").count(), 1, "{again}");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(bytes(1 << 20), "1 MiB");
        assert_eq!(bytes(1 << 30), "1 GiB");
        assert_eq!(bytes(900), "900 bytes");
    }
}
