//! Pictures shown inline in Jupyter: [`Svg`] holds an SVG picture (what the plots return), and
//! it and [`Dot`] have an `evcxr_display` method, which the Rust kernel for Jupyter (evcxr)
//! calls on a cell's last value to show it. The method prints evcxr's display protocol
//! (`EVCXR_BEGIN_CONTENT image/svg+xml`, the SVG, `EVCXR_END_CONTENT`) to stdout; nothing here
//! depends on evcxr.

use std::fmt;
use std::io::Write;
use std::path::Path;

use crate::dot::Dot;
use crate::error::{Result, VizError};

/// The MIME type of the pictures shown in a notebook.
pub const SVG_MIME: &str = "image/svg+xml";

/// An SVG picture: the text of a plot ([`plot`](crate::plot)), of a graph ([`Dot::to_svg`]) or
/// of any SVG. A notebook cell ending in an `Svg` shows the picture (see
/// [`evcxr_display`](Svg::evcxr_display)); `Display` gives the SVG text.
///
/// ```
/// use antorcha_viz::{plot, Svg};
/// let svg = Svg::from(plot::loss_curve(&[1.0f64, 0.5], None).unwrap());
/// assert!(svg.as_str().starts_with("<svg") && svg.to_string() == svg.as_str());
/// assert_eq!(format!("{svg:?}"), format!("Svg({} bytes)", svg.as_str().len()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Svg {
    text: String,
}

impl Svg {
    /// The picture whose SVG text is `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Svg { text: text.into() }
    }

    /// The SVG text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The SVG text, owned.
    pub fn into_string(self) -> String {
        self.text
    }

    /// Writes the SVG text to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, &self.text).map_err(|source| VizError::Io {
            op: "Svg::save",
            path: path.to_path_buf(),
            source,
        })
    }

    /// Shows the picture in a Jupyter notebook run by the evcxr kernel: prints the SVG between
    /// `EVCXR_BEGIN_CONTENT image/svg+xml` and `EVCXR_END_CONTENT`. evcxr calls this itself on
    /// a cell's last value; call it to show a picture from the middle of a cell (evcxr keeps one
    /// picture of each MIME type per cell: the last one shown).
    pub fn evcxr_display(&self) {
        print!("{}", evcxr_content(SVG_MIME, &self.text));
        let _ = std::io::stdout().flush();
    }
}

impl From<String> for Svg {
    fn from(text: String) -> Self {
        Svg { text }
    }
}

impl From<&Dot> for Svg {
    /// The graph drawn with Antorcha's own layout ([`Dot::to_svg`]).
    fn from(dot: &Dot) -> Self {
        Svg { text: dot.to_svg() }
    }
}

impl fmt::Display for Svg {
    /// The SVG text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Svg {
    /// `Svg(N bytes)`: the picture's size, not its text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Svg({} bytes)", self.text.len())
    }
}

impl Dot {
    /// Shows the graph in a Jupyter notebook run by the evcxr kernel, drawn with Antorcha's own
    /// layout ([`Dot::to_svg`]; the same picture with or without Graphviz): a cell ending in
    /// `make_dot(…)` shows the graph, as torchviz's `make_dot` does in a Python notebook.
    pub fn evcxr_display(&self) {
        Svg::from(self).evcxr_display();
    }
}

/// `text` as one evcxr display message of type `mime`: the begin line, the text, the end line,
/// each on its own line (evcxr reads its output line by line).
pub fn evcxr_content(mime: &str, text: &str) -> String {
    let body = text.strip_suffix('\n').unwrap_or(text);
    format!("EVCXR_BEGIN_CONTENT {mime}\n{body}\nEVCXR_END_CONTENT\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{make_dot, DotOptions};
    use antorcha_autograd::Var;

    #[test]
    fn the_message_wraps_the_text_in_evcxrs_markers_on_their_own_lines() {
        assert_eq!(
            evcxr_content(SVG_MIME, "<svg>\n</svg>\n"),
            "EVCXR_BEGIN_CONTENT image/svg+xml\n<svg>\n</svg>\nEVCXR_END_CONTENT\n"
        );
        assert_eq!(
            evcxr_content("text/plain", "x"),
            "EVCXR_BEGIN_CONTENT text/plain\nx\nEVCXR_END_CONTENT\n"
        );
    }

    #[test]
    fn a_graph_shows_as_its_own_layout() {
        let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        let dot = make_dot(&(&a * 2.0).sum(), &[("a", &a)], &DotOptions::default());
        let svg = Svg::from(&dot);
        assert_eq!(svg.as_str(), dot.to_svg());
        let message = evcxr_content(SVG_MIME, svg.as_str());
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines[0], "EVCXR_BEGIN_CONTENT image/svg+xml");
        assert_eq!(*lines.last().unwrap(), "EVCXR_END_CONTENT");
        // evcxr stops at the first end marker: the picture must not hold one.
        assert_eq!(
            lines.iter().filter(|l| l.contains("EVCXR_")).count(),
            2,
            "{message}"
        );
        assert!(
            lines[1..].iter().any(|l| l.starts_with("<svg")),
            "{message}"
        );
    }

    #[test]
    fn save_names_the_file_it_could_not_write() {
        let dir = std::env::temp_dir().join("antorcha-viz-svg-test-missing-dir");
        let path = dir.join("nested").join("x.svg");
        let e = Svg::new("<svg/>").save(&path).unwrap_err();
        assert!(e.to_string().contains("Svg::save"), "{e}");
        assert!(e.to_string().contains("x.svg"), "{e}");
    }
}
