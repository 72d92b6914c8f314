//! Classification metrics: [`accuracy`] and a [`ConfusionMatrix`] with per-class precision and
//! recall (scikit-learn's conventions: rows are true classes, columns predicted ones; a class
//! with nothing to divide by scores 0, as `zero_division=0`).
//!
//! ```
//! use antorcha_autograd::Tensor;
//! use antorcha_nn::metrics::{accuracy, ConfusionMatrix};
//!
//! let predicted = Tensor::from_vec(vec![0i64, 1, 1, 2], &[4]);
//! let target = Tensor::from_vec(vec![0i64, 1, 2, 2], &[4]);
//! assert_eq!(accuracy(&predicted, &target).unwrap(), 0.75);
//! let mut cm = ConfusionMatrix::new(3);
//! cm.update(&predicted, &target).unwrap();
//! assert_eq!(cm.count(2, 1), 1); // one true 2 predicted as 1
//! assert_eq!(cm.precision(), vec![1.0, 0.5, 1.0]);
//! assert_eq!(cm.recall(), vec![1.0, 1.0, 0.5]);
//! ```

use antorcha_autograd::Tensor;

use crate::error::{NnError, Result};

/// Checks that `predicted` and `target` are 1-d and of one length; returns their values.
fn labels(
    op: &'static str,
    predicted: &Tensor<i64>,
    target: &Tensor<i64>,
) -> Result<(Vec<i64>, Vec<i64>)> {
    if predicted.ndim() != 1 || predicted.shape() != target.shape() {
        return Err(NnError::InvalidArgument {
            op,
            message: format!(
                "need predicted and target labels of one 1-d shape [N], got {:?} and {:?}",
                predicted.shape(),
                target.shape()
            ),
        });
    }
    Ok((predicted.to_vec(), target.to_vec()))
}

/// The fraction of `predicted` labels equal to `target` (both `i64 [N]`), like
/// `(pred == y).float().mean()`; 0 for empty inputs.
///
/// # Errors
/// Inputs that are not 1-d or differ in length.
pub fn accuracy(predicted: &Tensor<i64>, target: &Tensor<i64>) -> Result<f64> {
    let (p, t) = labels("accuracy", predicted, target)?;
    if p.is_empty() {
        return Ok(0.0);
    }
    let correct = p.iter().zip(&t).filter(|(p, t)| p == t).count();
    Ok(correct as f64 / p.len() as f64)
}

