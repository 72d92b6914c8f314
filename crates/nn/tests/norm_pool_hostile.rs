//! Hostile arguments to the new pooling, normalisation and dropout layers: huge strides,
//! kernels, dilations and output sizes, wrong shapes. Each is an error naming the op (or a
//! small, correct result), never a panic, an overflow or a hang.

use antorcha_autograd::{Tensor, Var};
use antorcha_nn::functional::{
    adaptive_avg_pool2d, max_pool2d_with_indices, try_adaptive_avg_pool2d,
};
use antorcha_nn::{AvgPool2d, BatchNorm1d, BatchNorm2d, Dropout2d, LayerNorm, Module};

const BIG: usize = usize::MAX;

#[test]
fn huge_strides_kernels_and_dilations_are_errors_or_small_results() {
    let x = Var::<f64>::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4]);
    // A stride past the input: one window, in ceil mode too.
    for ceil in [false, true] {
        let y = Module::<f64>::forward(&AvgPool2d::new(2).stride(BIG).ceil_mode(ceil), &x);
        assert_eq!(y.to_vec(), vec![2.5], "ceil {ceil}");
        let (y, idx) = max_pool2d_with_indices(&x, 2, BIG, 0, 1, ceil).unwrap();
        assert_eq!((y.to_vec(), idx.to_vec()), (vec![5.0], vec![5]));
    }
    // A kernel or dilation that overflows, or padding past half the kernel.
    for (k, p, d) in [
        (BIG, 0, 1),
        (BIG, BIG / 2, 1),
        (3, 1, BIG),
        (2, BIG, 1),
        (BIG / 2 + 1, BIG / 4, 2),
    ] {
        let e = max_pool2d_with_indices(&x, k, 1, p, d, true).unwrap_err();
        assert!(e.to_string().contains("max_pool2d"), "{e}");
    }
    for (k, p) in [(BIG, 0), (BIG, BIG / 2), (2, BIG)] {
        let e =
            Module::<f64>::try_forward(&AvgPool2d::new(k).padding(p).stride(1), &x).unwrap_err();
        assert!(e.to_string().contains("avg_pool2d"), "{e}");
    }
}

#[test]
fn huge_adaptive_output_sizes_are_errors() {
    let x = Var::<f64>::ones(&[1, 2, 3, 3]);
    for size in [(BIG, 1), (1, BIG), (BIG / 2, BIG / 2), (1 << 40, 1 << 40)] {
        let e = try_adaptive_avg_pool2d(&x, size).unwrap_err();
        assert!(e.to_string().contains("too large"), "{size:?}: {e}");
    }
    // Zero outputs are empty, as in PyTorch.
    assert_eq!(adaptive_avg_pool2d(&x, (0, 2)).shape(), vec![1, 2, 0, 2]);
}

#[test]
fn wrong_shapes_are_errors_naming_the_layer() {
    let bn = BatchNorm1d::<f64>::new(3);
    let e = bn
        .try_forward(&Var::zeros(&[2, 3, 4, 5]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("BatchNorm1d") && e.contains("2D or 3D"), "{e}");
    let e = BatchNorm2d::<f64>::new(3)
        .try_forward(&Var::zeros(&[1, 3, 1, 1]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than 1 value per channel"), "{e}");
    // An empty batch gives an empty output and leaves the running statistics alone, as in
    // PyTorch (which still counts the batch).
    let bn = BatchNorm2d::<f64>::new(3);
    let x = Var::<f64>::zeros(&[0, 3, 2, 2]).requires_grad();
    let y = bn.forward(&x);
    assert_eq!(y.shape(), vec![0, 3, 2, 2]);
    y.sum().backward().unwrap();
    assert_eq!(x.grad().unwrap().shape(), &[0, 3, 2, 2]);
    assert_eq!(bn.weight().unwrap().grad().unwrap().to_vec(), vec![0.0; 3]);
    assert_eq!(bn.running_mean().unwrap().to_vec(), vec![0.0; 3]);
    assert_eq!(bn.running_var().unwrap().to_vec(), vec![1.0; 3]);
    assert_eq!(bn.num_batches_tracked(), Some(1));
    // Eval mode without running statistics uses the batch's.
    let bn = BatchNorm2d::<f64>::new(1)
        .track_running_stats(false)
        .affine(false)
        .eps(0.0);
    bn.eval();
    let y = bn.forward(&Var::new(Tensor::from_vec(vec![1.0, 3.0], &[2, 1, 1, 1])));
    assert_eq!(y.to_vec(), vec![-1.0, 1.0]);
    let e = LayerNorm::<f64>::new(&[2, 3])
        .try_forward(&Var::zeros(&[3, 2]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("normalized_shape [2, 3]"), "{e}");
    let e = Module::<f64>::try_forward(&Dropout2d::new(0.5), &Var::zeros(&[4]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("dropout2d"), "{e}");
}
