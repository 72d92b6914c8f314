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

/// The numeric labels of the SVG (tick labels), in document order.
fn numbers(texts: &[String]) -> Vec<String> {
    texts
        .iter()
        .filter(|t| t.parse::<f64>().is_ok())
        .cloned()
        .collect()
}

#[test]
fn loss_ticks_within_one_decade_and_one_based_epochs() {
    // The FashionMNIST default recipe's losses stay within one decade.
    let train = [
        0.58f64, 0.49, 0.44, 0.41, 0.39, 0.37, 0.36, 0.35, 0.34, 0.33,
    ];
    let test = [
        0.52f64, 0.47, 0.45, 0.42, 0.41, 0.40, 0.39, 0.385, 0.38, 0.375,
    ];
    let svg =
        antorcha_viz::plot::loss_curves(&[("Training loss", &train[..]), ("Test loss", &test[..])])
            .unwrap();
    let (_, texts) = parse_texts(&svg);
    assert!(texts.iter().any(|t| t == "Test loss"), "{texts:?}");
    assert!(!texts.iter().any(|t| t == "Validation Loss"));
    let nums = numbers(&texts);
    // Y: evenly spaced, same decimals.
    for want in ["0.35", "0.40", "0.45", "0.50", "0.55"] {
        assert!(nums.iter().any(|t| t == want), "{want} in {nums:?}");
    }
    // X: the epochs 1..=10, whole numbers, as the console counts them.
    for e in 1..=10 {
        assert!(nums.iter().any(|t| *t == e.to_string()), "{e} in {nums:?}");
    }
    assert!(
        !nums.iter().any(|t| t == "0" || t.ends_with(".0")),
        "{nums:?}"
    );
}

#[test]
fn loss_ticks_across_decades() {
    let train: Vec<f64> = (0..1000).map(|i| 3.0 * 0.99f64.powi(i) + 0.01).collect();
    let svg = loss_curve(&train, None).unwrap();
    let (_, texts) = parse_texts(&svg);
    let nums = numbers(&texts);
    for want in [
        "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "100", "500", "1000",
    ] {
        assert!(nums.iter().any(|t| t == want), "{want} in {nums:?}");
    }
}

#[test]
fn accuracy_epochs_are_whole_numbers() {
    let svg = antorcha_viz::plot::accuracy_curve(&[0.7f64, 0.8, 0.85]).unwrap();
    let (_, texts) = parse_texts(&svg);
    let nums = numbers(&texts);
    for want in ["1", "2", "3", "0", "50", "100"] {
        assert!(nums.iter().any(|t| t == want), "{want} in {nums:?}");
    }
    assert!(!nums.iter().any(|t| t.contains('.')), "{nums:?}");
}

#[test]
fn confusion_matrix_names_and_counts() {
    let names = ["T-shirt/top", "Trouser", "Bag"];
    let counts = [7u64, 1, 0, 2, 9, 0, 0, 0, 11];
    let svg = antorcha_viz::plot::confusion_matrix(&counts, &names).unwrap();
    let (doc, texts) = parse_texts(&svg);
    for name in names {
        assert_eq!(texts.iter().filter(|t| *t == name).count(), 2, "{name}");
    }
    for label in [
        "Confusion matrix",
        "True label",
        "Predicted label",
        "11",
        "7",
    ] {
        assert!(texts.iter().any(|t| t == label), "{label}");
    }
    let cells = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
    assert_eq!(cells, 1 + 9); // the background and one per cell
    let e = antorcha_viz::plot::confusion_matrix(&counts[..8], &names).unwrap_err();
    assert!(e.to_string().contains("counts has 8 values"), "{e}");
}

#[test]
fn image_grid_titles_and_pixels() {
    use antorcha_autograd::tensor::Tensor;
    // Two 2x3 images: the first all black, the second one white pixel and a grey run of two.
    let images = Tensor::<u8>::from_vec(vec![0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 128, 128], &[2, 2, 3]);
    let names = ["cat", "dog"];
    let svg = antorcha_viz::plot::image_grid(&images, &[0, 0], &[0, 1], &names, 2).unwrap();
    let (doc, texts) = parse_texts(&svg);
    assert_eq!(texts, ["cat", "true: cat", "cat", "true: dog"]);
    let fills: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.attribute("fill"))
        .collect();
    assert_eq!(fills[0], "#2ca02c"); // right: green
    assert_eq!(fills[2], "#d62728"); // wrong: red
                                     // background, two image backgrounds, then the white pixel and the grey run (one rect).
    let rects: Vec<(&str, &str)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect"))
        .map(|n| (n.attribute("width").unwrap(), n.attribute("fill").unwrap()))
        .collect();
    assert_eq!(rects.len(), 5, "{rects:?}");
    assert_eq!(rects[3], ("3", "#ffffff"));
    assert_eq!(rects[4].0, "6");
    let e = antorcha_viz::plot::image_grid(&images, &[0], &[0, 1], &names, 2).unwrap_err();
    assert!(e.to_string().contains("predicted has 1"), "{e}");
    let e = antorcha_viz::plot::image_grid(&images, &[0, 2], &[0, 1], &names, 2).unwrap_err();
    assert!(e.to_string().contains("predicted class 2"), "{e}");
}

#[test]
fn labeled_images_titles_each_image_with_its_class_only() {
    use antorcha_autograd::tensor::Tensor;
    // Three 2x2 images: black, one white pixel, all grey.
    let images = Tensor::<u8>::from_vec(
        vec![0, 0, 0, 0, 255, 0, 0, 0, 128, 128, 128, 128],
        &[3, 2, 2],
    );
    let names = ["cat", "dog", "A&B"];
    let svg = antorcha_viz::plot::labeled_images(&images, &[2, 0, 1], &names, 2).unwrap();
    let (doc, texts) = parse_texts(&svg);
    assert_eq!(texts, ["A&B", "cat", "dog"]);
    // Two columns, two rows: the picture is two cells high.
    let root = doc.root_element();
    let (w, h): (usize, usize) = (
        root.attribute("width").unwrap().parse().unwrap(),
        root.attribute("height").unwrap().parse().unwrap(),
    );
    assert_eq!(h, 16 + 2 * (2 * 3 + 24 + 16));
    assert!(w > h, "{w} x {h}");
    // Background, three image backgrounds, the white pixel, two grey rows.
    let rects = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
    assert_eq!(rects, 1 + 3 + 1 + 2);
    let e = antorcha_viz::plot::labeled_images(&images, &[0, 1], &names, 2).unwrap_err();
    assert!(e.to_string().contains("labels has 2"), "{e}");
    let e = antorcha_viz::plot::labeled_images(&images, &[0, 1, 3], &names, 2).unwrap_err();
    assert!(e.to_string().contains("labels class 3"), "{e}");
    let e = antorcha_viz::plot::labeled_images(&images, &[0, 1, 2], &names, 0).unwrap_err();
    assert!(e.to_string().contains("columns"), "{e}");
}
