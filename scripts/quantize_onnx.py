"""The MNIST MLP and CNN of `examples/mnist_mlp.rs` and `examples/mnist_cnn.rs`, from our
safetensors files (PyTorch's names and layouts), exported to ONNX and quantized by
onnxruntime's post-training static quantization (`quantize_static`: QDQ, int8 activations,
symmetric per-channel int8 weights, min-max calibration on the first N training digits, as
`quantize_mnist` does): accuracy on the full test set, and single-sample latency of the f32
and int8 models (one thread, median over rounds of the mean time per digit over the first
1,000 test digits), to put next to `cargo run --release --example quantize_mnist`.

Usage:
    ~/peers/bin/python scripts/quantize_onnx.py --mlp MLP.safetensors [--cnn CNN.safetensors]
        [--data data/mnist] [--calibration 300] [--rounds 5] [--out DIR]

`quantize_mnist --save-f32 MLP.safetensors` writes the MLP it quantizes (the freestanding
example's baked weights); `mnist_cnn --save CNN.safetensors` trains and writes the CNN.
Timings on a loaded machine mean little: run it in a quiet window, alternating with
`quantize_mnist`.
"""
import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
from safetensors.numpy import load_file
from torch import nn


def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist(directory):
    def find(name):
        for suffix in ("", ".gz"):
            p = os.path.join(directory, name + suffix)
            if os.path.exists(p):
                return p
        sys.exit(f"{name} not found in {directory}")
    train_x = idx(find("train-images-idx3-ubyte")).astype(np.float32) / 255.0
    test_x = idx(find("t10k-images-idx3-ubyte")).astype(np.float32) / 255.0
    test_y = idx(find("t10k-labels-idx1-ubyte")).astype(np.int64)
    return train_x, test_x, test_y


def mlp(weights):
    model = nn.Sequential()
    model.add_module("flatten", nn.Flatten())
    model.add_module("hidden", nn.Linear(784, 128))
    model.add_module("relu", nn.ReLU())
    model.add_module("output", nn.Linear(128, 10))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    return model.eval(), (1, 28, 28)


def cnn(weights):
    model = nn.Sequential()
    for i, (cin, cout) in enumerate([(1, 32), (32, 64), (64, 64)], start=1):
        model.add_module(f"conv{i}", nn.Conv2d(cin, cout, 3))
        model.add_module(f"relu{i}", nn.ReLU())
        model.add_module(f"pool{i}", nn.MaxPool2d(2))
    model.add_module("flatten", nn.Flatten())
    model.add_module("hidden", nn.Linear(64, 64))
    model.add_module("relu", nn.ReLU())
    model.add_module("output", nn.Linear(64, 10))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    return model.eval(), (1, 1, 28, 28)


class Digits(CalibrationDataReader):
    def __init__(self, x, shape):
        self.items = iter([{"x": d.reshape(shape)} for d in x])

    def get_next(self):
        return next(self.items, None)


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def accuracy(s, x, y, shape):
    batch = s.run(None, {"x": x.reshape((-1,) + shape[1:])})[0]
    return float((batch.argmax(axis=1) == y).mean())


def latency(s, x, shape, rounds):
    inputs = [d.reshape(shape) for d in x[:1000]]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for d in inputs:
            s.run(None, {"x": d})
        times.append((time.perf_counter() - start) / len(inputs) * 1e9)
    return statistics.median(times)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mlp", required=True)
    p.add_argument("--cnn")
    p.add_argument("--data", default=os.path.join(root, "data", "mnist"))
    p.add_argument("--calibration", type=int, default=300)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", default=tempfile.mkdtemp(prefix="nn-onnx-"))
    a = p.parse_args()
    torch.set_num_threads(1)
    train_x, test_x, test_y = mnist(a.data)
    models = [("mlp", mlp, a.mlp)] + ([("cnn", cnn, a.cnn)] if a.cnn else [])
    for name, build, path in models:
        model, shape = build(load_file(path))
        f32_path = os.path.join(a.out, f"{name}.onnx")
        int8_path = os.path.join(a.out, f"{name}.int8.onnx")
        torch.onnx.export(model, (torch.zeros(shape),), f32_path, input_names=["x"],
                          output_names=["y"], dynamo=False, opset_version=17,
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
        quantize_static(f32_path, int8_path,
                        Digits(train_x[:a.calibration], shape),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        s32, s8 = session(f32_path), session(int8_path)
        acc32, acc8 = accuracy(s32, test_x, test_y, shape), accuracy(s8, test_x, test_y, shape)
        ns32, ns8 = latency(s32, test_x, shape, a.rounds), latency(s8, test_x, shape, a.rounds)
        print(f"onnxruntime {ort.__version__} {name}: f32_accuracy={acc32:.4f} int8_accuracy={acc8:.4f} "
              f"(difference {100 * (acc8 - acc32):+.2f} points) file_bytes f32={os.path.getsize(f32_path)} "
              f"int8={os.path.getsize(int8_path)} latency_ns f32={ns32:.0f} int8={ns8:.0f} "
              f"(int8/f32 {ns8 / ns32:.2f})")


if __name__ == "__main__":
    main()
