//! torchviz's `make_dot`: the backward graph of a [`Var`] as a `petgraph` graph and as DOT text
//! written with torchviz's conventions (colours, labels, node attributes, graph size).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::path::Path;

use antorcha_autograd::tensor::Float;
use antorcha_autograd::{Input, NodeRef, Var};
use petgraph::graph::{EdgeIndex, Graph, NodeIndex};

use crate::error::{Result, VizError};
use crate::pyfmt::{attr_str, graph_size, quote, shape_str};

/// torchviz's fill colour for the output tensor.
pub const OUTPUT_COLOR: &str = "darkolivegreen1";
/// torchviz's fill colour for a leaf that requires grad.
pub const LEAF_COLOR: &str = "lightblue";
/// torchviz's fill colour for a tensor saved for backward (`show_saved`).
pub const SAVED_COLOR: &str = "orange";

/// torchviz's node attributes (`node [...]`), sorted by name as the Python `graphviz` package
/// writes them.
pub const NODE_ATTRS: [(&str, &str); 7] = [
    ("align", "left"),
    ("fontname", "monospace"),
    ("fontsize", "10"),
    ("height", "0.2"),
    ("ranksep", "0.1"),
    ("shape", "box"),
    ("style", "filled"),
];

/// What a node of the picture stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// The tensor passed to `make_dot` (dark olive green).
    Output,
    /// A backward function such as `MulBackward0` (grey).
    Function,
    /// The `AccumulateGrad` between a leaf and the ops that use it (grey).
    AccumulateGrad,
    /// A leaf that requires grad (light blue), labelled with its name and shape.
    Leaf,
    /// A tensor an op saved for its backward (orange, `show_saved` only).
    Saved,
}

/// A node of the picture: a box with a label and maybe a fill colour.
#[derive(Debug, Clone, PartialEq)]
pub struct DotNode {
    /// Its id in the DOT text (unique in the graph).
    pub id: usize,
    /// What it stands for.
    pub kind: NodeKind,
    /// Its label, lines separated by `\n` (`"a\n (1)"`, `"MulBackward0"`).
    pub label: String,
    /// Its fill colour, when not Graphviz's default grey for `style=filled`.
    pub fillcolor: Option<String>,
    /// Where its statement goes in the DOT body (torchviz's order).
    pub order: usize,
}

/// An edge of the picture. It points from an input (closer to the leaves) to the node that
/// uses it, as in torchviz; edges to saved tensors point from the op and are drawn undirected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DotEdge {
    /// `dir=none`: the link from an op to a value it saved.
    pub dir_none: bool,
    /// Where its statement goes in the DOT body (torchviz's order).
    pub order: usize,
}

/// What `make_dot` shows besides the graph itself (torchviz's keyword arguments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotOptions {
    /// Show each backward function's non-tensor attributes and saved values under its name
    /// (`show_attrs`).
    pub show_attrs: bool,
    /// Show the tensors saved for backward as orange boxes (`show_saved`).
    pub show_saved: bool,
    /// Longest attribute value shown before it is cut with `...` (`max_attr_chars`, at least 3).
    pub max_attr_chars: usize,
}

impl Default for DotOptions {
    fn default() -> Self {
        DotOptions {
            show_attrs: false,
            show_saved: false,
            max_attr_chars: 50,
        }
    }
}

impl DotOptions {
    /// torchviz's defaults: no attributes, no saved tensors, 50 characters per attribute.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `show_attrs`.
    pub fn show_attrs(mut self, on: bool) -> Self {
        self.show_attrs = on;
        self
    }

    /// Sets `show_saved`.
    pub fn show_saved(mut self, on: bool) -> Self {
        self.show_saved = on;
        self
    }

    /// Sets `max_attr_chars`.
    pub fn max_attr_chars(mut self, n: usize) -> Self {
        self.max_attr_chars = n;
        self
    }
}

