//! A small parser for the DOT that torchviz and Antorcha write (a `digraph` of node, edge and
//! attribute statements), and the canonical form of `fixtures/graphs.json`.

#![allow(dead_code)]

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Id(String),
    Sym(&'static str),
}

fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '{' | '}' | '[' | ']' | '=' | ';' | ',' => {
                chars.next();
                toks.push(Tok::Sym(match c {
                    '{' => "{",
                    '}' => "}",
                    '[' => "[",
                    ']' => "]",
                    '=' => "=",
                    ';' => ";",
                    _ => ",",
                }));
            }
            '-' if src[i..].starts_with("->") => {
                chars.next();
                chars.next();
                toks.push(Tok::Sym("->"));
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some((_, '"')) => s.push('"'),
                            Some((_, '\n')) => {}
                            Some((_, other)) => {
                                s.push('\\');
                                s.push(other);
                            }
                            None => return Err("unterminated escape".into()),
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => s.push(c),
                    }
                }
                if !closed {
                    return Err(format!("unterminated string at byte {i}"));
                }
                toks.push(Tok::Id(s));
            }
            c if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' => {
                let mut s = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' && s.is_empty() {
                        s.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                toks.push(Tok::Id(s));
            }
            other => return Err(format!("unexpected {other:?} at byte {i}")),
        }
    }
    Ok(toks)
}

/// A parsed `digraph`.
#[derive(Debug, Clone, Default)]
pub struct ParsedDot {
    /// `graph [...]` attributes.
    pub graph_attrs: Vec<(String, String)>,
    /// `node [...]` default attributes.
    pub node_defaults: Vec<(String, String)>,
    /// Node ids in order of first mention in the body.
    pub order: Vec<String>,
    /// Node attributes, merged over repeated statements (the last value wins, as in Graphviz).
    pub nodes: HashMap<String, HashMap<String, String>>,
    /// Edges in order: from, to, attributes.
    pub edges: Vec<(String, String, HashMap<String, String>)>,
}

struct P {
    toks: Vec<Tok>,
    pos: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Result<Tok, String> {
        let t = self.toks.get(self.pos).cloned().ok_or("unexpected end")?;
        self.pos += 1;
        Ok(t)
    }
    fn expect(&mut self, sym: &'static str) -> Result<(), String> {
        match self.next()? {
            Tok::Sym(s) if s == sym => Ok(()),
            t => Err(format!("expected {sym}, found {t:?}")),
        }
    }
    fn id(&mut self) -> Result<String, String> {
        match self.next()? {
            Tok::Id(s) => Ok(s),
            t => Err(format!("expected an id, found {t:?}")),
        }
    }
    fn attrs(&mut self) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        if self.peek() != Some(&Tok::Sym("[")) {
            return Ok(out);
        }
        self.expect("[")?;
        loop {
            match self.peek() {
                Some(Tok::Sym("]")) => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(Tok::Sym(",")) | Some(Tok::Sym(";")) => self.pos += 1,
                _ => {
                    let k = self.id()?;
                    self.expect("=")?;
                    let v = self.id()?;
                    out.push((k, v));
                }
            }
        }
    }
}

/// Parses the DOT subset; errors name what was unexpected.
pub fn parse(src: &str) -> Result<ParsedDot, String> {
    let mut p = P {
        toks: tokenize(src)?,
        pos: 0,
    };
    let head = p.id()?;
    if head != "digraph" {
        return Err(format!("expected digraph, found {head}"));
    }
    if let Some(Tok::Id(_)) = p.peek() {
        p.pos += 1; // graph name
    }
    p.expect("{")?;
    let mut g = ParsedDot::default();
    let mention = |g: &mut ParsedDot, id: &str| {
        if !g.nodes.contains_key(id) {
            g.order.push(id.to_string());
            g.nodes.insert(id.to_string(), HashMap::new());
        }
    };
    loop {
        match p.peek() {
            None => return Err("missing }".into()),
            Some(Tok::Sym("}")) => {
                p.pos += 1;
                break;
            }
            Some(Tok::Sym(";")) => p.pos += 1,
            _ => {
                let first = p.id()?;
                if first == "graph" || first == "node" || first == "edge" {
                    let a = p.attrs()?;
                    match first.as_str() {
                        "graph" => g.graph_attrs.extend(a),
                        "node" => g.node_defaults.extend(a),
                        _ => {}
                    }
                    continue;
                }
                let mut chain = vec![first];
                while p.peek() == Some(&Tok::Sym("->")) {
                    p.pos += 1;
                    chain.push(p.id()?);
                }
                let a = p.attrs()?;
                for id in &chain {
                    mention(&mut g, id);
                }
                if chain.len() == 1 {
                    let node = g.nodes.get_mut(&chain[0]).expect("mentioned");
                    node.extend(a);
                } else {
                    for w in chain.windows(2) {
                        g.edges
                            .push((w[0].clone(), w[1].clone(), a.iter().cloned().collect()));
                    }
                }
            }
        }
    }
    if p.pos != p.toks.len() {
        return Err("text after the closing }".into());
    }
    Ok(g)
}

