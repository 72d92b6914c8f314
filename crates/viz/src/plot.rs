//! Training plots as SVG (with `plotters`, pure Rust): the notebook's train/validation scatter
//! pair, loss and accuracy curves per epoch, data with a fitted line, a classifier's confusion
//! matrix and grids of sample images, with their labels or with their predicted and true labels.

use std::ops::Range;

use antorcha_autograd::tensor::Float;
use plotters::coord::ranged1d::{
    AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged, ValueFormatter,
};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

pub use crate::confusion::confusion_matrix;
use crate::error::{Result, VizError};
pub use crate::image_grid::{image_grid, labeled_images};
use crate::ticks;

const TITLE_FONT: (&str, u32) = ("sans-serif", 22);
const LABEL_FONT: (&str, u32) = ("sans-serif", 16);
const TICK_FONT: (&str, u32) = ("sans-serif", 13);
const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180); // matplotlib's C0 blue
const VAL_COLOR: RGBColor = RGBColor(214, 39, 40); // matplotlib's red

fn plot_err<E: std::error::Error + Send + Sync>(
    plot: &'static str,
) -> impl FnOnce(DrawingAreaErrorKind<E>) -> VizError {
    move |e| VizError::Plot {
        plot,
        message: e.to_string(),
    }
}

/// A titled chart on `area` with linear axes over the given ranges, its grid and axis labels
/// drawn: what every plot here but the (maybe logarithmic) loss curve starts from.
fn linear_chart<'a, 'b>(
    plot: &'static str,
    area: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    (xr, x_desc): (Range<f64>, &str),
    (yr, y_desc): (Range<f64>, &str),
) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, TITLE_FONT)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(60)
        .build_cartesian_2d(xr, yr)
        .map_err(plot_err(plot))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(LABEL_FONT)
        .label_style(TICK_FONT)
        .draw()
        .map_err(plot_err(plot))?;
    Ok(chart)
}

/// Checks that a series has values and that they are finite; returns them as `f64`.
fn series<T: Float>(plot: &'static str, what: &'static str, data: &[T]) -> Result<Vec<f64>> {
    if data.is_empty() {
        return Err(VizError::EmptyData { plot, what });
    }
    data.iter()
        .enumerate()
        .map(|(index, v)| {
            let value = v.as_f64();
            if value.is_finite() {
                Ok(value)
            } else {
                Err(VizError::NonFinite {
                    plot,
                    what,
                    index,
                    value,
                })
            }
        })
        .collect()
}

/// Paired x and y series of equal, non-zero length.
fn pairs<T: Float>(
    plot: &'static str,
    (xn, x): (&'static str, &[T]),
    (yn, y): (&'static str, &[T]),
) -> Result<Vec<(f64, f64)>> {
    if x.len() != y.len() {
        return Err(VizError::LengthMismatch {
            plot,
            x: xn,
            x_len: x.len(),
            y: yn,
            y_len: y.len(),
        });
    }
    let xs = series(plot, xn, x)?;
    let ys = series(plot, yn, y)?;
    Ok(xs.into_iter().zip(ys).collect())
}

/// The range covering `values` with a 5 % margin (a unit range around a single value).
fn padded(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        return 0.0..1.0;
    }
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.05
    } else {
        lo.abs().max(1.0) * 0.5
    };
    (lo - pad)..(hi + pad)
}