/// The picture of a backward graph: a public `petgraph` graph, written as DOT by
/// [`to_dot`](Dot::to_dot) (or `Display`) and as SVG by [`to_svg`](Dot::to_svg).
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_viz::{make_dot, DotOptions};
/// let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
/// let y = (&a * 3.0).sum();
/// let dot = make_dot(&y, &[("a", &a)], &DotOptions::default());
/// // output, SumBackward0, MulBackward0, AccumulateGrad, a
/// assert_eq!(dot.graph.node_count(), 5);
/// assert!(dot.to_dot().contains("[label=\"a\n (1)\" fillcolor=lightblue]"));
/// ```
#[derive(Debug, Clone)]
pub struct Dot {
    /// The nodes and edges, for analysis (count nodes, find paths) or changes before drawing.
    pub graph: Graph<DotNode, DotEdge>,
    /// The number of statements torchviz would have written (its graph size depends on it).
    rows: usize,
}

/// Draws the backward graph that produced `output`, like torchviz's
/// `make_dot(output, params=dict(params), show_attrs=…, show_saved=…)`.
///
/// `params` names leaves (`("a", &a)`); a leaf that is not in `params` but has a
/// [`Var::name`] uses that; any other leaf is labelled with its shape only. The walk is
/// iterative, so graphs of any depth work; each node appears once.
///
/// ```
/// use antorcha_autograd::Var;
/// use antorcha_viz::{make_dot, DotOptions};
/// let a = Var::from_vec(vec![0.5f32], &[1]).requires_grad();
/// let b = Var::from_vec(vec![2.0f32], &[1]).requires_grad();
/// let x = Var::from_vec(vec![1.0f32; 80], &[80, 1]);
/// let yhat = &a + &b * &x;
/// let dot = make_dot(&yhat, &[("a", &a), ("b", &b)], &DotOptions::default());
/// let text = dot.to_dot();
/// assert!(text.starts_with("digraph {\n\tgraph [size=\"12,12\"]\n"));
/// assert!(text.contains("[label=\"\n (80, 1)\" fillcolor=darkolivegreen1]"));
/// assert!(text.contains("[label=AddBackward0]"));
/// ```
pub fn make_dot<T: Float>(
    output: &Var<T>,
    params: &[(&str, &Var<T>)],
    options: &DotOptions,
) -> Dot {
    make_dot_many(&[output], params, options)
}

/// [`make_dot`] for several outputs drawn together (torchviz's tuple of outputs).
pub fn make_dot_many<T: Float>(
    outputs: &[&Var<T>],
    params: &[(&str, &Var<T>)],
    options: &DotOptions,
) -> Dot {
    let mut b = Builder::new(params, options);
    for out in outputs {
        b.add_base_tensor(out);
    }
    Dot {
        graph: b.graph,
        rows: b.rows,
    }
}

/// What a picture node is, for finding it again (torchviz uses `id()` of the Python object).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Tensor(usize),
    Function(u64),
    Accumulate(usize),
}

struct Frame<T: Float> {
    key: Key,
    inputs: std::vec::IntoIter<Input<T>>,
}

struct Builder<'o> {
    graph: Graph<DotNode, DotEdge>,
    index: HashMap<Key, NodeIndex>,
    seen: HashSet<Key>,
    names: HashMap<usize, String>,
    options: &'o DotOptions,
    rows: usize,
}

impl<'o> Builder<'o> {
    fn new<T: Float>(params: &[(&str, &Var<T>)], options: &'o DotOptions) -> Self {
        // Python's `{id(v): k for k, v in params.items()}`: the last name given wins.
        let names = params
            .iter()
            .map(|(k, v)| (v.id(), k.to_string()))
            .collect();
        Builder {
            graph: Graph::new(),
            index: HashMap::new(),
            seen: HashSet::new(),
            names,
            options,
            rows: 0,
        }
    }

    /// The node for `key`, made (unlabelled, unordered) at its first mention in an edge.
    fn node(&mut self, key: Key, kind: NodeKind) -> NodeIndex {
        let graph = &mut self.graph;
        *self.index.entry(key).or_insert_with(|| {
            let id = graph.node_count();
            graph.add_node(DotNode {
                id,
                kind,
                label: String::new(),
                fillcolor: None,
                order: usize::MAX,
            })
        })
    }

