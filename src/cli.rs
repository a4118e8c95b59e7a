//! The command line: `grokscope <subcommand>`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::analysis::{diagnose, Diagnosis, RunContext};
use crate::export::csv::{export_csv, write_csv};
use crate::export::maps::export_map_png;
use crate::export::palette::Palette;
use crate::export::png::{export_png, PngOptions};
use crate::source::{discover, RunFeed};
use crate::summary::{write_json, RunSummary};
use crate::text::printable;
pub use crate::train::cli::TrainArgs;
use crate::tui::theme::{user_theme_dir, Theme};
use crate::tui::ui::MapColour;

/// A terminal dashboard for training diagnostics: loss, softmax collapse,
/// linear-region density and neuron sensitivity, live or replayed.
#[derive(Debug, Parser)]
#[command(name = "grokscope", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a small grokking experiment in the background and watch it live.
    Demo,
    /// Train a built-in experiment (modular arithmetic on a dfdx MLP, or
    /// the `lc` glyph classifier) and log every diagnostic.
    Train(Box<TrainArgs>),
    /// Live dashboard of a run (folder or .jsonl file) or a folder of runs.
    Watch {
        /// A run folder, a .jsonl file or a folder of runs.
        path: PathBuf,
        /// Colour theme (dark, light, high-contrast, okabe-ito, or your own).
        #[arg(long)]
        theme: Option<String>,
        /// Poll the files every MS milliseconds instead of using file
        /// notifications (for network file systems).
        #[arg(long, value_name = "MS")]
        poll: Option<u64>,
    },
    /// Replay a logged run in the dashboard, by its recorded wall time.
    Replay {
        /// A run folder, a .jsonl file or TensorBoard event files.
        run: PathBuf,
        /// Playback speed, 0.25 to 1000 (default: the slowest from 1× that
        /// plays the run within a minute); `[` and `]` change it.
        #[arg(long, value_name = "X", value_parser = crate::tui::replay::parse_speed)]
        speed: Option<f64>,
        /// Start at the first record at or after this step.
        #[arg(long, value_name = "STEP", allow_negative_numbers = true)]
        from: Option<i64>,
        /// Colour theme (dark, light, high-contrast, okabe-ito, or your own).
        #[arg(long)]
        theme: Option<String>,
    },
    /// Print what a run holds: records, segments, malformed lines, metrics.
    Summary {
        /// A run folder, a .jsonl file or a folder of runs.
        path: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Export a run to CSV or PNG.
    Export {
        /// A run folder or .jsonl file.
        run: PathBuf,
        /// Write tidy CSV (run,metric,step,time,value) to FILE ("-": standard output).
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Render the four diagnostic panels, with event markers, to FILE (PNG).
        /// With --map-steps: the region maps instead.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// Draw the region map of the slice (lc/slice/region) at these steps,
        /// a row of small multiples (each the map logged nearest the step),
        /// to the --png file instead of the panels.
        #[arg(long, value_name = "STEP,STEP,...", value_delimiter = ',', num_args = 1.., requires = "png")]
        map_steps: Option<Vec<i64>>,
        /// Colour the region maps by region or by predicted class.
        #[arg(long, value_enum, default_value_t = MapColourArg::Region, requires = "map_steps")]
        map_colour: MapColourArg,
        /// Colours of the picture: a theme name or a .toml file, as for `watch`.
        #[arg(long)]
        theme: Option<String>,
    },
}

