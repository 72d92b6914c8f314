//! The notebook's Example 1: linear regression by gradient descent with the gradients written
//! by hand, on tensors, in f64 as numpy computes it.
//!
//! `cargo run --release --example linear_regression_manual -- [--epochs N] [--out DIR]`

mod common;

use antorcha::data::RandomState;
use antorcha::tensor::Tensor;
use common::{notebook_data, report_check, write_pictures, NotebookData, Options};

/// Trains `y = a + b x`; returns the initial and fitted `(a, b)` and the loss of each epoch.
fn train(data: &NotebookData, epochs: usize) -> ((f64, f64), (f64, f64), Vec<f64>) {
    // np.random.seed(42); a = np.random.randn(1); b = np.random.randn(1)
    let mut rs = RandomState::new(42);
    let mut a = rs.randn(&[1]);
    let mut b = rs.randn(&[1]);
    let init = (a.item(), b.item());
    let lr = 0.1;
    let (x, y) = (&data.x_train, &data.y_train);
    let mut losses = Vec::with_capacity(epochs);
    for _ in 0..epochs {
        let yhat = &a + &(&b * x); //                 yhat = a + b * x_train
        let error = y - &yhat; //                     error = (y_train - yhat)
        losses.push(error.powf(2.0).mean().item()); // loss = (error ** 2).mean()
        let a_grad = error.mean() * -2.0; //          a_grad = -2 * error.mean()
        let b_grad = (x * &error).mean() * -2.0; //   b_grad = -2 * (x_train * error).mean()
        a = &a - &(a_grad * lr); //                   a = a - lr * a_grad
        b = &b - &(b_grad * lr); //                   b = b - lr * b_grad
    }
    (init, (a.item(), b.item()), losses)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::from_args("linear_regression_manual");
    let data = notebook_data();
    let (init, (a, b), losses) = train(&data, options.epochs);
    println!(
        "a and b after initialization: {} {}",
        Tensor::from(vec![init.0]),
        Tensor::from(vec![init.1])
    );
    println!(
        "a and b after {} epochs: {} {}",
        options.epochs,
        Tensor::from(vec![a]),
        Tensor::from(vec![b])
    );
    println!("fitted a = {a:.8}, b = {b:.8}");
    report_check(a, b, &data, 1e-5);
    for path in write_pictures::<f64>(&options.out, &data, &losses, (a, b), None)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_the_notebooks_numbers() {
        let data = notebook_data();
        let (init, (a, b), losses) = train(&data, 1000);
        // numpy's values (numpy_randomstate.json, seed_notebook.gd).
        assert_eq!(init, (0.4967141530112327, -0.13826430117118466));
        assert!((a - 1.02354093708).abs() < 1e-9, "a = {a}");
        assert!((b - 1.9689641135454565).abs() < 1e-9, "b = {b}");
        assert!(report_check(a, b, &data, 1e-5));
        assert!(losses[999] < losses[0]);
    }
}
