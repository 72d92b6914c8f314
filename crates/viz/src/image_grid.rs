//! Grids of sample images as matplotlib's `imshow` shows them in the PyTorch tutorial: each
//! titled with its class ([`labeled_images`]), or with its predicted label (green when right,
//! red when wrong) over its true label ([`image_grid`]).

use std::fmt::Write;

use antorcha_autograd::tensor::Tensor;

use crate::confusion::escape;
use crate::error::{Result, VizError};

/// Grey levels the pixels are drawn with (runs of one level in a row are one rectangle).
const LEVELS: u32 = 32;

/// The images `images` (`u8 [N, H, W]`, 0 black to 255 white, as `imshow(cmap="gray")` shows
/// FashionMNIST) in a grid of `columns` columns, each scaled up 3 times and titled with its
/// predicted class name (green when it is the true class, red when not) over "true: NAME".
/// `predicted` and `target` hold one class index per image into `class_names`. Returns the SVG
/// text.
///
/// ```
/// use antorcha_autograd::tensor::Tensor;
/// let images = Tensor::<u8>::from_vec(vec![0, 255, 128, 0, 0, 0, 9, 9], &[2, 2, 2]);
/// let svg = antorcha_viz::plot::image_grid(&images, &[1, 0], &[1, 1], &["cat", "dog"], 2).unwrap();
/// assert!(svg.contains(">dog<") && svg.contains(">true: dog<"));
/// ```
///
/// # Errors
/// Images that are not `[N, H, W]` with `N > 0`, `predicted` or `target` not `N` long, a class
/// index outside `class_names`, or `columns == 0`.
pub fn image_grid(
    images: &Tensor<u8>,
    predicted: &[usize],
    target: &[usize],
    class_names: &[&str],
    columns: usize,
) -> Result<String> {
    const PLOT: &str = "image_grid";
    let n = check_images(PLOT, images, columns)?;
    check_labels(PLOT, n, "predicted", predicted, class_names)?;
    check_labels(PLOT, n, "target", target, class_names)?;
    let titles: Vec<Title> = predicted
        .iter()
        .zip(target)
        .map(|(&p, &t)| Title {
            text: class_names[p],
            colour: if p == t { RIGHT } else { WRONG },
            below: Some(format!("true: {}", escape(class_names[t]))),
        })
        .collect();
    Ok(draw(images, &titles, class_names, columns))
}

/// The images `images` (`u8 [N, H, W]`, 0 black to 255 white) in a grid of `columns` columns,
/// each scaled up 3 times and titled with its class name `class_names[labels[i]]`: the
/// tutorial's first look at the data (`plt.title(labels_map[label])`,
/// `plt.imshow(img.squeeze(), cmap="gray")`). Returns the SVG text.
///
/// ```
/// use antorcha_autograd::tensor::Tensor;
/// let images = Tensor::<u8>::from_vec(vec![0, 255, 128, 0, 0, 0, 9, 9], &[2, 2, 2]);
/// let svg = antorcha_viz::plot::labeled_images(&images, &[1, 0], &["cat", "dog"], 2).unwrap();
/// assert!(svg.contains(">dog<") && svg.contains(">cat<") && !svg.contains("true:"));
/// ```
///
/// # Errors
/// Images that are not `[N, H, W]` with `N > 0`, `labels` not `N` long, a class index outside
/// `class_names`, or `columns == 0`.
pub fn labeled_images(
    images: &Tensor<u8>,
    labels: &[usize],
    class_names: &[&str],
    columns: usize,
) -> Result<String> {
    const PLOT: &str = "labeled_images";
    let n = check_images(PLOT, images, columns)?;
    check_labels(PLOT, n, "labels", labels, class_names)?;
    let titles: Vec<Title> = labels
        .iter()
        .map(|&l| Title {
            text: class_names[l],
            colour: "#000000",
            below: None,
        })
        .collect();
    Ok(draw(images, &titles, class_names, columns))
}

const RIGHT: &str = "#2ca02c";
const WRONG: &str = "#d62728";

/// An image's title: a class name in a colour, maybe a second line (XML-escaped) under it.
struct Title<'a> {
    text: &'a str,
    colour: &'static str,
    below: Option<String>,
}

