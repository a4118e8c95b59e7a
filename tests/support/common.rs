//! What several integration tests share: the real binary and the fixtures.

#![allow(dead_code)]

use std::path::PathBuf;

use assert_cmd::Command;

/// The `grokscope` binary of this build.
pub fn grokscope() -> Command {
    Command::cargo_bin("grokscope").unwrap()
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
