#!/usr/bin/env python3
"""C4 of docs/WORKLOADS.md in PyTorch: the notebook's FashionMNIST recipe, seeded, logging the
loss of every optimizer step, to compare with the Rust port step by step.

    python benches/c4_torch.py --data-dir data/FashionMNIST --log-steps torch_steps.csv
    cargo run --release --example fashion_mnist -- --data-dir data/FashionMNIST --epochs 1 \\
        --log-steps rust_steps.csv
    python benches/c4_torch.py --compare torch_steps.csv rust_steps.csv --steps 200

The recipe is the notebook's, in its order: ``torch.manual_seed(seed)``, the datasets (the IDX
files read with numpy; images as ``ToTensor`` makes them, ``uint8 / 255`` in float32), the
loaders (``DataLoader(train, batch_size=64, shuffle=True)`` and ``DataLoader(test,
batch_size=64)``), ``NeuralNetwork()`` (Flatten, Linear(784, 512), ReLU, Linear(512, 512),
ReLU, Linear(512, 10)), ``CrossEntropyLoss``, ``SGD(lr=1e-3)``; each epoch trains
(``loss.backward(); optimizer.step(); optimizer.zero_grad()``) then tests. It prints the test
accuracy after each epoch; ``--save-pt FILE`` saves the trained ``state_dict`` with
``torch.save`` (for the Rust example's ``--load FILE --epochs 0``).

``--make-like-fashion DIR`` writes a generated set in FashionMNIST's own files and sizes
(gzipped IDX, 60000 + 10000 images) for running the check where the real files cannot be had.
``--make-small DIR`` writes a small generated IDX set (a closed formula the Rust test
reproduces), and ``--fixture FILE`` writes the per-step losses and accuracies of a run as JSON:
it is how ``tests/fixtures/c4_small_torch.json`` was made:

    python benches/c4_torch.py --make-small SMALL_DIR --data-dir SMALL_DIR --epochs 3 --lr 0.1 \\
        --fixture tests/fixtures/c4_small_torch.json
"""

import argparse
import gzip
import json
import os

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SMALL = {True: 200, False: 50}  # the generated set: 200 training and 50 test images


def small_pixel(i, r, c, train):
    """The generated set's pixels: a closed formula (also in tests/c4_same_seed.rs)."""
    t = 0 if train else 1
    return (i * 37 + r * 11 + c * 5 + (r * c) % 7 + t * 101 + ((i * r) % 13) * (c % 3)) * 13 % 256


def small_label(i, train):
    t = 0 if train else 1
    return (i * 3 + i // 7 + t) % 10


def write_idx(path, array, magic):
    with open(path, "wb") as f:
        f.write(magic.to_bytes(4, "big"))
        for d in array.shape:
            f.write(int(d).to_bytes(4, "big"))
        f.write(array.astype(np.uint8).tobytes())


def make_small(root):
    os.makedirs(root, exist_ok=True)
    for train, n in SMALL.items():
        i, r, c = np.meshgrid(np.arange(n), np.arange(28), np.arange(28), indexing="ij")
        images = small_pixel(i, r, c, train)
        labels = np.array([small_label(k, train) for k in range(n)])
        write_idx(os.path.join(root, FILES[train][0]), images, 0x803)
        write_idx(os.path.join(root, FILES[train][1]), labels, 0x801)


def make_like_fashion(root):
    """A generated set in FashionMNIST's exact files and sizes (60000 + 10000 gzipped 28x28
    uint8 images, labels 0-9) for C4 where the real files cannot be had: each class is a fixed
    random 28x28 pattern, each image its class's pattern plus noise (numpy RandomState(0))."""
    os.makedirs(root, exist_ok=True)
    rng = np.random.RandomState(0)
    patterns = rng.uniform(0, 255, size=(10, 28, 28))
    for train, n in [(True, 60000), (False, 10000)]:
        labels = rng.randint(0, 10, size=n)
        noise = rng.normal(0, 80, size=(n, 28, 28))
        images = np.clip(patterns[labels] * 0.6 + noise, 0, 255).astype(np.uint8)
        for (name, array, magic) in [(FILES[train][0], images, 0x803), (FILES[train][1], labels, 0x801)]:
            path = os.path.join(root, name)
            write_idx(path, array, magic)
            with open(path, "rb") as f, gzip.open(path + ".gz", "wb") as g:
                g.write(f.read())
            os.remove(path)


def read_idx(root, name):
    for folder in [root, os.path.join(root, "FashionMNIST", "raw")]:
        for suffix, opener in [("", open), (".gz", gzip.open)]:
            path = os.path.join(folder, name + suffix)
            if os.path.exists(path):
                with opener(path, "rb") as f:
                    data = f.read()
                ndim = data[3]
                dims = [int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim)]
                return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)
    raise FileNotFoundError(f"{name} (or .gz) not found in {root}")


