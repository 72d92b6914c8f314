//! The notebook's Example 2: the gradients come from autograd (`backward`), the update runs
//! under `no_grad`, and the gradients are zeroed by hand. f32, as the notebook's tensors.
//!
//! `cargo run --release --example linear_regression_autograd -- [--epochs N] [--out DIR]`

mod common;

use antorcha::autograd::{no_grad, Var};
use antorcha::tensor::manual_seed;
#[cfg(test)]
use common::assert_pytorch_numbers;
use common::{notebook_data, report_torch_run, NotebookData, Options, TorchRun};

fn train(data: &NotebookData, epochs: usize) -> Result<TorchRun, Box<dyn std::error::Error>> {
    // x_train_tensor = torch.from_numpy(x_train).float()
    let x = Var::new(data.x_train.cast::<f32>());
    let y = Var::new(data.y_train.cast::<f32>());
    // torch.manual_seed(42); a = torch.randn(1, requires_grad=True); b = ...
    manual_seed(42);
    let a = Var::randn(&[1]).requires_grad();
    let b = Var::randn(&[1]).requires_grad();
    let init = (
        Var::new(a.data()).requires_grad(),
        Var::new(b.data()).requires_grad(),
    );
    let lr = 0.1;
    let mut losses = Vec::with_capacity(epochs);
    for _ in 0..epochs {
        let yhat = &a + &b * &x; //             yhat = a + b * x_train_tensor
        let error = &y - &yhat; //              error = y_train_tensor - yhat
        let loss = error.powf(2.0).mean(); //   loss = (error ** 2).mean()
        loss.backward()?; //                    loss.backward()
        {
            let _guard = no_grad(); //          with torch.no_grad():
            a.sub_(&(a.grad().expect("a has a gradient") * lr))?; // a -= lr * a.grad
            b.sub_(&(b.grad().expect("b has a gradient") * lr))?; // b -= lr * b.grad
        }
        a.fill_grad_zero(); //                  a.grad.zero_()
        b.fill_grad_zero(); //                  b.grad.zero_()
        losses.push(loss.item() as f64);
    }
    // The graph of the loss, as the notebook draws it with make_dot: one more forward pass.
    let last_loss = (&y - (&a + &b * &x)).powf(2.0).mean();
    Ok(TorchRun {
        init,
        a,
        b,
        losses,
        last_loss,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::from_args("linear_regression_autograd");
    let data = notebook_data();
    let run = train(&data, options.epochs)?;
    report_torch_run(&options, &data, &run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_pytorchs_numbers() {
        let data = notebook_data();
        assert_pytorch_numbers(&data, &train(&data, 1000).unwrap());
    }
}
