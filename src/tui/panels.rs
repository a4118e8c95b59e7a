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

/// One chart of a panel: a title and the metric names it overlays.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    /// Chart title.
    pub title: String,
    /// Metric names present in the data, in display order.
    pub metrics: Vec<String>,
    /// Whether a log y axis makes sense (positive quantities).
    pub log_ok: bool,
}

const LOSS: &[&str] = &["train/loss", "test/loss"];
const ACC: &[&str] = &["train/acc", "test/acc"];
const COLLAPSE: &[&str] = &["sc/collapsed", "sc/zero_loss", "sc/nlm_cos"];
const SCALE: &[&str] = &["norm/weights", "norm/logits", "sc/margin"];
const LC: &[&str] = &["lc/train", "lc/test", "lc/random"];
const SENS: &[&str] = &["sens/net_variability", "sens/top_share"];

/// Whether the four diagnostic panels show scalar `name` (else it goes to
/// the "other scalars" panel).
pub fn is_diagnostic(name: &str) -> bool {
    [LOSS, ACC, COLLAPSE, SCALE, LC, SENS]
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

fn present(names: &BTreeSet<String>, wanted: &[&str]) -> Vec<String> {
    wanted
        .iter()
        .filter(|w| names.contains(**w))
        .map(|w| w.to_string())
        .collect()
}

fn chart(title: &str, metrics: Vec<String>, log_ok: bool) -> Option<ChartSpec> {
    (!metrics.is_empty()).then(|| ChartSpec {
        title: title.into(),
        metrics,
        log_ok,
    })
}

/// The charts of `panel` given the scalar `names` on show (already
/// filtered). `per_layer` switches Linear regions to one chart per probe
/// set with a line per layer. Empty when nothing fills the panel.
pub fn charts(panel: PanelId, names: &BTreeSet<String>, per_layer: bool) -> Vec<ChartSpec> {
    let with_prefix =
        |p: &str| -> Vec<String> { names.iter().filter(|n| n.starts_with(p)).cloned().collect() };
    let out = match panel {
        PanelId::Runs => vec![],
        PanelId::Loss => vec![
            chart("loss", present(names, LOSS), true),
            chart("accuracy", present(names, ACC), false),
        ],
        PanelId::Collapse => {
            let mut frac = present(names, COLLAPSE);
            frac.extend(with_prefix("sc/nlm_cos/"));
            vec![
                chart("collapse · NLM cosine", frac, false),
                chart("norms · margin", present(names, SCALE), true),
            ]
        }
        PanelId::Regions if per_layer => LC
            .iter()
            .map(|set| {
                chart(
                    &format!("{set} per layer"),
                    with_prefix(&format!("{set}/")),
                    true,
                )
            })
            .collect(),
        PanelId::Regions => vec![chart("local complexity", present(names, LC), true)],
        PanelId::Sensitivity => vec![chart("variability", present(names, SENS), true)],
        PanelId::Other => names
            .iter()
            .filter(|n| !is_diagnostic(n))
            .map(|n| chart(n, vec![n.clone()], true))
            .collect(),
    };
    out.into_iter().flatten().collect()
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
        assert_eq!(loss.len(), 2);
        assert_eq!(loss[0].metrics, vec!["train/loss"]);
        let sc = charts(PanelId::Collapse, &n, false);
        assert_eq!(sc[0].metrics, vec!["sc/collapsed", "sc/nlm_cos/out"]);
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
}
