//! The generated runs of the diagnosis corpus (tests/fixtures/diagnosis/).
//!
//! Each run is a seeded, noisy imitation of a kind of training run the
//! analysis must read right: healthy runs fast, slow and noisy, grokking
//! under weight decay and under StableMax at the paper's pace, softmax
//! collapse with and without a later spike, ⊥Grad-style fast
//! generalisation, a NaN divergence, a stuck run, local-complexity phases,
//! other frameworks' metric names (TensorBoard, Keras, Lightning) and a
//! resumed run. Its expected events live in `labels.toml` beside the runs.
//!
//! `cargo run --example diagnosis_corpus -- tests/fixtures/diagnosis`
//! writes them; `tests/diagnosis.rs` checks that the committed files are
//! exactly what this module writes. Values are rounded to four significant
//! digits, as small logs are.

#![allow(dead_code)]

use std::path::Path;

use grokscope::run::Record;

/// One generated run: its folder name, what it imitates, and its files
/// (name → bytes).
pub struct CorpusRun {
    /// Folder name under tests/fixtures/diagnosis/.
    pub name: &'static str,
    /// What it imitates, one line.
    pub about: &'static str,
    /// Files of the folder.
    pub files: Vec<(&'static str, Vec<u8>)>,
}

/// A deterministic generator (SplitMix64) with Gaussian and heavy-tailed
/// samples.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D)
    }

    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Student's t with 3 degrees of freedom, scaled to unit variance:
    /// the heavy tails of minibatch losses.
    fn heavy(&mut self) -> f64 {
        let chi2: f64 = (0..3).map(|_| self.normal().powi(2)).sum();
        self.normal() / (chi2 / 3.0).sqrt() / 3f64.sqrt()
    }

    /// `v` times log-normal noise of `sigma` (in log space).
    fn lognormal(&mut self, v: f64, sigma: f64) -> f64 {
        v * (sigma * self.normal()).exp()
    }

    /// An accuracy measured on `n` samples of true accuracy `p`.
    fn binomial_share(&mut self, p: f64, n: f64) -> f64 {
        let p = p.clamp(0.0, 1.0);
        (p + (p * (1.0 - p) / n).sqrt() * self.normal()).clamp(0.0, 1.0)
    }
}

/// Logistic function.
fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Piecewise-linear interpolation through `pts` (x ascending), flat
/// outside them.
fn lin(pts: &[(f64, f64)], x: f64) -> f64 {
    if x <= pts[0].0 {
        return pts[0].1;
    }
    for w in pts.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if x <= x1 {
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        }
    }
    pts[pts.len() - 1].1
}

/// Interpolation of positive values, linear in their logarithm.
fn geo(pts: &[(f64, f64)], x: f64) -> f64 {
    let logs: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (x, y.ln())).collect();
    lin(&logs, x).exp()
}

/// Four significant digits, as a small log keeps them.
fn round4(v: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    format!("{v:.3e}").parse().unwrap_or(v)
}

/// An accuracy of exactly 1 once it is within half a sample in 10,000 of it
/// (a full-batch accuracy is a count over N).
fn full(acc: f64) -> f64 {
    if acc > 0.99995 {
        1.0
    } else {
        acc.clamp(0.0, 1.0)
    }
}

/// A log being written: records in order, values rounded.
#[derive(Default)]
struct Log {
    lines: Vec<String>,
}

impl Log {
    fn push(&mut self, step: i64, scalars: &[(&str, f64)]) {
        let mut r = Record::new(step);
        for &(name, v) in scalars {
            r = r.scalar(name, round4(v));
        }
        self.lines.push(r.to_json_line());
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for l in &self.lines {
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
        }
        out
    }
}

/// `meta.json` as `grokscope train` writes it, with a fixed creation time.
fn meta(name: &str, config: serde_json::Value) -> Vec<u8> {
    let meta = serde_json::json!({
        "schema": 1,
        "name": name,
        "created": 1_764_400_000.0,
        "config": config,
    });
    let mut s = serde_json::to_string_pretty(&meta).expect("json");
    s.push('\n');
    s.into_bytes()
}

/// The config of a modular-arithmetic run of the built-in trainer.
fn modular(p: u32, train_frac: f64, loss: &str, lr: f64, wd: f64, perp: bool) -> serde_json::Value {
    serde_json::json!({
        "loss": loss,
        "lr": lr,
        "weight_decay": wd,
        "perp_grad": perp,
        "optimizer": "adamw",
        "task": {"kind": "modular_arithmetic", "op": "add", "p": p, "train_frac": train_frac},
    })
}

fn run(name: &'static str, about: &'static str, files: Vec<(&'static str, Vec<u8>)>) -> CorpusRun {
    CorpusRun { name, about, files }
}

/// Every generated run.
pub fn corpus() -> Vec<CorpusRun> {
    vec![
        healthy_fast(),
        healthy_slow(),
        healthy_noisy(),
        healthy_heavy_tail(),
        grok_weight_decay(),
        grok_stablemax(),
        collapse_softmax(),
        collapse_spike(),
        collapse_60(),
        perpgrad_fast(),
        nan_divergence(),
        stuck(),
        lc_grok(),
        lc_mse(),
        pytorch_tags(),
        keras_names(),
        lightning_percent(),
        resumed(),
        noise_sc(),
    ]
}

/// Writes every run under `dir` (one folder each).
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    for r in corpus() {
        let folder = dir.join(r.name);
        std::fs::create_dir_all(&folder)?;
        for (file, bytes) in &r.files {
            std::fs::write(folder.join(file), bytes)?;
        }
    }
    Ok(())
}