/// What `export --map-steps` colours the maps by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MapColourArg {
    /// Each linear region its own colour.
    Region,
    /// The predicted class.
    Class,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Errors quote paths and log contents: print them inert.
            eprintln!("grokscope: {}", printable(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Summary { path, json } => summary(&path, json),
        Command::Demo => demo(),
        Command::Train(args) => crate::train::cli::run(*args),
        Command::Watch { path, theme, poll } => {
            crate::tui::run_watch(&crate::tui::WatchOptions { path, theme, poll })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay {
            run,
            speed,
            from,
            theme,
        } => {
            crate::tui::run_replay(&crate::tui::replay::ReplayOptions {
                run,
                speed,
                from,
                theme,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            run,
            csv,
            png,
            map_steps,
            map_colour,
            theme,
        } => {
            let maps = map_steps.map(|steps| {
                let colour = match map_colour {
                    MapColourArg::Region => MapColour::Region,
                    MapColourArg::Class => MapColour::Class,
                };
                (steps, colour)
            });
            export(&run, csv.as_deref(), png.as_deref(), maps, theme.as_deref())
        }
    }
}

/// `grokscope demo`: the demo preset trains on a background thread into a
/// fresh folder under `runs/` while the dashboard watches that folder.
/// Quitting the dashboard stops training after its current epoch, with the
/// log complete.
fn demo() -> anyhow::Result<ExitCode> {
    crate::tui::check_terminal()?;
    let stamp = crate::train::cli::timestamp(std::time::SystemTime::now());
    let dir = PathBuf::from("runs").join(format!("demo-{stamp}"));
    let handle = crate::train::spawn(crate::train::demo_config(), &dir)
        .map_err(|e| anyhow::anyhow!("cannot start the demo run in {}: {e}", dir.display()))?;
    let watched = crate::tui::run_watch(&crate::tui::WatchOptions {
        path: dir.clone(),
        theme: None,
        poll: None,
    });
    handle.stop();
    let trained = handle.join();
    watched?;
    let summary = trained.map_err(|e| anyhow::anyhow!("demo training failed: {e}"))?;
    eprintln!(
        "grokscope demo: {} epochs{} written to {dir}; look again with `grokscope replay {dir}` or `grokscope summary {dir}`",
        summary.epochs,
        if summary.stopped_early { " (stopped early)" } else { "" },
        dir = dir.display(),
    );
    Ok(ExitCode::SUCCESS)
}

fn summary(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let sources = discover(path)?;
    if sources.is_empty() {
        anyhow::bail!(
            "{}: no runs found (expected a folder with metrics.jsonl, a .jsonl file, or folders of those)",
            path.display()
        );
    }
    // One run that cannot be read is an error; in a folder of runs, the
    // others are still reported, the unreadable one with its reason.
    let single = sources.len() == 1;
    let mut summaries = Vec::with_capacity(sources.len());
    let mut unreadable = Vec::new();
    for source in sources {
        let feed = if single {
            RunFeed::load(source)?
        } else {
            RunFeed::load_or_report(source)
        };
        if let Some(e) = &feed.health.read_error {
            unreadable.push(e.clone());
        }
        summaries.push(RunSummary::of(&feed));
    }
    let mut out = std::io::stdout().lock();
    if json {
        if summaries.len() == 1 {
            write_json(&mut out, &summaries[0])?;
        } else {
            write_json(&mut out, &summaries)?;
        }
        writeln!(out)?;
    } else {
        for (i, s) in summaries.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            write!(out, "{}", s.to_text())?;
        }
    }
    out.flush()?;
    if unreadable.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for e in &unreadable {
        eprintln!("grokscope: warning: run not read: {}", printable(e));
    }
    eprintln!(
        "grokscope: {} of {} runs could not be read; the others are reported above",
        unreadable.len(),
        summaries.len()
    );
    Ok(ExitCode::FAILURE)
}

fn export(
    path: &Path,
    csv: Option<&Path>,
    png: Option<&Path>,
    maps: Option<(Vec<i64>, MapColour)>,
    theme: Option<&str>,
) -> anyhow::Result<ExitCode> {
    if csv.is_none() && png.is_none() {
        anyhow::bail!("export: nothing to do; give --csv FILE and/or --png FILE");
    }
    // A bad theme fails before any reading. NO_COLOR is for terminals, not
    // for a picture file, so it is not consulted here.
    let palette = match theme {
        None => Palette::dark(),
        Some(name) => Palette::from_theme(&Theme::named(name, user_theme_dir().as_deref())?),
    };
    let mut sources = discover(path)?;
    if sources.len() != 1 {
        let found = if sources.is_empty() {
            "no run".to_string()
        } else {
            format!("{} runs", sources.len())
        };
        anyhow::bail!(
            "{}: export takes one run (a folder with metrics.jsonl, a .jsonl file or TensorBoard event files); found {found}",
            path.display()
        );
    }
    let feed = RunFeed::load(sources.remove(0))?;
    let name = feed.source.name.as_str();
    if let Some(file) = csv {
        if file == Path::new("-") {
            write_csv(name, &feed.store, std::io::stdout().lock())?;
        } else {
            export_csv(name, &feed.store, file)?;
            eprintln!("wrote {} ({} points)", file.display(), feed.store.points());
        }
    }
    if let (Some(file), Some((steps, colour))) = (png, &maps) {
        export_map_png(name, &feed.store, steps, *colour, &palette, file)?;
        eprintln!("wrote {} ({} region map(s))", file.display(), steps.len());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(file) = png {
        let store = &feed.store;
        let context = RunContext::of(feed.source.meta.as_ref());
        let Diagnosis { events, verdict } = diagnose(store, context, store.records());
        let opts = PngOptions {
            palette,
            ..PngOptions::default()
        };
        // The figure's title is the run's name with its verdict.
        export_png(&verdict.title(name), store, &events, file, &opts)?;
        eprintln!(
            "wrote {} ({} event(s) marked)",
            file.display(),
            events.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
