//! A classifier's confusion matrix as a picture: one cell per (true, predicted) class pair with
//! its count, shaded by the share of the true class's samples it holds (matplotlib's "Blues"),
//! the class names along both axes.

use std::fmt::Write;

use crate::error::{Result, VizError};

/// `s` as XML text.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// matplotlib's "Blues" at `t` in `[0, 1]` (white to dark blue, through its light and middle
/// stops), as `#rrggbb`.
fn blues(t: f64) -> String {
    const STOPS: [(f64, [f64; 3]); 3] = [
        (0.0, [247.0, 251.0, 255.0]),
        (0.5, [107.0, 174.0, 214.0]),
        (1.0, [8.0, 48.0, 107.0]),
    ];
    let t = t.clamp(0.0, 1.0);
    let i = if t <= 0.5 { 0 } else { 1 };
    let (t0, a) = STOPS[i];
    let (t1, b) = STOPS[i + 1];
    let f = (t - t0) / (t1 - t0);
    let c: Vec<u8> = (0..3)
        .map(|k| (a[k] + (b[k] - a[k]) * f).round() as u8)
        .collect();
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// The confusion matrix `counts` (row-major `[n, n]`, row = true class, column = predicted
/// class, as `sklearn.metrics.confusion_matrix` and `antorcha_nn::metrics::ConfusionMatrix`)
/// over the `n` classes named `class_names`, titled "Confusion matrix": each cell shows its
/// count and is shaded by its share of its row (so the diagonal reads as per-class recall).
/// Returns the SVG text.
///
/// ```
/// let svg = antorcha_viz::plot::confusion_matrix(&[5, 1, 2, 8], &["cat", "dog"]).unwrap();
/// assert!(svg.contains(">dog<") && svg.contains(">8<") && svg.contains("Predicted label"));
/// assert!(antorcha_viz::plot::confusion_matrix(&[5, 1, 2], &["cat", "dog"]).is_err());
/// ```
///
/// # Errors
/// No classes, or `counts` not `n * n` long.
pub fn confusion_matrix(counts: &[u64], class_names: &[&str]) -> Result<String> {
    const PLOT: &str = "confusion_matrix";
    let n = class_names.len();
    if n == 0 {
        return Err(VizError::EmptyData {
            plot: PLOT,
            what: "class_names",
        });
    }
    if counts.len() != n * n {
        return Err(VizError::LengthMismatch {
            plot: PLOT,
            x: "counts",
            x_len: counts.len(),
            y: "class_names squared",
            y_len: n * n,
        });
    }
    const CELL: usize = 56;
    const LEFT: usize = 150;
    const TOP: usize = 64;
    const BOTTOM: usize = 130;
    let longest = class_names
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0);
    let left = LEFT.max(60 + 8 * longest);
    let (width, height) = (left + n * CELL + 30, TOP + n * CELL + BOTTOM);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">
<rect width="{width}" height="{height}" fill="#ffffff"/>
<text x="{}" y="36" font-size="22" text-anchor="middle">Confusion matrix</text>
"##,
        left + n * CELL / 2
    );
    for (row, name) in class_names.iter().enumerate() {
        let total: u64 = counts[row * n..(row + 1) * n].iter().sum();
        for col in 0..n {
            let count = counts[row * n + col];
            let share = if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            };
            let (x, y) = (left + col * CELL, TOP + row * CELL);
            let ink = if share > 0.5 { "#ffffff" } else { "#000000" };
            let _ = writeln!(
                svg,
                r##"<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{}" stroke="#ffffff"/><text x="{}" y="{}" font-size="13" text-anchor="middle" fill="{ink}">{count}</text>"##,
                blues(share),
                x + CELL / 2,
                y + CELL / 2 + 5
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" font-size="13" text-anchor="end">{}</text>"#,
            left - 8,
            TOP + row * CELL + CELL / 2 + 5,
            escape(name)
        );
    }
    for (col, name) in class_names.iter().enumerate() {
        let (x, y) = (left + col * CELL + CELL / 2 + 4, TOP + n * CELL + 10);
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{y}" font-size="13" text-anchor="end" transform="rotate(-45 {x} {y})">{}</text>"#,
            escape(name)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" font-size="16" text-anchor="middle">Predicted label</text>
<text x="20" y="{}" font-size="16" text-anchor="middle" transform="rotate(-90 20 {})">True label</text>
</svg>
"#,
        left + n * CELL / 2,
        height - 16,
        TOP + n * CELL / 2,
        TOP + n * CELL / 2
    );
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blues_ends_and_middle() {
        assert_eq!(blues(0.0), "#f7fbff");
        assert_eq!(blues(0.5), "#6baed6");
        assert_eq!(blues(1.0), "#08306b");
        assert_eq!(blues(2.0), "#08306b");
    }

    #[test]
    fn escapes_names() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