def dataset(root, train):
    images, labels = (read_idx(root, n) for n in FILES[train])
    x = torch.from_numpy(images.copy()).unsqueeze(1).to(torch.float32).div(255)  # ToTensor
    y = torch.from_numpy(labels.astype(np.int64))
    return TensorDataset(x, y)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
        )

    def forward(self, x):
        return self.linear_relu_stack(self.flatten(x))


def run(args):
    torch.manual_seed(args.seed)
    training_data, test_data = dataset(args.data_dir, True), dataset(args.data_dir, False)
    train_dataloader = DataLoader(training_data, batch_size=args.batch_size, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=args.batch_size)
    model = NeuralNetwork()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    losses, accuracies = [], []
    for epoch in range(args.epochs):
        model.train()
        for X, y in train_dataloader:
            loss = loss_fn(model(X), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        model.eval()
        correct = 0
        with torch.no_grad():
            for X, y in test_dataloader:
                correct += (model(X).argmax(1) == y).type(torch.float).sum().item()
        accuracies.append(int(correct))
        print(f"epoch {epoch + 1}: test accuracy {100 * correct / len(test_data):.2f}% "
              f"({int(correct)}/{len(test_data)})")
    if args.save_pt:
        torch.save(model.state_dict(), args.save_pt)
    if args.log_steps:
        with open(args.log_steps, "w") as f:
            f.write("step,loss\n")
            for step, loss in enumerate(losses, 1):
                f.write(f"{step},{loss!r}\n")
    if args.fixture:
        with open(args.fixture, "w") as f:
            json.dump({"torch": torch.__version__, "seed": args.seed, "epochs": args.epochs,
                       "batch_size": args.batch_size, "lr": args.lr, "train": SMALL[True],
                       "test": SMALL[False], "losses": losses, "correct": accuracies}, f, indent=1)


def read_steps(path):
    with open(path) as f:
        rows = [line.strip().split(",") for line in f if line.strip()]
    return {int(s): float(v) for s, v in rows[1:]}


def compare(torch_csv, rust_csv, steps):
    a, b = read_steps(torch_csv), read_steps(rust_csv)
    worst = 0.0
    print("step  pytorch        antorcha       rel. diff")
    for s in range(1, steps + 1):
        if s not in a or s not in b:
            raise SystemExit(f"step {s} missing")
        rel = abs(a[s] - b[s]) / abs(a[s])
        worst = max(worst, rel)
        if s <= 10 or s % 50 == 0:
            print(f"{s:4d}  {a[s]:.9f}  {b[s]:.9f}  {rel:.2e}")
    print(f"max relative difference over steps 1..{steps}: {worst:.2e} "
          f"({'within' if worst <= 1e-4 else 'NOT within'} 1e-4)")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default="data/FashionMNIST")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--log-steps", help="CSV step,loss of every optimizer step")
    p.add_argument("--save-pt", help="torch.save the trained state_dict here")
    p.add_argument("--make-small", metavar="DIR", help="write the small generated IDX set")
    p.add_argument("--make-like-fashion", metavar="DIR",
                   help="write a generated set of FashionMNIST's files and sizes (.gz)")
    p.add_argument("--fixture", help="write losses and accuracies as JSON")
    p.add_argument("--compare", nargs=2, metavar=("TORCH_CSV", "RUST_CSV"))
    p.add_argument("--steps", type=int, default=200, help="steps compared by --compare")
    args = p.parse_args()
    if args.compare:
        compare(*args.compare, args.steps)
        return
    if args.make_small:
        make_small(args.make_small)
    if args.make_like_fashion:
        make_like_fashion(args.make_like_fashion)
    run(args)


if __name__ == "__main__":
    main()
