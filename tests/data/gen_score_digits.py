"""Fixture of tests/score_digits.rs: 40 crafted 28x28 images as an IDX file of unsigned bytes
(score_digits.idx) and the class probabilities PyTorch computes for them with the seed-001
perceptron and convolutional network of mnist_mlp.safetensors and mnist_cnn.safetensors
(score_digits_expected.json), with a confidence threshold per model that lies in a gap of the
samples' largest probabilities (so rounding cannot move a sample across it).

~/peers/bin/python tests/data/gen_score_digits.py   (from the repository's root)
"""
import json
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

N = 40
rng = np.random.default_rng(11)
images = np.zeros((N, 28, 28), np.uint8)
for i in range(N):
    density = 0.05 + 0.9 * i / N
    mask = rng.random((28, 28)) < density
    images[i][mask] = rng.integers(1, 256, mask.sum())
with open("tests/data/score_digits.idx", "wb") as f:
    f.write(bytes([0, 0, 8, 3]) + N.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
    f.write(images.tobytes())

x = torch.tensor(images.reshape(N, 784), dtype=torch.float32) / 255.0
mlp = load_file("tests/data/mnist_mlp.safetensors")
cnn = load_file("tests/data/mnist_cnn.safetensors")
with torch.no_grad():
    h = F.relu(x @ mlp["hidden.weight"].T + mlp["hidden.bias"])
    p_mlp = F.softmax(h @ mlp["output.weight"].T + mlp["output.bias"], dim=1)
    a = x.reshape(N, 1, 28, 28)
    for conv in ("conv1", "conv2", "conv3"):
        a = F.max_pool2d(F.relu(F.conv2d(a, cnn[conv + ".weight"], cnn[conv + ".bias"])), 2)
    a = F.relu(a.reshape(N, 64) @ cnn["hidden.weight"].T + cnn["hidden.bias"])
    p_cnn = F.softmax(a @ cnn["output.weight"].T + cnn["output.bias"], dim=1)


def threshold(p):
    """Midpoint of the widest gap between sorted largest probabilities in the middle half."""
    m = np.sort(p.max(1).values.numpy())
    lo, hi = len(m) // 4, 3 * len(m) // 4
    gaps = m[lo + 1:hi] - m[lo:hi - 1]
    k = lo + int(gaps.argmax())
    assert m[k + 1] - m[k] > 1e-4, "no clear gap"
    return float((m[k] + m[k + 1]) / 2)


out = {
    "doc": __doc__,
    "mlp": {"probs": p_mlp.numpy().round(7).tolist(), "confidence": threshold(p_mlp)},
    "cnn": {"probs": p_cnn.numpy().round(7).tolist(), "confidence": threshold(p_cnn)},
}
json.dump(out, open("tests/data/score_digits_expected.json", "w"))
for k in ("mlp", "cnn"):
    p = torch.tensor(out[k]["probs"])
    print(k, out[k]["confidence"], "argmax", np.bincount(p.argmax(1).numpy(), minlength=10),
          "confident", int((p.max(1).values >= out[k]["confidence"]).sum()))
