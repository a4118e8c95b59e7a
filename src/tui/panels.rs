//! The dashboard's panels and which metric names fill each (METRICS.md).

use std::collections::BTreeSet;

/// A region of the dashboard that can take focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PanelId {
    /// The list of runs.
    Runs,
    /// Train/test loss and accuracy.
    Loss,
    /// Softmax collapse: `sc/*`, weight and logit norms.
    Collapse,
    /// Local complexity (linear-region density): `lc/*`.
    Regions,
    /// Neuron sensitivity: `sens/*`.
    Sensitivity,
    /// Every other scalar.
    Other,
}

impl PanelId {
    /// All panels in Tab order; digit keys 1–6 select them in this order.
    pub const ALL: [PanelId; 6] = [
        PanelId::Runs,
        PanelId::Loss,
        PanelId::Collapse,
        PanelId::Regions,
        PanelId::Sensitivity,
        PanelId::Other,
    ];

    /// Position in [`PanelId::ALL`].
    pub fn index(self) -> usize {
        PanelId::ALL.iter().position(|&p| p == self).unwrap_or(0)
    }

    /// Title shown on the panel's border.
    pub fn title(self) -> &'static str {
        match self {
            PanelId::Runs => "Runs",
            PanelId::Loss => "Loss",
            PanelId::Collapse => "Softmax collapse",
            PanelId::Regions => "Linear regions",
            PanelId::Sensitivity => "Neuron sensitivity",
            PanelId::Other => "Other scalars",
        }
    }

    /// Metric names that would fill the panel, for its empty state.
    pub fn expected(self) -> &'static str {
        match self {
            PanelId::Runs => "a folder with metrics.jsonl or a .jsonl file",
            PanelId::Loss => "train/loss, test/loss, train/acc, test/acc",
            PanelId::Collapse => {
                "sc/collapsed, sc/zero_loss, sc/nlm_cos[/<layer>], norm/weights, norm/logits, sc/margin"
            }
            PanelId::Regions => "lc/train, lc/test, lc/random (per layer: lc/<set>/<layer>)",
            PanelId::Sensitivity => "vectors sens/<layer>, scalars sens/net_variability, sens/top_share",
            PanelId::Other => "any scalar not shown in the panels above",
        }
    }
}

/// One chart of a panel: a title and the metrics it draws, on one y axis
/// per unit: a left axis and, when the panel mixes two units, a right one.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    /// Chart title.
    pub title: String,
    /// Metric names on the left axis, present in the data, in display order.
    pub metrics: Vec<String>,
    /// What the left axis measures.
    pub unit: &'static str,
    /// Whether a log y axis makes sense on the left (positive quantities).
    pub log_ok: bool,
    /// Metric names on the right axis (another unit); may be empty.
    pub right: Vec<String>,
    /// What the right axis measures.
    pub right_unit: &'static str,
}

impl ChartSpec {
    /// Every metric of the chart: left axis first.
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.metrics.iter().chain(&self.right)
    }
}

/// An axis of a panel's chart: which names share it and what they measure.
struct AxisDef {
    unit: &'static str,
    names: &'static [&'static str],
    /// Also every metric under these prefixes (`sc/nlm_cos/<layer>`).
    prefixes: &'static [&'static str],
    log_ok: bool,
}

/// A chart of a panel: its title and its one or two axes. Series share an
/// axis only when they measure the same thing.
struct ChartDef {
    title: &'static str,
    left: AxisDef,
    right: Option<AxisDef>,
}

const LOSS: &[&str] = &["train/loss", "test/loss"];
const ACC: &[&str] = &["train/acc", "test/acc"];
const COLLAPSE: &[&str] = &["sc/collapsed", "sc/zero_loss", "sc/collapsed_grad_share"];
/// What an f32 softmax would do with a StableMax run's logits: not the
/// run's own collapse, so never on the same chart as `sc/collapsed`.
const WHAT_IF: &[&str] = &["sc/softmax_f32_collapsed"];
const NLM: &[&str] = &["sc/nlm_cos"];
const NORMS: &[&str] = &["norm/weights", "norm/logits"];
const MARGIN: &[&str] = &["sc/margin"];
const LC: &[&str] = &["lc/train", "lc/test", "lc/random"];
const VARIABILITY: &[&str] = &["sens/net_variability"];
const SHARE: &[&str] = &["sens/top_share"];

