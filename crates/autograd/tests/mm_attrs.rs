//! `MmBackward0` and `AddmmBackward0` carry the attributes PyTorch saves for them (what
//! torchviz shows with `show_attrs`), with PyTorch's values. Expected values printed by
//! PyTorch 2.x for `a [4, 3]`, `w [2, 3]`, `b [2]`:
//!
//! ```text
//! a @ w.t()           MmBackward0   {mat2_sym_sizes: (3, 2), mat2_sym_strides: (1, 3), self_sym_sizes: (4, 3), self_sym_strides: (3, 1)}
//! a.t() @ a           MmBackward0   {mat2_sym_sizes: (4, 3), mat2_sym_strides: (3, 1), self_sym_sizes: (3, 4), self_sym_strides: (1, 3)}
//! F.linear(a, w, b)   AddmmBackward0 {alpha: 1, beta: 1, mat1_sym_sizes: (4, 3), mat1_sym_strides: (3, 1), mat2_sym_sizes: (3, 2), mat2_sym_strides: (1, 3)}
//! F.linear(a, w)      MmBackward0   {as a @ w.t()}
//! ```

use antorcha_autograd::{Attr, Var};

fn attrs(v: &Var<f32>) -> Vec<(&'static str, Attr)> {
    v.grad_fn().expect("recorded").attrs()
}

fn ints(v: &[i64]) -> Attr {
    Attr::Ints(v.to_vec())
}

#[test]
fn mm_and_addmm_save_pytorchs_sizes_and_strides() {
    let a = Var::<f32>::ones(&[4, 3]).requires_grad();
    let w = Var::<f32>::ones(&[2, 3]).requires_grad();
    let b = Var::<f32>::ones(&[2]).requires_grad();
    let mm = vec![
        ("mat2_sym_sizes", ints(&[3, 2])),
        ("mat2_sym_strides", ints(&[1, 3])),
        ("self_sym_sizes", ints(&[4, 3])),
        ("self_sym_strides", ints(&[3, 1])),
    ];
    assert_eq!(attrs(&a.mm_t(&w, false, true)), mm);
    assert_eq!(attrs(&a.linear(&w, None)), mm);
    assert_eq!(
        attrs(&a.mm_t(&a, true, false)),
        vec![
            ("mat2_sym_sizes", ints(&[4, 3])),
            ("mat2_sym_strides", ints(&[3, 1])),
            ("self_sym_sizes", ints(&[3, 4])),
            ("self_sym_strides", ints(&[1, 3])),
        ]
    );
    let addmm = a.linear(&w, Some(&b));
    assert_eq!(addmm.grad_fn_name(), Some("AddmmBackward0"));
    assert_eq!(
        attrs(&addmm),
        vec![
            ("alpha", Attr::Int(1)),
            ("beta", Attr::Int(1)),
            ("mat1_sym_sizes", ints(&[4, 3])),
            ("mat1_sym_strides", ints(&[3, 1])),
            ("mat2_sym_sizes", ints(&[3, 2])),
            ("mat2_sym_strides", ints(&[1, 3])),
        ]
    );
}
