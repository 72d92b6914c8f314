#!/usr/bin/env python3
"""The workloads of docs/WORKLOADS.md in PyTorch (CPU), timed like examples/bench_workloads.rs.

    python benches/torch_bench.py [--threads N] [--quick] [--only W1,W3]

Runs in-process, with torch.set_num_threads(N), and prints one JSON object on stdout in the
same shape as the Rust timer's (progress goes to stderr): per workload the median of the
repeats after one warm-up, in the same unit. `cargo xtask bench` runs it beside the Rust
workloads (ANTORCHA_TORCH_PYTHON names the Python, else python3) and prints the comparison.
W1 and W1b are the notebook's Examples 3 and 2, literally.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

LINREG_EPOCHS = 1000
CHAIN_OPS = 10_000
MLP_SAMPLES = 60_000
BATCH = 64
QUICK_BATCHES = 8  # batches of the W2/W4 dataset in a quick (smoke) run


def timed(repeats, setup, run):
    """Runs setup() then times run(state) (seconds), one warm-up plus `repeats` times."""
    samples = []
    for i in range(repeats + 1):
        state = setup()
        start = time.perf_counter()
        run(state)
        seconds = time.perf_counter() - start
        if i > 0:
            samples.append(seconds)
    return samples


def proc_status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def os_threads():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def load_average():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def training_epochs(wid, what, repeats, batches, samples, epoch):
    """`repeats` timed training epochs (`epoch()` returns the last loss) per full 937-batch
    epoch, with the peak and starting RSS and the dataset's size, as bench_workloads.rs."""
    rss_before = proc_status_kb("VmRSS")
    reset = reset_peak_rss()
    last = {}
    s = timed(repeats, lambda: None, lambda _: last.update(loss=epoch()))
    peak = proc_status_kb("VmHWM")
    scale = (MLP_SAMPLES // BATCH) / batches
    r = record(wid, what, "s/epoch", True, [t * scale for t in s])
    r["batches_timed"] = batches
    r["last_loss"] = last.get("loss")
    r["peak_rss_mb"] = None if peak is None else peak / 1024
    r["peak_rss_reset"] = reset
    r["rss_before_mb"] = None if rss_before is None else rss_before / 1024
    r["dataset_mb"] = samples * (784 * 4 + 8) / 2**20
    return r

def record(wid, what, unit, lower_is_better, samples):
    return {
        "id": wid,
        "what": what,
        "unit": unit,
        "lower_is_better": lower_is_better,
        "median": statistics.median(samples),
        "samples": samples,
        "os_threads_after": os_threads(),
    }


def notebook_data():
    # The notebook's data generation and split, literally.
    np.random.seed(42)
    x = np.random.rand(100, 1)
    y = 1 + 2 * x + .1 * np.random.randn(100, 1)
    idx = np.arange(100)
    np.random.shuffle(idx)
    train_idx = idx[:80]
    x_train, y_train = x[train_idx], y[train_idx]
    x_train_tensor = torch.from_numpy(x_train).float()
    y_train_tensor = torch.from_numpy(y_train).float()
    return x_train_tensor, y_train_tensor


def linreg_params():
    torch.manual_seed(42)
    a = torch.randn(1, requires_grad=True, dtype=torch.float)
    b = torch.randn(1, requires_grad=True, dtype=torch.float)
    return a, b


def w1_setup():
    a, b = linreg_params()
    lr = 1e-1
    optimizer = optim.SGD([a, b], lr=lr)
    return a, b, optimizer


def w1_run(state, x_train_tensor, y_train_tensor):
    # The notebook's Example 3.
    a, b, optimizer = state
    n_epochs = LINREG_EPOCHS
    for epoch in range(n_epochs):
        yhat = a + b * x_train_tensor
        error = y_train_tensor - yhat
        loss = (error ** 2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def w1b_run(state, x_train_tensor, y_train_tensor):
    # The notebook's Example 2.
    a, b = state
    lr = 1e-1
    n_epochs = LINREG_EPOCHS
    for epoch in range(n_epochs):
        yhat = a + b * x_train_tensor
        error = y_train_tensor - yhat
        loss = (error ** 2).mean()
        loss.backward()
        with torch.no_grad():
            a -= lr * a.grad
            b -= lr * b.grad
        a.grad.zero_()
        b.grad.zero_()


def w3_chain(numel, ops):
    x = torch.ones(numel, requires_grad=True)
    y = x
    for i in range(ops):
        y = y * 1.0001 if i % 2 == 0 else y + 0.0001
    y.sum().backward()
    del y
    return x.grad[0].item()


W6_SIZES = (("1MiB", 256), ("64MiB", 16384))
W6_OPS = ("reshape", "transpose", "permute", "unsqueeze", "expand", "narrow")
W6_VIEWS = 10_000


def w6_view(x, op):
    if op == "reshape":
        return x.reshape(1024, -1)
    if op == "transpose":
        return x.transpose(0, 1)
    if op == "permute":
        return x.permute(1, 0)
    if op == "unsqueeze":
        return x.unsqueeze(0)
    if op == "expand":
        return x.expand(4, -1, -1)
    if op == "narrow":
        return x.narrow(1, 0, 512)
    raise ValueError(op)


def w6_run(x, op, views):
    for _ in range(views):
        w6_view(x, op)


def mlp_data(samples):
    torch.manual_seed(0)
    x = torch.randn(samples, 784)
    y = torch.randint(0, 10, (samples,))
    return x, y


class W2:
    def __init__(self, data):
        torch.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        self.loss_fn = nn.CrossEntropyLoss()
        self.optimizer = optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.loader = DataLoader(TensorDataset(*data), batch_size=BATCH, shuffle=True,
                                 drop_last=True)

    def epoch(self):
        loss = None
        for xb, yb in self.loader:
            loss = self.loss_fn(self.model(xb), yb)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return float("nan") if loss is None else loss.item()


def cnn_data(samples):
    x, y = mlp_data(samples)
    return x.view(samples, 1, 28, 28), y


CNN_EVAL_SAMPLES = 10_000
CNN_EVAL_BATCH = 1000


def w5_model(batch_norm):
    torch.manual_seed(0)
    layers = [nn.Conv2d(1, 32, 3)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(32))
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(64))
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(),
               nn.Linear(128, 10)]
    return nn.Sequential(*layers)


