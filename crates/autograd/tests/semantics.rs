//! PyTorch's autograd semantics: accumulation, no_grad, hooks, errors, double backward.

use antorcha_autograd::{
    detect_anomaly, grad, no_grad, with_no_grad, Attr, AutogradError, BackwardOptions, Input,
    Tensor, Var,
};

fn v(data: &[f64], shape: &[usize]) -> Var<f64> {
    Var::from_vec(data.to_vec(), shape)
}

#[test]
fn vars_are_send_and_sync() {
    fn assert_send_sync<X: Send + Sync>() {}
    assert_send_sync::<Var<f32>>();
    assert_send_sync::<Var<f64>>();
    // A graph built on one thread can be differentiated on another.
    let x = v(&[2.0], &[1]).requires_grad();
    let y = (&x * &x).sum();
    std::thread::spawn(move || y.backward().unwrap())
        .join()
        .unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![4.0]);
}

#[test]
fn grads_accumulate_across_graphs_until_zeroed() {
    let x = v(&[1.0, 2.0], &[2]).requires_grad();
    (&x * 3.0).sum().backward().unwrap();
    (&x * &x).sum().backward().unwrap();
    // 3 + 2x
    assert_eq!(x.grad().unwrap().to_vec(), vec![5.0, 7.0]);
    x.fill_grad_zero();
    assert_eq!(x.grad().unwrap().to_vec(), vec![0.0, 0.0]);
    x.zero_grad();
    assert!(x.grad().is_none());
}

#[test]
fn interior_grads_are_not_kept_unless_retained() {
    let x = v(&[1.0, 2.0], &[2]).requires_grad();
    let h = &x * 2.0;
    let k = &x * 3.0;
    k.retain_grad();
    let loss = (&h * &k).sum();
    loss.backward().unwrap();
    assert!(h.grad().is_none());
    // d loss / dk = h = 2x
    assert_eq!(k.grad().unwrap().to_vec(), vec![2.0, 4.0]);
    // d loss / dx = 2*3x + 3*2x = 12x
    assert_eq!(x.grad().unwrap().to_vec(), vec![12.0, 24.0]);
}

#[test]
fn no_grad_records_nothing() {
    let x = v(&[1.0], &[1]).requires_grad();
    let y = {
        let _g = no_grad();
        (&x * 2.0).exp()
    };
    assert!(y.grad_fn().is_none());
    assert!(!y.needs_grad());
    assert!(y.is_leaf());
    assert!(matches!(y.backward(), Err(AutogradError::NoGradFn { .. })));
    // Recording resumes after the guard.
    assert_eq!((&x * 2.0).grad_fn_name(), Some("MulBackward0"));
}

#[test]
fn grad_fn_names_match_pytorch() {
    let a = v(&[1.0], &[1]).requires_grad();
    let b = v(&[2.0], &[1]).requires_grad();
    let x = v(&[0.5, 0.25], &[2, 1]);
    let yhat = &a + &b * &x;
    assert_eq!(yhat.grad_fn_name(), Some("AddBackward0"));
    let loss = (&x - &yhat).powf(2.0).mean();
    assert_eq!(loss.grad_fn_name(), Some("MeanBackward0"));
    assert_eq!(a.grad_fn_name(), None);
    assert_eq!((2.0 - &a).grad_fn_name(), Some("RsubBackward1"));
    assert_eq!(a.matmul(&b).grad_fn_name(), Some("DotBackward0"));
    assert_eq!(
        format!("{a}"),
        "tensor([1.], dtype=torch.float64, requires_grad=True)"
    );
    assert_eq!(
        format!("{}", &a * 2.0),
        "tensor([2.], dtype=torch.float64, grad_fn=<MulBackward0>)"
    );
}

#[test]
fn backward_errors_are_clear() {
    let x = v(&[1.0, 2.0], &[2]).requires_grad();
    let y = &x * 2.0;
    let e = y.backward().unwrap_err();
    assert!(matches!(e, AutogradError::NonScalarOutput { ref shape } if shape == &[2]));
    assert!(e.to_string().contains("[2]"), "{e}");
    // An explicit output gradient works for a non-scalar output.
    y.backward_with(&Tensor::from_vec(vec![1.0, 10.0], &[2]))
        .unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![2.0, 20.0]);
    // A wrongly shaped output gradient is refused.
    let z = &x * 2.0;
    assert!(matches!(
        z.backward_with(&Tensor::ones(&[3])),
        Err(AutogradError::GradShape { .. })
    ));

    let c = v(&[1.0], &[1]);
    assert!(matches!(
        c.sum().backward(),
        Err(AutogradError::NoGradFn { .. })
    ));
}

