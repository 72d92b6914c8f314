//! The plots are well-formed SVG with their titles, axis labels, legends and one mark per point.

use antorcha_viz::examples::linreg_data;
use antorcha_viz::plot::{fitted_line, loss_curve, scatter_train_val};

fn parse_texts(svg: &str) -> (roxmltree::Document<'_>, Vec<String>) {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed: {e}"));
    let texts = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect();
    (doc, texts)
}

fn circles(doc: &roxmltree::Document<'_>) -> usize {
    doc.descendants()
        .filter(|n| n.has_tag_name("circle"))
        .count()
}

#[test]
fn train_and_validation_scatter_pair() {
    let d = linreg_data(42);
    let svg = scatter_train_val(
        &d.x_train.to_vec(),
        &d.y_train.to_vec(),
        &d.x_val.to_vec(),
        &d.y_val.to_vec(),
    )
    .unwrap();
    let (doc, texts) = parse_texts(&svg);
    for want in ["Generated Data - Train", "Generated Data - Validation"] {
        assert_eq!(texts.iter().filter(|t| *t == want).count(), 1, "{want}");
    }
    assert_eq!(texts.iter().filter(|t| *t == "x").count(), 2);
    assert_eq!(texts.iter().filter(|t| *t == "y").count(), 2);
    // tick labels are numbers
    assert!(texts.iter().filter(|t| t.parse::<f64>().is_ok()).count() >= 8);
    assert_eq!(circles(&doc), 100);
}

#[test]
fn loss_curves_with_and_without_validation() {
    let train: Vec<f32> = (0..50).map(|i| 2.0 * 0.9f32.powi(i) + 0.01).collect();
    let val: Vec<f32> = train.iter().map(|l| l * 1.1).collect();
    let svg = loss_curve(&train, Some(&val)).unwrap();
    let (doc, texts) = parse_texts(&svg);
    for want in [
        "Losses",
        "Epochs",
        "Loss",
        "Training Loss",
        "Validation Loss",
    ] {
        assert!(texts.iter().any(|t| t == want), "{want} in {texts:?}");
    }
    // two curves and two legend marks, in the series' colours
    let strokes: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter_map(|n| n.attribute("stroke"))
        .filter(|s| *s != "#000000")
        .collect();
    assert_eq!(strokes.len(), 4, "{strokes:?}");
    assert_eq!(strokes.iter().filter(|s| **s == "#1F77B4").count(), 2);
    // epochs are whole numbers
    assert!(
        texts.iter().any(|t| t == "10") && !texts.iter().any(|t| t == "10.0"),
        "{texts:?}"
    );
    let svg = loss_curve(&train, None).unwrap();
    let (_, texts) = parse_texts(&svg);
    assert!(texts.iter().any(|t| t == "Training Loss"));
    assert!(!texts.iter().any(|t| t == "Validation Loss"));
}

#[test]
fn data_with_the_fitted_line() {
    let d = linreg_data(42);
    let svg = fitted_line(&d.x_train.to_vec(), &d.y_train.to_vec(), 1.02f32, 1.97).unwrap();
    let (doc, texts) = parse_texts(&svg);
    for want in [
        "Data and fitted line",
        "x",
        "y",
        "data",
        "y = 1.0200 + 1.9700 x",
    ] {
        assert!(texts.iter().any(|t| t == want), "{want} in {texts:?}");
    }
    assert_eq!(circles(&doc), 80 + 1); // the points and the legend's mark
}
