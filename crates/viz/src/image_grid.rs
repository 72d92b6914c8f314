//! A grid of sample images, each titled with its predicted label (green when right, red when
//! wrong) and its true label: what the PyTorch tutorial shows with matplotlib's `imshow`.

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
    let invalid = |message: String| VizError::InvalidInput {
        plot: PLOT,
        message,
    };
    let &[n, h, w] = images.shape() else {
        return Err(invalid(format!(
            "images must be [N, H, W], got shape {:?}",
            images.shape()
        )));
    };
    if n == 0 {
        return Err(VizError::EmptyData {
            plot: PLOT,
            what: "images",
        });
    }
    for (what, labels) in [("predicted", predicted), ("target", target)] {
        if labels.len() != n {
            return Err(VizError::LengthMismatch {
                plot: PLOT,
                x: "images",
                x_len: n,
                y: what,
                y_len: labels.len(),
            });
        }
        if let Some(&bad) = labels.iter().find(|&&c| c >= class_names.len()) {
            return Err(invalid(format!(
                "{what} class {bad} is not below the {} class names",
                class_names.len()
            )));
        }
    }
    if columns == 0 {
        return Err(invalid("columns must be at least 1".to_string()));
    }
    const SCALE: usize = 3;
    const TITLE: usize = 40;
    const GAP: usize = 16;
    let longest = class_names
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    let cell_w = (w * SCALE).max(8 * longest + 48) + GAP;
    let cell_h = h * SCALE + TITLE + GAP;
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
        let (p, t) = (predicted[i], target[i]);
        let colour = if p == t { "#2ca02c" } else { "#d62728" };
        let cx = x0 + w * SCALE / 2;
        let _ = writeln!(
            svg,
            r##"<text x="{cx}" y="{}" font-size="13" text-anchor="middle" fill="{colour}">{}</text><text x="{cx}" y="{}" font-size="11" text-anchor="middle" fill="#555555">true: {}</text>"##,
            y0 + 14,
            escape(class_names[p]),
            y0 + 30,
            escape(class_names[t])
        );
        let top = y0 + TITLE;
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
    Ok(svg)
}