fn healthy_fast() -> CorpusRun {
    let mut rng = Rng::new(1);
    let mut log = Log::default();
    for k in 0..300 {
        let s = k as f64 * 10.0;
        let loss = 2.0 * (-s / 400.0).exp() + 0.3 / (1.0 + s / 200.0).powf(0.8);
        let test_loss = 2.0 * (-s / 450.0).exp() + 0.25 + 0.3 / (1.0 + s / 200.0).sqrt();
        let acc = 0.1 + 0.88 * (1.0 - (-s / 350.0).exp()) + 0.005 * s / 3000.0;
        let test_acc = 0.1 + 0.82 * (1.0 - (-s / 420.0).exp());
        log.push(
            k * 10,
            &[
                ("train/loss", rng.lognormal(loss, 0.08)),
                ("test/loss", rng.lognormal(test_loss, 0.01)),
                ("train/acc", (acc + 0.01 * rng.normal()).clamp(0.0, 0.995)),
                ("test/acc", test_acc + 0.004 * rng.normal()),
            ],
        );
    }
    run(
        "healthy-fast",
        "a 10-class classifier that learns in 3,000 steps: minibatch loss, test accuracy ends at 92 %",
        vec![("metrics.jsonl", log.bytes())],
    )
}

fn healthy_slow() -> CorpusRun {
    let mut rng = Rng::new(2);
    let mut log = Log::default();
    for k in 0..250 {
        let s = k as f64 * 200.0;
        let loss = 4.605 * (1.0 + s / 2000.0).powf(-0.35);
        let test_loss = 4.605 * (1.0 + s / 2000.0).powf(-0.3) + 0.1;
        let rise = 1.0 - (1.0 + s / 4000.0).powf(-0.7);
        log.push(
            k * 200,
            &[
                ("train/loss", rng.lognormal(loss, 0.03)),
                ("test/loss", rng.lognormal(test_loss, 0.01)),
                ("train/acc", 0.01 + 0.6 * rise + 0.005 * rng.normal()),
                ("test/acc", 0.01 + 0.52 * rise + 0.003 * rng.normal()),
            ],
        );
    }
    run(
        "healthy-slow",
        "a 100-class classifier over 50,000 steps whose loss falls as a power law: still learning at the end",
        vec![("metrics.jsonl", log.bytes())],
    )
}

fn healthy_noisy() -> CorpusRun {
    let mut rng = Rng::new(3);
    let mut log = Log::default();
    for k in 0..400 {
        let s = k as f64 * 50.0;
        let level = 7.0 * (1.0 + s / 400.0).powf(-0.25);
        let mut scalars = vec![("train/loss", rng.lognormal(level, 0.25))];
        if k % 10 == 0 {
            scalars.push(("test/loss", rng.lognormal(level * 1.05, 0.01)));
        }
        log.push(k * 50, &scalars);
    }
    run(
        "healthy-noisy",
        "a language-model-like run: per-batch loss with 25 % log-normal noise, test loss every 500 steps, no accuracy",
        vec![("metrics.jsonl", log.bytes())],
    )
}

fn healthy_heavy_tail() -> CorpusRun {
    let mut rng = Rng::new(4);
    let mut log = Log::default();
    for k in 0..300 {
        let s = k as f64 * 20.0;
        let t = (s - 200.0).max(0.0);
        let level = 4.605 * (1.0 + t / 300.0).powf(-0.45);
        let mut loss = level * (0.12 * rng.heavy()).exp();
        if [80, 150, 220].contains(&k) {
            loss *= 2.5;
        }
        let p = 0.01 + 0.75 * (1.0 - (1.0 + t / 600.0).powf(-0.8));
        let mut scalars = vec![
            ("train/loss", loss),
            ("train/acc", rng.binomial_share(p, 64.0)),
        ];
        if k % 5 == 0 {
            scalars.push(("test/acc", (p - 0.05).max(0.01) + 0.005 * rng.normal()));
        }
        log.push(k * 20, &scalars);
    }
    run(
        "healthy-heavy-tail",
        "a 100-class classifier with a flat warm-up, heavy-tailed minibatch noise and three single-batch outliers",
        vec![("metrics.jsonl", log.bytes())],
    )
}

