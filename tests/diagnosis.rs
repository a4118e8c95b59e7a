//! The diagnosis corpus: the analysis scored against runs whose events a
//! reader of the papers agrees with (tests/fixtures/diagnosis/labels.toml).
//!
//! The shipped runs are read from `runs/` as they are, so a re-shipped run is
//! scored as soon as its labels are updated; the generated runs must be
//! exactly what `tests/support/corpus.rs` writes. The score is printed (also
//! without `--nocapture`) and must reach precision ≥ 0.95, recall ≥ 0.9 and
//! zero warnings on healthy runs. docs/ANALYSIS.md quotes it.

#[path = "support/corpus.rs"]
mod corpus;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use grokscope::analysis::{diagnose, Diagnosis, Event, EventKind, RunContext, RunState, Severity};
use grokscope::source::{discover, RunFeed};
use serde::Deserialize;

/// The score the corpus must reach.
const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.9;
/// Share of runs whose verdict must be the labelled one.
const MIN_VERDICTS: f64 = 0.9;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Labels {
    run: Vec<RunLabels>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunLabels {
    path: String,
    healthy: bool,
    verdict: String,
    events: Vec<Expected>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    kind: String,
    from: i64,
    to: i64,
    #[serde(default)]
    segment: Option<usize>,
    #[serde(default)]
    optional: bool,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn labels() -> Labels {
    let path = root().join("tests/fixtures/diagnosis/labels.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let labels: Labels =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for r in &labels.run {
        assert!(
            RunState::from_name(&r.verdict).is_some(),
            "{}: unknown verdict {:?}",
            r.path,
            r.verdict
        );
        for e in &r.events {
            assert!(
                EventKind::from_name(&e.kind).is_some(),
                "{}: unknown event kind {:?}",
                r.path,
                e.kind
            );
            assert!(e.from <= e.to, "{}: window {}..{}", r.path, e.from, e.to);
        }
    }
    labels
}

/// The diagnosis of the run at `path`, as `grokscope summary` makes it.
fn diagnosis_of(path: &Path) -> Diagnosis {
    let mut sources = discover(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(sources.len(), 1, "{}: one run expected", path.display());
    let feed = RunFeed::load(sources.remove(0)).unwrap();
    let store = &feed.store;
    diagnose(
        store,
        RunContext::of(feed.source.meta.as_ref()),
        store.records(),
    )
}

/// How one run scored.
#[derive(Debug, Default)]
struct RunScore {
    true_positives: usize,
    false_positives: Vec<String>,
    missed: Vec<String>,
    loud_on_healthy: Vec<String>,
    verdict_ok: bool,
}

fn describe(e: &Event) -> String {
    format!(
        "{}@{} (segment {}, {:?})",
        e.kind.as_str(),
        e.step,
        e.segment,
        e.severity
    )
}

/// Matches detected events to labels: each label takes at most one event of
/// its kind (and segment) inside its window, required labels first.
fn score(labels: &RunLabels, d: &Diagnosis) -> RunScore {
    let mut taken = vec![false; labels.events.len()];
    let mut s = RunScore::default();
    for e in &d.events {
        let fits = |l: &Expected| {
            l.kind == e.kind.as_str()
                && l.segment.is_none_or(|seg| seg == e.segment)
                && (l.from..=l.to).contains(&e.step)
        };
        let pick = |optional: bool| {
            labels
                .events
                .iter()
                .enumerate()
                .find(|(k, l)| !taken[*k] && l.optional == optional && fits(l))
                .map(|(k, _)| k)
        };
        match pick(false).or_else(|| pick(true)) {
            Some(k) => {
                taken[k] = true;
                if !labels.events[k].optional {
                    s.true_positives += 1;
                }
            }
            None => s.false_positives.push(describe(e)),
        }
        if labels.healthy && e.severity >= Severity::Warning {
            s.loud_on_healthy.push(describe(e));
        }
    }
    for (k, l) in labels.events.iter().enumerate() {
        if !taken[k] && !l.optional {
            s.missed.push(format!("{}@{}..{}", l.kind, l.from, l.to));
        }
    }
    s.verdict_ok = d.verdict.state.as_str() == labels.verdict;
    s
}

/// Writes past the test harness's capture, so `cargo test` shows the score.
fn show(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[test]
fn the_analysis_scores_on_the_labelled_corpus() {
    let labels = labels();
    let (mut tp, mut fp, mut fn_, mut verdicts) = (0, 0, 0, 0);
    let mut loud = Vec::new();
    let mut report =
        String::from("\ndiagnosis corpus: run, true positives, false positives, missed, verdict\n");
    let mut leads = Vec::new();
    for r in &labels.run {
        let d = diagnosis_of(&root().join(&r.path));
        let s = score(r, &d);
        tp += s.true_positives;
        fp += s.false_positives.len();
        fn_ += s.missed.len();
        verdicts += usize::from(s.verdict_ok);
        loud.extend(s.loud_on_healthy.iter().map(|e| format!("{}: {e}", r.path)));
        let verdict = if s.verdict_ok {
            d.verdict.state.as_str().to_string()
        } else {
            format!("{} (expected {})", d.verdict.state.as_str(), r.verdict)
        };
        report.push_str(&format!(
            "  {:<46} {:>2} {:>2} {:>2}  {verdict}\n",
            r.path,
            s.true_positives,
            s.false_positives.len(),
            s.missed.len()
        ));
        for f in &s.false_positives {
            report.push_str(&format!("      false positive: {f}\n"));
        }
        for m in &s.missed {
            report.push_str(&format!("      missed: {m}\n"));
        }
        // The early warning's lead: each warning before an onset in its segment.
        for w in d
            .events
            .iter()
            .filter(|e| e.kind == EventKind::CollapseWarning)
        {
            let onset = d.events.iter().find(|e| {
                e.kind == EventKind::CollapseOnset && e.segment == w.segment && e.step > w.step
            });
            if let Some(o) = onset {
                let predicted = w.evidence.get("predicted_step").unwrap_or(f64::NAN);
                leads.push(format!(
                    "  {:<46} warned at {:>6}, predicted {:>6.0}, onset {:>6}: lead {} steps ({:.0}% of the onset step)\n",
                    r.path,
                    w.step,
                    predicted,
                    o.step,
                    o.step - w.step,
                    100.0 * (o.step - w.step) as f64 / o.step as f64
                ));
            }
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    let verdict_share = verdicts as f64 / labels.run.len() as f64;
    report.push_str(&format!(
        "precision {precision:.3} ({tp} of {} events), recall {recall:.3} ({tp} of {} labels), warnings on healthy runs {}, verdicts {verdicts}/{}\n",
        tp + fp,
        tp + fn_,
        loud.len(),
        labels.run.len()
    ));
    report.push_str("softmax-collapse early warning, lead before onset:\n");
    report.push_str(&leads.concat());
    show(&report);
    for l in &loud {
        show(&format!("  warning on a healthy run: {l}\n"));
    }
    assert!(
        precision >= MIN_PRECISION,
        "precision {precision:.3} < {MIN_PRECISION}"
    );
    assert!(recall >= MIN_RECALL, "recall {recall:.3} < {MIN_RECALL}");
    assert!(loud.is_empty(), "warnings on healthy runs: {loud:#?}");
    assert!(
        verdict_share >= MIN_VERDICTS,
        "verdicts right on {verdicts} of {} runs",
        labels.run.len()
    );
}

#[test]
fn every_shipped_and_generated_run_is_labelled() {
    let labels = labels();
    let labelled: Vec<&str> = labels.run.iter().map(|r| r.path.as_str()).collect();
    for dir in ["runs", "tests/fixtures/diagnosis"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap().flatten() {
            if !entry.path().is_dir() {
                continue;
            }
            let path = format!("{dir}/{}", entry.file_name().to_string_lossy());
            assert!(
                labelled.contains(&path.as_str()),
                "{path} has no labels in tests/fixtures/diagnosis/labels.toml"
            );
        }
    }
    for path in labelled {
        assert!(
            root().join(path).exists(),
            "labelled run {path} does not exist"
        );
    }
}

#[test]
fn the_generated_runs_are_what_the_generator_writes() {
    let runs = corpus::corpus();
    assert!(runs.len() >= 15, "{} generated runs", runs.len());
    let mut total = 0;
    for r in runs {
        for (file, bytes) in &r.files {
            let path = root()
                .join("tests/fixtures/diagnosis")
                .join(r.name)
                .join(file);
            let on_disk =
                std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(
                on_disk == *bytes,
                "{} differs from the generator's output: run `cargo run --example diagnosis_corpus -- tests/fixtures/diagnosis`",
                path.display()
            );
            total += bytes.len();
        }
    }
    assert!(total < 600_000, "the generated corpus is {total} bytes");
}
