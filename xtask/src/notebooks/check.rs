//! What an executed notebook must show: every code cell ran, no cell has an error output, each
//! cell tagged `picture` has exactly one SVG output (and no other cell has one), and the cell
//! tagged `example3-result`, which prints `a = A, b = B`, gives PyTorch's Example 3 values to
//! 1e-5.

use serde_json::Value;

/// The tag (cell metadata `tags`) of a cell that draws one picture.
pub const PICTURE_TAG: &str = "picture";
/// The tag of the cell that prints Example 3's fitted `a = A, b = B`.
pub const EXAMPLE3_TAG: &str = "example3-result";
/// Example 3's `a` after 1000 epochs in PyTorch's float32 run (the examples' tests assert it).
pub const EXAMPLE3_A: f64 = 1.023_543_119_430_542;
/// Example 3's `b`, as [`EXAMPLE3_A`].
pub const EXAMPLE3_B: f64 = 1.968_960_046_768_188_5;
/// How close the notebook's `a` and `b` must be.
pub const TOLERANCE: f64 = 1e-5;

/// What one notebook must have besides clean outputs.
#[derive(Clone, Copy, Debug)]
pub struct Expect {
    /// At least this many picture cells (so that dropping the tags cannot pass).
    pub min_pictures: usize,
    /// Whether it runs Example 3 (and so has an `example3-result` cell).
    pub example3: bool,
}

/// What a notebook that passed showed.
#[derive(Debug, PartialEq)]
pub struct Summary {
    /// Code cells, all executed.
    pub code_cells: usize,
    /// Picture cells, each with its one SVG.
    pub pictures: usize,
    /// Example 3's `a` and `b`, when the notebook runs it.
    pub example3: Option<(f64, f64)>,
}

/// A cell's field that nbformat stores as a string or a list of strings, joined.
fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// The first line of a cell's source, to name the cell in a message.
fn first_line(cell: &Value) -> String {
    let source = text(cell.get("source"));
    let line = source.lines().next().unwrap_or("").trim();
    let short: String = line.chars().take(60).collect();
    if short.len() < line.len() {
        format!("{short}…")
    } else {
        short.to_string()
    }
}

