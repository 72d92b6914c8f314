//! DataLoader throughput on FashionMNIST-sized data: 60000 x 784 f32 features and i64 labels,
//! batch 64, shuffled. Run with
//! `cargo run --release -p antorcha-data --example loader_throughput [epochs] [num_workers]`.

use std::time::Instant;

use antorcha_data::{DataLoader, TensorDataset};
use antorcha_tensor::Tensor;

fn main() -> Result<(), antorcha_data::DataError> {
    let mut args = std::env::args().skip(1);
    let epochs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let workers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let (n, d) = (60_000, 784);
    let x = Tensor::from_vec(
        (0..n * d).map(|i| (i % 255) as f32 / 255.0).collect(),
        &[n, d],
    );
    let y = Tensor::from((0..n as i64).map(|i| i % 10).collect::<Vec<_>>());
    let loader = DataLoader::builder(TensorDataset::new((x, y))?)
        .batch_size(64)
        .shuffle(true)
        .seed(0)
        .num_workers(workers)
        .build()?;

    let mut checksum = 0i64;
    let start = Instant::now();
    let mut samples = 0usize;
    for _ in 0..epochs {
        for batch in &loader {
            let (xb, yb) = batch?;
            samples += xb.shape()[0];
            checksum += yb.to_vec()[0];
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{epochs} epochs, {} batches each, num_workers {workers}: {samples} samples in {secs:.3} s = {:.2} million samples/s (checksum {checksum})",
        loader.len(),
        samples as f64 / secs / 1e6
    );
    Ok(())
}
