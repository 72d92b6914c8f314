//! `index_select`, `index_add`, `gather` and `scatter_add` take their indices in any form
//! (`&[usize]`, `&[i64]`, `Vec<i64>`, `Tensor<i64>`) with the same values and gradients, and
//! reject negative indices as `torch.index_select` and `torch.gather` do.

use antorcha_autograd::{Tensor, Var};

fn x() -> Var<f64> {
    Var::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]).requires_grad()
}

/// The value and the gradient of `sum(select(x) * w)` for one way of picking rows.
fn value_and_grad(pick: impl Fn(&Var<f64>) -> Var<f64>) -> (Vec<f64>, Vec<f64>) {
    let x = x();
    let y = pick(&x);
    let w = Var::from_vec((1..=y.numel()).map(|i| i as f64).collect(), &y.shape());
    (&y * &w).sum().backward().unwrap();
    (y.to_vec(), x.grad().unwrap().to_vec())
}

#[test]
fn every_index_form_gives_the_same_values_and_gradients() {
    let want = value_and_grad(|x| x.index_select(0, &[2usize, 0, 2]));
    // rows 2, 0, 2 with weights (1,2), (3,4), (5,6): row 2 collects 1+5, 2+6.
    assert_eq!(want.0, vec![5.0, 6.0, 1.0, 2.0, 5.0, 6.0]);
    assert_eq!(want.1, vec![3.0, 4.0, 0.0, 0.0, 6.0, 8.0]);
    assert_eq!(value_and_grad(|x| x.index_select(0, &[2i64, 0, 2])), want);
    assert_eq!(
        value_and_grad(|x| x.index_select(0, &vec![2i64, 0, 2])),
        want
    );
    assert_eq!(value_and_grad(|x| x.index_select(0, &[2, 0, 2])), want);
    let t = Tensor::from_vec(vec![2i64, 0, 2], &[3]);
    assert_eq!(value_and_grad(|x| x.index_select(0, &t)), want);

    let by_tensor = value_and_grad(|x| x.gather(1, &Tensor::from_vec(vec![1i64, 0, 1], &[3, 1])));
    assert_eq!(by_tensor.0, vec![2.0, 3.0, 6.0]);
    let flat = value_and_grad(|x| x.reshape(&[6]).gather(0, &[1i64, 2, 5][..]));
    assert_eq!(flat.0, vec![2.0, 3.0, 6.0]);
    assert_eq!(flat.1, by_tensor.1);
}

#[test]
fn negative_indices_are_errors_as_in_pytorch() {
    let x = x();
    let e = x.try_index_select(1, &[-1i64]).unwrap_err().to_string();
    assert!(e.contains("index_select") && e.contains("-1"), "{e}");
    let e = x
        .try_gather(1, &Tensor::from_vec(vec![-1i64, 0, 0], &[3, 1]))
        .unwrap_err();
    assert!(e.to_string().contains("gather"), "{e}");
    let z = Var::<f64>::zeros(&[3]);
    let e = z
        .try_index_add(0, &[-2i64], &Var::from_vec(vec![1.0], &[1]))
        .unwrap_err();
    assert!(e.to_string().contains("index_add"), "{e}");
}
