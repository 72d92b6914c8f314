//! The FashionMNIST notebook's MLP and its cross-entropy loss drawn as torchviz draws them:
//! `make_dot(loss, params=dict(model.named_parameters()))`, plain and with `show_attrs` and
//! `show_saved`, node for node and edge for edge against torchviz's own DOT
//! (`tests/fixtures/make_mlp_graphs.py`), up to the node ids (memory addresses).

#[path = "../crates/viz/tests/common/mod.rs"]
mod common;

use antorcha::autograd::{Tensor, Var};
use antorcha::nn::{CrossEntropyLoss, Flatten, Linear, Module, ReLU, Sequential};
use antorcha::viz::{make_dot, DotOptions};

fn mlp() -> Sequential {
    Sequential::new()
        .add_named("flatten", Flatten::new())
        .add_named(
            "linear_relu_stack",
            Sequential::new()
                .add(Linear::new(28 * 28, 512))
                .add(ReLU::new())
                .add(Linear::new(512, 512))
                .add(ReLU::new())
                .add(Linear::new(512, 10)),
        )
}

#[test]
fn the_mlp_loss_graph_is_torchviz_s() {
    let model = mlp();
    let x = Var::new(Tensor::<f32>::randn(&[4, 1, 28, 28]));
    let y = Tensor::from_vec(vec![3i64, 0, 9, 1], &[4]);
    let loss = CrossEntropyLoss::new().forward(&model.forward(&x), &y);
    let named = model.named_parameters();
    let params: Vec<(&str, &Var<f32>)> = named.iter().map(|(n, p)| (n.as_str(), p)).collect();
    for (file, options) in [
        ("mlp_loss_params.dot", DotOptions::default()),
        (
            "mlp_loss_params_attrs_saved.dot",
            DotOptions::new().show_attrs(true).show_saved(true),
        ),
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(file);
        let want = common::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
        let ours = make_dot(&loss, &params, &options).to_dot();
        let got = common::parse(&ours).unwrap();
        assert_eq!(
            got.node_multiset(),
            want.node_multiset(),
            "{file}: nodes\n{ours}"
        );
        assert_eq!(
            got.edge_multiset(),
            want.edge_multiset(),
            "{file}: edges\n{ours}"
        );
        assert_eq!(
            got.canonical(),
            want.canonical(),
            "{file}: statements in order"
        );
    }
}
