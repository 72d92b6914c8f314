//! The workloads of `docs/WORKLOADS.md` as criterion benches:
//!
//! ```sh
//! ANTORCHA_NUM_THREADS=1 cargo bench --bench workloads   # 1 thread
//! ANTORCHA_NUM_THREADS=2 cargo bench --bench workloads   # 2 threads (Antorcha's default is
//!                                                        # every core; MATMUL_NUM_THREADS and
//!                                                        # RAYON_NUM_THREADS likewise, if used)
//! ANTORCHA_BENCH_QUICK=1 cargo bench --bench workloads -- --quick   # smoke run
//! ```
//!
//! One iteration is: W1/W1b/W1-floor 1000 epochs (throughput in epochs), W2 one epoch of
//! 937 batches (in samples), W2-floor one product of each of its six GEMMs, W3/W3b the
//! 10,000-op chain (in ops), W4 one loader epoch (in samples), W5/W5b one CNN epoch (in
//! samples), W5-eval 10,000 samples classified, W5-floor one product of each of its GEMMs, W6
//! 10,000 views (in views). `ANTORCHA_BENCH_QUICK` shrinks the W2/W4/W5 datasets to 8 batches. `cargo xtask bench` times the same code with
//! WORKLOADS.md's median-of-repeats rule and compares it with PyTorch.

mod common;

use std::time::Duration;

use common::*;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn quick() -> bool {
    std::env::var_os("ANTORCHA_BENCH_QUICK").is_some_and(|v| v != "0")
}

fn linreg(c: &mut Criterion) {
    let data = LinregData::new();
    let mut group = c.benchmark_group("w1_linreg_1000_epochs");
    group.throughput(Throughput::Elements(LINREG_EPOCHS as u64));
    group.bench_function("W1_sgd", |bch| {
        bch.iter_batched_ref(
            || W1::new(&data),
            |w| w.run(LINREG_EPOCHS),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("W1b_manual_no_grad", |bch| {
        bch.iter_batched_ref(
            || W1b::new(&data),
            |w| w.run(LINREG_EPOCHS),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("W1_floor_slices", |bch| {
        bch.iter_batched_ref(
            || W1Floor::new(&data),
            |w| w.run(LINREG_EPOCHS),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn op_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("w3_chain_10000_ops");
    group.throughput(Throughput::Elements(CHAIN_OPS as u64));
    for (id, numel) in [("W3_numel_1", 1usize), ("W3b_numel_1000", 1000)] {
        group.bench_function(id, |bch| bch.iter(|| w3_chain(numel, CHAIN_OPS)));
    }
    group.finish();
}

fn gemm_floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("w2_floor_sgemm");
    for mut g in w2_gemms() {
        group.throughput(Throughput::Elements(g.flops() as u64));
        group.bench_function(g.name, |bch| bch.iter(|| g.run()));
    }
    group.finish();
}

fn mlp_and_loader(c: &mut Criterion) {
    let samples = if quick() {
        QUICK_BATCHES * BATCH
    } else {
        MLP_SAMPLES
    };
    let data = mlp_data(samples);

    let mut group = c.benchmark_group("w2_mlp_epoch");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(if quick() { 1 } else { 20 }));
    let mut w2 = W2::new(&data);
    group.throughput(Throughput::Elements((w2.batches() * BATCH) as u64));
    group.bench_function("W2_784_256_10_sgd_momentum", |bch| bch.iter(|| w2.epoch()));
    group.finish();

    let mut group = c.benchmark_group("w4_dataloader_epoch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(samples as u64));
    let loader = loader(&data, false);
    group.bench_function("W4_batch_64_shuffle", |bch| bch.iter(|| w4_epoch(&loader)));
    group.finish();
}

fn cnn(c: &mut Criterion) {
    let samples = if quick() {
        QUICK_BATCHES * BATCH
    } else {
        MLP_SAMPLES
    };
    let data = cnn_data(samples);
    let mut group = c.benchmark_group("w5_cnn_epoch");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(if quick() { 1 } else { 60 }));
    for (id, batch_norm) in [("W5_cnn_sgd_momentum", false), ("W5b_cnn_batch_norm", true)] {
        let mut w5 = W5::new(&data, batch_norm);
        group.throughput(Throughput::Elements((w5.batches() * BATCH) as u64));
        group.bench_function(id, |bch| bch.iter(|| w5.epoch()));
    }
    group.finish();

    let mut group = c.benchmark_group("w5_eval");
    group.sample_size(10);
    let n = CNN_EVAL_SAMPLES.min(samples);
    let x = data.0.narrow(0, 0, n);
    let model = w5_eval_model();
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("W5-eval_batch_1000_no_grad", |bch| {
        bch.iter(|| w5_eval(&model, &x))
    });
    group.finish();

    let mut group = c.benchmark_group("w5_floor_sgemm");
    for mut g in w5_gemms() {
        group.throughput(Throughput::Elements(g.flops() as u64));
        group.bench_function(g.name, |bch| bch.iter(|| g.run()));
    }
    group.finish();
}

fn views(c: &mut Criterion) {
    assert!(w6_check(), "W6: a view's gradient differs from PyTorch's");
    let mut group = c.benchmark_group("w6_view_ops");
    group.throughput(Throughput::Elements(W6_VIEWS as u64));
    for (size, rows) in W6_SIZES {
        let x = w6_x(rows);
        for op in W6_OPS {
            group.bench_function(format!("W6_{op}_{size}"), |bch| {
                bch.iter(|| w6_run(&x, op, W6_VIEWS))
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    linreg,
    op_overhead,
    gemm_floor,
    mlp_and_loader,
    cnn,
    views
);
criterion_main!(benches);
