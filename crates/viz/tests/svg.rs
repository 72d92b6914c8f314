//! The SVG pictures (Antorcha's own layout) are well-formed XML with one element per node and
//! per edge, and carry each node's label.

use antorcha_autograd::Var;
use antorcha_viz::examples::{linreg_graph, GraphOutput};
use antorcha_viz::{make_dot, Dot, DotOptions};

fn check_svg(name: &str, dot: &Dot) {
    let svg = dot.to_svg();
    let doc =
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: not well-formed: {e}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let groups = |class: &str| {
        doc.descendants()
            .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some(class))
            .collect::<Vec<_>>()
    };
    let nodes = groups("node");
    assert_eq!(
        nodes.len(),
        dot.graph.node_count(),
        "{name}: one <g class=\"node\"> per node"
    );
    assert_eq!(
        groups("edge").len(),
        dot.graph.edge_count(),
        "{name}: one <g class=\"edge\"> per edge"
    );
    for node in dot.graph.node_weights() {
        let id = node.id.to_string();
        let g = nodes
            .iter()
            .find(|g| {
                g.children()
                    .any(|c| c.has_tag_name("title") && c.text() == Some(&id))
            })
            .unwrap_or_else(|| panic!("{name}: no element for node {id}"));
        let lines: Vec<String> = g
            .children()
            .filter(|c| c.has_tag_name("text"))
            .map(|t| t.text().unwrap_or("").replace('\u{a0}', " "))
            .collect();
        let want: Vec<&str> = node.label.split('\n').filter(|l| !l.is_empty()).collect();
        assert_eq!(lines, want, "{name}: node {id}");
        let rect = g
            .children()
            .find(|c| c.has_tag_name("rect"))
            .expect("a box");
        let w: f64 = rect.attribute("width").unwrap().parse().unwrap();
        let longest = want.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(
            w >= longest as f64 * 6.0,
            "{name}: box {id} narrower than its text"
        );
    }
}

#[test]
fn notebook_graphs_draw_as_well_formed_svg() {
    for output in [GraphOutput::Yhat, GraphOutput::Error, GraphOutput::Loss] {
        check_svg(
            &output.to_string(),
            &linreg_graph(output, &DotOptions::default()),
        );
    }
    let opts = DotOptions::new().show_attrs(true).show_saved(true);
    check_svg("loss attrs saved", &linreg_graph(GraphOutput::Loss, &opts));
}

#[test]
fn odd_labels_are_escaped() {
    let a = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
    let dot = make_dot(&a.exp(), &[("<a & \"b\">", &a)], &DotOptions::default());
    check_svg("escaped", &dot);
    assert!(dot
        .to_dot()
        .contains("[label=\"<a & \\\"b\\\">\n (1)\" fillcolor=lightblue]"));
}

#[test]
fn a_wide_graph_draws() {
    // 30 leaves feeding one sum, each through its own op: a wide rank.
    let leaves: Vec<Var<f64>> = (0..30)
        .map(|i| Var::from_vec(vec![i as f64], &[1]).requires_grad())
        .collect();
    let mut total = leaves[0].exp();
    for l in &leaves[1..] {
        total = &total + &l.exp();
    }
    let dot = make_dot(
        &total.sum(),
        &[],
        &DotOptions::new().show_saved(true).show_attrs(true),
    );
    check_svg("wide", &dot);
}
