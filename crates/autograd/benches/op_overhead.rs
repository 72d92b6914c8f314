//! Per-op autograd overhead (WORKLOADS.md W3): a chain of 10,000 elementwise ops on a
//! one-element var (and on 1000 elements), forward and backward together.

use antorcha_autograd::Var;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn chain(x: &Var<f32>, n: usize) -> Var<f32> {
    let mut y = x.clone();
    for i in 0..n {
        y = if i % 2 == 0 { &y * 1.0001 } else { &y + 0.0001 };
    }
    y
}

fn op_overhead(c: &mut Criterion) {
    const OPS: usize = 10_000;
    let mut group = c.benchmark_group("w3_op_overhead");
    group.sample_size(20);
    group.throughput(Throughput::Elements(OPS as u64));
    for numel in [1usize, 1000] {
        group.bench_function(format!("chain_10000_ops_numel_{numel}"), |bch| {
            bch.iter_batched(
                || Var::ones(&[numel]).requires_grad(),
                |x| {
                    chain(&x, OPS).sum().backward().unwrap();
                    x
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, op_overhead);
criterion_main!(benches);