    /// A node statement; a repeated one updates the node, as Graphviz does.
    fn emit_node(&mut self, key: Key, kind: NodeKind, label: String, fillcolor: Option<&str>) {
        let order = self.rows;
        self.rows += 1;
        let ix = self.node(key, kind);
        let node = &mut self.graph[ix];
        node.kind = kind;
        node.label = label;
        node.fillcolor = fillcolor.map(str::to_string);
        if node.order == usize::MAX {
            node.order = order;
        }
    }

    fn emit_edge(
        &mut self,
        from: (Key, NodeKind),
        to: (Key, NodeKind),
        dir_none: bool,
    ) -> EdgeIndex {
        let order = self.rows;
        self.rows += 1;
        let a = self.node(from.0, from.1);
        let b = self.node(to.0, to.1);
        self.graph.add_edge(a, b, DotEdge { dir_none, order })
    }

    /// torchviz's `get_var_name`: `name\n (shape)`.
    fn tensor_label(&self, id: usize, own_name: Option<String>, shape: &[usize]) -> String {
        let name = self
            .names
            .get(&id)
            .cloned()
            .or(own_name)
            .unwrap_or_default();
        format!("{name}\n {}", shape_str(shape))
    }

    fn add_base_tensor<T: Float>(&mut self, var: &Var<T>) {
        let key = Key::Tensor(var.id());
        if !self.seen.insert(key) {
            return;
        }
        let label = self.tensor_label(var.id(), var.name(), &var.shape());
        self.emit_node(key, NodeKind::Output, label, Some(OUTPUT_COLOR));
        if let Some(f) = var.grad_fn() {
            let fkey = (Key::Function(f.id()), NodeKind::Function);
            self.add_nodes(Input::Node(f));
            self.emit_edge(fkey, (key, NodeKind::Output), false);
        }
    }

    /// torchviz's recursive `add_nodes`, as a loop over an explicit stack: the same
    /// statements in the same order.
    fn add_nodes<T: Float>(&mut self, root: Input<T>) {
        let mut stack: Vec<Frame<T>> = Vec::new();
        if let Some(frame) = self.visit(root) {
            stack.push(frame);
        }
        while let Some(top) = stack.last_mut() {
            let Some(input) = top.inputs.next() else {
                stack.pop();
                continue;
            };
            let to = (top.key, NodeKind::Function);
            self.emit_edge(input_key(&input), to, false);
            if let Some(frame) = self.visit(input) {
                stack.push(frame);
            }
        }
    }

    /// Writes one backward function (and its leaf, saved tensors) unless already seen; returns
    /// its inputs to walk.
    fn visit<T: Float>(&mut self, input: Input<T>) -> Option<Frame<T>> {
        let (key, kind) = input_key(&input);
        if !self.seen.insert(key) {
            return None;
        }
        match input {
            Input::Leaf(leaf) => {
                let tkey = Key::Tensor(leaf.id());
                let label = self.tensor_label(leaf.id(), leaf.name(), &leaf.shape());
                self.emit_node(tkey, NodeKind::Leaf, label, Some(LEAF_COLOR));
                self.emit_edge((tkey, NodeKind::Leaf), (key, kind), false);
                self.emit_node(key, kind, "AccumulateGrad".to_string(), None);
                None
            }
            Input::Node(node) => {
                let mut saved = if self.options.show_saved || self.options.show_attrs {
                    node.saved()
                } else {
                    Vec::new()
                };
                // Python's `dir(fn)` lists the `_saved_*` attributes sorted by name.
                saved.sort_by(|a, b| a.name.cmp(b.name));
                if self.options.show_saved {
                    for s in &saved {
                        if let Some(shape) = &s.shape {
                            let skey = Key::Tensor(s.id);
                            self.emit_edge((key, kind), (skey, NodeKind::Saved), true);
                            let label = format!("{}\n {}", s.name, shape_str(shape));
                            self.emit_node(skey, NodeKind::Saved, label, Some(SAVED_COLOR));
                        }
                    }
                }
                let label = if self.options.show_attrs {
                    function_label(&node, &saved, self.options.max_attr_chars)
                } else {
                    node.name().to_string()
                };
                self.emit_node(key, kind, label, None);
                Some(Frame {
                    key,
                    inputs: node.inputs().into_iter(),
                })
            }
        }
    }
}