#[test]
fn second_backward_through_a_freed_graph_is_an_error_naming_the_node() {
    let x = v(&[3.0], &[1]).requires_grad();
    let loss = x.exp().sum();
    loss.backward().unwrap();
    let e = loss.backward().unwrap_err();
    match &e {
        AutogradError::FreedGraph { node, location } => {
            assert_eq!(*node, "SumBackward0");
            assert!(location.contains("semantics.rs"), "{location}");
        }
        other => panic!("expected FreedGraph, got {other}"),
    }
    assert!(e.to_string().contains("retain_graph"), "{e}");
    // With retain_graph the second backward goes through and accumulates.
    let y = x.exp().sum();
    let keep = BackwardOptions {
        retain_graph: true,
        create_graph: false,
    };
    x.zero_grad();
    y.backward_opts(None, keep).unwrap();
    y.backward_opts(None, keep).unwrap();
    assert!((x.grad().unwrap().item() - 2.0 * 3f64.exp()).abs() < 1e-12);
}

#[test]
fn in_place_on_a_leaf_that_requires_grad_needs_no_grad() {
    let a = v(&[1.0], &[1]).requires_grad();
    let e = a.sub_(&Tensor::from_vec(vec![0.5], &[1])).unwrap_err();
    assert!(matches!(e, AutogradError::InPlaceRequiresGrad { .. }));
    assert!(e.to_string().contains("leaf Variable"), "{e}");
    {
        let _g = no_grad();
        a.sub_(&Tensor::from_vec(vec![0.5], &[1])).unwrap();
    }
    assert_eq!(a.to_vec(), vec![0.5]);
    assert_eq!(a.version(), 1);
    assert!(a.is_leaf() && a.needs_grad());
}

#[test]
fn changing_a_saved_value_is_reported_at_backward() {
    let w = v(&[2.0], &[1]).requires_grad();
    let x = v(&[3.0], &[1]); // saved by the Mul for w's gradient
    let loss = (&w * &x).sum();
    x.add_(&Tensor::from_vec(vec![1.0], &[1])).unwrap();
    let e = loss.backward().unwrap_err();
    match &e {
        AutogradError::SavedValueModified {
            node,
            saved,
            expected,
            found,
            ..
        } => {
            assert_eq!(
                (*node, *saved, *expected, *found),
                ("MulBackward0", "other", 0, 1)
            );
        }
        other => panic!("expected SavedValueModified, got {other}"),
    }
    assert!(e.to_string().contains("modified by an in-place operation"));
    // The saved result of exp is checked too.
    let y = w.exp();
    {
        let _g = no_grad();
        y.add_(&Tensor::ones(&[1])).unwrap();
    }
    assert!(matches!(
        y.sum().backward(),
        Err(AutogradError::SavedValueModified {
            node: "ExpBackward0",
            ..
        })
    ));
}

#[test]
fn requires_grad_can_only_be_cleared_on_leaves() {
    let x = v(&[1.0], &[1]).requires_grad();
    let y = &x * 2.0;
    assert!(y.requires_grad_(false).is_err());
    x.requires_grad_(false).unwrap();
    assert!(!(&x * 2.0).needs_grad());
    let d = y.detach();
    assert!(d.is_leaf() && !d.needs_grad());
    assert_eq!(d.to_vec(), vec![2.0]);
}

#[test]
fn hooks_see_and_replace_gradients() {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let x = v(&[1.0, 2.0], &[2]).requires_grad();
    let h = &x * 3.0;
    let s = seen.clone();
    h.register_hook(move |g| {
        s.lock().unwrap().push(g.to_vec());
        Some(g * 10.0)
    });
    let s = seen.clone();
    x.register_hook(move |g| {
        s.lock().unwrap().push(g.to_vec());
        None
    });
    h.sum().backward().unwrap();
    // The hook on h saw ones, replaced them with tens; x's hook saw 3 * 10.
    assert_eq!(
        *seen.lock().unwrap(),
        vec![vec![1.0, 1.0], vec![30.0, 30.0]]
    );
    assert_eq!(x.grad().unwrap().to_vec(), vec![30.0, 30.0]);
}

#[test]
fn a_leaf_hook_runs_once_on_the_summed_gradient() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let calls = Arc::new(AtomicUsize::new(0));
    let x = v(&[2.0], &[1]).requires_grad();
    let c = calls.clone();
    x.register_hook(move |_| {
        c.fetch_add(1, Ordering::Relaxed);
        None
    });
    (&x * &x + &x).sum().backward().unwrap();
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(x.grad().unwrap().to_vec(), vec![5.0]);
}