/// The notebook's first figure: the training points (left, blue) and the validation points
/// (right, red) side by side on the same axes, titled "Generated Data - Train" and
/// "Generated Data - Validation". Returns the SVG text.
///
/// ```
/// let svg = antorcha_viz::plot::scatter_train_val(&[0.1f32, 0.5], &[1.2, 2.0], &[0.3], &[1.6]).unwrap();
/// assert!(svg.contains("Generated Data - Validation"));
/// assert!(antorcha_viz::plot::scatter_train_val::<f32>(&[], &[], &[0.3], &[1.6]).is_err());
/// ```
pub fn scatter_train_val<T: Float>(
    x_train: &[T],
    y_train: &[T],
    x_val: &[T],
    y_val: &[T],
) -> Result<String> {
    const PLOT: &str = "scatter_train_val";
    let train = pairs(PLOT, ("x_train", x_train), ("y_train", y_train))?;
    let val = pairs(PLOT, ("x_val", x_val), ("y_val", y_val))?;
    let xr = padded(train.iter().chain(&val).map(|p| p.0));
    let yr = padded(train.iter().chain(&val).map(|p| p.1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 460)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err(PLOT))?;
        let panels = root.split_evenly((1, 2));
        for (area, (title, points, color)) in panels.iter().zip([
            ("Generated Data - Train", &train, TRAIN_COLOR),
            ("Generated Data - Validation", &val, VAL_COLOR),
        ]) {
            let mut chart = linear_chart(PLOT, area, title, (xr.clone(), "x"), (yr.clone(), "y"))?;
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(plot_err(PLOT))?;
        }
        root.present().map_err(plot_err(PLOT))?;
    }
    Ok(svg)
}

/// Training loss per epoch (and validation loss when given), titled "Losses", with a legend
/// ("Training Loss", "Validation Loss", as the notebook's `plot_losses`); see [`loss_curves`].
/// Returns the SVG text.
///
/// ```
/// let svg = antorcha_viz::plot::loss_curve(&[1.0f64, 0.5, 0.25], Some(&[1.1, 0.6, 0.3])).unwrap();
/// assert!(svg.contains("Training Loss") && svg.contains("Validation Loss"));
/// ```
pub fn loss_curve<T: Float>(losses: &[T], val_losses: Option<&[T]>) -> Result<String> {
    let mut curves = vec![("Training Loss", losses)];
    curves.extend(val_losses.map(|v| ("Validation Loss", v)));
    draw_loss_curves("loss_curve", &curves, &["losses", "val_losses"])
}

/// Loss curves per epoch, one per `(legend label, losses)`, titled "Losses": epochs on the x
/// axis as the console counts them (1, 2, …, whole numbers), the losses on a log scale, as
/// the notebook's `plot_losses`, when every loss is positive (with tick labels on any range:
/// 1-2-5 steps across decades, evenly spaced values within one), else on a linear scale.
/// Returns the SVG text.
///
/// ```
/// let svg = antorcha_viz::plot::loss_curves(&[
///     ("Training loss", &[0.9f64, 0.5, 0.4][..]),
///     ("Test loss", &[0.8, 0.55, 0.45][..]),
/// ])
/// .unwrap();
/// assert!(svg.contains("Test loss") && svg.contains("Epochs"));
/// ```
pub fn loss_curves<T: Float>(curves: &[(&str, &[T])]) -> Result<String> {
    draw_loss_curves("loss_curves", curves, &[])
}