fn grok_weight_decay() -> CorpusRun {
    let mut rng = Rng::new(5);
    let mut log = Log::default();
    for k in 0..=200 {
        let s = k as f64 * 50.0;
        let acc = full(sig((s - 150.0) / 30.0));
        let test_acc = full(0.01 + 0.99 * sig((s - 5500.0) / 350.0) + 0.002 * rng.normal());
        let loss = geo(
            &[
                (0.0, 4.57),
                (150.0, 1.0),
                (300.0, 0.05),
                (2000.0, 0.004),
                (5000.0, 0.002),
                (6500.0, 0.0008),
                (10000.0, 0.0005),
            ],
            s,
        );
        let test_loss = geo(
            &[
                (0.0, 4.58),
                (300.0, 7.0),
                (2000.0, 9.0),
                (4500.0, 8.0),
                (5500.0, 2.0),
                (6500.0, 0.05),
                (10000.0, 0.01),
            ],
            s,
        );
        let weights = lin(
            &[
                (0.0, 13.0),
                (1000.0, 60.0),
                (3000.0, 55.0),
                (5500.0, 40.0),
                (7000.0, 30.0),
                (10000.0, 28.0),
            ],
            s,
        );
        let margin = lin(
            &[
                (0.0, 0.0),
                (300.0, 3.0),
                (1500.0, 6.5),
                (4500.0, 7.5),
                (6500.0, 8.0),
                (10000.0, 8.2),
            ],
            s,
        );
        let nlm = lin(
            &[
                (0.0, 0.2),
                (300.0, 0.8),
                (4500.0, 0.78),
                (6000.0, 0.3),
                (10000.0, 0.25),
            ],
            s,
        );
        let mut scalars = vec![
            ("train/loss", rng.lognormal(loss, 0.01)),
            ("test/loss", rng.lognormal(test_loss, 0.01)),
            ("train/acc", acc),
            ("test/acc", test_acc),
            ("sc/collapsed", 0.0),
            ("sc/margin", margin + 0.02 * rng.normal()),
            ("norm/weights", weights),
        ];
        if k > 0 {
            scalars.push(("sc/nlm_cos", nlm + 0.02 * rng.normal()));
        }
        log.push(k * 50, &scalars);
    }
    run(
        "grok-weight-decay",
        "(a + b) mod 97 with AdamW weight decay 1: memorised by step 300, test accuracy jumps near 5,500 as the weight norm falls",
        vec![
            ("meta.json", meta("grok-weight-decay", modular(97, 0.4, "softmax-f32", 1e-3, 1.0, false))),
            ("metrics.jsonl", log.bytes()),
        ],
    )
}

fn grok_stablemax() -> CorpusRun {
    let mut rng = Rng::new(6);
    let mut log = Log::default();
    for k in 0..=200 {
        let s = k as f64 * 400.0;
        let first = k == 0;
        let test_acc = lin(
            &[
                (0.0, 0.0074),
                (400.0, 0.002),
                (10000.0, 0.01),
                (20000.0, 0.06),
                (30000.0, 0.29),
                (35000.0, 0.52),
                (40000.0, 0.72),
                (50000.0, 0.94),
                (60000.0, 0.974),
                (70000.0, 0.983),
                (80000.0, 0.986),
            ],
            s,
        ) + 0.003 * rng.normal();
        let loss = geo(
            &[
                (0.0, 4.727),
                (400.0, 1e-3),
                (10000.0, 1e-6),
                (40000.0, 1e-9),
                (80000.0, 1e-11),
            ],
            s,
        );
        let test_loss = geo(
            &[
                (0.0, 4.73),
                (10000.0, 8.0),
                (20000.0, 7.5),
                (40000.0, 3.0),
                (60000.0, 0.6),
                (80000.0, 0.3),
            ],
            s,
        );
        let weights = geo(
            &[
                (0.0, 13.0),
                (10000.0, 500.0),
                (30000.0, 2000.0),
                (40000.0, 3300.0),
                (60000.0, 9700.0),
                (80000.0, 26700.0),
            ],
            s,
        );
        let margin = if first {
            -0.0226
        } else {
            geo(&[(400.0, 20.0), (10000.0, 1e4), (80000.0, 1e9)], s)
        };
        let mut scalars = vec![
            (
                "train/loss",
                if first {
                    loss
                } else {
                    rng.lognormal(loss, 0.05)
                },
            ),
            ("test/loss", rng.lognormal(test_loss, 0.01)),
            ("train/acc", if first { 0.0092 } else { 1.0 }),
            ("test/acc", test_acc.max(0.0)),
            ("sc/collapsed", 0.0),
            (
                "sc/softmax_f32_collapsed",
                if first {
                    0.0
                } else if k == 1 {
                    0.98
                } else {
                    1.0
                },
            ),
            ("sc/margin", margin),
            ("norm/weights", weights),
        ];
        if !first {
            let nlm = lin(&[(0.0, 0.8), (40000.0, 0.8), (80000.0, 0.3)], s);
            scalars.push(("sc/nlm_cos", nlm + 0.01 * rng.normal()));
        }
        log.push(k * 400, &scalars);
    }
    run(
        "grok-stablemax",
        "(a + b) mod 113 with StableMax at the paper's pace (80,000 epochs): test accuracy 6 % at 20k, 94 % at 50k; weight norm to 26,700",
        vec![
            ("meta.json", meta("grok-stablemax", modular(113, 0.4, "stablemax", 0.01, 0.0, false))),
            ("metrics.jsonl", log.bytes()),
        ],
    )
}

/// `sc/collapsed` as a count over a training set of `n` samples.
fn count_share(v: f64, n: f64) -> f64 {
    (v.clamp(0.0, 1.0) * n).round() / n
}