/// The charts of the fixed panels: which series share an axis.
const LOSS_CHARTS: &[ChartDef] = &[ChartDef {
    title: "loss · accuracy",
    left: AxisDef {
        unit: "loss",
        names: LOSS,
        prefixes: &[],
        log_ok: true,
    },
    right: Some(AxisDef {
        unit: "accuracy",
        names: ACC,
        prefixes: &[],
        log_ok: false,
    }),
}];
const COLLAPSE_CHARTS: &[ChartDef] = &[
    ChartDef {
        title: "collapse · NLM cosine",
        left: AxisDef {
            // Of samples (collapsed, zero loss) and of the logit gradient's
            // norm (collapsed_grad_share): shares of a whole, 0 to 1.
            unit: "fraction",
            names: COLLAPSE,
            prefixes: &[],
            log_ok: false,
        },
        right: Some(AxisDef {
            unit: "cosine",
            names: NLM,
            prefixes: &["sc/nlm_cos/"],
            log_ok: false,
        }),
    },
    ChartDef {
        title: "what-if: an f32 softmax of these logits (not this run's loss)",
        left: AxisDef {
            // Of samples, as sc/collapsed.
            unit: "fraction",
            names: WHAT_IF,
            prefixes: &[],
            log_ok: false,
        },
        right: None,
    },
    ChartDef {
        title: "norms · margin",
        left: AxisDef {
            unit: "norm",
            names: NORMS,
            prefixes: &[],
            log_ok: true,
        },
        right: Some(AxisDef {
            unit: "logit margin",
            names: MARGIN,
            prefixes: &[],
            log_ok: false,
        }),
    },
];
const REGION_CHARTS: &[ChartDef] = &[ChartDef {
    title: "local complexity",
    left: AxisDef {
        unit: "regions near a sample",
        names: LC,
        prefixes: &[],
        log_ok: true,
    },
    right: None,
}];
const SENS_CHARTS: &[ChartDef] = &[ChartDef {
    title: "variability · top share",
    left: AxisDef {
        unit: "variability",
        names: VARIABILITY,
        prefixes: &[],
        log_ok: true,
    },
    right: Some(AxisDef {
        unit: "share",
        names: SHARE,
        prefixes: &[],
        log_ok: false,
    }),
}];

/// Whether the four diagnostic panels show scalar `name` (else it goes to
/// the "other scalars" panel).
pub fn is_diagnostic(name: &str) -> bool {
    [
        LOSS,
        ACC,
        COLLAPSE,
        WHAT_IF,
        NLM,
        NORMS,
        MARGIN,
        LC,
        VARIABILITY,
        SHARE,
    ]
    .iter()
    .any(|set| set.contains(&name))
        || name == crate::run::map::SLICE_REGIONS
        || name.starts_with("sc/nlm_cos/")
        || is_lc_layer(name)
}

fn is_lc_layer(name: &str) -> bool {
    LC.iter().any(|set| {
        name.strip_prefix(set)
            .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
    })
}

fn axis_names(def: &AxisDef, names: &BTreeSet<String>) -> Vec<String> {
    let mut out: Vec<String> = def
        .names
        .iter()
        .filter(|w| names.contains(**w))
        .map(|w| w.to_string())
        .collect();
    for p in def.prefixes {
        out.extend(names.iter().filter(|n| n.starts_with(p)).cloned());
    }
    out
}

fn build(defs: &[ChartDef], names: &BTreeSet<String>) -> Vec<ChartSpec> {
    defs.iter()
        .filter_map(|d| {
            let left = axis_names(&d.left, names);
            let right = d
                .right
                .as_ref()
                .map(|r| axis_names(r, names))
                .unwrap_or_default();
            // With nothing on the left, the right axis's series take it.
            match (left.is_empty(), right.is_empty(), &d.right) {
                (true, true, _) => None,
                (true, false, Some(r)) => Some(ChartSpec {
                    title: d.title.into(),
                    metrics: right,
                    unit: r.unit,
                    log_ok: r.log_ok,
                    right: Vec::new(),
                    right_unit: "",
                }),
                _ => Some(ChartSpec {
                    title: d.title.into(),
                    metrics: left,
                    unit: d.left.unit,
                    log_ok: d.left.log_ok,
                    right_unit: d.right.as_ref().map_or("", |r| r.unit),
                    right,
                }),
            }
        })
        .collect()
}

fn single(title: &str, metrics: Vec<String>, unit: &'static str) -> Option<ChartSpec> {
    (!metrics.is_empty()).then(|| ChartSpec {
        title: title.into(),
        metrics,
        unit,
        log_ok: true,
        right: Vec::new(),
        right_unit: "",
    })
}

