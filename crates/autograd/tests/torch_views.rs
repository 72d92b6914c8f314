//! Every case of `torch_views.json` (from `make_view_fixtures.py`, real PyTorch): a chain of
//! view ops gives PyTorch's values, shape, strides and storage offset, shares the input's
//! storage exactly when PyTorch's does, records PyTorch's grad_fn names and backpropagates
//! PyTorch's gradient (constant padding, a copy, is checked the same way). And every case of `torch_view_inplace.json`
//! (`make_view_inplace_fixtures.py`): in-place changes through a base or any of its views are
//! seen by all of them, bump one shared version counter, fail where PyTorch's fail, and a value
//! saved for backward and changed through another view stops backward as in PyTorch.

use antorcha_autograd::{no_grad, AutogradError, Input, Tensor, Var};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Json {
    shape: Vec<usize>,
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct Step {
    op: String,
    args: Vec<Value>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    x: Json,
    chain: Vec<Step>,
    output: Json,
    strides: Vec<usize>,
    storage_offset: usize,
    shares_storage: bool,
    w: Json,
    grad: Json,
    grad_fns: Vec<String>,
}

fn tensor(j: &Json) -> Tensor<f64> {
    Tensor::from_vec(j.data.clone(), &j.shape)
}

fn apply(y: &Var<f64>, step: &Step) -> Var<f64> {
    let a: Vec<isize> = step
        .args
        .iter()
        .map(|v| v.as_i64().unwrap() as isize)
        .collect();
    match step.op.as_str() {
        "reshape" => y.reshape(&a),
        "view" => y.view(&a),
        "flatten" if a.is_empty() => y.flatten(0, -1),
        "flatten" => y.flatten(a[0], a[1]),
        "transpose" => y.transpose(a[0], a[1]),
        "t" => y.t(),
        "permute" => y.permute(&a),
        "unsqueeze" => y.unsqueeze(a[0]),
        "squeeze" => y.squeeze(),
        "squeeze_dim" => y.squeeze_dim(a[0]),
        "expand" => y.expand(&a),
        "narrow" => y.narrow(a[0], a[1], a[2] as usize),
        "select" => y.select(a[0], a[1]),
        "slice" => y.slice(a[0], a[1], a[2], a[3] as usize),
        "contiguous" => y.contiguous(),
        // Pads, then the value: a copy, not a view.
        "constant_pad_nd" => {
            let (value, pad) = a.split_last().unwrap();
            y.constant_pad_nd(pad, *value as f64)
        }
        other => panic!("no view op {other}"),
    }
}

/// The grad_fn names from `y` down to its leaf, following each node's first input.
fn grad_fns(y: &Var<f64>) -> Vec<String> {
    let mut names = Vec::new();
    let mut node = y.grad_fn();
    while let Some(n) = node {
        names.push(n.name().to_string());
        node = match n.inputs().into_iter().next() {
            Some(Input::Node(next)) => Some(next),
            Some(Input::Leaf(_)) => {
                names.push("AccumulateGrad".into());
                None
            }
            None => None,
        };
    }
    names
}

#[test]
fn view_chains_match_pytorch() {
    let fixture: Fixture = serde_json::from_str(include_str!("fixtures/torch_views.json")).unwrap();
    assert!(fixture.cases.len() >= 25);
    for case in &fixture.cases {
        let name = &case.name;
        let x = Var::new(tensor(&case.x)).requires_grad();
        let y = case.chain.iter().fold(x.clone(), |y, step| apply(&y, step));
        let (value, base) = (y.data(), x.data());
        assert_eq!(value.shape(), case.output.shape.as_slice(), "{name}: shape");
        assert_eq!(value.to_vec(), case.output.data, "{name}: values");
        assert_eq!(value.strides(), case.strides.as_slice(), "{name}: strides");
        assert_eq!(
            value.storage_offset(),
            case.storage_offset,
            "{name}: offset"
        );
        assert_eq!(
            value.ptr_eq(&base),
            case.shares_storage,
            "{name}: shares storage"
        );
        assert_eq!(grad_fns(&y), case.grad_fns, "{name}: grad_fn names");

        (&y * &Var::new(tensor(&case.w))).sum().backward().unwrap();
        let grad = x.grad().unwrap();
        assert_eq!(
            grad.shape(),
            case.grad.shape.as_slice(),
            "{name}: grad shape"
        );
        for (i, (g, want)) in grad.to_vec().iter().zip(&case.grad.data).enumerate() {
            assert!(
                (g - want).abs() <= 1e-12 * (1.0 + want.abs()),
                "{name}: grad[{i}] = {g}, PyTorch has {want}"
            );
        }
    }
}

#[derive(Deserialize)]
struct InPlaceFixture {
    cases: Vec<InPlaceCase>,
}

#[derive(Deserialize)]
struct Action {
    target: isize,
    op: String,
    other: Json,
}

#[derive(Deserialize)]
struct InPlaceCase {
    name: String,
    x: Json,
    requires_grad: bool,
    no_grad: bool,
    graph: bool,
    saves: bool,
    views: Vec<Vec<Step>>,
    actions: Vec<Action>,
    error: Option<String>,
    x_after: Json,
    views_after: Vec<Json>,
    versions: Vec<u64>,
    a: Option<Json>,
    a_grad: Option<Json>,
    backward_error: Option<String>,
    grad_fns: Option<Vec<Vec<String>>>,
    ws: Option<Vec<Json>>,
    x_grad: Option<Json>,
}

fn act(t: &Var<f64>, op: &str, other: &Tensor<f64>) -> Result<(), AutogradError> {
    match op {
        "add_" => t.add_(other),
        "sub_" => t.sub_(other),
        "mul_" => t.mul_(other),
        "copy_" => t.copy_(other),
        "zero_" => t.zero_(),
        other => panic!("no in-place op {other}"),
    }
}

/// The part of PyTorch's message before its first `.`, which ours must contain.
fn first_clause(message: &str) -> &str {
    message.split('.').next().unwrap()
}

/// `(found, expected)` from PyTorch's "is at version 1; expected version 0".
fn versions_in(message: &str) -> (u64, u64) {
    let number = |after: &str| -> u64 {
        let rest = &message[message.find(after).unwrap() + after.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (number("is at version "), number("expected version "))
}

#[test]
fn in_place_changes_through_views_match_pytorch() {
    let fixture: InPlaceFixture =
        serde_json::from_str(include_str!("fixtures/torch_view_inplace.json")).unwrap();
    assert!(fixture.cases.len() >= 12);
    for case in &fixture.cases {
        let name = &case.name;
        let leaf = Var::new(tensor(&case.x));
        if case.requires_grad || case.graph {
            leaf.requires_grad_(true).unwrap();
        }
        let x = if case.graph {
            &leaf * 2.0
        } else {
            leaf.clone()
        };
        let views: Vec<Var<f64>> = case
            .views
            .iter()
            .map(|chain| match chain.as_slice() {
                [step] if step.op == "detach" => x.detach(),
                _ => chain.iter().fold(x.clone(), |y, step| apply(&y, step)),
            })
            .collect();
        assert!(
            views.iter().all(Var::is_view),
            "{name}: every view is a view"
        );
        let saved = case.a.as_ref().map(|a| {
            let a = Var::new(tensor(a)).requires_grad();
            let y = &a * &views[0];
            (a, y)
        });
        let kept = case.saves.then(|| &x * &x);
        let mut error = None;
        for action in &case.actions {
            let target = if action.target < 0 {
                &x
            } else {
                &views[action.target as usize]
            };
            let _guard = case.no_grad.then(no_grad);
            if let Err(e) = act(target, &action.op, &tensor(&action.other)) {
                error = Some(e.to_string());
                break;
            }
        }
        match (&case.error, &error) {
            (None, None) => {}
            (Some(want), Some(got)) => assert!(
                got.contains(first_clause(want)),
                "{name}: error {got:?}, PyTorch says {want:?}"
            ),
            (want, got) => panic!("{name}: error {got:?}, PyTorch's {want:?}"),
        }
        assert_eq!(x.to_vec(), case.x_after.data, "{name}: the base");
        for (i, (v, want)) in views.iter().zip(&case.views_after).enumerate() {
            assert_eq!(v.shape(), want.shape, "{name}: view {i}'s shape");
            assert_eq!(v.to_vec(), want.data, "{name}: view {i}");
        }
        let versions: Vec<u64> = std::iter::once(&x)
            .chain(&views)
            .map(Var::version)
            .collect();
        assert_eq!(versions, case.versions, "{name}: versions");

        if case.graph {
            check_graph(case, &leaf, &x, &views, kept);
        }
        if let Some((a, y)) = saved {
            match (y.sum().backward(), &case.backward_error) {
                (Ok(()), None) => {
                    let want = case.a_grad.as_ref().unwrap();
                    assert_eq!(a.grad().unwrap().to_vec(), want.data, "{name}: a.grad");
                }
                (
                    Err(AutogradError::SavedValueModified {
                        found, expected, ..
                    }),
                    Some(want),
                ) => {
                    assert_eq!(
                        (found, expected),
                        versions_in(want),
                        "{name}: versions in {want:?}"
                    );
                }
                (got, want) => panic!("{name}: backward gave {got:?}, PyTorch {want:?}"),
            }
        }
    }
}

/// The grad_fn chains of the base and its views, and the leaf's gradient of
/// `sum(base * w0) + Σ sum(view_i * w_i)` (plus the kept product), or backward's error.
fn check_graph(
    case: &InPlaceCase,
    leaf: &Var<f64>,
    x: &Var<f64>,
    views: &[Var<f64>],
    kept: Option<Var<f64>>,
) {
    let name = &case.name;
    let all: Vec<&Var<f64>> = std::iter::once(x).chain(views).collect();
    let chains: Vec<Vec<String>> = all.iter().map(|t| grad_fns(t)).collect();
    assert_eq!(
        &chains,
        case.grad_fns.as_ref().unwrap(),
        "{name}: grad_fn chains"
    );
    let ws = case.ws.as_ref().unwrap();
    let mut loss = Var::scalar(0.0);
    for (t, w) in all.iter().zip(ws) {
        loss = &loss + &(*t * &Var::new(tensor(w))).sum();
    }
    if let Some(kept) = kept {
        loss = &loss + &kept.sum();
    }
    match (loss.backward(), &case.backward_error) {
        (Ok(()), None) => {
            let want = case.x_grad.as_ref().unwrap();
            let got = leaf.grad().unwrap().to_vec();
            for (i, (g, w)) in got.iter().zip(&want.data).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                    "{name}: x.grad[{i}] = {g}, PyTorch {w}"
                );
            }
        }
        (
            Err(AutogradError::SavedValueModified {
                found, expected, ..
            }),
            Some(want),
        ) => {
            assert_eq!(
                (found, expected),
                versions_in(want),
                "{name}: versions in {want:?}"
            );
        }
        (got, want) => panic!("{name}: backward gave {got:?}, PyTorch {want:?}"),
    }
}
