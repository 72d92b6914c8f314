//! Rendering through Graphviz's `dot` program when it is installed, and writing pictures to
//! files by their extension.

use std::ffi::OsString;
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::dot::Dot;
use crate::error::{Result, VizError};

/// The Graphviz `dot` program, run as `dot -T<format>` with the DOT text on its stdin.
///
/// ```
/// use antorcha_viz::Graphviz;
/// let gv = Graphviz::with_program("/nonexistent/dot");
/// assert!(!gv.is_available());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graphviz {
    program: OsString,
}

impl Default for Graphviz {
    fn default() -> Self {
        Graphviz {
            program: OsString::from("dot"),
        }
    }
}

impl Graphviz {
    /// `dot` from the `PATH`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A given `dot` program (a path or a name looked up in the `PATH`).
    pub fn with_program(program: impl Into<OsString>) -> Self {
        Graphviz {
            program: program.into(),
        }
    }

    /// The program's name or path.
    pub fn program(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// Whether the program runs (`dot -V` succeeds).
    pub fn is_available(&self) -> bool {
        Command::new(&self.program)
            .arg("-V")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Lays out and draws `dot` in `format` (`svg`, `png`, `pdf`, … whatever `dot -T` takes).
    pub fn render(&self, dot: &Dot, format: &str) -> Result<Vec<u8>> {
        self.render_source(&dot.to_dot(), format)
    }

    /// Runs the program on DOT text.
    pub fn render_source(&self, source: &str, format: &str) -> Result<Vec<u8>> {
        let op = "Graphviz::render";
        let mut child = Command::new(&self.program)
            .arg(format!("-T{format}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => VizError::GraphvizMissing {
                    op,
                    program: self.program(),
                },
                _ => VizError::GraphvizFailed {
                    op,
                    program: self.program(),
                    format: format.to_string(),
                    status: "could not start".to_string(),
                    stderr: e.to_string(),
                },
            })?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // Feed stdin from another thread: a large picture fills the stdout pipe before all
        // its input is written.
        let output = std::thread::scope(|scope| {
            let writer = scope.spawn(move || {
                // A program that exits early closes the pipe; its status tells why.
                let _ = stdin.write_all(source.as_bytes());
            });
            let output = child.wait_with_output();
            let _ = writer.join();
            output
        })
        .map_err(|e| VizError::GraphvizFailed {
            op,
            program: self.program(),
            format: format.to_string(),
            status: "did not finish".to_string(),
            stderr: e.to_string(),
        })?;
        if !output.status.success() {
            return Err(VizError::GraphvizFailed {
                op,
                program: self.program(),
                format: format.to_string(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(output.stdout)
    }
}

/// Which file [`Dot::save`] wrote and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// DOT text.
    Dot,
    /// SVG from Antorcha's own layout (Graphviz was not found).
    SvgOwnLayout,
    /// SVG from Graphviz.
    SvgGraphviz,
    /// PNG from Graphviz.
    PngGraphviz,
}

impl Dot {
    /// SVG from Antorcha's own layered layout, with no Graphviz needed: one
    /// `<g class="node">` per node, torchviz's colours and labels.
    ///
    /// ```
    /// use antorcha_autograd::Var;
    /// use antorcha_viz::{make_dot, DotOptions};
    /// let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
    /// let svg = make_dot(&a.exp(), &[("a", &a)], &DotOptions::default()).to_svg();
    /// assert_eq!(svg.matches("class=\"node\"").count(), 4);
    /// ```
    pub fn to_svg(&self) -> String {
        crate::layout::render_svg(self)
    }

    /// SVG drawn by Graphviz's `dot -Tsvg` (as torchviz's pictures are), or
    /// [`VizError::GraphvizMissing`] when `dot` is not installed.
    pub fn to_svg_with_graphviz(&self) -> Result<String> {
        let bytes = Graphviz::new().render(self, "svg")?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// PNG drawn by Graphviz's `dot -Tpng`, or [`VizError::GraphvizMissing`] when `dot` is not
    /// installed.
    pub fn to_png_with_graphviz(&self) -> Result<Vec<u8>> {
        Graphviz::new().render(self, "png")
    }

    /// Writes the picture to `path` in the format its extension names: `.dot` (DOT text),
    /// `.svg` (Graphviz when installed, else Antorcha's own layout), `.png` (Graphviz only).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<Written> {
        self.save_with(path, &Graphviz::new())
    }

    /// [`Dot::save`] with a given Graphviz program.
    pub fn save_with(&self, path: impl AsRef<Path>, graphviz: &Graphviz) -> Result<Written> {
        let path = path.as_ref();
        let op = "Dot::save";
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let (bytes, written) = match ext.as_deref() {
            Some("dot" | "gv") => (self.to_dot().into_bytes(), Written::Dot),
            Some("svg") => {
                if graphviz.is_available() {
                    (graphviz.render(self, "svg")?, Written::SvgGraphviz)
                } else {
                    (self.to_svg().into_bytes(), Written::SvgOwnLayout)
                }
            }
            Some("png") => (graphviz.render(self, "png")?, Written::PngGraphviz),
            _ => {
                return Err(VizError::UnsupportedFormat {
                    op,
                    path: path.to_path_buf(),
                })
            }
        };
        std::fs::write(path, bytes).map_err(|source| VizError::Io {
            op,
            path: path.to_path_buf(),
            source,
        })?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{make_dot, DotOptions};
    use antorcha_autograd::Var;

    fn small() -> Dot {
        let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        make_dot(&a.exp(), &[("a", &a)], &DotOptions::default())
    }

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("antorcha-viz-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn missing_program_is_a_clear_error() {
        let gv = Graphviz::with_program("/nonexistent/antorcha/dot");
        assert!(!gv.is_available());
        let err = gv.render(&small(), "svg").unwrap_err();
        assert!(matches!(err, VizError::GraphvizMissing { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("/nonexistent/antorcha/dot") && msg.contains("install Graphviz"),
            "{msg}"
        );
    }

    #[test]
    fn save_picks_the_format_by_extension() {
        let dir = temp_dir("save");
        let dot = small();
        let missing = Graphviz::with_program("/nonexistent/antorcha/dot");
        assert_eq!(
            dot.save_with(dir.join("g.dot"), &missing).unwrap(),
            Written::Dot
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("g.dot")).unwrap(),
            dot.to_dot()
        );
        assert_eq!(
            dot.save_with(dir.join("g.SVG"), &missing).unwrap(),
            Written::SvgOwnLayout
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("g.SVG")).unwrap(),
            dot.to_svg()
        );
        let err = dot.save_with(dir.join("g.png"), &missing).unwrap_err();
        assert!(matches!(err, VizError::GraphvizMissing { .. }));
        assert!(!dir.join("g.png").exists());
        let err = dot.save_with(dir.join("g.jpg"), &missing).unwrap_err();
        assert!(matches!(err, VizError::UnsupportedFormat { .. }), "{err}");
        let err = dot.save_with(dir.join("noext"), &missing).unwrap_err();
        assert!(matches!(err, VizError::UnsupportedFormat { .. }));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    fn fake_dot(dir: &Path, script: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("fake-dot");
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        // Another test thread forking while the file was open for writing can hold it open
        // for a moment ("text file busy"): wait until the script runs once.
        for _ in 0..100 {
            match std::process::Command::new(&path).arg("-V").output() {
                Err(e) if e.raw_os_error() == Some(26) => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                _ => break,
            }
        }
        path
    }

    #[cfg(unix)]
    #[test]
    fn the_program_gets_the_dot_text_and_the_format() {
        // A stand-in for Graphviz that echoes its format flag and its input.
        let dir = temp_dir("fake");
        let prog = fake_dot(
            &dir,
            "#!/bin/sh\nif [ \"$1\" = -V ]; then exit 0; fi\necho \"$1\"\ncat\n",
        );
        let gv = Graphviz::with_program(&prog);
        assert!(gv.is_available());
        let dot = small();
        let out = String::from_utf8(gv.render(&dot, "svg").unwrap()).unwrap();
        assert_eq!(out, format!("-Tsvg\n{}", dot.to_dot()));
        assert_eq!(
            dot.save_with(dir.join("g.svg"), &gv).unwrap(),
            Written::SvgGraphviz
        );
        assert_eq!(
            dot.save_with(dir.join("g.png"), &gv).unwrap(),
            Written::PngGraphviz
        );
        assert!(std::fs::read_to_string(dir.join("g.png"))
            .unwrap()
            .starts_with("-Tpng\n"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_failing_program_reports_its_stderr() {
        let dir = temp_dir("fail");
        let prog = fake_dot(
            &dir,
            "#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 3\n",
        );
        let err = Graphviz::with_program(&prog)
            .render(&small(), "svg")
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, VizError::GraphvizFailed { .. }));
        assert!(
            msg.contains("syntax error in line 1") && msg.contains("-Tsvg"),
            "{msg}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