#[test]
fn autograd_grad_leaves_dot_grad_alone_and_differentiates_twice() {
    // f(x) = sum(x^3 * w): H = diag(6 x w), so H v = 6 x w v.
    let x = v(&[1.0, -2.0, 0.5], &[3]).requires_grad();
    let w = v(&[0.3, 1.5, -2.0], &[3]);
    let f = (x.powf(3.0) * &w).sum();
    let create = BackwardOptions {
        retain_graph: true,
        create_graph: true,
    };
    let g = grad(&f, &[&x], None, create).unwrap()[0].clone().unwrap();
    assert!(g.needs_grad(), "create_graph gradients carry a graph");
    let vv = v(&[1.0, 2.0, 3.0], &[3]);
    let hv = grad(&(&g * &vv).sum(), &[&x], None, BackwardOptions::default()).unwrap()[0]
        .clone()
        .unwrap();
    let want: Vec<f64> = [1.0, -2.0, 0.5]
        .iter()
        .zip([0.3, 1.5, -2.0])
        .zip([1.0, 2.0, 3.0])
        .map(|((x, w), v)| 6.0 * x * w * v)
        .collect();
    for (got, want) in hv.to_vec().iter().zip(&want) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    assert!(x.grad().is_none());
    // An input the output does not depend on gets None.
    let unused = v(&[1.0], &[1]).requires_grad();
    let r = grad(&f, &[&unused], None, BackwardOptions::default()).unwrap();
    assert!(r[0].is_none());
}

#[test]
fn anomaly_mode_names_the_op_that_made_a_nan() {
    let x = v(&[0.0, 1.0], &[2]).requires_grad();
    let _anomaly = detect_anomaly();
    let loss = x.sqrt().sum(); // d sqrt(x) / dx = inf at 0
    let e = loss.backward().unwrap_err();
    match &e {
        AutogradError::Anomaly {
            node,
            location,
            what,
            ..
        } => {
            assert_eq!(*node, "SqrtBackward0");
            assert_eq!(*what, "inf");
            assert!(location.contains("semantics.rs"), "{location}");
        }
        other => panic!("expected Anomaly, got {other}"),
    }
}

#[test]
fn without_anomaly_mode_nan_gradients_flow_as_in_pytorch() {
    let x = v(&[0.0], &[1]).requires_grad();
    x.sqrt().sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().item(), f64::INFINITY);
}

#[test]
fn item_is_a_plain_number() {
    let x = v(&[1.5], &[1]).requires_grad();
    let loss = (&x * 2.0).sum();
    let logged: f64 = loss.item();
    assert_eq!(logged, 3.0);
}

/// The notebook's Example 2: gradient descent with autograd, the update under `no_grad` and
/// the grads zeroed by hand, converges to the least-squares fit.
#[test]
fn example_two_converges_to_least_squares() {
    use rand::{rngs::StdRng, SeedableRng};
    let mut rng = StdRng::seed_from_u64(42);
    let xs = Tensor::<f64>::rand_with(&[80, 1], &mut rng);
    let noise = Tensor::<f64>::randn_with(&[80, 1], &mut rng);
    let ys = &(&xs * 2.0 + 1.0) + &(&noise * 0.1);
    let (x, y) = (Var::new(xs.clone()), Var::new(ys.clone()));
    let a = Var::<f64>::randn(&[1]).requires_grad();
    let b = Var::<f64>::randn(&[1]).requires_grad();
    let lr = 0.1;
    for _ in 0..1000 {
        let yhat = &a + &b * &x;
        let error = &y - &yhat;
        let loss = error.powf(2.0).mean();
        loss.backward().unwrap();
        {
            let _g = no_grad();
            a.sub_(&(a.grad().unwrap() * lr)).unwrap();
            b.sub_(&(b.grad().unwrap() * lr)).unwrap();
        }
        a.fill_grad_zero();
        b.fill_grad_zero();
    }
    // Closed-form least squares.
    let (xv, yv) = (xs.to_vec(), ys.to_vec());
    let n = xv.len() as f64;
    let (mx, my) = (xv.iter().sum::<f64>() / n, yv.iter().sum::<f64>() / n);
    let sxy: f64 = xv.iter().zip(&yv).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xv.iter().map(|x| (x - mx).powi(2)).sum();
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    assert!(
        (a.item() - intercept).abs() < 1e-4,
        "a {} vs {intercept}",
        a.item()
    );
    assert!((b.item() - slope).abs() < 1e-4, "b {} vs {slope}", b.item());
}