fn has_tag(cell: &Value, tag: &str) -> bool {
    cell.pointer("/metadata/tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(tag)))
}

/// `a = A, b = B` in `stdout`: the last such line's two numbers.
pub fn parse_a_b(stdout: &str) -> Option<(f64, f64)> {
    stdout.lines().rev().find_map(|line| {
        let rest = line.trim().strip_prefix("a = ")?;
        let (a, b) = rest.split_once(", b = ")?;
        Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
    })
}

/// Checks an executed notebook (its JSON); every problem found, each naming its cell, is an
/// error.
pub fn check(notebook: &Value, expect: Expect) -> Result<Summary, Vec<String>> {
    let mut problems = Vec::new();
    let Some(cells) = notebook.get("cells").and_then(Value::as_array) else {
        return Err(vec!["no \"cells\" list: not a notebook".to_string()]);
    };
    let mut summary = Summary {
        code_cells: 0,
        pictures: 0,
        example3: None,
    };
    let mut example3_cell = false;
    for (i, cell) in cells.iter().enumerate() {
        if cell.get("cell_type").and_then(Value::as_str) != Some("code") {
            continue;
        }
        summary.code_cells += 1;
        let name = format!("cell {} ({})", i + 1, first_line(cell));
        if cell.get("execution_count").is_none_or(Value::is_null) {
            problems.push(format!("{name}: not executed"));
        }
        let outputs = cell
            .get("outputs")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut svgs = 0;
        let mut stdout = String::new();
        for output in outputs {
            match output.get("output_type").and_then(Value::as_str) {
                Some("error") => problems.push(format!(
                    "{name}: error output: {}: {}",
                    text(output.get("ename")),
                    text(output.get("evalue"))
                )),
                Some("stream") => {
                    let body = text(output.get("text"));
                    if output.get("name").and_then(Value::as_str) == Some("stderr") {
                        problems.push(format!("{name}: wrote to stderr: {}", body.trim()));
                    } else {
                        stdout.push_str(&body);
                    }
                }
                _ => {
                    if let Some(svg) = output.pointer("/data/image~1svg+xml") {
                        let svg = text(Some(svg));
                        if svg.contains("<svg") && svg.trim_end().ends_with("</svg>") {
                            svgs += 1;
                        } else {
                            problems.push(format!(
                                "{name}: an image/svg+xml output that is not an SVG"
                            ));
                        }
                    }
                }
            }
        }
        if has_tag(cell, PICTURE_TAG) {
            summary.pictures += 1;
            if svgs != 1 {
                problems.push(format!(
                    "{name}: a picture cell with {svgs} SVG outputs (one expected)"
                ));
            }
        } else if svgs > 0 {
            problems.push(format!(
                "{name}: {svgs} SVG outputs in a cell not tagged \"{PICTURE_TAG}\""
            ));
        }
        if has_tag(cell, EXAMPLE3_TAG) {
            example3_cell = true;
            match parse_a_b(&stdout) {
                Some((a, b)) => {
                    summary.example3 = Some((a, b));
                    if (a - EXAMPLE3_A).abs() > TOLERANCE || (b - EXAMPLE3_B).abs() > TOLERANCE {
                        problems.push(format!(
                            "{name}: Example 3 gave a = {a}, b = {b}; PyTorch's are a = {EXAMPLE3_A}, b = {EXAMPLE3_B} (to {TOLERANCE:e})"
                        ));
                    }
                }
                None => problems.push(format!("{name}: no line \"a = A, b = B\" in its output")),
            }
        }
    }
    if summary.pictures < expect.min_pictures {
        problems.push(format!(
            "{} picture cells (tagged \"{PICTURE_TAG}\"), at least {} expected",
            summary.pictures, expect.min_pictures
        ));
    }
    if expect.example3 && !example3_cell {
        problems.push(format!(
            "no cell tagged \"{EXAMPLE3_TAG}\" (Example 3's result)"
        ));
    }
    if problems.is_empty() {
        Ok(summary)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>";

    fn code(tags: &[&str], outputs: Value) -> Value {
        json!({"cell_type": "code", "execution_count": 1, "metadata": {"tags": tags},
               "source": ["let x = 1;\n", "x"], "outputs": outputs})
    }

    fn svg_output() -> Value {
        json!({"output_type": "execute_result", "execution_count": 1,
               "data": {"image/svg+xml": [SVG]}, "metadata": {}})
    }

    fn stdout(text: &str) -> Value {
        json!({"output_type": "stream", "name": "stdout", "text": [text]})
    }

    const BOTH: Expect = Expect {
        min_pictures: 1,
        example3: true,
    };

    #[test]
    fn a_clean_notebook_passes_and_reports_what_it_showed() {
        let nb = json!({"cells": [
            {"cell_type": "markdown", "source": "# Título"},
            code(&[PICTURE_TAG], json!([svg_output()])),
            code(&[EXAMPLE3_TAG], json!([stdout("a and b: …\na = 1.02354312, b = 1.96896005\n")])),
        ]});
        assert_eq!(
            check(&nb, BOTH).unwrap(),
            Summary {
                code_cells: 2,
                pictures: 1,
                example3: Some((1.02354312, 1.96896005))
            }
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_cell() {
        let nb = json!({"cells": [
            code(&[PICTURE_TAG], json!([])),
            code(&[], json!([svg_output()])),
            code(&[], json!([{"output_type": "error", "ename": "Error", "evalue": "mismatched types", "traceback": []}])),
            code(&[], json!([{"output_type": "stream", "name": "stderr", "text": "thread panicked"}])),
            json!({"cell_type": "code", "execution_count": null, "metadata": {}, "source": "x", "outputs": []}),
            code(&[EXAMPLE3_TAG], json!([stdout("a = 1.0236, b = 1.96896005\n")])),
        ]});
        let problems = check(&nb, BOTH).unwrap_err();
        let expected = [
            "cell 1 (let x = 1;): a picture cell with 0 SVG outputs",
            "cell 2 (let x = 1;): 1 SVG outputs in a cell not tagged",
            "cell 3 (let x = 1;): error output: Error: mismatched types",
            "cell 4 (let x = 1;): wrote to stderr: thread panicked",
            "cell 5 (x): not executed",
            "cell 6 (let x = 1;): Example 3 gave a = 1.0236",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for (p, e) in problems.iter().zip(expected) {
            assert!(p.starts_with(e), "{p:?} should start with {e:?}");
        }
    }

    #[test]
    fn missing_pictures_and_example3_are_problems() {
        let nb = json!({"cells": [code(&[], json!([stdout("hola\n")]))]});
        let problems = check(&nb, BOTH).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("0 picture cells"), "{problems:?}");
        assert!(problems[1].contains(EXAMPLE3_TAG), "{problems:?}");
        let nb = json!({"cells": [code(&[EXAMPLE3_TAG], json!([stdout("a = x, b = 2\n")]))]});
        let problems = check(
            &nb,
            Expect {
                min_pictures: 0,
                example3: true,
            },
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("no line \"a = A, b = B\""),
            "{problems:?}"
        );
        assert!(check(&json!({}), BOTH).is_err());
    }

    #[test]
    fn parses_the_last_a_b_line() {
        assert_eq!(
            parse_a_b("a = 1, b = 2\n  a = 3.5, b = -4e-1  \n"),
            Some((3.5, -0.4))
        );
        assert_eq!(parse_a_b("fitted a = 1, b = 2"), None);
        assert_eq!(parse_a_b("a = 1; b = 2"), None);
    }
}