class W5(W2):
    def __init__(self, data, batch_norm):  # noqa: D107 (W2's epoch, another model)
        self.model = w5_model(batch_norm)
        self.loss_fn = nn.CrossEntropyLoss()
        self.optimizer = optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.loader = DataLoader(TensorDataset(*data), batch_size=BATCH, shuffle=True,
                                 drop_last=True)


def w5_eval(model, x):
    zeros = 0
    with torch.no_grad():
        for start in range(0, x.shape[0], CNN_EVAL_BATCH):
            out = model(x[start:start + CNN_EVAL_BATCH])
            zeros += int((out.argmax(1) == 0).sum())
    return zeros


def w5_gemms():
    """W5's GEMMs of a step, each convolution as one im2col product over the batch."""
    g = torch.Generator().manual_seed(1)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    b = BATCH
    l1, l2 = b * 26 * 26, b * 11 * 11
    shapes = [
        ("conv1 forward [32,9]x[9,64*676]", r(32, 9), r(9, l1)),
        ("conv1 grad weight [32,64*676]x[64*676,9]", r(32, l1), r(9, l1).t()),
        ("conv2 forward [64,288]x[288,64*121]", r(64, 288), r(288, l2)),
        ("conv2 grad input [288,64]x[64,64*121]", r(64, 288).t(), r(64, l2)),
        ("conv2 grad weight [64,64*121]x[64*121,288]", r(64, l2), r(288, l2).t()),
        ("fc1 forward [64,1600]x[1600,128]", r(b, 1600), r(128, 1600).t()),
        ("fc1 grad input [64,128]x[128,1600]", r(b, 128), r(128, 1600)),
        ("fc1 grad weight [128,64]x[64,1600]", r(b, 128).t(), r(b, 1600)),
        ("fc2 forward [64,128]x[128,10]", r(b, 128), r(10, 128).t()),
        ("fc2 grad input [64,10]x[10,128]", r(b, 10), r(10, 128)),
        ("fc2 grad weight [10,64]x[64,128]", r(b, 10).t(), r(b, 128)),
    ]
    return [(name, lhs, rhs, torch.empty(lhs.shape[0], rhs.shape[1])) for name, lhs, rhs in shapes]