fn collapse_softmax() -> CorpusRun {
    let mut rng = Rng::new(7);
    let mut log = Log::default();
    for k in 0..=200 {
        let s = k as f64 * 100.0;
        // The margin slows as samples collapse (they stop pulling it up);
        // the collapsed share follows the margin past ln 2^24 ≈ 16.6.
        let margin = lin(
            &[
                (0.0, -0.02),
                (800.0, 1.0),
                (2000.0, 5.0),
                (14000.0, 16.2),
                (16000.0, 16.85),
                (20000.0, 17.4),
            ],
            s,
        );
        let sc = count_share(0.8 * sig((margin - 16.75) / 0.2), 5107.0);
        let sc = if sc < 2.0 / 5107.0 { 0.0 } else { sc };
        let loss = geo(
            &[
                (0.0, 4.727),
                (800.0, 1.5),
                (2000.0, 1e-2),
                (14000.0, 1e-7),
                (17000.0, 5e-8),
                (20000.0, 4e-8),
            ],
            s,
        );
        let nlm = lin(
            &[
                (0.0, 0.1),
                (2000.0, 0.6),
                (6000.0, 0.74),
                (14000.0, 0.75),
                (17000.0, 0.3),
                (20000.0, 0.25),
            ],
            s,
        );
        let mut scalars = vec![
            ("train/loss", rng.lognormal(loss, 0.005)),
            (
                "test/loss",
                lin(&[(0.0, 4.73), (2000.0, 20.0), (20000.0, 45.0)], s),
            ),
            ("train/acc", full(sig((s - 700.0) / 150.0))),
            ("test/acc", (0.003 + 0.0005 * rng.normal()).max(0.0)),
            ("sc/collapsed", sc),
            ("sc/collapsed_grad_share", 0.6 * sc),
            ("sc/margin", margin + 0.01 * rng.normal()),
            (
                "norm/weights",
                lin(&[(0.0, 13.0), (2000.0, 60.0), (20000.0, 95.0)], s),
            ),
        ];
        if k > 0 {
            scalars.push(("sc/nlm_cos", nlm + 0.005 * rng.normal()));
        }
        log.push(k * 100, &scalars);
    }
    run(
        "collapse-softmax",
        "(a + b) mod 113, f32 softmax, lr 5e-4, 20,000 epochs: memorised, the margin climbs to ln 2^24 and sc/collapsed passes 0.5 near 17,000; test accuracy ≈ 0",
        vec![
            ("meta.json", meta("collapse-softmax", modular(113, 0.4, "softmax-f32", 5e-4, 0.0, false))),
            ("metrics.jsonl", log.bytes()),
        ],
    )
}

fn collapse_spike() -> CorpusRun {
    let mut rng = Rng::new(8);
    let mut log = Log::default();
    // The spike: train loss, train accuracy and margin over its records.
    let spike: [(i64, f64, f64, f64); 7] = [
        (1860, 0.5, 0.95, 10.0),
        (1870, 3.99, 0.38, -1.6),
        (1880, 1.2, 0.55, 0.5),
        (1890, 0.3, 0.8, 2.0),
        (1900, 0.08, 0.93, 3.0),
        (1910, 0.05, 0.98, 4.0),
        (1920, 0.035, 0.995, 4.5),
    ];
    for k in 0..=300 {
        let step = k * 10;
        let s = step as f64;
        let in_spike = spike.iter().find(|r| r.0 == step);
        let (loss, acc, margin, sc, nlm, test_loss) = if let Some(&(_, l, a, m)) = in_spike {
            (
                l,
                a,
                m,
                0.0,
                -0.03,
                12.7 + 60.0 * (-(s - 1870.0).abs() / 20.0).exp(),
            )
        } else if s < 1860.0 {
            let loss = geo(
                &[
                    (0.0, 4.078),
                    (75.0, 2e-4),
                    (1200.0, 6.5e-7),
                    (1650.0, 4.3e-8),
                    (1850.0, 4e-8),
                ],
                s,
            );
            let acc = if s < 40.0 { sig((s - 20.0) / 5.0) } else { 1.0 };
            let margin = lin(
                &[(0.0, -0.03), (75.0, 9.6), (1650.0, 17.0), (1850.0, 17.14)],
                s,
            );
            let sc = 0.75 * sig((s - 1530.0) / 60.0) - 0.002 * (s - 1720.0).max(0.0);
            let nlm = lin(
                &[
                    (0.0, 0.0),
                    (75.0, 0.2),
                    (150.0, 0.48),
                    (1000.0, 0.61),
                    (1200.0, 0.59),
                    (1500.0, 0.17),
                    (1700.0, 0.12),
                    (1850.0, 0.25),
                ],
                s,
            );
            (
                loss,
                acc,
                margin,
                sc,
                nlm,
                lin(&[(0.0, 4.08), (75.0, 23.0), (1850.0, 33.0)], s),
            )
        } else {
            let loss = geo(
                &[
                    (1920.0, 0.035),
                    (1950.0, 0.02),
                    (2400.0, 3.6e-4),
                    (3000.0, 1.1e-5),
                ],
                s,
            );
            let margin = lin(&[(1920.0, 4.5), (1950.0, 5.1), (3000.0, 12.35)], s);
            let nlm = lin(&[(1920.0, 0.2), (3000.0, 0.32)], s);
            let sc = lin(&[(2400.0, 0.0), (3000.0, 0.003)], s);
            (
                loss,
                1.0,
                margin,
                sc,
                nlm,
                lin(&[(1920.0, 12.7), (3000.0, 24.2)], s),
            )
        };
        let sc = count_share(sc, 1392.0);
        let mut scalars = vec![
            ("train/loss", rng.lognormal(loss, 0.01)),
            ("test/loss", rng.lognormal(test_loss, 0.005)),
            ("train/acc", acc),
            ("test/acc", (0.001 + 0.0007 * rng.normal()).max(0.0)),
            ("sc/collapsed", sc),
            ("sc/margin", margin + 0.01 * rng.normal()),
        ];
        if k > 0 {
            scalars.push(("sc/nlm_cos", nlm + 0.01 * rng.normal()));
        }
        log.push(step, &scalars);
    }
    run(
        "collapse-spike",
        "(a + b) mod 59, f32 softmax, lr 0.02: memorised at once, sc/collapsed passes 0.5 near 1,580, then the loss spikes at 1,860 and the run re-fits without generalising",
        vec![
            ("meta.json", meta("collapse-spike", modular(59, 0.4, "softmax-f32", 0.02, 0.0, false))),
            ("metrics.jsonl", log.bytes()),
        ],
    )
}

