//! The real binary on fixture logs: `summary` in both forms, bad inputs,
//! and `replay`'s refusals (before it touches the terminal).

use std::path::PathBuf;

use common::{fixture, grokscope};
use predicates::prelude::*;
use serde_json::Value;

#[path = "support/common.rs"]
mod common;

fn summary_json(path: &std::path::Path) -> Value {
    let out = grokscope()
        .args(["summary", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn python_nan_tokens_are_read_and_reported_as_strings() {
    let s = summary_json(&fixture("python_nan.jsonl"));
    assert_eq!(s["records"], 5);
    assert_eq!(s["malformed"]["count"], 0);
    let loss = &s["metrics"]["train/loss"];
    assert_eq!(loss["count"], 5);
    assert_eq!(loss["non_finite"], 3);
    assert_eq!(loss["min"], 0.125);
    assert_eq!(loss["max"], 2.5);
    assert_eq!(loss["last"], 0.125);
    assert_eq!(s["metrics"]["train/acc"]["last"], 1.0);
}

#[test]
fn a_partial_last_line_is_reported_apart_and_the_rest_kept() {
    let s = summary_json(&fixture("partial_last_line.jsonl"));
    assert_eq!(s["records"], 3);
    assert_eq!(s["malformed"]["count"], 0);
    assert_eq!(s["partial_last_line"]["line"], 4);
    assert!(s["partial_last_line"]["bytes"].as_u64().unwrap() > 0);
    assert_eq!(s["metrics"]["train/loss"]["last_step"], 2);
}

#[test]
fn malformed_lines_are_skipped_counted_and_located() {
    let s = summary_json(&fixture("malformed.jsonl"));
    assert_eq!(s["records"], 3);
    assert_eq!(s["malformed"]["count"], 4);
    assert_eq!(s["malformed"]["lines"], serde_json::json!([2, 3, 5, 6]));
    assert_eq!(s["metrics"]["train/loss"]["count"], 3);
    assert_eq!(s["metrics"]["train/loss"]["last"], 0.125);
    // The text form says the same, with the first reason.
    grokscope()
        .arg("summary")
        .arg(fixture("malformed.jsonl"))
        .assert()
        .success()
        .stdout(predicate::str::contains("malformed 4 line(s): 2, 3, 5, 6"))
        .stdout(predicate::str::contains("first: line 2:"));
}

#[test]
fn invalid_utf8_is_a_malformed_line_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.jsonl");
    let mut bytes = b"{\"step\": 0, \"scalars\": {\"a/b\": 1}}\n".to_vec();
    bytes.extend_from_slice(b"{\"step\": 1, \"notes\": [\"\xff\xfe\"]}\n");
    bytes.extend_from_slice(b"{\"step\": 2, \"scalars\": {\"a/\xc3\": 1}}\n");
    bytes.extend_from_slice(b"{\"step\": 3, \"scalars\": {\"a/b\": 3}}\n");
    std::fs::write(&p, bytes).unwrap();
    let s = summary_json(&p);
    assert_eq!(s["records"], 2);
    assert_eq!(s["malformed"]["lines"], serde_json::json!([2, 3]));
}

#[test]
fn steps_going_backwards_start_segments_and_lose_nothing() {
    let s = summary_json(&fixture("steps_backwards.jsonl"));
    assert_eq!(s["records"], 8);
    assert_eq!(s["segments"], 3);
    let loss = &s["metrics"]["train/loss"];
    assert_eq!(loss["count"], 8);
    assert_eq!(loss["first_step"], 0);
    assert_eq!(loss["last_step"], 5);
    assert_eq!(loss["min"], 70.0);
}

#[test]
fn an_empty_log_is_a_run_with_nothing_in_it() {
    let s = summary_json(&fixture("empty.jsonl"));
    assert_eq!(s["records"], 0);
    assert_eq!(s["segments"], 0);
    assert_eq!(s["metrics"], serde_json::json!({}));
    grokscope()
        .arg("summary")
        .arg(fixture("empty.jsonl"))
        .assert()
        .success()
        .stdout(predicate::str::contains("(no scalar metrics)"));
}

#[test]
fn a_folder_of_runs_lists_every_run() {
    let s = summary_json(&fixture("several"));
    let runs = s.as_array().expect("an array for several runs");
    let names: Vec<&str> = runs.iter().map(|r| r["run"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["alpha-run", "gamma", "beta"]);
    assert_eq!(runs[0]["records"], 4);
    assert_eq!(runs[0]["vectors"]["sens/l1"]["width"], 2);
    assert_eq!(runs[0]["notes"], 1);
    grokscope()
        .arg("summary")
        .arg(fixture("several"))
        .assert()
        .success()
        .stdout(predicate::str::contains("alpha-run"))
        .stdout(predicate::str::contains("other/thing"));
}

#[test]
fn a_missing_path_fails_naming_it() {
    grokscope()
        .args(["summary", "/no/such/run/anywhere"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("/no/such/run/anywhere"))
        .stderr(predicate::str::contains("No such file"));
}

#[test]
fn a_file_that_is_not_a_log_fails_clearly() {
    grokscope()
        .arg("summary")
        .arg(fixture("README.md"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a run"));
}

#[test]
fn an_empty_folder_has_no_runs() {
    let dir = tempfile::tempdir().unwrap();
    grokscope()
        .arg("summary")
        .arg(dir.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("no runs found"));
}

#[test]
fn an_unreadable_log_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // A folder where the log should be: exists, but cannot be read as a file.
    std::fs::create_dir_all(run.join("metrics.jsonl")).unwrap();
    std::fs::write(dir.path().join("x.jsonl"), "").unwrap();
    let x = dir.path().join("x.jsonl");
    grokscope().arg("summary").arg(&x).assert().success();
    grokscope()
        .arg("summary")
        .arg(run.join("metrics.jsonl"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("metrics.jsonl"));
}

#[test]
fn the_python_example_in_format_md_writes_a_readable_run() {
    let Ok(python) = which_python() else {
        eprintln!("python3 not found: skipping the FORMAT.md example");
        return;
    };
    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/FORMAT.md"))
            .unwrap();
    let start = doc.find("```python\n").expect("a python example") + "```python\n".len();
    let code = &doc[start..start + doc[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(python)
        .arg("-c")
        .arg(code)
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let s = summary_json(&dir.path().join("runs/my-run"));
    assert_eq!(s["run"], "my-run");
    assert_eq!(s["records"], 1000);
    assert_eq!(s["malformed"]["count"], 0);
}

/// `replay` checks its run and options before the terminal changes mode:
/// each problem is one clear line on stderr and a non-zero exit.
#[test]
fn replay_refuses_what_it_cannot_play_with_a_clear_message() {
    let refuse = |args: &[&str], path: &std::path::Path, says: &str| {
        let out = grokscope()
            .arg("replay")
            .arg(path)
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} {}", path.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("\x1b["),
            "no escape codes"
        );
        out.status.code()
    };
    let missing = fixture("no-such-run");
    assert_eq!(
        refuse(&[], &missing, "no-such-run: No such file"),
        Some(1),
        "a missing run is an error"
    );
    refuse(&[], &fixture("empty.jsonl"), "nothing to replay");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{oops\n[1, 2]\n").unwrap();
    refuse(
        &[],
        &bad,
        "no records: 2 malformed line(s), the first at line 1",
    );
    refuse(&[], &fixture("several"), "replay takes one run; found 3");
    let run = fixture("steps_backwards.jsonl");
    refuse(
        &["--from", "31"],
        &run,
        "--from 31 is past the end of the run: its steps go from 0 to 30",
    );
    // Clap rejects a speed out of range as a usage error (status 2).
    for speed in ["0.1", "5000", "fast"] {
        assert_eq!(
            refuse(&["--speed", speed], &run, "--speed"),
            Some(2),
            "{speed}"
        );
    }
    refuse(&["--speed", "5000"], &run, "0.25 to 1000");
    refuse(&["--theme", "no-such-theme"], &run, "unknown theme");
}

fn which_python() -> Result<&'static str, ()> {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .map(|_| "python3")
        .map_err(|_| ())
}
