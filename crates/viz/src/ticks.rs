//! Where the plots put their tick marks and how they label them: whole, 1-based epochs on the
//! x axis, and a loss axis whose labels are readable on any range (1-2-5 steps across decades
//! on a log scale, evenly spaced values within one decade).

use std::ops::Range;

/// The 1-2-5 step (1, 2, 5, 10, 20, …) nearest above `raw` (> 0).
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// The x range and the whole-number ticks of an axis of epochs `1..=epochs`, as the console
/// counts them ("epoch 1"): every epoch up to 10, else multiples of a 1-2-5 step, at most ~10.
pub(crate) fn epoch_axis(epochs: usize) -> (Range<f64>, Vec<f64>) {
    let n = epochs.max(1) as f64;
    let pad = if epochs <= 1 { 0.5 } else { (n - 1.0) * 0.03 };
    let step = nice_step((n / 10.0).max(1.0));
    let ticks = if step <= 1.0 {
        (1..=epochs.max(1)).map(|e| e as f64).collect()
    } else {
        (1..)
            .map(|k| k as f64 * step)
            .take_while(|&t| t <= n)
            .collect()
    };
    ((1.0 - pad)..(n + pad), ticks)
}

/// Labels a whole epoch number without decimals.
pub(crate) fn epoch_label(x: f64) -> String {
    format!("{:.0}", x)
}

/// Tick values and how to label them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ticks {
    /// Where the ticks go, ascending.
    pub values: Vec<f64>,
    /// Evenly spaced: every label gets the same decimals (`0.30, 0.35`); else each gets its own
    /// (`0.05, 0.1, 0.2`).
    pub evenly_spaced: bool,
}

impl Ticks {
    /// The label of tick `v`.
    pub fn label(&self, v: f64) -> String {
        if self.evenly_spaced {
            tick_label(v, &self.values)
        } else {
            tick_label(v, &[v])
        }
    }
}

/// The ticks of a log-scale axis over `lo..hi` (0 < lo < hi): the 1-2-5 values (1, 2, 5, 10,
/// …) inside the range when there are at least three, only the powers of ten when those are
/// more than a dozen, else (a range within about one decade) evenly spaced values with a 1-2-5
/// step, about six of them.
pub(crate) fn log_ticks(lo: f64, hi: f64) -> Ticks {
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let in_range = |v: &f64| *v >= lo * (1.0 - 1e-12) && *v <= hi * (1.0 + 1e-12);
    let decade = |m: f64| {
        (first..=last)
            .map(move |k| m * 10f64.powi(k))
            .filter(in_range)
    };
    let mut ticks: Vec<f64> = decade(1.0).chain(decade(2.0)).chain(decade(5.0)).collect();
    ticks.sort_by(f64::total_cmp);
    if ticks.len() > 12 {
        ticks = decade(1.0).collect();
    }
    if ticks.len() >= 3 {
        return Ticks {
            values: ticks,
            evenly_spaced: false,
        };
    }
    Ticks {
        values: linear_ticks(lo, hi),
        evenly_spaced: true,
    }
}

/// Evenly spaced values with a 1-2-5 step inside `lo..hi`, about six of them.
fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let step = nice_step((hi - lo) / 6.0);
    let start = (lo / step - 1e-9).ceil() as i64;
    let end = (hi / step + 1e-9).floor() as i64;
    (start..=end).map(|k| k as f64 * step).collect()
}

/// `v` with the fewest decimals that write every one of `ticks` exactly (`0.35`, `2`, `0.002`),
/// scientific below 1e-4 or from 1e6 up.
fn tick_label(v: f64, ticks: &[f64]) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e6).contains(&a) {
        return format!("{v:e}");
    }
    // The fewest decimals (up to 10) at which every tick's label is its value.
    let decimals = (0..=10)
        .find(|&d| {
            ticks.iter().all(|t| {
                let s = format!("{t:.d$}", d = d);
                let back: f64 = s.parse().unwrap_or(f64::NAN);
                (back - t).abs() <= t.abs() * 1e-9
            })
        })
        .unwrap_or(10);
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_are_one_based_whole_numbers() {
        assert_eq!(epoch_axis(1), (0.5..1.5, vec![1.0]));
        let (range, ticks) = epoch_axis(10);
        assert_eq!(ticks, (1..=10).map(f64::from).collect::<Vec<_>>());
        assert!(range.start < 1.0 && range.end > 10.0);
        assert_eq!(
            epoch_axis(50).1,
            vec![5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0]
        );
        assert_eq!(
            epoch_axis(1000).1,
            vec![100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0]
        );
        assert_eq!(epoch_label(3.0), "3");
    }

    #[test]
    fn log_ticks_on_any_range() {
        // Several decades: 1-2-5.
        let t = log_ticks(0.008, 2.5);
        assert_eq!(t.values, vec![0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0]);
        let labels: Vec<String> = t.values.iter().map(|&v| t.label(v)).collect();
        assert_eq!(
            labels,
            ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2"]
        );
        // Many decades: powers of ten only.
        assert_eq!(log_ticks(1e-7, 10.0).values.len(), 9);
        // Within one decade (the FashionMNIST default recipe's 0.3..0.6): evenly spaced.
        let t = log_ticks(0.3, 0.6);
        let labels: Vec<String> = t.values.iter().map(|&v| t.label(v)).collect();
        assert_eq!(
            labels,
            ["0.30", "0.35", "0.40", "0.45", "0.50", "0.55", "0.60"]
        );
        let t = log_ticks(2.21, 2.30);
        let labels: Vec<String> = t.values.iter().map(|&v| t.label(v)).collect();
        assert_eq!(labels, ["2.22", "2.24", "2.26", "2.28", "2.30"]);
    }

    #[test]
    fn labels_have_the_decimals_they_need() {
        assert_eq!(tick_label(0.5, &[0.1, 0.15]), "0.50");
        assert_eq!(tick_label(2.0, &[1.0, 2.0, 5.0]), "2");
        assert_eq!(tick_label(1e-5, &[1e-5]), "1e-5");
    }
}
