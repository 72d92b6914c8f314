//! Antorcha's `make_dot` against torchviz's DOT for the notebook's Example 3 graphs
//! (`tests/fixtures/example3_*.dot`, copied from `shared/fixtures/torchviz`).

mod common;

use antorcha_autograd::{Tensor, Var};
use antorcha_viz::examples::{linreg_data, linreg_graph, GraphOutput};
use antorcha_viz::{make_dot, Dot, DotOptions};
use common::{fixture_text, graphs_json, parse, ParsedDot};
use rand::rngs::StdRng;
use rand::SeedableRng;

const FIXTURES: [&str; 4] = [
    "example3_yhat",
    "example3_error",
    "example3_loss_params",
    "example3_loss_params_attrs_saved",
];

/// The notebook's model: `a`, `b` `[1]` f32 requiring grad (unnamed, as in the notebook),
/// 80 training points.
struct Notebook {
    a: Var,
    b: Var,
    yhat: Var,
    error: Var,
    loss: Var,
}

fn notebook() -> Notebook {
    let data = linreg_data(42);
    let mut rng = StdRng::seed_from_u64(42);
    let a = Var::new(Tensor::<f32>::randn_with(&[1], &mut rng)).requires_grad();
    let b = Var::new(Tensor::<f32>::randn_with(&[1], &mut rng)).requires_grad();
    let x_train = Var::new(data.x_train);
    let y_train = Var::new(data.y_train);
    let yhat = &a + &b * &x_train;
    let error = &y_train - &yhat;
    let loss = error.powf(2.0).mean();
    Notebook {
        a,
        b,
        yhat,
        error,
        loss,
    }
}

/// The notebook's four `make_dot` calls.
fn notebook_dots() -> Vec<(&'static str, Dot)> {
    let nb = notebook();
    let params = [("a", &nb.a), ("b", &nb.b)];
    vec![
        (
            "example3_yhat",
            make_dot(&nb.yhat, &[], &DotOptions::default()),
        ),
        (
            "example3_error",
            make_dot(&nb.error, &[], &DotOptions::default()),
        ),
        (
            "example3_loss_params",
            make_dot(&nb.loss, &params, &DotOptions::default()),
        ),
        (
            "example3_loss_params_attrs_saved",
            make_dot(
                &nb.loss,
                &params,
                &DotOptions::new().show_attrs(true).show_saved(true),
            ),
        ),
    ]
}

fn torchviz(name: &str) -> (String, ParsedDot) {
    let text = fixture_text(&format!("{name}.dot"));
    let parsed = parse(&text).unwrap_or_else(|e| panic!("{name}.dot: {e}"));
    (text, parsed)
}

/// The `graph [...]` and `node [...]` lines.
fn attribute_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("\tgraph [") || l.starts_with("\tnode ["))
        .collect()
}

#[test]
fn the_parser_reads_torchviz_files_as_graphs_json_says() {
    let json = graphs_json();
    for name in FIXTURES {
        let (_, parsed) = torchviz(name);
        assert_eq!(parsed.canonical(), json[name], "{name}");
    }
}

#[test]
fn same_nodes_and_edges_as_torchviz_as_multisets() {
    for (name, dot) in notebook_dots() {
        let (_, want) = torchviz(name);
        let ours = dot.to_dot();
        let got =
            parse(&ours).unwrap_or_else(|e| panic!("{name}: our DOT does not parse: {e}\n{ours}"));
        assert_eq!(
            got.node_multiset(),
            want.node_multiset(),
            "{name}: nodes\n{ours}"
        );
        assert_eq!(
            got.edge_multiset(),
            want.edge_multiset(),
            "{name}: edges\n{ours}"
        );
    }
}

#[test]
fn same_graph_and_node_attribute_lines_as_torchviz() {
    for (name, dot) in notebook_dots() {
        let (text, want) = torchviz(name);
        let ours = dot.to_dot();
        assert_eq!(attribute_lines(&ours), attribute_lines(&text), "{name}");
        let got = parse(&ours).unwrap();
        assert_eq!(got.graph_attrs, want.graph_attrs);
        assert_eq!(got.node_defaults, want.node_defaults);
    }
}

