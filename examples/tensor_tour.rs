//! A short tour of `antorcha::tensor`: creation, broadcasting, reductions, matmul, printing.
//!
//! `cargo run --release --example tensor_tour`

use antorcha::tensor::{manual_seed, Tensor};

fn main() {
    manual_seed(42);
    let x = Tensor::<f32>::arange(0.0, 6.0, 1.0).reshape(&[2, 3]);
    println!("x =\n{x}");
    let col = Tensor::from_vec(vec![10.0f32, 20.0], &[2, 1]);
    println!("x + col (broadcast [2, 3] with [2, 1]) =\n{}", &x + &col);
    println!("x.sum_dim(1) = {}", x.sum_dim(1, false));
    println!("x.mean() = {}", x.mean());
    println!("x @ x.t() =\n{}", x.matmul(&x.t()));
    println!("softmax(x, dim=1) =\n{}", x.softmax(1));
    let r = Tensor::<f32>::randn(&[2, 2]);
    println!("randn(2, 2) after manual_seed(42) =\n{r}");
    match x.try_add(&Tensor::zeros(&[3, 2])) {
        Ok(_) => unreachable!("[2, 3] and [3, 2] do not broadcast"),
        Err(e) => println!("x + zeros(3, 2) -> error: {e}"),
    }
}