def gemm_floor(light, iters, gemms):
    step = [0.0] * light
    shapes = []
    flops_step = 0
    for name, lhs, rhs, out in gemms:
        def run(_):
            for _ in range(iters):
                torch.mm(lhs, rhs, out=out)
        per = [t / iters for t in timed(light, lambda: None, run)]
        step = [a + t for a, t in zip(step, per)]
        t = statistics.median(per)
        flops = 2 * lhs.shape[0] * lhs.shape[1] * rhs.shape[1]
        flops_step += flops
        shapes.append({"gemm": name, "seconds": t, "gflops": flops / t / 1e9})
    steps = MLP_SAMPLES / BATCH
    return [t * steps for t in step], shapes, flops_step * steps


def w4_epoch(loader):
    seen, touch = 0, 0.0
    for xb, yb in loader:
        touch += xb[0, 0].item() + yb[0].item()
        seen += yb.shape[0]
    return seen


def w2_gemms():
    """The six GEMMs of a W2 step, laid out as nn.Linear holds them (weights [out, in])."""
    g = torch.Generator().manual_seed(1)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    b, i, h, c = BATCH, 784, 256, 10
    shapes = [
        ("fc1 forward [64,784]x[784,256]", r(b, i), r(h, i).t()),
        ("fc1 grad input [64,256]x[256,784]", r(b, h), r(h, i)),
        ("fc1 grad weight [256,64]x[64,784]", r(b, h).t(), r(b, i)),
        ("fc2 forward [64,256]x[256,10]", r(b, h), r(c, h).t()),
        ("fc2 grad input [64,10]x[10,256]", r(b, c), r(c, h)),
        ("fc2 grad weight [10,64]x[64,256]", r(b, c).t(), r(b, h)),
    ]
    return [(name, lhs, rhs, torch.empty(lhs.shape[0], rhs.shape[1])) for name, lhs, rhs in shapes]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=None)
    args = parser.parse_args()
    quick = args.quick or os.environ.get("ANTORCHA_BENCH_QUICK", "0") not in ("", "0")
    only = None if args.only is None else {s.upper() for s in args.only.split(",")}
    wants = lambda wid: only is None or wid.upper() in only  # noqa: E731
    load_start = load_average()
    torch.set_num_threads(args.threads)
    light, heavy = (3, 2) if quick else (9, 5)
    mlp_samples = QUICK_BATCHES * BATCH if quick else MLP_SAMPLES
    results = []

    def progress(wid):
        print(f"pytorch {wid} ({args.threads} thread(s))...", file=sys.stderr, flush=True)

    x_train_tensor, y_train_tensor = notebook_data()
    per_epoch_us = lambda s: [t * 1e6 / LINREG_EPOCHS for t in s]  # noqa: E731
    if wants("W1"):
        progress("W1")
        fit = {}

        def run(state):
            w1_run(state, x_train_tensor, y_train_tensor)
            fit.update(a=state[0].item(), b=state[1].item())

        r = record("W1", "linreg, Example 3 (optim.SGD), 1000 epochs", "us/epoch", True,
                   per_epoch_us(timed(light, w1_setup, run)))
        r["fit"] = fit
        results.append(r)
    if wants("W1b"):
        progress("W1b")
        fit = {}

        def run(state):
            w1b_run(state, x_train_tensor, y_train_tensor)
            fit.update(a=state[0].item(), b=state[1].item())

        r = record("W1b", "linreg, Example 2 (manual update under no_grad)", "us/epoch", True,
                   per_epoch_us(timed(light, linreg_params, run)))
        r["fit"] = fit
        results.append(r)
    for wid, numel in (("W3", 1), ("W3b", 1000)):
        if wants(wid):
            progress(wid)
            s = timed(light, lambda: None, lambda _: w3_chain(numel, CHAIN_OPS))
            results.append(record(wid, f"10,000-op chain on [{numel}], forward + backward",
                                  "us/op", True, [t * 1e6 / CHAIN_OPS for t in s]))
    if wants("W6"):
        for size, rows in W6_SIZES:
            x = torch.zeros(rows, 1024, requires_grad=True)
            for op in W6_OPS:
                wid = f"W6-{op}-{size}"
                progress(wid)
                s = timed(light, lambda: None, lambda _: w6_run(x, op, W6_VIEWS))
                results.append(record(wid, f"{op} of a [{rows}, 1024] f32 leaf requiring grad, "
                                      "recorded", "us/op", True,
                                      [t * 1e6 / W6_VIEWS for t in s]))
    if wants("W2-floor"):
        progress("W2-floor")
        iters = 2 if quick else 200
        step = [0.0] * light
        shapes = []
        for name, lhs, rhs, out in w2_gemms():
            def run(_):
                for _ in range(iters):
                    torch.mm(lhs, rhs, out=out)
            per = [t / iters for t in timed(light, lambda: None, run)]
            step = [a + t for a, t in zip(step, per)]
            t = statistics.median(per)
            flops = 2 * lhs.shape[0] * lhs.shape[1] * rhs.shape[1]
            shapes.append({"gemm": name, "seconds": t, "gflops": flops / t / 1e9})
        steps = MLP_SAMPLES / BATCH
        s = [t * steps for t in step]
        r = record("W2-floor", "W2's GEMMs alone at measured sgemm rate (torch.mm)", "s/epoch",
                   True, s)
        r["gflops"] = MLP_SAMPLES * 2 * 3 * (784 * 256 + 256 * 10) / statistics.median(s) / 1e9
        # The first layer's input needs no gradient (PyTorch skips that product too).
        r["without_fc1_grad_input"] = steps * sum(
            s["seconds"] for s in shapes if not s["gemm"].startswith("fc1 grad input"))
        r["shapes"] = shapes
        results.append(r)
    if wants("W5-floor"):
        progress("W5-floor")
        s, shapes, flops = gemm_floor(light, 1 if quick else 10, w5_gemms())
        r = record("W5-floor", "W5's GEMMs (conv as im2col over the batch) alone at measured "
                   "sgemm rate (torch.mm)", "s/epoch", True, s)
        r["gflops"] = flops / statistics.median(s) / 1e9
        r["tflop_per_epoch"] = flops / 1e12
        r["shapes"] = shapes
        results.append(r)
    if wants("W5") or wants("W5b") or wants("W5-eval"):
        print(f"generating the {mlp_samples} x 1 x 28 x 28 dataset...", file=sys.stderr,
              flush=True)
        data = cnn_data(mlp_samples)
        repeats = 2 if quick else 3
        for wid, batch_norm in (("W5", False), ("W5b", True)):
            if not wants(wid):
                continue
            progress(wid)
            w5 = W5(data, batch_norm)
            what = ("CNN epoch with BatchNorm2d after each conv, SGD momentum, batch 64, loading "
                    "included" if batch_norm else "CNN epoch (2 conv, 2 max-pool, 2 linear), SGD "
                    "momentum, batch 64, loading included")
            results.append(training_epochs(wid, what, repeats, len(w5.loader), mlp_samples,
                                           w5.epoch))
        if wants("W5-eval"):
            progress("W5-eval")
            model = w5_model(False)
            model.eval()
            n = min(CNN_EVAL_SAMPLES, mlp_samples)
            x = data[0][:n]
            s = timed(light, lambda: None, lambda _: w5_eval(model, x))
            r = record("W5-eval", "W5's net in eval mode under no_grad, 10000 samples, batch 1000",
                       "samples/s", False, [n / t for t in s])
            r["samples"] = n
            results.append(r)
    if wants("W2") or wants("W4"):
        print(f"generating the {mlp_samples} x 784 dataset...", file=sys.stderr, flush=True)
        data = mlp_data(mlp_samples)
        if wants("W2"):
            progress("W2")
            w2 = W2(data)
            results.append(training_epochs(
                "W2", "MLP 784-256-10 epoch, SGD momentum, batch 64, loading included", heavy,
                len(w2.loader), mlp_samples, w2.epoch))
        if wants("W4"):
            progress("W4")
            loader = DataLoader(TensorDataset(*data), batch_size=BATCH, shuffle=True)
            seen = {}
            s = timed(light, lambda: None, lambda _: seen.update(n=w4_epoch(loader)))
            r = record("W4", "DataLoader epoch, 60000 x 784 f32 + i64 labels, batch 64, shuffle",
                       "M samples/s", False, [seen["n"] / t / 1e6 for t in s])
            r["samples_per_epoch"] = seen["n"]
            results.append(r)

    out = {
        "system": "pytorch",
        "threads": args.threads,
        "torch_threads": torch.get_num_threads(),
        "quick": quick,
        "repeats": {"light": light, "heavy": heavy, "warmup": 1},
        "versions": {"torch": torch.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "load_average": [load_start, load_average()],
        "results": results,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