/// A node as graphs.json writes it: label and fill colour.
pub type Node = (String, Option<String>);

/// The canonical form of graphs.json: nodes renamed `n0, n1, …` by first mention, edges as
/// `(from, to, dir_none)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Canonical {
    pub nodes: Vec<(String, Node)>,
    pub edges: Vec<(String, String, bool)>,
}

impl ParsedDot {
    pub fn node(&self, id: &str) -> Node {
        let a = &self.nodes[id];
        (
            a.get("label").cloned().unwrap_or_default(),
            a.get("fillcolor").cloned(),
        )
    }

    pub fn canonical(&self) -> Canonical {
        let names: HashMap<&str, String> = self
            .order
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), format!("n{i}")))
            .collect();
        Canonical {
            nodes: self
                .order
                .iter()
                .map(|id| (names[id.as_str()].clone(), self.node(id)))
                .collect(),
            edges: self
                .edges
                .iter()
                .map(|(a, b, attrs)| {
                    (
                        names[a.as_str()].clone(),
                        names[b.as_str()].clone(),
                        attrs.get("dir").map(String::as_str) == Some("none"),
                    )
                })
                .collect(),
        }
    }

    /// Nodes as a sorted multiset of (label, fill colour).
    pub fn node_multiset(&self) -> Vec<Node> {
        let mut v: Vec<Node> = self.order.iter().map(|id| self.node(id)).collect();
        v.sort();
        v
    }

    /// Edges as a sorted multiset of (from node, to node, dir_none).
    pub fn edge_multiset(&self) -> Vec<(Node, Node, bool)> {
        let mut v: Vec<(Node, Node, bool)> = self
            .edges
            .iter()
            .map(|(a, b, attrs)| {
                (
                    self.node(a),
                    self.node(b),
                    attrs.get("dir").map(String::as_str) == Some("none"),
                )
            })
            .collect();
        v.sort();
        v
    }
}

/// The canonical graphs of `fixtures/graphs.json`, by file stem.
pub fn graphs_json() -> HashMap<String, Canonical> {
    let text = std::fs::read_to_string(fixture("graphs.json")).expect("graphs.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid json");
    let mut out = HashMap::new();
    for (name, g) in v["graphs"].as_object().expect("graphs") {
        let nodes = g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["id"].as_str().unwrap().to_string(),
                    (
                        n["label"].as_str().unwrap().to_string(),
                        n["fillcolor"].as_str().map(str::to_string),
                    ),
                )
            })
            .collect();
        let edges = g["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["from"].as_str().unwrap().to_string(),
                    e["to"].as_str().unwrap().to_string(),
                    e["dir_none"].as_bool().unwrap(),
                )
            })
            .collect();
        out.insert(name.clone(), Canonical { nodes, edges });
    }
    out
}

/// The path of a fixture file.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fixture's text.
pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn parser_handles_quotes_chains_and_errors() {
    let g =
        parse("digraph G { a -> b -> c [dir=none]; \"x y\" [label=\"say \\\"hi\\\"\"] }").unwrap();
    assert_eq!(g.order, vec!["a", "b", "c", "x y"]);
    assert_eq!(g.edges.len(), 2);
    assert_eq!(g.nodes["x y"]["label"], "say \"hi\"");
    assert!(parse("digraph { a -> }").is_err());
    assert!(parse("digraph { a [label=\"open] }").is_err());
    assert!(parse("graph { a }").is_err());
    assert!(parse("digraph { a } b").is_err());
}