fn collapse_60() -> CorpusRun {
    let mut rng = Rng::new(9);
    let mut log = Log::default();
    for k in 0..=200 {
        let s = k as f64 * 50.0;
        let sc = count_share(0.92 * sig((s - 2850.0) / 250.0), 7661.0);
        let sc = if sc < 2.0 / 7661.0 { 0.0 } else { sc };
        let loss = geo(
            &[
                (0.0, 4.727),
                (500.0, 1.0),
                (1000.0, 0.02),
                (2800.0, 1e-6),
                (3500.0, 3e-7),
                (10000.0, 2e-7),
            ],
            s,
        );
        let test_acc = lin(
            &[
                (0.0, 0.008),
                (600.0, 0.01),
                (1500.0, 0.15),
                (2500.0, 0.27),
                (3000.0, 0.29),
                (10000.0, 0.29),
            ],
            s,
        );
        let nlm = lin(
            &[
                (0.0, 0.1),
                (1000.0, 0.7),
                (2500.0, 0.75),
                (3500.0, 0.3),
                (10000.0, 0.2),
            ],
            s,
        );
        let mut scalars = vec![
            ("train/loss", rng.lognormal(loss, 0.005)),
            (
                "test/loss",
                lin(
                    &[(0.0, 4.73), (1000.0, 9.0), (3000.0, 12.0), (10000.0, 14.0)],
                    s,
                ),
            ),
            ("train/acc", full(sig((s - 400.0) / 80.0))),
            ("test/acc", test_acc + 0.002 * rng.normal()),
            ("sc/collapsed", sc),
            (
                "sc/margin",
                lin(
                    &[
                        (0.0, 0.0),
                        (1000.0, 6.0),
                        (2900.0, 16.6),
                        (4000.0, 17.4),
                        (10000.0, 18.0),
                    ],
                    s,
                ) + 0.01 * rng.normal(),
            ),
        ];
        if k > 0 {
            scalars.push(("sc/nlm_cos", nlm + 0.005 * rng.normal()));
        }
        log.push(k * 50, &scalars);
    }
    run(
        "collapse-60",
        "(a + b) mod 113 with 60 % of the pairs for training, f32 softmax: collapse passes 0.5 near 2,900 and test accuracy stops at 29 %",
        vec![
            ("meta.json", meta("collapse-60", modular(113, 0.6, "softmax-f32", 5e-4, 0.0, false))),
            ("metrics.jsonl", log.bytes()),
        ],
    )
}

fn perpgrad_fast() -> CorpusRun {
    let mut rng = Rng::new(10);
    let mut log = Log::default();
    for k in 0..=150 {
        let s = k as f64 * 2.0;
        let acc = if s >= 116.0 {
            1.0
        } else {
            lin(
                &[
                    (0.0, 0.009),
                    (30.0, 0.14),
                    (60.0, 0.38),
                    (90.0, 0.87),
                    (110.0, 0.995),
                ],
                s,
            )
        };
        let test_acc = if s >= 122.0 {
            1.0
        } else {
            lin(
                &[
                    (0.0, 0.007),
                    (60.0, 0.003),
                    (80.0, 0.05),
                    (90.0, 0.21),
                    (100.0, 0.63),
                    (110.0, 0.95),
                    (120.0, 0.999),
                ],
                s,
            ) + 0.002 * rng.normal()
        };
        let loss = geo(
            &[
                (0.0, 4.727),
                (30.0, 3.9),
                (60.0, 3.2),
                (90.0, 1.77),
                (120.0, 0.40),
                (150.0, 0.19),
                (300.0, 0.094),
            ],
            s,
        );
        let test_loss = geo(
            &[
                (0.0, 4.728),
                (60.0, 5.0),
                (90.0, 2.2),
                (120.0, 0.5),
                (300.0, 0.14),
            ],
            s,
        );
        let mut scalars = vec![
            ("train/loss", loss),
            ("test/loss", test_loss),
            ("train/acc", acc),
            ("test/acc", test_acc.clamp(0.0, 1.0)),
            ("sc/collapsed", 0.0),
            (
                "sc/margin",
                lin(&[(0.0, 0.0), (60.0, -0.2), (120.0, 2.3), (300.0, 3.75)], s),
            ),
        ];
        if k > 0 {
            scalars.push(("sc/nlm_cos", 0.8 + 0.02 * rng.normal()));
        }
        log.push(k * 2, &scalars);
    }
    run(
        "perpgrad-fast",
        "(a + b) mod 113 with ⊥AdamW, 300 epochs: test accuracy 0.21 → 0.95 between epochs 90 and 110, as fast as train accuracy",
        vec![
            ("meta.json", meta("perpgrad-fast", modular(113, 0.4, "softmax-f32", 0.01, 0.0, true))),
            ("metrics.jsonl", log.bytes()),
        ],
    )
}

