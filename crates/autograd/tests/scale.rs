//! Long graphs: a million-op chain builds, runs backward and drops without a stack overflow.

use antorcha_autograd::Var;

#[test]
fn a_million_op_chain_builds_runs_backward_and_drops() {
    let x = Var::from_vec(vec![1.0f64], &[1]).requires_grad();
    let mut y = x.clone();
    for i in 0..1_000_000 {
        y = if i % 2 == 0 {
            &y * 1.000_000_1
        } else {
            &y + 1e-7
        };
    }
    let loss = y.sum();
    loss.backward().unwrap();
    let g = x.grad().unwrap().item();
    // d/dx of 500,000 multiplications by 1.0000001 is 1.0000001^500000.
    let want = 1.000_000_1f64.powi(500_000);
    assert!((g - want).abs() < 1e-9, "grad {g} vs {want}");
    drop(loss);
    drop(y);
    // Dropping a chain that was never differentiated must not recurse either.
    let mut z = x.clone();
    for _ in 0..1_000_000 {
        z = &z * 1.0;
    }
    drop(z);
}