#[test]
fn a_hook_that_changes_the_gradient_shape_is_an_error() {
    let x = v(&[1.0, 2.0], &[2]).requires_grad();
    let h = &x * 3.0;
    h.register_hook(|_| Some(Tensor::ones(&[3])));
    let e = h.sum().backward().unwrap_err();
    assert!(
        matches!(e, AutogradError::GradShape { ref grad, ref expected, .. }
            if grad == &[3] && expected == &[2]),
        "{e}"
    );
    assert!(e.to_string().contains("hook"), "{e}");
    // The same on a leaf's hook.
    let y = v(&[1.0, 2.0], &[2]).requires_grad();
    y.register_hook(|_| Some(Tensor::ones(&[1])));
    assert!(matches!(
        (&y * 2.0).sum().backward(),
        Err(AutogradError::GradShape { .. })
    ));
}

#[test]
fn changing_a_saved_result_in_place_is_reported_at_backward() {
    // exp saves its result; changing that result in place (under no_grad) must be caught.
    let x = v(&[0.5, 1.0], &[2]).requires_grad();
    let y = x.exp();
    antorcha_autograd::with_no_grad(|| y.add_(&Tensor::ones(&[2]))).unwrap();
    let e = y.sum().backward().unwrap_err();
    assert!(
        matches!(
            e,
            AutogradError::SavedValueModified {
                saved: "result",
                expected: 0,
                found: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn an_update_reaches_live_views_and_swaps_in_once_none_lives() {
    let w = Var::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]).requires_grad();
    let wt = w.t();
    let new = Tensor::from_vec(vec![5.0, 6.0, 7.0, 8.0], &[2, 2]);
    with_no_grad(|| w.update_(|t| *t = new.clone())).unwrap();
    assert_eq!(
        wt.to_vec(),
        vec![5.0, 7.0, 6.0, 8.0],
        "the view sees the update"
    );
    assert!(
        !w.data().ptr_eq(&new),
        "written into the storage the view reads"
    );
    assert_eq!((w.version(), wt.version()), (1, 1));
    drop(wt);
    let newer = Tensor::from_vec(vec![0.0; 4], &[2, 2]);
    with_no_grad(|| w.update_(|t| *t = newer.clone())).unwrap();
    assert!(
        w.data().ptr_eq(&newer),
        "no view lives: the new value is swapped in"
    );
}

#[test]
fn relu_lets_the_gradient_of_a_nan_through_like_pytorch() {
    // torch 2.15: x = [nan, -1, 0, 2]; relu(x).backward([3, 4, 5, 6]) gives x.grad
    // [3, 0, 0, 6] (threshold_backward: zero where the result is <= 0, and NaN <= 0 is false);
    // grad(relu(x).pow(2).sum(), x, create_graph=True) gives [nan, 0, 0, 4].
    let x = v(&[f64::NAN, -1.0, 0.0, 2.0], &[4]).requires_grad();
    let y = x.relu();
    y.backward_with(&Tensor::from_vec(vec![3.0, 4.0, 5.0, 6.0], &[4]))
        .unwrap();
    assert_eq!(x.grad().unwrap().to_vec(), vec![3.0, 0.0, 0.0, 6.0]);
    let create = BackwardOptions {
        retain_graph: true,
        create_graph: true,
    };
    let g = grad(&x.relu().powf(2.0).sum(), &[&x], None, create).unwrap()[0]
        .clone()
        .unwrap();
    assert!(g.needs_grad());
    // The recorded backward is PyTorch's node, on the gradient and the saved result, and its
    // own gradient gives torch's second derivative [2, 0, 0, 2].
    let node = g.grad_fn().unwrap();
    assert_eq!(node.name(), "ThresholdBackwardBackward0");
    assert_eq!(node.attrs(), vec![("threshold", Attr::Int(0))]);
    let inputs: Vec<&str> = node
        .inputs()
        .into_iter()
        .map(|i| match i {
            Input::Node(n) => n.name(),
            Input::Leaf(_) => "AccumulateGrad",
        })
        .collect();
    assert_eq!(inputs, ["MulBackward0", "ReluBackward0"]);
    let h = grad(&g.sum(), &[&x], None, BackwardOptions::default()).unwrap()[0]
        .clone()
        .unwrap();
    assert_eq!(h.to_vec(), vec![2.0, 0.0, 0.0, 2.0]);
    let g = g.to_vec();
    assert!(g[0].is_nan());
    assert_eq!(g[1..], [0.0, 0.0, 4.0]);
    // A NaN gradient is stopped where the result is not above 0 (torch: [0, nan, 0]), not
    // multiplied by a zero mask.
    let x = v(&[-1.0, 2.0, 0.0], &[3]).requires_grad();
    let go = Tensor::from_vec(vec![f64::NAN; 3], &[3]);
    let g = grad(&x.relu(), &[&x], Some(&go), create).unwrap()[0]
        .clone()
        .unwrap()
        .to_vec();
    assert_eq!((g[0], g[2]), (0.0, 0.0));
    assert!(g[1].is_nan());
}