fn input_key<T: Float>(input: &Input<T>) -> (Key, NodeKind) {
    match input {
        Input::Leaf(l) => (Key::Accumulate(l.id()), NodeKind::AccumulateGrad),
        Input::Node(n) => (Key::Function(n.id()), NodeKind::Function),
    }
}

/// torchviz's `get_fn_name` with `show_attrs`: the name, a dashed line as wide as the table,
/// and `name: value` rows, names padded to the longest, values right-aligned to the longest
/// (at most `max_attr_chars`, longer ones cut with `...`).
fn function_label<T: Float>(
    node: &NodeRef<T>,
    saved: &[antorcha_autograd::SavedInfo],
    max_attr_chars: usize,
) -> String {
    let name = node.name();
    let mut attrs: BTreeMap<&str, String> = BTreeMap::new();
    for (k, v) in node.attrs() {
        attrs.insert(k, attr_str(&v));
    }
    for s in saved {
        let v = if s.shape.is_some() {
            "[saved tensor]"
        } else {
            "None"
        };
        attrs.insert(s.name, v.to_string());
    }
    if attrs.is_empty() {
        return name.to_string();
    }
    let max_attr_chars = max_attr_chars.max(3);
    let chars = |s: &str| s.chars().count();
    let col1 = attrs.keys().map(|k| chars(k)).max().unwrap_or(0);
    let col2 = attrs
        .values()
        .map(|v| chars(v))
        .max()
        .unwrap_or(0)
        .min(max_attr_chars);
    let sep = "-".repeat((col1 + col2 + 2).max(chars(name)));
    let mut out = format!("{name}\n{sep}");
    for (k, v) in &attrs {
        let v = if chars(v) > col2 {
            let mut cut: String = v.chars().take(col2 - 3).collect();
            cut.push_str("...");
            cut
        } else {
            v.clone()
        };
        out.push('\n');
        let _ = write!(out, "{k:<col1$}: {v:>col2$}");
    }
    out
}

enum Stmt {
    Node(NodeIndex),
    Edge(EdgeIndex),
}

impl Dot {
    /// Graphviz's graph `size` attribute as torchviz's `resize_graph` sets it: 12 inches, or
    /// 0.15 per DOT statement when that is more (`"12,12"`, `"15.0,15.0"`).
    pub fn size(&self) -> String {
        let s = graph_size(self.rows);
        format!("{s},{s}")
    }

    /// The DOT text, as torchviz's `dot.source` (ids are small integers instead of memory
    /// addresses).
    pub fn to_dot(&self) -> String {
        let g = &self.graph;
        let mut stmts: Vec<(usize, u8, usize, Stmt)> =
            Vec::with_capacity(g.node_count() + g.edge_count());
        for ix in g.node_indices() {
            stmts.push((g[ix].order, 0, ix.index(), Stmt::Node(ix)));
        }
        for e in g.edge_indices() {
            stmts.push((g[e].order, 1, e.index(), Stmt::Edge(e)));
        }
        stmts.sort_unstable_by_key(|&(order, kind, ix, _)| (order, kind, ix));

        let mut out = String::with_capacity(64 * stmts.len() + 256);
        out.push_str("digraph {\n");
        let _ = writeln!(out, "\tgraph [size={}]", quote(&self.size()));
        out.push_str("\tnode [");
        for (i, (k, v)) in NODE_ATTRS.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
        out.push_str("]\n");
        for (_, _, _, stmt) in stmts {
            match stmt {
                Stmt::Node(ix) => {
                    let n = &g[ix];
                    let _ = write!(out, "\t{} [label={}", n.id, quote(&n.label));
                    if let Some(c) = &n.fillcolor {
                        let _ = write!(out, " fillcolor={}", quote(c));
                    }
                    out.push_str("]\n");
                }
                Stmt::Edge(e) => {
                    let (a, b) = g.edge_endpoints(e).expect("edge index from this graph");
                    let _ = write!(out, "\t{} -> {}", g[a].id, g[b].id);
                    if g[e].dir_none {
                        out.push_str(" [dir=none]");
                    }
                    out.push('\n');
                }
            }
        }
        out.push_str("}\n");
        out
    }

