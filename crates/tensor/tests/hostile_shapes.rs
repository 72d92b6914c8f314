//! The reproducers on shapes and ranges from a user or a file: each returns an error
//! naming the op, or works; none panics.

use antorcha_tensor::Tensor;

#[test]
fn a_zero_dim_next_to_huge_ones_is_an_error() {
    // PyTorch refuses such a shape too ("Stride calculation overflowed").
    let e = Tensor::<f32>::try_from_vec(vec![], &[0, usize::MAX, 2])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("from_vec") && e.contains("[0, 18446744073709551615, 2]"),
        "{e}"
    );
    assert_eq!(
        Tensor::<f32>::try_from_vec(vec![], &[0, 3])
            .unwrap()
            .shape(),
        &[0, 3]
    );
    let e = Tensor::<f32>::try_full(&[usize::MAX, 2], 0.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("full") || e.contains("zeros"), "{e}");
    let e = Tensor::<f32>::try_full(&[1 << 40, 1 << 30], 0.0)
        .unwrap_err()
        .to_string();
    assert!(!e.is_empty());
}

#[test]
fn ranges_and_narrows_that_overflow_are_errors() {
    let x = Tensor::<f32>::zeros(&[3]);
    let e = x.try_narrow(0, 1, usize::MAX).unwrap_err().to_string();
    assert!(e.contains("narrow"), "{e}");
    let e = Tensor::<f64>::try_arange(0.0, f64::INFINITY, 1.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("arange"), "{e}");
    let e = Tensor::<f64>::try_arange(0.0, 1e300, 1e-300)
        .unwrap_err()
        .to_string();
    assert!(e.contains("arange"), "{e}");
}
