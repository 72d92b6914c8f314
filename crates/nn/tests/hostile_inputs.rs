//! Crafted safetensors files and overflowing conv/pool geometry: each is an error naming the
//! file or the op, never a panic, an allocation sized by the claim, or a wrong shape.

use std::path::PathBuf;

use antorcha_autograd::Var;
use antorcha_nn::functional::{try_conv2d, try_max_pool2d};
use antorcha_nn::{load_safetensors, read_safetensors, Conv2d, Linear, MaxPool2d, Module, NnError};

/// A safetensors file by hand: the 8-byte little-endian header length, the JSON header, data.
fn file(tag: &str, header: &str, data: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "antorcha_nn_hostile_{tag}_{}.safetensors",
        std::process::id()
    ));
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    std::fs::write(&path, b).unwrap();
    path
}

fn read_err(tag: &str, header: &str, data: &[u8]) -> NnError {
    let path = file(tag, header, data);
    let e = read_safetensors::<f32>(&path).unwrap_err();
    // The loader into a model says the same.
    let m: Linear = Linear::new(2, 1);
    assert!(load_safetensors(&m, &path).is_err());
    std::fs::remove_file(&path).unwrap();
    e
}

#[test]
fn zero_dim_next_to_huge_dims_is_an_error() {
    let e = read_err(
        "zero_huge",
        r#"{"weight":{"dtype":"F32","shape":[0,4294967295,4294967295],"data_offsets":[0,0]}}"#,
        &[],
    );
    assert!(matches!(e, NnError::Format { .. }), "{e}");
    assert!(
        e.to_string().contains("overflow") && e.to_string().contains("weight"),
        "{e}"
    );
    // Fitting dims with a zero are an empty tensor, as in PyTorch.
    let path = file(
        "zero_ok",
        r#"{"w":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]}}"#,
        &[],
    );
    let t = read_safetensors::<f32>(&path).unwrap();
    assert_eq!(t[0].1.shape(), &[0, 3]);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn huge_dims_and_bad_offsets_are_errors() {
    for (tag, header) in [
        (
            "huge",
            r#"{"w":{"dtype":"F64","shape":[18446744073709551615,2],"data_offsets":[0,8]}}"#,
        ),
        (
            "past_end",
            r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4000000000]}}"#,
        ),
        (
            "reversed",
            r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#,
        ),
        (
            "short",
            r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}"#,
        ),
    ] {
        let e = read_err(tag, header, &[0; 8]);
        assert!(matches!(e, NnError::Format { .. }), "{tag}: {e}");
        assert!(e.to_string().contains(tag), "{tag}: {e}");
    }
    // A header length past the end of the file.
    let path = std::env::temp_dir().join(format!("antorcha_nn_hostile_len_{}", std::process::id()));
    std::fs::write(&path, u64::MAX.to_le_bytes()).unwrap();
    assert!(matches!(
        read_safetensors::<f32>(&path).unwrap_err(),
        NnError::Format { .. }
    ));
    std::fs::remove_file(&path).unwrap();
}

/// `Conv2d` with padding `usize::MAX` once returned shape `[1, 2, 1, 1]`; PyTorch raises
/// ("expected padding to be at most ..."). Any overflowing geometry is an error naming the op.
#[test]
fn overflowing_conv_and_pool_geometry_is_an_error() {
    let x = Var::<f32>::zeros(&[1, 1, 3, 3]);
    let conv: Conv2d = Conv2d::new(1, 2, 2).padding(usize::MAX);
    let e = conv.try_forward(&x).unwrap_err();
    assert!(
        e.to_string().contains("conv2d") && e.to_string().contains("padding"),
        "{e}"
    );
    let w = Var::<f32>::zeros(&[2, 1, 2, 2]);
    for (stride, padding) in [
        (1, usize::MAX / 2),
        (1, usize::MAX / 4),
        (1, 1 << 40),
        (usize::MAX, usize::MAX),
    ] {
        let e = try_conv2d(&x, &w, None, stride, padding).unwrap_err();
        assert!(e.to_string().contains("conv2d"), "{stride} {padding}: {e}");
    }
    // A huge stride is fine: one window, as in PyTorch (`[1, 2, 1, 1]`).
    assert_eq!(
        try_conv2d(&x, &w, None, usize::MAX, 0).unwrap().shape(),
        vec![1, 2, 1, 1]
    );
    // A huge kernel is larger than the padded input.
    let wide = Var::<f32>::zeros(&[1, 1, 1, 1]);
    assert!(try_conv2d(&x, &wide, None, 1, 1 << 62).is_err());

    let e = try_max_pool2d(&x, 2, 1, usize::MAX).unwrap_err();
    assert!(e.to_string().contains("max_pool2d"), "{e}");
    let e = MaxPool2d::new(usize::MAX)
        .padding(usize::MAX / 2)
        .try_forward(&x)
        .unwrap_err();
    assert!(e.to_string().contains("max_pool2d"), "{e}");
}

/// Dilations, groups and `"same"` paddings that overflow or do not fit are errors naming the
/// op, never a panic or a wrapped size.
#[test]
fn hostile_conv_options_are_errors() {
    use antorcha_nn::functional::conv2d_with;
    let x = Var::<f32>::zeros(&[1, 2, 4, 4]);
    let w = Var::<f32>::zeros(&[2, 2, 3, 3]);
    for dilation in [usize::MAX, usize::MAX / 2] {
        let e = conv2d_with(&x, &w, None, 1, "same", dilation, 1).unwrap_err();
        assert!(e.to_string().contains("conv2d"), "{dilation}: {e}");
    }
    // A huge dilation with "same" pads as much: every tap but the centre reads zeros, as in
    // PyTorch, and the output keeps the input's size.
    let y = conv2d_with(&x, &w, None, 1, "same", 1 << 40, 1).unwrap();
    assert_eq!(y.shape(), vec![1, 2, 4, 4]);
    for dilation in [usize::MAX, usize::MAX / 2, 1 << 40] {
        let e = conv2d_with(&x, &w, None, 1, 0, dilation, 1).unwrap_err();
        assert!(e.to_string().contains("conv2d"), "{dilation}: {e}");
    }
    assert!(conv2d_with(&x, &w, None, 1, 0, 1, 0).is_err());
    assert!(conv2d_with(&x, &w, None, 1, 0, 1, usize::MAX).is_err());
    assert!(conv2d_with(&x, &w, None, 0, 0, 1, 1).is_err());
    assert!(conv2d_with(&x, &w, None, 1, "full", 1, 1).is_err());
    assert!(conv2d_with(&x, &Var::zeros(&[2, 2, 3]), None, 1, 0, 1, 1).is_err());
    let e = conv2d_with(&x, &w, None, 2, "same", 1, 1).unwrap_err();
    assert!(e.to_string().contains("strided convolutions"), "{e}");
}