fn nan_divergence() -> CorpusRun {
    let mut rng = Rng::new(11);
    let mut log = Log::default();
    for k in 0..=150 {
        let s = k as f64 * 10.0;
        let (loss, grad) = if s <= 1100.0 {
            let l = 2.3 * (1.0 + s / 100.0).powf(-0.6);
            (rng.lognormal(l, 0.05), rng.lognormal(1.0, 0.1))
        } else if s < 1420.0 {
            let l = 0.5 * ((s - 1100.0) / 20.0).exp();
            (
                rng.lognormal(l, 0.05),
                rng.lognormal(((s - 1100.0) / 25.0).exp(), 0.1),
            )
        } else if s < 1430.0 {
            (f64::INFINITY, f64::INFINITY)
        } else {
            (f64::NAN, f64::NAN)
        };
        let acc = if s <= 1100.0 {
            0.1 + 0.75 * (1.0 - (-s / 300.0).exp())
        } else {
            lin(
                &[
                    (1100.0, 0.1 + 0.75 * (1.0 - (-1100.0f64 / 300.0).exp())),
                    (1250.0, 0.1),
                ],
                s,
            )
        };
        log.push(
            k * 10,
            &[
                ("train/loss", loss),
                ("train/acc", rng.binomial_share(acc, 128.0)),
                ("norm/grad", grad),
            ],
        );
    }
    run(
        "nan-divergence",
        "a 10-class classifier whose loss blows up exponentially from step 1,100, overflows at 1,420 and is NaN after",
        vec![("metrics.jsonl", log.bytes())],
    )
}

fn stuck() -> CorpusRun {
    let mut rng = Rng::new(12);
    let mut log = Log::default();
    for k in 0..=250 {
        log.push(
            k * 20,
            &[
                ("train/loss", rng.lognormal(std::f64::consts::LN_10, 0.004)),
                ("test/loss", std::f64::consts::LN_10 + 0.0005 * rng.normal()),
                ("train/acc", rng.binomial_share(0.1, 256.0)),
                ("test/acc", 0.1 + 0.003 * rng.normal()),
            ],
        );
    }
    run(
        "stuck",
        "a 10-class classifier that never learns: loss flat at ln 10, accuracy at chance (10 %) for 5,000 steps",
        vec![("metrics.jsonl", log.bytes())],
    )
}

fn lc_grok() -> CorpusRun {
    let mut rng = Rng::new(13);
    let mut log = Log::default();
    let mut last = -1;
    for k in 0..=120 {
        let step = 10f64.powf(k as f64 / 24.0).round() as i64;
        if step == last {
            continue;
        }
        last = step;
        let x = (step as f64).log10();
        let lc = lin(
            &[
                (0.0, 40.0),
                (2.5, 28.0),
                (3.5, 60.0),
                (4.0, 60.0),
                (4.6, 32.0),
                (5.0, 30.0),
            ],
            x,
        );
        let test_acc = lin(
            &[
                (0.0, 0.1),
                (2.7, 0.6),
                (3.2, 0.73),
                (4.0, 0.8),
                (4.3, 0.84),
                (4.6, 0.91),
                (4.8, 0.93),
                (5.0, 0.935),
            ],
            x,
        );
        log.push(
            step,
            &[
                (
                    "train/loss",
                    rng.lognormal(
                        lin(
                            &[
                                (0.0, 2.3f64.ln()),
                                (2.5, 0.5f64.ln()),
                                (3.2, 0.005f64.ln()),
                                (5.0, 1e-4f64.ln()),
                            ],
                            x,
                        )
                        .exp(),
                        0.02,
                    ),
                ),
                (
                    "test/loss",
                    rng.lognormal(
                        lin(
                            &[(0.0, 2.3), (3.2, 0.9), (4.0, 1.0), (4.6, 0.4), (5.0, 0.3)],
                            x,
                        ),
                        0.01,
                    ),
                ),
                ("train/acc", full(sig((x - 2.7) / 0.08))),
                ("test/acc", test_acc + 0.003 * rng.normal()),
                ("lc/train", lc + 1.0 * rng.normal()),
                ("lc/test", 0.9 * lc + 1.0 * rng.normal()),
                (
                    "lc/random",
                    lin(&[(0.0, 30.0), (3.0, 10.0), (5.0, 0.5)], x) + 0.3 * rng.normal(),
                ),
            ],
        );
    }
    run(
        "lc-grok",
        "an MNIST-like MLP logged at log-spaced steps to 100,000: local complexity falls, peaks near 3k–10k, falls again from 10k as test accuracy groks",
        vec![("metrics.jsonl", log.bytes())],
    )
}

