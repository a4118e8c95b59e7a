//! Which logged metric plays which part in a diagnosis.
//!
//! grokscope's own runs use `train/loss`, `test/acc`, … (docs/FORMAT.md).
//! Runs written by other code use other spellings: PyTorch tutorials log
//! `Loss/train` and `Accuracy/val`, Keras `loss`, `val_loss`, `accuracy`,
//! `val_accuracy`, Lightning `train_loss`, `val_acc`. The first name of each
//! list below that the run has is used, compared without regard to case.
//! Accuracies logged in percent (any finite value above 1.5) are read as
//! shares of 1.

use super::Scope;
use crate::store::SeriesView;
use std::ops::Range;

/// Spellings of the training loss, best first.
pub const TRAIN_LOSS: &[&str] = &[
    "train/loss",
    "Loss/train",
    "train_loss",
    "train/loss_epoch",
    "training/loss",
    "loss",
];

/// Spellings of the held-out loss, best first.
pub const TEST_LOSS: &[&str] = &[
    "test/loss",
    "val/loss",
    "valid/loss",
    "validation/loss",
    "Loss/test",
    "Loss/val",
    "val_loss",
    "test_loss",
];

/// Spellings of the training accuracy, best first.
pub const TRAIN_ACC: &[&str] = &[
    "train/acc",
    "train/accuracy",
    "Accuracy/train",
    "train_acc",
    "train_accuracy",
    "acc",
    "accuracy",
];

/// Spellings of the held-out accuracy, best first.
pub const TEST_ACC: &[&str] = &[
    "test/acc",
    "test/accuracy",
    "val/acc",
    "val/accuracy",
    "valid/acc",
    "validation/acc",
    "Accuracy/test",
    "Accuracy/val",
    "val_acc",
    "val_accuracy",
    "test_acc",
    "test_accuracy",
];

/// An accuracy whose largest value is above this was logged in percent.
const PERCENT_ABOVE: f64 = 1.5;

/// The metrics a diagnosis reads, by part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    /// Training loss.
    pub train_loss: Option<String>,
    /// Held-out loss.
    pub test_loss: Option<String>,
    /// Training accuracy.
    pub train_acc: Option<String>,
    /// Held-out accuracy.
    pub test_acc: Option<String>,
}

impl Roles {
    /// The roles found among `names`.
    pub fn find<'n>(names: impl IntoIterator<Item = &'n str>) -> Roles {
        let names: Vec<&str> = names.into_iter().collect();
        let pick = |list: &[&str]| {
            list.iter().find_map(|want| {
                names
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(want))
                    .map(|n| n.to_string())
            })
        };
        Roles {
            train_loss: pick(TRAIN_LOSS),
            test_loss: pick(TEST_LOSS),
            train_acc: pick(TRAIN_ACC),
            test_acc: pick(TEST_ACC),
        }
    }
}

/// One metric of a scope: its series, its point range in each segment and
/// the factor its values are read with (0.01 for a percentage).
#[derive(Clone)]
pub struct Metric<'a> {
    /// The stored series.
    pub series: SeriesView<'a>,
    /// Point range of each segment of the scope.
    pub ranges: Vec<Range<usize>>,
    /// Multiplies every stored value.
    pub scale: f64,
}

impl<'a> Metric<'a> {
    /// The metric `name` of `scope`, if logged.
    pub fn of(scope: &Scope<'a>, name: &str) -> Option<Metric<'a>> {
        let (series, ranges) = scope.series(name)?;
        Some(Metric {
            series,
            ranges,
            scale: 1.0,
        })
    }

    /// The accuracy `name` of `scope`, read as a share of 1.
    pub fn accuracy(scope: &Scope<'a>, name: &str) -> Option<Metric<'a>> {
        let mut m = Metric::of(scope, name)?;
        let e = m.series.total_extent();
        if e.has_finite() && e.max > PERCENT_ABOVE {
            m.scale = 0.01;
        }
        Some(m)
    }

    /// The value of point `i`, scaled.
    pub fn value(&self, i: usize) -> f64 {
        self.series.value(i) * self.scale
    }

    /// The step of point `i`.
    pub fn step(&self, i: usize) -> i64 {
        self.series.step(i)
    }

    /// The metric's name as logged.
    pub fn name(&self) -> &'a str {
        self.series.name()
    }

    /// The finite points of segment `seg`: (point indices, scaled values).
    pub fn finite(&self, seg: usize) -> (Vec<usize>, Vec<f64>) {
        let Some(range) = self.ranges.get(seg) else {
            return (Vec::new(), Vec::new());
        };
        let (idx, mut values) = super::robust::finite_points(&self.series, range.clone());
        if self.scale != 1.0 {
            values.iter_mut().for_each(|v| *v *= self.scale);
        }
        (idx, values)
    }

    /// The last finite value at or before `step` in segment `seg`.
    pub fn at_step(&self, seg: usize, step: i64) -> Option<f64> {
        let range = self.ranges.get(seg)?.clone();
        let end = self
            .series
            .lower_bound(range.clone(), step.saturating_add(1));
        (range.start..end)
            .rev()
            .map(|i| self.value(i))
            .find(|v| v.is_finite())
    }

    /// The highest finite value in segment `seg` between two steps (both
    /// included).
    pub fn highest_between(&self, seg: usize, from: i64, to: i64) -> Option<f64> {
        let range = self.ranges.get(seg)?.clone();
        let a = self.series.lower_bound(range.clone(), from);
        let b = self.series.lower_bound(range, to.saturating_add(1));
        (a..b)
            .map(|i| self.value(i))
            .filter(|v| v.is_finite())
            .reduce(f64::max)
    }

    /// The median of the finite values of segment `seg` whose steps lie in
    /// `steps` (NaN when there are none).
    pub fn median_over(&self, seg: usize, steps: Range<i64>) -> f64 {
        let Some(range) = self.ranges.get(seg).cloned() else {
            return f64::NAN;
        };
        let a = self.series.lower_bound(range.clone(), steps.start);
        let b = self.series.lower_bound(range, steps.end);
        let mut v: Vec<f64> = (a..b)
            .map(|i| self.value(i))
            .filter(|v| v.is_finite())
            .collect();
        super::robust::median_in_place(&mut v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grokscope_names_come_first_then_other_spellings() {
        let names = ["Loss/train", "train/loss", "val_acc", "Accuracy/val"];
        let r = Roles::find(names);
        assert_eq!(r.train_loss.as_deref(), Some("train/loss"));
        assert_eq!(r.test_acc.as_deref(), Some("Accuracy/val"));
        assert_eq!(r.test_loss, None);
        let keras = ["loss", "val_loss", "accuracy", "val_accuracy"];
        let r = Roles::find(keras);
        assert_eq!(
            r,
            Roles {
                train_loss: Some("loss".into()),
                test_loss: Some("val_loss".into()),
                train_acc: Some("accuracy".into()),
                test_acc: Some("val_accuracy".into()),
            }
        );
        let r = Roles::find(["TRAIN_LOSS", "Val_Acc"]);
        assert_eq!(r.train_loss.as_deref(), Some("TRAIN_LOSS"));
        assert_eq!(r.test_acc.as_deref(), Some("Val_Acc"));
    }
}
