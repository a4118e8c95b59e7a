//! Writes the generated runs of the diagnosis corpus:
//!
//! ```text
//! cargo run --example diagnosis_corpus -- tests/fixtures/diagnosis
//! ```
//!
//! The runs are seeded, so the files come out the same every time;
//! `tests/diagnosis.rs` checks that the committed ones are what this writes.
//! Their expected events are in `tests/fixtures/diagnosis/labels.toml`.

#[path = "../tests/support/corpus.rs"]
mod corpus;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tests/fixtures/diagnosis".into());
    let dir = std::path::Path::new(&dir);
    corpus::write_all(dir)?;
    for r in corpus::corpus() {
        let bytes: usize = r.files.iter().map(|(_, b)| b.len()).sum();
        println!("{:<20} {:>7} bytes  {}", r.name, bytes, r.about);
    }
    Ok(())
}