/// The number of images, once `images` is `[N, H, W]` with `N > 0` and `columns > 0`.
fn check_images(plot: &'static str, images: &Tensor<u8>, columns: usize) -> Result<usize> {
    let &[n, _, _] = images.shape() else {
        return Err(VizError::InvalidInput {
            plot,
            message: format!("images must be [N, H, W], got shape {:?}", images.shape()),
        });
    };
    if n == 0 {
        return Err(VizError::EmptyData {
            plot,
            what: "images",
        });
    }
    if columns == 0 {
        return Err(VizError::InvalidInput {
            plot,
            message: "columns must be at least 1".to_string(),
        });
    }
    Ok(n)
}

/// Checks that `labels` has one class index per image, each below `class_names.len()`.
fn check_labels(
    plot: &'static str,
    n: usize,
    what: &'static str,
    labels: &[usize],
    class_names: &[&str],
) -> Result<()> {
    if labels.len() != n {
        return Err(VizError::LengthMismatch {
            plot,
            x: "images",
            x_len: n,
            y: what,
            y_len: labels.len(),
        });
    }
    if let Some(&bad) = labels.iter().find(|&&c| c >= class_names.len()) {
        return Err(VizError::InvalidInput {
            plot,
            message: format!(
                "{what} class {bad} is not below the {} class names",
                class_names.len()
            ),
        });
    }
    Ok(())
}

/// The grid, once checked: one title (and maybe a line under it) per image.
fn draw(images: &Tensor<u8>, titles: &[Title], class_names: &[&str], columns: usize) -> String {
    let (n, h, w) = (titles.len(), images.shape()[1], images.shape()[2]);
    const SCALE: usize = 3;
    const GAP: usize = 16;
    // Room for the title, and for the line under it when there is one.
    let title_h = if titles.iter().any(|t| t.below.is_some()) {
        40
    } else {
        24
    };
    let longest = class_names
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    let cell_w = (w * SCALE).max(8 * longest + 48) + GAP;
    let cell_h = h * SCALE + title_h + GAP;
    let columns = columns.min(n);
    let rows = n.div_ceil(columns);
    let (width, height) = (columns * cell_w + GAP, rows * cell_h + GAP);
    let pixels = images.row_major();
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" shape-rendering="crispEdges">
<rect width="{width}" height="{height}" fill="#ffffff"/>"##
    );
    for i in 0..n {
        let x0 = GAP + (i % columns) * cell_w + (cell_w - GAP - w * SCALE) / 2;
        let y0 = GAP + (i / columns) * cell_h;
        let title = &titles[i];
        let cx = x0 + w * SCALE / 2;
        let _ = write!(
            svg,
            r##"<text x="{cx}" y="{}" font-size="13" text-anchor="middle" fill="{}">{}</text>"##,
            y0 + 14,
            title.colour,
            escape(title.text),
        );
        if let Some(below) = &title.below {
            let _ = write!(
                svg,
                r##"<text x="{cx}" y="{}" font-size="11" text-anchor="middle" fill="#555555">{below}</text>"##,
                y0 + 30,
            );
        }
        svg.push('\n');
        let top = y0 + title_h;
        let _ = writeln!(
            svg,
            r##"<rect x="{x0}" y="{top}" width="{}" height="{}" fill="#000000"/>"##,
            w * SCALE,
            h * SCALE
        );
        let image = &pixels[i * h * w..(i + 1) * h * w];
        for r in 0..h {
            let row = &image[r * w..(r + 1) * w];
            let level = |v: u8| v as u32 * (LEVELS - 1) / 255;
            let mut c = 0;
            while c < w {
                let l = level(row[c]);
                let start = c;
                while c < w && level(row[c]) == l {
                    c += 1;
                }
                if l > 0 {
                    let g = l * 255 / (LEVELS - 1);
                    let _ = writeln!(
                        svg,
                        r##"<rect x="{}" y="{}" width="{}" height="{SCALE}" fill="#{g:02x}{g:02x}{g:02x}"/>"##,
                        x0 + start * SCALE,
                        top + r * SCALE,
                        (c - start) * SCALE
                    );
                }
            }
        }
    }
    svg.push_str("</svg>\n");
    svg
}