fn lc_mse() -> CorpusRun {
    let mut rng = Rng::new(14);
    let mut log = Log::default();
    for k in 0..=200 {
        let step = k * 20;
        let s = step as f64;
        let acc = match k {
            0 => 0.09,
            1 => 0.7,
            2 => 0.98,
            _ if rng.uniform() < 0.97 => 1.0,
            _ => 0.995,
        };
        let mut scalars = vec![
            (
                "train/loss",
                rng.lognormal(
                    geo(
                        &[(0.0, 0.092), (40.0, 0.004), (400.0, 4e-4), (4000.0, 3e-5)],
                        s,
                    ),
                    0.1,
                ),
            ),
            (
                "test/loss",
                rng.lognormal(
                    geo(
                        &[
                            (0.0, 0.092),
                            (40.0, 0.006),
                            (400.0, 0.002),
                            (4000.0, 0.0015),
                        ],
                        s,
                    ),
                    0.02,
                ),
            ),
            ("train/acc", acc),
            (
                "test/acc",
                lin(
                    &[
                        (0.0, 0.103),
                        (40.0, 0.991),
                        (400.0, 0.991),
                        (1200.0, 0.993),
                        (4000.0, 0.998),
                    ],
                    s,
                ) + 0.001 * rng.normal(),
            ),
        ];
        if step % 40 == 0 {
            scalars.push((
                "lc/train",
                lin(
                    &[
                        (0.0, 4.36),
                        (40.0, 3.15),
                        (440.0, 3.74),
                        (1120.0, 3.30),
                        (4000.0, 3.35),
                    ],
                    s,
                ) + 0.035 * rng.normal(),
            ));
            scalars.push((
                "lc/test",
                lin(
                    &[
                        (0.0, 4.22),
                        (40.0, 2.84),
                        (440.0, 2.86),
                        (1120.0, 2.78),
                        (4000.0, 2.7),
                    ],
                    s,
                ) + 0.03 * rng.normal(),
            ));
            scalars.push((
                "lc/random",
                lin(&[(0.0, 3.09), (40.0, 1.33), (4000.0, 1.2)], s) + 0.03 * rng.normal(),
            ));
        }
        log.push(step, &scalars);
    }
    let config = serde_json::json!({
        "loss": "mse",
        "lr": 1e-3,
        "weight_decay": 0.01,
        "perp_grad": false,
        "batch_size": 200,
        "task": {"kind": "glyphs", "train": 1000, "test": 1000},
    });
    run(
        "lc-mse",
        "8×8 glyphs trained with MSE (no softmax): train LC 4.36 → 3.15 → 3.74 (peak near 440) → 3.30 (second descent by 1,120); test accuracy 99 % from the start",
        vec![("meta.json", meta("lc-mse", config)), ("metrics.jsonl", log.bytes())],
    )
}

/// One TensorBoard record: length, masked CRC of the length, data, masked
/// CRC of the data (the TFRecord framing).
fn tf_record(out: &mut Vec<u8>, data: &[u8]) {
    let mask = |crc: u32| (crc.rotate_right(15)).wrapping_add(0xa282_ead8);
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&mask(crc32c::crc32c(&len)).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&mask(crc32c::crc32c(data)).to_le_bytes());
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// An `Event` proto with one `simple_value` scalar, as PyTorch's
/// `SummaryWriter.add_scalar` writes it.
fn tf_scalar_event(wall_time: f64, step: i64, tag: &str, value: f32) -> Vec<u8> {
    let mut value_msg = vec![0x0a];
    varint(&mut value_msg, tag.len() as u64);
    value_msg.extend_from_slice(tag.as_bytes());
    value_msg.push(0x15);
    value_msg.extend_from_slice(&value.to_le_bytes());
    let mut summary = vec![0x0a];
    varint(&mut summary, value_msg.len() as u64);
    summary.extend_from_slice(&value_msg);
    let mut event = vec![0x09];
    event.extend_from_slice(&wall_time.to_le_bytes());
    event.push(0x10);
    varint(&mut event, step as u64);
    event.push(0x2a);
    varint(&mut event, summary.len() as u64);
    event.extend_from_slice(&summary);
    event
}

fn pytorch_tags() -> CorpusRun {
    let mut rng = Rng::new(15);
    let mut out = Vec::new();
    // The file-version event every writer starts with.
    let mut first = vec![0x09];
    first.extend_from_slice(&1_764_400_000.0f64.to_le_bytes());
    first.push(0x1a);
    varint(&mut first, 13);
    first.extend_from_slice(b"brain.Event:2");
    tf_record(&mut out, &first);
    for k in 0..=200i64 {
        let step = k * 25;
        let s = step as f64;
        let bump = match step {
            2600 => 6.0,
            2625 => 4.0,
            2650 => 2.0,
            2675 => 0.8,
            2700 => 0.3,
            _ => 0.0,
        };
        let loss = 2.3 * (1.0 + s / 150.0).powf(-0.7) * (1.0 + bump);
        let acc = (0.1 + 0.85 * (1.0 - 1.0 / (1.0 + s / 300.0))) * (1.0 - 0.4 * (bump / 6.0));
        let val_acc = 0.1 + 0.78 * (1.0 - 1.0 / (1.0 + s / 350.0)) - 0.2 * (bump / 6.0);
        let t = 1_764_400_000.0 + s * 0.5;
        let scalars = [
            ("Loss/train", rng.lognormal(loss, 0.06)),
            (
                "Loss/val",
                rng.lognormal(
                    2.3 * (1.0 + s / 200.0).powf(-0.6) * (1.0 + 0.5 * bump) + 0.2,
                    0.01,
                ),
            ),
            ("Accuracy/train", rng.binomial_share(acc, 128.0)),
            ("Accuracy/val", val_acc + 0.003 * rng.normal()),
        ];
        for (tag, v) in scalars {
            tf_record(&mut out, &tf_scalar_event(t, step, tag, v as f32));
        }
    }
    run(
        "pytorch-tags",
        "a TensorBoard event file with PyTorch-tutorial tags (Loss/train, Accuracy/val): a 10-class run whose loss spikes ×7 at step 2,600 and recovers",
        vec![("events.out.tfevents.1764400000.corpus.1.0", out)],
    )
}

