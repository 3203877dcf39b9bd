"""Single-sample inference latency of the MNIST MLP (784 -> 128 relu -> 10 softmax) or,
with `--model lstm`, of the row-reading LSTM (28 steps of 28 pixels -> LSTM(128), last step
-> 10 softmax) in PyTorch eager and onnxruntime, one sample per call, one thread: the peers
of `cargo bench --bench inference` (mnist_mlp_forward_one_sample,
mnist_lstm_forward_one_sequence).

Inputs: the first 1024 MNIST test digits, as in our bench.
Usage: ~/peers/bin/python scripts/mnist_infer_peers.py [--model mlp|lstm]
(the virtualenv of ../shared/bench). Prints one line per framework: median nanoseconds per
sample over 15 runs."""
import argparse
import gzip
import os
import statistics
import tempfile
import time

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

ap = argparse.ArgumentParser()
ap.add_argument("--model", default="mlp", choices=["mlp", "lstm"])
args = ap.parse_args()


class RowReader(nn.Module):
    """LSTM(128) over the 28 rows, its last step into Linear(128, 10) and a softmax."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.output = nn.Linear(128, 10)

    def forward(self, x):
        y, _ = self.lstm(x.reshape(-1, 28, 28))
        return torch.softmax(self.output(y[:, -1]), dim=1)


torch.set_num_threads(1)
torch.manual_seed(0)
if args.model == "lstm":
    model = RowReader().eval()
else:
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.Softmax(dim=1)).eval()
# The inputs of our bench: the first 1024 MNIST test digits, pixels scaled to [0, 1].
_images = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist", "t10k-images-idx3-ubyte.gz")
with gzip.open(_images, "rb") as f:
    samples = (np.frombuffer(f.read(), dtype=np.uint8, offset=16)[: 1024 * 784].reshape(1024, 784) / 255.0).astype(np.float32)


def median_ns(call, n):
    for i in range(n):
        call(i)
    runs = []
    for _ in range(15):
        t = time.perf_counter_ns()
        for i in range(n):
            call(i)
        runs.append((time.perf_counter_ns() - t) / n)
    return statistics.median(runs)


xs = [torch.from_numpy(samples[i : i + 1].copy()) for i in range(len(samples))]
with torch.no_grad():
    print(f"{args.model} torch-eager {torch.__version__}: {median_ns(lambda i: model(xs[i % 1024]), 2000 if args.model == 'mlp' else 300):.0f} ns/sample")

path = os.path.join(tempfile.gettempdir(), f"mnist_{args.model}.onnx")
torch.onnx.export(model, xs[0], path, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
feeds = [{"x": samples[i : i + 1]} for i in range(len(samples))]
print(f"{args.model} onnxruntime {ort.__version__}: {median_ns(lambda i: session.run(None, feeds[i % 1024]), 5000 if args.model == 'mlp' else 1000):.0f} ns/sample")
