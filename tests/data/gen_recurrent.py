"""PyTorch references for the recurrent layers' weight files.

Writes next to this file:
- `row_reader_lstm.safetensors` + `row_reader_lstm_expected.json`: the `mnist_lstm` model
  (`torch.nn.LSTM(28, 128, batch_first=True)` reading MNIST row by row, its last step into
  `torch.nn.Linear(128, 10)`), trained by PyTorch for 300 steps of Adam (lr 1e-3, batch 32)
  on the first MNIST training images; tensors `lstm.weight_ih_l0`, `lstm.weight_hh_l0`,
  `lstm.bias_ih_l0`, `lstm.bias_hh_l0`, `output.weight`, `output.bias` as PyTorch names
  them. The JSON holds the first 8 test digits `x` (pixels / 255, 784 values each: 28 rows
  of 28) and PyTorch's logits for them.
- `stacked_gru_rnn.safetensors` + `stacked_gru_rnn_expected.json`: `torch.nn.GRU(5, 8)`
  giving every step to `torch.nn.RNN(8, 6)` (tanh), whose last step goes to
  `torch.nn.Linear(6, 3)`; PyTorch's random initialisation (seed 3), random biases, names
  `gru.*`, `rnn.*`, `out.*`; six random sequences `x` of 7 steps of 5 features and the
  logits.

Usage: ~/peers/bin/python tests/data/gen_recurrent.py
"""
import gzip
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, "..", "..", "data", "mnist")


def idx(name):
    with gzip.open(os.path.join(MNIST, name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def tensor(t):
    return {"shape": list(t.shape), "data": t.reshape(-1).tolist()}


def write(name, tensors, x, logits, doc):
    save_file({k: v.detach().contiguous() for k, v in tensors.items()},
              os.path.join(HERE, f"{name}.safetensors"))
    with open(os.path.join(HERE, f"{name}_expected.json"), "w") as f:
        json.dump({"doc": doc, "tensors": {"x": tensor(x), "logits": tensor(logits)}}, f)


class RowReader(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(28, 128, batch_first=True)
        self.output = torch.nn.Linear(128, 10)

    def forward(self, x):
        y, _ = self.lstm(x.reshape(-1, 28, 28))
        return self.output(y[:, -1])


torch.manual_seed(1)
x_train = torch.tensor(idx("train-images-idx3-ubyte.gz")[:9600].astype(np.float32) / 255.0)
y_train = torch.tensor(idx("train-labels-idx1-ubyte.gz")[:9600].astype(np.int64))
model = RowReader()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(300):
    i = slice(32 * step, 32 * step + 32)
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x_train[i]), y_train[i]).backward()
    opt.step()
x = torch.tensor(idx("t10k-images-idx3-ubyte.gz")[:8].astype(np.float32).reshape(8, 784) / 255.0)
with torch.no_grad():
    logits = model(x)
write("row_reader_lstm", dict(model.state_dict()), x, logits,
      "torch.nn.LSTM(28, 128, batch_first=True) -> last step -> Linear(128, 10), trained 300 "
      "Adam steps on MNIST rows; x: 8 test digits / 255 (28 rows of 28), logits")


class Stacked(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(5, 8, batch_first=True)
        self.rnn = torch.nn.RNN(8, 6, batch_first=True)
        self.out = torch.nn.Linear(6, 3)

    def forward(self, x):
        y, _ = self.gru(x.reshape(-1, 7, 5))
        y, _ = self.rnn(y)
        return self.out(y[:, -1])


torch.manual_seed(3)
model = Stacked()
with torch.no_grad():
    for name, p in model.named_parameters():
        if "bias" in name:
            p.uniform_(-0.5, 0.5)
x = torch.rand(6, 35) * 2 - 1
with torch.no_grad():
    logits = model(x)
write("stacked_gru_rnn", dict(model.state_dict()), x, logits,
      "torch.nn.GRU(5, 8) every step -> torch.nn.RNN(8, 6) last step -> Linear(6, 3), "
      "batch_first, random init (seed 3) and biases; x: 6 sequences of 7 steps of 5")
print("written")