/// A linear f64 axis with the given ticks (`plotters`' own key points of a float range would
/// put ticks at 0.5, 1.5 for two epochs).
struct LinearTicks {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl LinearTicks {
    fn new((range, ticks): (Range<f64>, Vec<f64>)) -> Self {
        LinearTicks { range, ticks }
    }
}

impl Ranged for LinearTicks {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// The colours of successive curves: matplotlib's C0 blue, then red, green, orange.
const CURVE_COLORS: [RGBColor; 4] = [
    TRAIN_COLOR,
    VAL_COLOR,
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
];

/// [`loss_curves`] under the name `plot`, the i-th curve's values called `what[i]` in errors
/// (its label when `what` has no i-th name).
fn draw_loss_curves<T: Float>(
    plot: &'static str,
    curves: &[(&str, &[T])],
    what: &[&'static str],
) -> Result<String> {
    if curves.is_empty() {
        return Err(VizError::EmptyData {
            plot,
            what: "curves",
        });
    }
    let curves: Vec<(&str, Vec<f64>)> = curves
        .iter()
        .enumerate()
        .map(|(i, (name, values))| {
            Ok((
                *name,
                series(plot, what.get(i).copied().unwrap_or("losses"), values)?,
            ))
        })
        .collect::<Result<_>>()?;
    let all = || curves.iter().flat_map(|(_, v)| v.iter().copied());
    let epochs = curves.iter().map(|(_, v)| v.len()).max().unwrap_or(1);
    let xr = LinearTicks::new(ticks::epoch_axis(epochs));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err(plot))?;
        if all().all(|v| v > 0.0) {
            let (lo, hi) = all().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            let (lo, hi) = if lo == hi {
                (lo / 1.5, hi * 1.5)
            } else {
                let pad = (hi / lo).powf(0.05);
                (lo / pad, hi * pad)
            };
            let y_ticks = ticks::log_ticks(lo, hi);
            let yr = (lo..hi).log_scale().with_key_points(y_ticks.values.clone());
            draw_losses(plot, &root, xr, yr, &|y| y_ticks.label(*y), &curves)?;
        } else {
            draw_losses(plot, &root, xr, padded(all()), &|y| format!("{y}"), &curves)?;
        }
        root.present().map_err(plot_err(plot))?;
    }
    Ok(svg)
}

fn draw_losses<X, Y>(
    plot: &'static str,
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    xr: X,
    yr: Y,
    y_label: &dyn Fn(&f64) -> String,
    curves: &[(&str, Vec<f64>)],
) -> Result<()>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(root)
        .caption("Losses", TITLE_FONT)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(xr, yr)
        .map_err(plot_err(plot))?;
    chart
        .configure_mesh()
        .x_desc("Epochs")
        .y_desc("Loss")
        .x_label_formatter(&|x| ticks::epoch_label(*x))
        .y_label_formatter(y_label)
        .axis_desc_style(LABEL_FONT)
        .label_style(TICK_FONT)
        .draw()
        .map_err(plot_err(plot))?;
    for ((name, values), color) in curves.iter().zip(CURVE_COLORS.iter().cycle()) {
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| ((i + 1) as f64, v))
            .collect();
        let style = color.stroke_width(2);
        if points.len() == 1 {
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(plot_err(plot))?
        } else {
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(plot_err(plot))?
        }
        .label(*name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(LABEL_FONT)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err(plot))?;
    Ok(())
}

/// Accuracy per epoch (fractions in `[0, 1]`, drawn as percentages on a 0–100 axis), titled
/// "Accuracy", epochs numbered 1, 2, … as the console counts them, for classifiers such as the
/// FashionMNIST example. Returns the SVG text.
///
/// ```
/// let svg = antorcha_viz::plot::accuracy_curve(&[0.5f64, 0.7, 0.8]).unwrap();
/// assert!(svg.contains("Accuracy") && svg.contains("Test accuracy"));
/// assert!(antorcha_viz::plot::accuracy_curve::<f64>(&[]).is_err());
/// ```
pub fn accuracy_curve<T: Float>(accuracy: &[T]) -> Result<String> {
    const PLOT: &str = "accuracy_curve";
    let values = series(PLOT, "accuracy", accuracy)?;
    let xr = LinearTicks::new(ticks::epoch_axis(values.len()));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err(PLOT))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Accuracy", TITLE_FONT)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(60)
            .build_cartesian_2d(xr, 0.0..100.0)
            .map_err(plot_err(PLOT))?;
        chart
            .configure_mesh()
            .x_desc("Epochs")
            .y_desc("Test accuracy (%)")
            .x_label_formatter(&|x| ticks::epoch_label(*x))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .axis_desc_style(LABEL_FONT)
            .label_style(TICK_FONT)
            .draw()
            .map_err(plot_err(PLOT))?;
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| ((i + 1) as f64, 100.0 * v))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), TRAIN_COLOR.stroke_width(2)))
            .map_err(plot_err(PLOT))?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, 3, TRAIN_COLOR.filled())),
            )
            .map_err(plot_err(PLOT))?;
        root.present().map_err(plot_err(PLOT))?;
    }
    Ok(svg)
}

