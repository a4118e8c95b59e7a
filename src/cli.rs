//! The command line: `grokscope <subcommand>`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::analysis::{diagnose, Diagnosis, RunContext};
use crate::export::csv::{export_csv_runs, write_csv_runs};
use crate::export::figure::{parse_panel, Figure, FIGURE_PANELS};
use crate::export::maps::{export_map_png, export_map_svg};
use crate::export::palette::Palette;
use crate::export::png::{export_png, export_svg};
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
    /// Export runs to CSV, or as figures (PNG, SVG).
    Export(ExportArgs),
}

/// What `grokscope export` was asked for.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// A run (folder, .jsonl file, TensorBoard event files) or a folder of
    /// runs: CSV holds them all; a figure is written per run.
    pub run: PathBuf,
    /// Write tidy CSV (run,metric,step,time,value) to FILE ("-": standard output).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Draw the run as a figure to FILE (PNG). With several runs, one file
    /// per run: FILE's name with the run's name added. With --map-steps:
    /// the region maps instead.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Draw the region map of the slice (lc/slice/region) at these steps,
    /// a row of small multiples (each the map logged nearest the step),
    /// to the --png and/or --svg file instead of the panels.
    #[arg(long, value_name = "STEP,STEP,...", value_delimiter = ',', num_args = 1..)]
    pub map_steps: Option<Vec<i64>>,
    /// Colour the region maps by region or by predicted class.
    #[arg(long, value_enum, default_value_t = MapColourArg::Region, requires = "map_steps")]
    pub map_colour: MapColourArg,
    /// The same figure as SVG (text stays text).
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Panels to draw, comma-separated: loss, collapse, regions,
    /// sensitivity, other (default: every panel with data).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub panels: Option<Vec<String>>,
    /// Draw only metrics matching one of these regular expressions,
    /// comma-separated (e.g. `^train/,lr`).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    /// Of a folder of runs, only the run of this name.
    #[arg(long = "run", value_name = "NAME")]
    pub only: Option<String>,
    /// Colours of the figure: a theme name or a .toml file, as for `watch`
    /// (default: the light theme on white, for print).
    #[arg(long)]
    pub theme: Option<String>,
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
        Command::Export(args) => export(&args),
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

/// `FILE` for run `name` of several: `dir/stem-name.ext`, the run's name
/// made safe for a file name.
fn per_run_path(file: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = file
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    file.with_file_name(format!("{stem}-{safe}{ext}"))
}

/// What each run's figure file is named after: the run's name, or, for
/// runs that share a name (two folders whose `meta.json` say the same), the
/// run's path under `root`, so that no figure overwrites another.
fn figure_names(root: &Path, feeds: &[RunFeed]) -> Vec<String> {
    let mut count = std::collections::HashMap::new();
    for f in feeds {
        *count.entry(f.source.name.as_str()).or_insert(0) += 1;
    }
    feeds
        .iter()
        .map(|f| {
            let name = &f.source.name;
            if count[name.as_str()] == 1 {
                return name.clone();
            }
            let rel = f.source.path.strip_prefix(root).unwrap_or(&f.source.path);
            let rel = rel.to_string_lossy();
            if rel.is_empty() {
                name.clone()
            } else {
                rel.into_owned()
            }
        })
        .collect()
}

fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    if args.csv.is_none() && args.png.is_none() && args.svg.is_none() {
        anyhow::bail!("export: nothing to do; give --csv FILE, --png FILE and/or --svg FILE");
    }
    if args.map_steps.is_some() && args.png.is_none() && args.svg.is_none() {
        anyhow::bail!("export: --map-steps draws into --png FILE and/or --svg FILE; give one");
    }
    // Options and the theme fail before any reading. NO_COLOR is for
    // terminals, not for a picture file, so it is not consulted here.
    let palette = match args.theme.as_deref() {
        None => Palette::light(),
        Some(name) => Palette::from_theme(&Theme::named(name, user_theme_dir().as_deref())?),
    };
    let panels = match &args.panels {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|k| {
                    parse_panel(k).ok_or_else(|| {
                        let known: Vec<_> = FIGURE_PANELS
                            .iter()
                            .map(|p| crate::export::figure::panel_key(*p))
                            .collect();
                        anyhow::anyhow!(
                            "--panels: unknown panel '{k}' (known: {})",
                            known.join(", ")
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        ),
    };
    let metrics = match &args.metrics {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|m| {
                    regex::Regex::new(m).map_err(|e| {
                        anyhow::anyhow!("--metrics: '{m}' is not a regular expression: {e}")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        ),
    };
    let fig = Figure {
        palette,
        panels,
        metrics,
        ..Figure::default()
    };
    let path = args.run.as_path();
    let mut sources = discover(path)?;
    if let Some(want) = &args.only {
        let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
        sources.retain(|s| &s.name == want);
        if sources.is_empty() {
            anyhow::bail!(
                "{}: no run named '{want}' (runs: {})",
                path.display(),
                names.join(", ")
            );
        }
    }
    if sources.is_empty() {
        anyhow::bail!(
            "{}: no run found (expected a folder with metrics.jsonl, a .jsonl file or TensorBoard event files)",
            path.display()
        );
    }
    let feeds = sources
        .into_iter()
        .map(RunFeed::load)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(file) = &args.csv {
        let runs: Vec<(&str, &crate::store::RunStore)> = feeds
            .iter()
            .map(|f| (f.source.name.as_str(), &f.store))
            .collect();
        if file == Path::new("-") {
            match write_csv_runs(&runs, std::io::stdout().lock()) {
                // A reader that stopped early (`| head`) is no error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Ok(ExitCode::SUCCESS)
                }
                r => r?,
            }
        } else {
            export_csv_runs(&runs, file)?;
            let points: usize = feeds.iter().map(|f| f.store.points()).sum();
            eprintln!("wrote {} ({points} points)", file.display());
        }
    }
    let several = feeds.len() > 1;
    let file_names = figure_names(path, &feeds);
    let map_colour = match args.map_colour {
        MapColourArg::Region => MapColour::Region,
        MapColourArg::Class => MapColour::Class,
    };
    for (feed, file_name) in feeds.iter().zip(&file_names) {
        let name = feed.source.name.as_str();
        if args.png.is_none() && args.svg.is_none() {
            break;
        }
        let target = |f: &Path| {
            if several {
                per_run_path(f, file_name)
            } else {
                f.to_path_buf()
            }
        };
        let store = &feed.store;
        // With --map-steps the PNG and SVG hold the region maps, not the
        // figure.
        if let Some(steps) = &args.map_steps {
            if let Some(file) = &args.png {
                let file = target(file);
                export_map_png(name, store, steps, map_colour, &fig.palette, &file)?;
                eprintln!("wrote {} ({} region map(s))", file.display(), steps.len());
            }
            if let Some(file) = &args.svg {
                let file = target(file);
                export_map_svg(name, store, steps, map_colour, &fig.palette, &file)?;
                eprintln!("wrote {} ({} region map(s))", file.display(), steps.len());
            }
            continue;
        }
        let png = args.png.as_deref();
        let context = RunContext::of(feed.source.meta.as_ref());
        let Diagnosis { events, verdict } = diagnose(store, context, store.records());
        // The figure's title is the run's name with its verdict.
        let title = verdict.title(name);
        if let Some(file) = png {
            let file = target(file);
            export_png(&title, store, &events, &file, &fig)?;
            eprintln!(
                "wrote {} ({} event(s) marked)",
                file.display(),
                events.len()
            );
        }
        if let Some(file) = &args.svg {
            let file = target(file);
            export_svg(&title, store, &events, &file, &fig)?;
            eprintln!(
                "wrote {} ({} event(s) marked)",
                file.display(),
                events.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