/// The charts of `panel` given the scalar `names` on show (already
/// filtered). `per_layer` switches Linear regions to one chart per probe
/// set with a line per layer. Empty when nothing fills the panel.
pub fn charts(panel: PanelId, names: &BTreeSet<String>, per_layer: bool) -> Vec<ChartSpec> {
    let with_prefix =
        |p: &str| -> Vec<String> { names.iter().filter(|n| n.starts_with(p)).cloned().collect() };
    match panel {
        PanelId::Runs => vec![],
        PanelId::Loss => build(LOSS_CHARTS, names),
        PanelId::Collapse => build(COLLAPSE_CHARTS, names),
        PanelId::Regions if per_layer => LC
            .iter()
            .filter_map(|set| {
                single(
                    &format!("{set} per layer"),
                    with_prefix(&format!("{set}/")),
                    "regions near a sample",
                )
            })
            .collect(),
        PanelId::Regions => build(REGION_CHARTS, names),
        PanelId::Sensitivity => build(SENS_CHARTS, names),
        PanelId::Other => names
            .iter()
            .filter(|n| !is_diagnostic(n))
            .filter_map(|n| single(n, vec![n.clone()], ""))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn metrics_go_to_their_panels() {
        let n = names(&[
            "train/loss",
            "test/acc",
            "sc/collapsed",
            "sc/nlm_cos/out",
            "lc/train",
            "lc/train/h1",
            "norm/grad",
            "train/lr",
        ]);
        let loss = charts(PanelId::Loss, &n, false);
        assert_eq!(loss.len(), 1);
        assert_eq!(loss[0].metrics, vec!["train/loss"]);
        assert_eq!(loss[0].right, vec!["test/acc"], "accuracy: its own axis");
        let sc = charts(PanelId::Collapse, &n, false);
        assert_eq!(sc[0].metrics, vec!["sc/collapsed"]);
        assert_eq!(sc[0].right, vec!["sc/nlm_cos/out"]);
        assert_eq!(
            charts(PanelId::Regions, &n, false)[0].metrics,
            vec!["lc/train"]
        );
        let layers = charts(PanelId::Regions, &n, true);
        assert_eq!(layers[0].metrics, vec!["lc/train/h1"]);
        let other: Vec<_> = charts(PanelId::Other, &n, false)
            .into_iter()
            .map(|c| c.title)
            .collect();
        assert_eq!(other, vec!["norm/grad", "train/lr"]);
        assert!(charts(PanelId::Sensitivity, &n, false).is_empty());
    }

    #[test]
    fn no_axis_mixes_units() {
        // The pairs the issue found on one axis now sit on two.
        let n = names(&[
            "norm/logits",
            "sc/margin",
            "sens/top_share",
            "sens/net_variability",
        ]);
        let sc = charts(PanelId::Collapse, &n, false);
        assert_eq!(sc[0].metrics, vec!["norm/logits"]);
        assert_eq!(sc[0].right, vec!["sc/margin"]);
        let sens = charts(PanelId::Sensitivity, &n, false);
        assert_eq!(sens[0].metrics, vec!["sens/net_variability"]);
        assert_eq!(sens[0].right, vec!["sens/top_share"]);
        // Only a right-axis series: it takes the left axis.
        let acc = charts(PanelId::Loss, &names(&["test/acc"]), false);
        assert_eq!(
            (acc[0].metrics.clone(), acc[0].unit),
            (vec!["test/acc".to_string()], "accuracy")
        );
        assert!(acc[0].right.is_empty() && !acc[0].log_ok);
    }

    #[test]
    fn an_f32_what_if_never_shares_a_chart_with_the_runs_own_collapse() {
        // A StableMax run logs its own collapse and what an f32 softmax
        // would do with its logits.
        let n = names(&[
            "sc/collapsed",
            "sc/zero_loss",
            "sc/collapsed_grad_share",
            "sc/softmax_f32_collapsed",
            "sc/margin",
        ]);
        let sc = charts(PanelId::Collapse, &n, false);
        let own = &sc[0];
        assert_eq!(
            own.metrics,
            vec!["sc/collapsed", "sc/zero_loss", "sc/collapsed_grad_share"]
        );
        let what_if = sc
            .iter()
            .find(|c| c.all().any(|m| m == "sc/softmax_f32_collapsed"))
            .unwrap();
        assert_eq!(what_if.metrics, vec!["sc/softmax_f32_collapsed"]);
        assert!(what_if.right.is_empty());
        assert!(what_if.title.contains("not this run's loss"));
        assert!(charts(PanelId::Other, &n, false).is_empty());
        // An MSE run logs no collapse: only its margin chart.
        let mse = charts(PanelId::Collapse, &names(&["sc/margin"]), false);
        assert_eq!(mse.len(), 1);
        assert_eq!(mse[0].metrics, vec!["sc/margin"]);
    }
}