#[test]
fn same_statements_in_the_same_order_as_torchviz() {
    // Stronger than the multisets: with ids renamed by first mention, the files are equal.
    for (name, dot) in notebook_dots() {
        let (_, want) = torchviz(name);
        let got = parse(&dot.to_dot()).unwrap();
        assert_eq!(got.canonical(), want.canonical(), "{name}");
    }
}

#[test]
fn the_dot_text_parses_back_to_the_petgraph_graph() {
    for (name, dot) in notebook_dots() {
        let parsed = parse(&dot.to_dot()).unwrap();
        let g = &dot.graph;
        assert_eq!(parsed.order.len(), g.node_count(), "{name}");
        for node in g.node_weights() {
            assert_eq!(
                parsed.node(&node.id.to_string()),
                (node.label.clone(), node.fillcolor.clone()),
                "{name}"
            );
        }
        let mut from_graph: Vec<(String, String, bool)> = g
            .edge_indices()
            .map(|e| {
                let (a, b) = g.edge_endpoints(e).unwrap();
                (g[a].id.to_string(), g[b].id.to_string(), g[e].dir_none)
            })
            .collect();
        let mut from_text: Vec<(String, String, bool)> = parsed
            .edges
            .iter()
            .map(|(a, b, attrs)| {
                (
                    a.clone(),
                    b.clone(),
                    attrs.get("dir").is_some_and(|d| d == "none"),
                )
            })
            .collect();
        from_graph.sort();
        from_text.sort();
        assert_eq!(from_graph, from_text, "{name}");
    }
}

#[test]
fn the_petgraph_graph_answers_questions() {
    use antorcha_viz::petgraph::algo::has_path_connecting;
    use antorcha_viz::NodeKind;
    let nb = notebook();
    let dot = make_dot(
        &nb.loss,
        &[("a", &nb.a), ("b", &nb.b)],
        &DotOptions::default(),
    );
    let g = &dot.graph;
    let find = |label: &str| g.node_indices().find(|&i| g[i].label == label).unwrap();
    let out = g
        .node_indices()
        .find(|&i| g[i].kind == NodeKind::Output)
        .unwrap();
    assert!(has_path_connecting(g, find("a\n (1)"), out, None));
    assert!(has_path_connecting(
        g,
        find("b\n (1)"),
        find("MulBackward0"),
        None
    ));
    assert!(!has_path_connecting(
        g,
        find("a\n (1)"),
        find("MulBackward0"),
        None
    ));
    assert_eq!(
        g.node_weights()
            .filter(|n| n.kind == NodeKind::AccumulateGrad)
            .count(),
        2
    );
}

#[test]
fn xtask_graph_path_draws_the_notebook_graphs() {
    // `cargo xtask graph` goes through `linreg_graph`, whose a and b carry names.
    let (_, want) = torchviz("example3_loss_params");
    let got = parse(&linreg_graph(GraphOutput::Loss, &DotOptions::default()).to_dot()).unwrap();
    assert_eq!(got.canonical(), want.canonical());
    let (_, want) = torchviz("example3_loss_params_attrs_saved");
    let opts = DotOptions::new().show_attrs(true).show_saved(true);
    let got = parse(&linreg_graph(GraphOutput::Loss, &opts).to_dot()).unwrap();
    assert_eq!(got.canonical(), want.canonical());
    // yhat and error: torchviz's leaves are unnamed there (no params), ours say a and b.
    for (output, name) in [
        (GraphOutput::Yhat, "example3_yhat"),
        (GraphOutput::Error, "example3_error"),
    ] {
        let (_, want) = torchviz(name);
        let mut want = want.canonical();
        let leaf = "\n (1)".to_string();
        let mut names = ["a", "b"].into_iter();
        for (_, (label, _)) in &mut want.nodes {
            if *label == leaf {
                *label = format!("{}{leaf}", names.next().unwrap());
            }
        }
        let got = parse(&linreg_graph(output, &DotOptions::default()).to_dot()).unwrap();
        assert_eq!(got.canonical(), want, "{name}");
    }
}