fn keras_names() -> CorpusRun {
    let mut rng = Rng::new(16);
    let mut log = Log::default();
    for k in 0..250 {
        let s = k as f64 * 2.0;
        log.push(
            k * 2,
            &[
                (
                    "loss",
                    rng.lognormal(
                        geo(
                            &[
                                (0.0, 4.6),
                                (40.0, 0.3),
                                (80.0, 0.01),
                                (250.0, 0.003),
                                (300.0, 0.0005),
                                (500.0, 0.0003),
                            ],
                            s,
                        ),
                        0.01,
                    ),
                ),
                (
                    "val_loss",
                    rng.lognormal(
                        geo(
                            &[
                                (0.0, 4.6),
                                (80.0, 8.0),
                                (240.0, 7.0),
                                (300.0, 0.05),
                                (500.0, 0.02),
                            ],
                            s,
                        ),
                        0.01,
                    ),
                ),
                ("accuracy", full(sig((s - 30.0) / 6.0))),
                (
                    "val_accuracy",
                    full((0.01 + 0.99 * sig((s - 260.0) / 15.0) + 0.003 * rng.normal()).min(1.0)),
                ),
            ],
        );
    }
    run(
        "keras-names",
        "Keras's metric names (loss, val_loss, accuracy, val_accuracy), by epoch: a modular-arithmetic model memorises by epoch 70 and groks near epoch 280",
        vec![("metrics.jsonl", log.bytes())],
    )
}

fn lightning_percent() -> CorpusRun {
    let mut rng = Rng::new(17);
    let mut log = Log::default();
    for k in 0..=200 {
        let s = k as f64 * 50.0;
        let acc = 10.0 + 90.0 * (1.0 - (-s / 1000.0).exp());
        let acc = if acc > 99.95 {
            100.0
        } else {
            acc + 0.05 * rng.normal()
        };
        log.push(
            k * 50,
            &[
                (
                    "train_loss",
                    rng.lognormal(2.3 * (-s / 1200.0).exp() + 0.002, 0.05),
                ),
                (
                    "val_loss",
                    rng.lognormal(2.3 * (-s / 1300.0).exp() + 0.2, 0.01),
                ),
                ("train_acc", acc.min(100.0)),
                (
                    "val_acc",
                    10.0 + 84.0 * (1.0 - (-s / 1100.0).exp()) + 0.2 * rng.normal(),
                ),
            ],
        );
    }
    run(
        "lightning-percent",
        "Lightning-style names (train_loss, val_acc) with accuracies in percent: train accuracy reaches 100 % near step 7,600 with validation at 94 %",
        vec![("metrics.jsonl", log.bytes())],
    )
}

fn resumed() -> CorpusRun {
    let mut rng = Rng::new(18);
    let mut log = Log::default();
    let loss = |s: f64| 2.3 * (1.0 + s / 200.0).powf(-0.5);
    let acc = |s: f64| 0.1 + 0.8 * (1.0 - (-s / 800.0).exp());
    for k in 0..=130 {
        let s = k as f64 * 20.0;
        let l = if s >= 2420.0 {
            f64::NAN
        } else {
            rng.lognormal(loss(s), 0.04)
        };
        log.push(
            k * 20,
            &[
                ("train/loss", l),
                ("train/acc", rng.binomial_share(acc(s), 256.0)),
                ("test/acc", acc(s) - 0.03 + 0.003 * rng.normal()),
            ],
        );
    }
    // Resumed from the checkpoint of step 2000 with half the learning rate.
    for k in 100..=300 {
        let s = k as f64 * 20.0;
        let fit = acc(s) + 0.06 * (1.0 - (-(s - 2000.0) / 1500.0).exp());
        log.push(
            k * 20,
            &[
                (
                    "train/loss",
                    rng.lognormal(
                        loss(s) * (1.0 - 0.3 * (1.0 - (-(s - 2000.0) / 1000.0).exp())),
                        0.04,
                    ),
                ),
                ("train/acc", rng.binomial_share(fit, 256.0)),
                ("test/acc", fit - 0.03 + 0.003 * rng.normal()),
            ],
        );
    }
    run(
        "resumed",
        "a run whose loss turns NaN at step 2,420, resumed from its step-2,000 checkpoint with a lower learning rate (steps go back: a second segment) and finishing healthy",
        vec![("metrics.jsonl", log.bytes())],
    )
}

fn noise_sc() -> CorpusRun {
    let mut rng = Rng::new(19);
    let mut log = Log::default();
    for k in 0..200 {
        let s = k as f64 * 10.0;
        log.push(
            k * 10,
            &[
                (
                    "train/loss",
                    rng.lognormal(2.3 * (-s / 500.0).exp() + 0.15, 0.05),
                ),
                (
                    "train/acc",
                    (0.1 + 0.82 * (1.0 - (-s / 450.0).exp()) + 0.01 * rng.normal()).min(0.95),
                ),
                (
                    "test/acc",
                    0.1 + 0.75 * (1.0 - (-s / 500.0).exp()) + 0.004 * rng.normal(),
                ),
                ("sc/collapsed", rng.uniform()),
                ("sc/margin", 3.0 + 2.0 * rng.normal()),
            ],
        );
    }
    run(
        "noise-sc",
        "a healthy 10-class run whose sc/collapsed and sc/margin columns hold random numbers (a logging bug): no collapse to report",
        vec![("metrics.jsonl", log.bytes())],
    )
}
