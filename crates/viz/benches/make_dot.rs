//! `make_dot` and the DOT text of a 100,000-node chain (the spec asks for well under a second).

use std::hint::black_box;

use antorcha_autograd::Var;
use antorcha_viz::{make_dot, DotOptions};
use criterion::{criterion_group, criterion_main, Criterion};

fn chain(n: usize) -> Var<f32> {
    // leaf, AccumulateGrad, n - 3 ops, output: n nodes.
    let mut x = Var::from_vec(vec![1.0f32], &[1]).requires_grad();
    for _ in 0..n - 3 {
        x = x.add_scalar(1.0);
    }
    x
}

fn bench(c: &mut Criterion) {
    let out = chain(100_000);
    let mut group = c.benchmark_group("make_dot_chain_100k");
    group.sample_size(10);
    group.bench_function("make_dot", |b| {
        b.iter(|| black_box(make_dot(&out, &[], &DotOptions::default())))
    });
    group.bench_function("make_dot+to_dot", |b| {
        b.iter(|| black_box(make_dot(&out, &[], &DotOptions::default()).to_dot()))
    });
    let opts = DotOptions::new().show_attrs(true).show_saved(true);
    group.bench_function("make_dot+to_dot attrs saved", |b| {
        b.iter(|| black_box(make_dot(&out, &[], &opts).to_dot()))
    });
    let dot = make_dot(&out, &[], &DotOptions::default());
    assert_eq!(dot.graph.node_count(), 100_000);
    group.bench_function("to_svg", |b| b.iter(|| black_box(dot.to_svg())));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
