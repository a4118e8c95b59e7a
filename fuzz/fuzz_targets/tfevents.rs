//! TensorBoard event files on any bytes: the framing (lengths, CRCs,
//! records cut off, records too large to hold) and the protobuf decoder.
//!
//! Input: a mode byte, a split byte, then either the file's bytes as they
//! are (even mode), or records to frame with correct CRCs (odd mode, so
//! that the decoder is reached): each a flags byte, a u16 length and the
//! payload; flags bit 0 spoils the length CRC, bit 1 the data CRC, bit 2
//! declares a length over the 1 GiB record limit.
//!
//! The file is read once whole and once in two parts (the split byte says
//! where): both must deliver the same items, and nothing may panic or hang.

#![no_main]

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use grokscope::import::{masked_crc32c, TfRunReader};
use grokscope::run::TailItem;
use grokscope::store::RunStore;
use libfuzzer_sys::fuzz_target;

fn frame(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while rest.len() >= 3 {
        let flags = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        let payload = &rest[3..3 + len];
        rest = &rest[3 + len..];
        let declared = if flags & 4 != 0 {
            (1u64 << 30) + 1 + u64::from(flags >> 3)
        } else {
            len as u64
        };
        let head = declared.to_le_bytes();
        out.extend_from_slice(&head);
        out.extend_from_slice(&(masked_crc32c(&head) ^ u32::from(flags & 1)).to_le_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(
            &(masked_crc32c(payload) ^ u32::from((flags >> 1) & 1)).to_le_bytes(),
        );
    }
    out
}

/// One file in a RAM-backed folder, reused by every run.
fn path() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .unwrap();
        let p = dir.path().join("events.out.tfevents.1.fuzz");
        (dir, p)
    })
    .1
}

/// Polls `reader` once, appending what it delivered to `seen` and `store`.
fn poll(reader: &mut TfRunReader, seen: &mut Vec<String>, store: &mut RunStore) {
    reader
        .poll(&mut |item: TailItem<'_>| {
            match &item {
                TailItem::Record { record, .. } => store.push_merging(record),
                TailItem::Scalar {
                    step,
                    time,
                    name,
                    value,
                    ..
                } => {
                    if let Some(id) = store.metric_id_or_insert(name) {
                        store.push_scalar(*step, *time, id, *value, true);
                    }
                }
                _ => {}
            }
            seen.push(format!("{item:?}"));
        })
        .unwrap();
}

fuzz_target!(|data: &[u8]| {
    let [mode, split, rest @ ..] = data else {
        return;
    };
    let bytes = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        frame(rest)
    };
    let path = path();
    std::fs::write(path, &bytes).unwrap();
    let (mut whole, mut whole_store) = (Vec::new(), RunStore::new());
    poll(&mut TfRunReader::new(path), &mut whole, &mut whole_store);

    let cut = bytes.len() * usize::from(*split) / 255;
    std::fs::write(path, &bytes[..cut]).unwrap();
    let mut reader = TfRunReader::new(path);
    let (mut parts, mut parts_store) = (Vec::new(), RunStore::new());
    poll(&mut reader, &mut parts, &mut parts_store);
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(&bytes[cut..]).unwrap();
    drop(f);
    poll(&mut reader, &mut parts, &mut parts_store);
    assert_eq!(whole, parts, "read whole vs. in two parts at byte {cut}");
    assert_eq!(whole_store.records(), parts_store.records());
});
