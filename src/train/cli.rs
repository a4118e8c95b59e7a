//! `grokscope train`: a preset, its overrides, the run folder, Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::builder::PossibleValuesParser;
use clap::Args;

use super::{LossKind, Op, OptimizerKind, Preset, Task, TrainConfig, TrainError};
use crate::run::METRICS_FILE;

/// Exit code after a Ctrl-C stop (the log is complete).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Options of `grokscope train`; every override replaces the preset's value.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// The experiment (see docs/TRAINING.md).
    #[arg(long, value_name = "NAME",
        value_parser = PossibleValuesParser::new(Preset::ALL.map(Preset::name)))]
    pub preset: String,
    /// Run folder [default: runs/<preset>-<UTC timestamp>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Modulus p (23, 31, 59, 97, 113 or 127).
    #[arg(long)]
    pub p: Option<usize>,
    /// Operation of (a ∘ b) mod p.
    #[arg(long, value_parser = PossibleValuesParser::new(["add", "sub", "mul"]))]
    pub op: Option<String>,
    /// Fraction of the p² pairs used for training.
    #[arg(long, value_name = "F")]
    pub train_frac: Option<f64>,
    /// Seed of the split, initialisation, batches and probes.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of epochs.
    #[arg(long, value_name = "N")]
    pub epochs: Option<u64>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Decoupled weight decay.
    #[arg(long, value_name = "WD")]
    pub weight_decay: Option<f64>,
    /// Adam's epsilon (the paper's 1e-25; 1e-8 hides softmax collapse).
    #[arg(long)]
    pub eps: Option<f64>,
    /// Adam's beta1.
    #[arg(long)]
    pub beta1: Option<f64>,
    /// Adam's beta2.
    #[arg(long)]
    pub beta2: Option<f64>,
    /// Optimiser.
    #[arg(long, value_parser = PossibleValuesParser::new(["adamw", "sgd"]))]
    pub optimizer: Option<String>,
    /// Training loss.
    #[arg(long, value_parser = PossibleValuesParser::new(
        ["softmax-f16", "softmax-f32", "softmax-f64", "stablemax", "mse"]))]
    pub loss: Option<String>,
    /// ⊥Grad on (`--perp-grad`, `--perp-grad true`) or off (`--perp-grad false`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub perp_grad: Option<bool>,
    /// Minibatch size (default: the preset's; full batch for modular presets).
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Epochs between two log records.
    #[arg(long, value_name = "N")]
    pub log_every: Option<u64>,
    /// Also log at about ten log-spaced epochs per decade (1, 2, 3, 4, 5, 6,
    /// 8, 10, 13, …), every diagnostic but sensitivity [default: on for lc].
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub log_spaced: Option<bool>,
    /// Write a safetensors checkpoint every N epochs (0 = never).
    #[arg(long, value_name = "N")]
    pub checkpoint_every: Option<u64>,
    /// SeND: drop (zero in the training forward) this fraction of the last
    /// hidden layer's most sensitive neurons, 0 ≤ F < 1 [default: 0 = off].
    #[arg(long, value_name = "F")]
    pub send_frac: Option<f64>,
    /// SeND: epochs between re-selections of the dropped neurons, a
    /// multiple of --log-every [default: the sensitivity cadence, 10 × --log-every].
    #[arg(long, value_name = "N")]
    pub send_every: Option<u64>,
    /// The region map's slice goes through these three training points
    /// (positions in split.json's `train` list), as A, B, C [default: three
    /// of different classes drawn from the seed].
    #[arg(long, value_name = "I,J,K", value_parser = parse_anchors)]
    pub map_anchors: Option<[usize; 3]>,
}

/// `I,J,K`: three training-set positions.
fn parse_anchors(s: &str) -> Result<[usize; 3], String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let bad = || format!("expected three training-set positions such as 12,407,771, got `{s}`");
    if parts.len() != 3 {
        return Err(bad());
    }
    let mut out = [0; 3];
    for (o, p) in out.iter_mut().zip(&parts) {
        *o = p.parse().map_err(|_| bad())?;
    }
    if out[0] == out[1] || out[1] == out[2] || out[0] == out[2] {
        return Err(format!("the three anchors must differ, got `{s}`"));
    }
    Ok(out)
}