    /// Writes the DOT text to `path`.
    pub fn write_dot(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_dot()).map_err(|source| VizError::Io {
            op: "write_dot",
            path: path.to_path_buf(),
            source,
        })
    }
}

impl fmt::Display for Dot {
    /// The DOT text ([`Dot::to_dot`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_dot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(dot: &Dot) -> Vec<(String, Option<String>)> {
        let mut v: Vec<_> = dot
            .graph
            .node_weights()
            .map(|n| (n.label.clone(), n.fillcolor.clone()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn leaf_output_is_a_single_green_node() {
        let a = Var::from_vec(vec![1.0f32, 2.0], &[2]).requires_grad();
        let dot = make_dot(&a, &[], &DotOptions::default());
        assert_eq!(
            labels(&dot),
            vec![("\n (2)".to_string(), Some(OUTPUT_COLOR.to_string()))]
        );
        assert_eq!(dot.graph.edge_count(), 0);
        assert_eq!(
            dot.to_dot(),
            "digraph {\n\tgraph [size=\"12,12\"]\n\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n\t0 [label=\"\n (2)\" fillcolor=darkolivegreen1]\n}\n"
        );
    }

    #[test]
    fn constant_output_has_no_graph() {
        let c = Var::<f64>::scalar(3.0);
        let dot = make_dot(&(&c * 2.0), &[], &DotOptions::default());
        assert_eq!(
            labels(&dot),
            vec![("\n ()".to_string(), Some(OUTPUT_COLOR.to_string()))]
        );
    }

    #[test]
    fn shared_input_is_drawn_once_with_two_edges() {
        // x * x: MulBackward0 has AccumulateGrad(x) twice among its inputs.
        let x = Var::from_vec(vec![3.0f64], &[1]).requires_grad().named("x");
        let y = &x * &x;
        let dot = make_dot(&y, &[], &DotOptions::default());
        assert_eq!(dot.graph.node_count(), 4); // output, Mul, AccumulateGrad, x
        let acc = dot
            .graph
            .node_indices()
            .find(|&i| dot.graph[i].kind == NodeKind::AccumulateGrad)
            .unwrap();
        assert_eq!(dot.graph.edges(acc).count(), 2);
        assert!(dot
            .to_dot()
            .contains("[label=\"x\n (1)\" fillcolor=lightblue]"));
    }

    #[test]
    fn params_name_wins_over_var_name_and_last_param_wins() {
        let a = Var::from_vec(vec![1.0f32], &[1])
            .requires_grad()
            .named("own");
        let y = a.exp();
        let dot = make_dot(&y, &[("first", &a), ("second", &a)], &DotOptions::default());
        let leaf = dot
            .graph
            .node_weights()
            .find(|n| n.kind == NodeKind::Leaf)
            .unwrap();
        assert_eq!(leaf.label, "second\n (1)");
        let dot = make_dot(&y, &[], &DotOptions::default());
        let leaf = dot
            .graph
            .node_weights()
            .find(|n| n.kind == NodeKind::Leaf)
            .unwrap();
        assert_eq!(leaf.label, "own\n (1)");
    }

    #[test]
    fn attrs_are_padded_and_cut_like_torchviz() {
        let a = Var::from_vec(vec![1.0f32; 6], &[2, 3]).requires_grad();
        let s = a.sum();
        let label = |options: &DotOptions| {
            make_dot(&s, &[], options)
                .graph
                .node_weights()
                .find(|n| n.kind == NodeKind::Function)
                .unwrap()
                .label
                .clone()
        };
        let attrs = DotOptions::new().show_attrs(true);
        assert_eq!(
            label(&attrs),
            "SumBackward0\n----------------------\nself_sym_sizes: (2, 3)"
        );
        assert_eq!(
            label(&attrs.clone().max_attr_chars(5)),
            "SumBackward0\n---------------------\nself_sym_sizes: (2..."
        );
        // max_attr_chars below 3 counts as 3
        assert_eq!(
            label(&attrs.max_attr_chars(0)),
            "SumBackward0\n-------------------\nself_sym_sizes: ..."
        );
    }

    #[test]
    fn powf_exponent_prints_as_int_and_half_as_float() {
        let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        for (e, want) in [
            (2.0f32, "exponent:              2"),
            (0.5, "exponent:            0.5"),
        ] {
            let dot = make_dot(&a.powf(e), &[], &DotOptions::new().show_attrs(true));
            let f = dot
                .graph
                .node_weights()
                .find(|n| n.kind == NodeKind::Function)
                .unwrap();
            assert!(f.label.contains(want), "{:?}", f.label);
        }
    }

    #[test]
    fn saved_tensors_hang_off_their_op_undirected() {
        let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        let x = Var::from_vec(vec![2.0f32; 4], &[4, 1]);
        let y = &a * &x;
        let dot = make_dot(&y, &[], &DotOptions::new().show_saved(true));
        let saved: Vec<_> = dot
            .graph
            .node_indices()
            .filter(|&i| dot.graph[i].kind == NodeKind::Saved)
            .collect();
        assert_eq!(saved.len(), 1);
        assert_eq!(dot.graph[saved[0]].label, "other\n (4, 1)");
        assert_eq!(dot.graph[saved[0]].fillcolor.as_deref(), Some(SAVED_COLOR));
        let e = dot
            .graph
            .edges_directed(saved[0], petgraph::Direction::Incoming)
            .next()
            .unwrap();
        assert!(e.weight().dir_none);
        assert!(dot.to_dot().contains(" [dir=none]\n"));
    }

    #[test]
    fn a_saved_leaf_merges_into_the_leaf_like_graphviz() {
        // a * a saves `a` twice; Graphviz keeps one node with its last attributes (the leaf).
        let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        let y = &a * &a;
        let dot = make_dot(&y, &[("a", &a)], &DotOptions::new().show_saved(true));
        let leaves: Vec<_> = dot
            .graph
            .node_weights()
            .filter(|n| n.label.ends_with("\n (1)") && n.kind != NodeKind::Output)
            .collect();
        assert_eq!(leaves.len(), 1);
        assert_eq!(leaves[0].kind, NodeKind::Leaf);
        assert_eq!(leaves[0].label, "a\n (1)");
        let undirected = dot.graph.edge_weights().filter(|e| e.dir_none).count();
        assert_eq!(undirected, 2);
    }

    #[test]
    fn size_grows_with_statements() {
        let mut x = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        for _ in 0..60 {
            x = x.add_scalar(1.0);
        }
        let dot = make_dot(&x, &[], &DotOptions::default());
        // 63 nodes, 62 edges: 125 statements * 0.15 = 18.75
        assert_eq!(dot.graph.node_count(), 63);
        assert_eq!(dot.size(), "18.75,18.75");
        assert!(dot.to_dot().contains("\tgraph [size=\"18.75,18.75\"]\n"));
    }

    #[test]
    fn several_outputs_share_nodes() {
        let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        let h = a.exp();
        let y1 = h.sin();
        let y2 = h.cos();
        let dot = make_dot_many(&[&y1, &y2, &y1], &[], &DotOptions::default());
        // two outputs, Sin, Cos, Exp, AccumulateGrad, a
        assert_eq!(dot.graph.node_count(), 7);
        assert_eq!(dot.graph.edge_count(), 6);
    }

    #[test]
    fn deep_chain_does_not_overflow() {
        let mut x = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        for _ in 0..50_000 {
            x = x.neg();
        }
        let dot = make_dot(&x, &[], &DotOptions::default());
        assert_eq!(dot.graph.node_count(), 50_003);
        assert_eq!(dot.graph.edge_count(), 50_002);
        assert!(dot.to_dot().ends_with("}\n"));
    }

    #[test]
    fn write_dot_reports_the_path() {
        let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
        let dot = make_dot(&a, &[], &DotOptions::default());
        let err = dot.write_dot("/nonexistent-dir/x.dot").unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/x.dot"), "{err}");
    }
}