/// Counts of (true class, predicted class) pairs over `num_classes` classes, accumulated over
/// batches with [`update`](Self::update): `sklearn.metrics.confusion_matrix`'s layout (row =
/// true class, column = predicted class).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    num_classes: usize,
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    /// An empty matrix over classes `0..num_classes`.
    pub fn new(num_classes: usize) -> Self {
        ConfusionMatrix {
            num_classes,
            counts: vec![0; num_classes * num_classes],
        }
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Adds one batch of predicted and true labels (both `i64 [N]`).
    ///
    /// # Errors
    /// Inputs that are not 1-d or differ in length, or a label outside `0..num_classes` (then
    /// nothing is added).
    pub fn update(&mut self, predicted: &Tensor<i64>, target: &Tensor<i64>) -> Result<()> {
        let (p, t) = labels("ConfusionMatrix::update", predicted, target)?;
        let n = self.num_classes;
        if let Some((i, &bad)) = p
            .iter()
            .chain(&t)
            .enumerate()
            .find(|(_, &l)| l < 0 || l as u64 >= n as u64)
        {
            let which = if i < p.len() { "predicted" } else { "target" };
            return Err(NnError::InvalidArgument {
                op: "ConfusionMatrix::update",
                message: format!(
                    "{which} label {bad} at index {} is not a class in 0..{n}",
                    i % p.len().max(1)
                ),
            });
        }
        for (&p, &t) in p.iter().zip(&t) {
            self.counts[t as usize * n + p as usize] += 1;
        }
        Ok(())
    }

    /// How many samples of true class `target` were predicted as `predicted`.
    ///
    /// # Panics
    /// If either is not below `num_classes`.
    pub fn count(&self, target: usize, predicted: usize) -> u64 {
        assert!(target < self.num_classes && predicted < self.num_classes);
        self.counts[target * self.num_classes + predicted]
    }

    /// The counts, row-major `[num_classes, num_classes]` (row = true class).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The number of samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The fraction of samples on the diagonal (0 when empty).
    pub fn accuracy(&self) -> f64 {
        let diag: u64 = (0..self.num_classes).map(|c| self.count(c, c)).sum();
        ratio(diag, self.total())
    }

    /// Per class, of the samples predicted as it, the fraction that are it (`tp / (tp + fp)`;
    /// 0 for a class never predicted).
    pub fn precision(&self) -> Vec<f64> {
        (0..self.num_classes)
            .map(|c| {
                let predicted: u64 = (0..self.num_classes).map(|t| self.count(t, c)).sum();
                ratio(self.count(c, c), predicted)
            })
            .collect()
    }

    /// Per class, of its samples, the fraction predicted as it (`tp / (tp + fn)`; 0 for a
    /// class with no samples).
    pub fn recall(&self) -> Vec<f64> {
        (0..self.num_classes)
            .map(|c| {
                let actual: u64 = (0..self.num_classes).map(|p| self.count(c, p)).sum();
                ratio(self.count(c, c), actual)
            })
            .collect()
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[i64]) -> Tensor<i64> {
        Tensor::from_vec(v.to_vec(), &[v.len()])
    }

    /// sklearn's docs example: y_true = [2, 0, 2, 2, 0, 1], y_pred = [0, 0, 2, 2, 0, 2] gives
    /// [[2, 0, 0], [0, 0, 1], [1, 0, 2]], precision [2/3, 0, 2/3], recall [1, 0, 2/3].
    #[test]
    fn sklearn_example_in_two_batches() {
        let mut cm = ConfusionMatrix::new(3);
        cm.update(&t(&[0, 0, 2]), &t(&[2, 0, 2])).unwrap();
        cm.update(&t(&[2, 0, 2]), &t(&[2, 0, 1])).unwrap();
        assert_eq!(cm.counts(), &[2, 0, 0, 0, 0, 1, 1, 0, 2]);
        assert_eq!(cm.total(), 6);
        assert_eq!(cm.accuracy(), 4.0 / 6.0);
        assert_eq!(cm.precision(), vec![2.0 / 3.0, 0.0, 2.0 / 3.0]);
        assert_eq!(cm.recall(), vec![1.0, 0.0, 2.0 / 3.0]);
        let all = (t(&[0, 0, 2, 2, 0, 2]), t(&[2, 0, 2, 2, 0, 1]));
        assert_eq!(accuracy(&all.0, &all.1).unwrap(), cm.accuracy());
    }

    #[test]
    fn empty_and_bad_inputs() {
        let cm = ConfusionMatrix::new(2);
        assert_eq!(
            (cm.accuracy(), cm.precision(), cm.recall()),
            (0.0, vec![0.0; 2], vec![0.0; 2])
        );
        assert_eq!(accuracy(&t(&[]), &t(&[])).unwrap(), 0.0);
        let e = accuracy(&t(&[1, 2]), &t(&[1])).unwrap_err().to_string();
        assert!(
            e.contains("accuracy") && e.contains("[2]") && e.contains("[1]"),
            "{e}"
        );
        let mut cm = ConfusionMatrix::new(2);
        let e = cm.update(&t(&[0, 1]), &t(&[0, 2])).unwrap_err().to_string();
        assert!(e.contains("target label 2 at index 1"), "{e}");
        let e = cm.update(&t(&[-1]), &t(&[0])).unwrap_err().to_string();
        assert!(e.contains("predicted label -1 at index 0"), "{e}");
        assert_eq!(cm.total(), 0);
    }
}