impl TrainArgs {
    /// The preset's configuration with the overrides applied, validated.
    pub fn resolve(&self) -> Result<TrainConfig, TrainError> {
        let mut c = Preset::parse(&self.preset)?.config();
        match &mut c.task {
            Task::ModularArithmetic { p, op, train_frac } => {
                if let Some(v) = self.p {
                    *p = v;
                }
                if let Some(v) = &self.op {
                    *op = Op::parse(v)?;
                }
                if let Some(v) = self.train_frac {
                    *train_frac = v;
                }
            }
            Task::Glyphs { .. } => {
                for (name, given) in [
                    ("--p", self.p.is_some()),
                    ("--op", self.op.is_some()),
                    ("--train-frac", self.train_frac.is_some()),
                ] {
                    if given {
                        return Err(TrainError::Config(format!(
                            "{name} applies to the modular-arithmetic presets, not to `{}`",
                            self.preset
                        )));
                    }
                }
            }
        }
        set(&mut c.seed, self.seed);
        set(&mut c.epochs, self.epochs);
        set(&mut c.lr, self.lr);
        set(&mut c.weight_decay, self.weight_decay);
        set(&mut c.eps, self.eps);
        set(&mut c.betas[0], self.beta1);
        set(&mut c.betas[1], self.beta2);
        set(&mut c.perp_grad, self.perp_grad);
        set(&mut c.log_every, self.log_every);
        set(&mut c.log_spaced, self.log_spaced);
        set(&mut c.checkpoint_every, self.checkpoint_every);
        set(&mut c.send_frac, self.send_frac);
        if self.send_every.is_some() {
            c.send_every = self.send_every;
        }
        if self.map_anchors.is_some() {
            c.map_anchors = self.map_anchors;
        }
        if let Some(b) = self.batch_size {
            c.batch_size = Some(b);
        }
        if let Some(o) = &self.optimizer {
            c.optimizer = match o.as_str() {
                "sgd" => OptimizerKind::Sgd,
                _ => OptimizerKind::AdamW,
            };
        }
        if let Some(l) = &self.loss {
            c.loss = LossKind::parse(l)?;
        }
        c.validate()?;
        if c.send_frac > 0.0 {
            // meta.json records the interval actually used.
            c.send_every = Some(c.send_interval());
        }
        Ok(c)
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

/// `YYYYmmdd-HHMMSS` (UTC) of `t`.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

fn check_out(dir: &Path) -> Result<(), TrainError> {
    if dir.join(METRICS_FILE).exists() {
        return Err(TrainError::Config(format!(
            "{} already holds a run ({METRICS_FILE}); choose another --out folder",
            dir.display()
        )));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(TrainError::Config(format!(
            "--out {} exists and is not a folder",
            dir.display()
        )));
    }
    Ok(())
}

/// Runs `grokscope train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let config = args.resolve()?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(format!(
            "{}-{}",
            config.preset,
            timestamp(SystemTime::now())
        ))
    });
    check_out(&out)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        eprintln!("grokscope train: Ctrl-C will not stop cleanly ({e})");
    }
    println!(
        "grokscope train: preset {} → {} ({} epochs; watch it with `grokscope watch {}`)",
        config.preset,
        out.display(),
        config.epochs,
        out.display()
    );
    let s = super::train(&config, &out, stop, true)?;
    println!(
        "{} after {} epochs in {:.1} s ({:.1} epochs/s): train acc {:.4}, test acc {:.4}, \
         sc/collapsed > 0.5 {}, test acc > 0.9 {}",
        if s.stopped_early { "stopped" } else { "done" },
        s.epochs,
        s.seconds,
        s.epochs as f64 / s.seconds.max(1e-9),
        s.train_acc,
        s.test_acc,
        milestone(s.first_collapse_above_half),
        milestone(s.first_test_acc_above_0_9),
    );
    println!("run written to {}", out.display());
    Ok(if s.stopped_early {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn milestone(epoch: Option<u64>) -> String {
    epoch.map_or("never".into(), |e| format!("at epoch {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_accepted_on_the_command_line() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            train: TrainArgs,
        }
        for p in Preset::ALL {
            let cli = Cli::try_parse_from(["train", "--preset", p.name()]).unwrap();
            assert_eq!(cli.train.resolve().unwrap(), p.config());
        }
        assert!(Cli::try_parse_from(["train", "--preset", "nope"]).is_err());
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_764_412_345);
        assert_eq!(timestamp(t), "20251129-103225");
        assert_eq!(timestamp(UNIX_EPOCH), "19700101-000000");
    }
}
