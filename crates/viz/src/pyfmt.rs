//! How Python prints the values torchviz puts in its labels: shapes, tuples, floats, bools.

use antorcha_autograd::Attr;

/// A shape as torchviz's `size_to_str` writes it: `(80, 1)`, `(1)` for one dim, `()` for 0-d.
pub(crate) fn shape_str(shape: &[usize]) -> String {
    let mut s = String::with_capacity(2 + shape.len() * 4);
    s.push('(');
    for (i, d) in shape.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&d.to_string());
    }
    s.push(')');
    s
}

/// A Python tuple of ints as `str(tuple)` writes it: `(80, 1)`, `(80,)`, `()`.
pub(crate) fn tuple_str(values: &[i64]) -> String {
    match values {
        [] => "()".to_string(),
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// A float as Python's `repr`/`str` writes it: shortest round-trip digits, `.0` on integral
/// values, scientific notation below 1e-4 and from 1e16 on (`1e-05`, `1.5e+16`), `inf`, `nan`.
pub(crate) fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as Python's repr.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    if (-4..16).contains(&exp) {
        let fixed = format!("{x}");
        if fixed.contains('.') {
            fixed
        } else {
            fixed + ".0"
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// An attribute as PyTorch's `str(grad_fn._saved_<name>)` prints it. A float that holds an
/// integer prints as one: PyTorch keeps `x ** 2`'s exponent as the int `2`, and Antorcha's
/// `powf(2.0)` is that same op.
pub(crate) fn attr_str(attr: &Attr) -> String {
    match attr {
        Attr::Int(i) => i.to_string(),
        Attr::UInt(u) => u.to_string(),
        Attr::Float(f) => {
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
                (*f as i64).to_string()
            } else {
                float_repr(*f)
            }
        }
        Attr::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Attr::Ints(v) => tuple_str(v),
        Attr::None => "None".to_string(),
    }
}

/// torchviz's `resize_graph`: `max(12, rows * 0.15)` printed as Python would (`12` for the
/// int minimum, else a float such as `15.0` or `12.15`).
pub(crate) fn graph_size(rows: usize) -> String {
    const MIN_SIZE: usize = 12;
    let content = rows as f64 * 0.15;
    // Python's max keeps the first argument on a tie, so an exact 12.0 prints as `12`.
    if content > MIN_SIZE as f64 {
        float_repr(content)
    } else {
        MIN_SIZE.to_string()
    }
}

/// Quotes a DOT id or attribute value the way the Python `graphviz` package does: bare when it
/// is a plain identifier or number and no keyword, else in double quotes with unescaped `"`
/// escaped. Newlines stay literal, as in torchviz's files.
pub(crate) fn quote(s: &str) -> std::borrow::Cow<'_, str> {
    if is_plain_id(s) && !is_keyword(s) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut backslashes = 0usize;
    for c in s.chars() {
        if c == '"' && backslashes & 1 == 0 {
            out.push('\\');
        }
        if c == '\\' {
            backslashes += 1;
        } else {
            backslashes = 0;
        }
        out.push(c);
    }
    out.push('"');
    std::borrow::Cow::Owned(out)
}

fn is_keyword(s: &str) -> bool {
    ["node", "edge", "graph", "digraph", "subgraph", "strict"]
        .iter()
        .any(|k| s.eq_ignore_ascii_case(k))
}

/// `[a-zA-Z_][a-zA-Z0-9_]*` or a numeral `-?(\.[0-9]+|[0-9]+(\.[0-9]*)?)`.
fn is_plain_id(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    if b[0].is_ascii_alphabetic() || b[0] == b'_' {
        return b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    }
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    if let Some(frac) = digits.strip_prefix(b".") {
        return !frac.is_empty() && frac.iter().all(u8::is_ascii_digit);
    }
    let int_len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_len == 0 {
        return false;
    }
    match &digits[int_len..] {
        [] => true,
        [b'.', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_print_like_torchviz() {
        assert_eq!(shape_str(&[80, 1]), "(80, 1)");
        assert_eq!(shape_str(&[1]), "(1)");
        assert_eq!(shape_str(&[]), "()");
        assert_eq!(shape_str(&[0, 3]), "(0, 3)");
    }

    #[test]
    fn tuples_print_like_python() {
        assert_eq!(tuple_str(&[80, 1]), "(80, 1)");
        assert_eq!(tuple_str(&[80]), "(80,)");
        assert_eq!(tuple_str(&[]), "()");
        assert_eq!(tuple_str(&[-1, 0, 2]), "(-1, 0, 2)");
    }

    #[test]
    fn floats_print_like_python_repr() {
        assert_eq!(float_repr(0.5), "0.5");
        assert_eq!(float_repr(15.0), "15.0");
        assert_eq!(float_repr(12.15), "12.15");
        assert_eq!(float_repr(81.0 * 0.15), "12.15");
        assert_eq!(float_repr(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float_repr(1e-5), "1e-05");
        assert_eq!(float_repr(0.0001), "0.0001");
        assert_eq!(float_repr(1.5e16), "1.5e+16");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(123456789012345.0), "123456789012345.0");
        assert_eq!(float_repr(-2.5e-7), "-2.5e-07");
        assert_eq!(float_repr(0.0), "0.0");
        assert_eq!(float_repr(-0.0), "-0.0");
        assert_eq!(float_repr(f64::INFINITY), "inf");
        assert_eq!(float_repr(f64::NEG_INFINITY), "-inf");
        assert_eq!(float_repr(f64::NAN), "nan");
    }

    #[test]
    fn attrs_print_like_pytorch() {
        assert_eq!(attr_str(&Attr::Int(1)), "1");
        assert_eq!(attr_str(&Attr::Float(2.0)), "2");
        assert_eq!(attr_str(&Attr::Float(-3.0)), "-3");
        assert_eq!(attr_str(&Attr::Float(0.5)), "0.5");
        assert_eq!(attr_str(&Attr::Float(f64::INFINITY)), "inf");
        assert_eq!(attr_str(&Attr::Bool(true)), "True");
        assert_eq!(attr_str(&Attr::Bool(false)), "False");
        assert_eq!(attr_str(&Attr::Ints(vec![80, 1])), "(80, 1)");
        assert_eq!(attr_str(&Attr::Ints(vec![0])), "(0,)");
        assert_eq!(attr_str(&Attr::None), "None");
    }

    #[test]
    fn graph_size_follows_resize_graph() {
        assert_eq!(graph_size(0), "12");
        assert_eq!(graph_size(13), "12");
        assert_eq!(graph_size(80), "12"); // 80 * 0.15 == 12.0: Python's max keeps the int
        assert_eq!(graph_size(81), "12.15");
        assert_eq!(graph_size(100), "15.0");
        assert_eq!(graph_size(200_000), "30000.0");
    }

    #[test]
    fn quoting_follows_python_graphviz() {
        assert_eq!(quote("AddBackward0"), "AddBackward0");
        assert_eq!(quote("darkolivegreen1"), "darkolivegreen1");
        assert_eq!(quote("12"), "12");
        assert_eq!(quote("-4.2"), "-4.2");
        assert_eq!(quote(".42"), ".42");
        assert_eq!(quote("0.2"), "0.2");
        assert_eq!(quote("12,12"), "\"12,12\"");
        assert_eq!(quote("\n (80, 1)"), "\"\n (80, 1)\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("graph"), "\"graph\"");
        assert_eq!(quote("Node"), "\"Node\"");
        assert_eq!(quote("1a"), "\"1a\"");
        assert_eq!(quote("-"), "\"-\"");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(quote("a\\\"b"), "\"a\\\"b\""); // already escaped: unchanged
        assert_eq!(quote("a\\\\\"b"), "\"a\\\\\\\"b\"");
    }
}