/// The data as points and the fitted line `y = a + b x` across them, with a legend giving
/// `a` and `b`. Returns the SVG text.
///
/// ```
/// let svg = antorcha_viz::plot::fitted_line(&[0.0f32, 1.0], &[1.0, 3.0], 1.0, 2.0).unwrap();
/// assert!(svg.contains("Data and fitted line"));
/// ```
pub fn fitted_line<T: Float>(x: &[T], y: &[T], a: T, b: T) -> Result<String> {
    const PLOT: &str = "fitted_line";
    let points = pairs(PLOT, ("x", x), ("y", y))?;
    let (a, b) = (a.as_f64(), b.as_f64());
    for (what, value) in [("a", a), ("b", b)] {
        if !value.is_finite() {
            return Err(VizError::NonFinite {
                plot: PLOT,
                what,
                index: 0,
                value,
            });
        }
    }
    let xr = padded(points.iter().map(|p| p.0));
    let line = [(xr.start, a + b * xr.start), (xr.end, a + b * xr.end)];
    let yr = padded(points.iter().map(|p| p.1).chain(line.iter().map(|p| p.1)));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err(PLOT))?;
        let mut chart = linear_chart(PLOT, &root, "Data and fitted line", (xr, "x"), (yr, "y"))?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, 4, TRAIN_COLOR.filled())),
            )
            .map_err(plot_err(PLOT))?
            .label("data")
            .legend(|(x, y)| Circle::new((x + 12, y), 4, TRAIN_COLOR.filled()));
        let style = VAL_COLOR.stroke_width(2);
        chart
            .draw_series(LineSeries::new(line, style))
            .map_err(plot_err(PLOT))?
            .label(format!("y = {a:.4} + {b:.4} x"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(LABEL_FONT)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err(PLOT))?;
        root.present().map_err(plot_err(PLOT))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_ranges() {
        assert_eq!(padded([0.0, 10.0].into_iter()), -0.5..10.5);
        assert_eq!(padded([2.0].into_iter()), 1.0..3.0);
        assert_eq!(padded([0.0].into_iter()), -0.5..0.5);
        assert_eq!(padded(std::iter::empty()), 0.0..1.0);
    }

    #[test]
    fn bad_data_is_an_error_not_a_panic() {
        let e = scatter_train_val(&[1.0f32], &[1.0, 2.0], &[1.0], &[1.0]).unwrap_err();
        assert!(
            matches!(
                e,
                VizError::LengthMismatch {
                    x_len: 1,
                    y_len: 2,
                    ..
                }
            ),
            "{e}"
        );
        let e = scatter_train_val(&[1.0f32], &[1.0], &[], &[]).unwrap_err();
        assert!(
            matches!(e, VizError::EmptyData { what: "x_val", .. }),
            "{e}"
        );
        let e = loss_curve::<f64>(&[], None).unwrap_err();
        assert!(e.to_string().contains("losses is empty"), "{e}");
        let e = loss_curve(&[1.0f64], Some(&[])).unwrap_err();
        assert!(matches!(
            e,
            VizError::EmptyData {
                what: "val_losses",
                ..
            }
        ));
        let e = loss_curve(&[1.0f64, f64::NAN], None).unwrap_err();
        assert!(matches!(e, VizError::NonFinite { index: 1, .. }), "{e}");
        let e = fitted_line::<f32>(&[], &[], 1.0, 2.0).unwrap_err();
        assert!(matches!(e, VizError::EmptyData { what: "x", .. }));
        let e = fitted_line(&[1.0f32], &[1.0], f32::INFINITY, 2.0).unwrap_err();
        assert!(matches!(e, VizError::NonFinite { what: "a", .. }));
    }

    #[test]
    fn single_points_and_flat_or_negative_losses_still_draw() {
        assert!(loss_curve(&[0.5f32], None)
            .unwrap()
            .contains("Training Loss"));
        assert!(loss_curve(&[0.5f32, 0.5], Some(&[0.5]))
            .unwrap()
            .contains("Validation Loss"));
        assert!(loss_curve(&[-1.0f32, 0.0, 2.0], None)
            .unwrap()
            .contains("Losses"));
        assert!(fitted_line(&[1.0f64], &[1.0], 0.0, 0.0)
            .unwrap()
            .contains("y = 0.0000 + 0.0000 x"));
    }
}
