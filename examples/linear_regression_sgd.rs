//! The notebook's Example 3: autograd computes the gradients and `optim::SGD` updates the
//! parameters (`step`) and clears the gradients (`zero_grad`). f32, as the notebook's tensors.
//!
//! `cargo run --release --example linear_regression_sgd -- [--epochs N] [--out DIR]`

mod common;

use antorcha::autograd::Var;
use antorcha::optim::{Optimizer, SGD};
use antorcha::tensor::manual_seed;
use common::{notebook_data, report_check, write_pictures, NotebookData, Options};

/// The run's results: initial and fitted parameters, per-epoch losses, the last loss graph.
struct Run {
    init: (Var<f32>, Var<f32>),
    a: Var<f32>,
    b: Var<f32>,
    losses: Vec<f64>,
    last_loss: Var<f32>,
}

fn train(data: &NotebookData, epochs: usize) -> Result<Run, Box<dyn std::error::Error>> {
    // x_train_tensor = torch.from_numpy(x_train).float()
    let x = Var::new(data.x_train.cast::<f32>());
    let y = Var::new(data.y_train.cast::<f32>());
    // torch.manual_seed(42); a = torch.randn(1, requires_grad=True); b = ...
    manual_seed(42);
    let a = Var::randn(&[1]).requires_grad();
    let b = Var::randn(&[1]).requires_grad();
    let init = (a.detach().requires_grad(), b.detach().requires_grad());
    let lr = 0.1;
    // optimizer = optim.SGD([a, b], lr=lr)
    let mut optimizer = SGD::new(vec![a.clone(), b.clone()], lr)?;
    let mut losses = Vec::with_capacity(epochs);
    for _ in 0..epochs {
        let yhat = &a + &b * &x; //             yhat = a + b * x_train_tensor
        let error = &y - &yhat; //              error = y_train_tensor - yhat
        let loss = error.powf(2.0).mean(); //   loss = (error ** 2).mean()
        loss.backward()?; //                    loss.backward()
        optimizer.step()?; //                   optimizer.step()
        optimizer.zero_grad(); //               optimizer.zero_grad()
        losses.push(loss.item() as f64);
    }
    // The graph of the loss, as the notebook draws it with make_dot: one more forward pass.
    let last_loss = (&y - (&a + &b * &x)).powf(2.0).mean();
    Ok(Run {
        init,
        a,
        b,
        losses,
        last_loss,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::from_args("linear_regression_sgd");
    let data = notebook_data();
    let run = train(&data, options.epochs)?;
    println!(
        "a and b after initialization: {} {}",
        run.init.0, run.init.1
    );
    println!(
        "a and b after {} epochs: {} {}",
        options.epochs, run.a, run.b
    );
    let (a, b) = (run.a.item() as f64, run.b.item() as f64);
    println!("fitted a = {a:.8}, b = {b:.8}");
    report_check(a, b, &data, 1e-5);
    let graph = Some((&run.last_loss, &run.a, &run.b));
    for path in write_pictures(&options.out, &data, &run.losses, (a, b), graph)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_pytorchs_numbers() {
        let data = notebook_data();
        let run = train(&data, 1000).unwrap();
        // PyTorch's values (numpy_randomstate.json, seed_notebook.torch_float32_sgd).
        assert_eq!(run.init.0.item(), 0.336_690_37);
        assert_eq!(run.init.1.item(), 0.128_809_4);
        assert!(
            (run.losses[0] - 2.747_486_591_339_111_3).abs() < 1e-6,
            "{}",
            run.losses[0]
        );
        assert!((run.a.item() as f64 - 1.023_543_119_430_542).abs() < 1e-5);
        assert!((run.b.item() as f64 - 1.968_960_046_768_188_5).abs() < 1e-5);
        assert!(report_check(
            run.a.item() as f64,
            run.b.item() as f64,
            &data,
            1e-5
        ));
        assert_eq!(
            format!("{}", run.init.0),
            "tensor([0.3367], requires_grad=True)"
        );
    }
}
