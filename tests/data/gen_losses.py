"""Losses computed by PyTorch, for `tests/losses_pytorch.rs`: for each case, logits `z`
[4, 3], the model's output activation applied to them, targets `t`, the mean loss and its
gradient `dz` with respect to the logits (autograd, float64).

Cases: mean absolute error (`L1Loss`) after tanh, Huber (`HuberLoss(delta=0.7)`) on linear
outputs, KL divergence (`KLDivLoss(reduction="batchmean")` on `log_softmax(z)`), hinge
(`clamp(1 - t y, min=0).mean()`, targets -1/1) after tanh, binary cross-entropy on logits for
multi-label targets (`BCEWithLogitsLoss`).

Writes `losses_pytorch.json` next to this file.
Usage: ~/peers/bin/python tests/data/gen_losses.py
"""
import json
import os

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(12)


def case(activation, loss_fn, t):
    z = (torch.randn(4, 3, dtype=torch.float64) * 1.5).requires_grad_()
    y = {"linear": lambda v: v, "tanh": torch.tanh, "softmax": lambda v: v.softmax(1)}[activation](z)
    loss = loss_fn(z, y, t)
    loss.backward()
    flat = lambda v: v.detach().reshape(-1).tolist()
    return {"activation": activation, "z": flat(z), "t": flat(t), "loss": loss.item(), "dz": flat(z.grad)}


u = lambda: torch.randn(4, 3, dtype=torch.float64)
soft = torch.rand(4, 3, dtype=torch.float64) + 0.1
soft = soft / soft.sum(1, keepdim=True)
soft[0] = torch.tensor([0.0, 0.3, 0.7], dtype=torch.float64)  # a zero target: its term is 0
signs = torch.randint(0, 2, (4, 3)).double() * 2 - 1
labels = torch.randint(0, 2, (4, 3)).double()
labels[1, 2] = 0.25  # a soft label

cases = {
    "mae": case("tanh", lambda z, y, t: F.l1_loss(y, t), u() * 0.5),
    "huber": case("linear", lambda z, y, t: F.huber_loss(y, t, delta=0.7), u()),
    "kl": case("softmax", lambda z, y, t: F.kl_div(F.log_softmax(z, 1), t, reduction="batchmean"), soft),
    "hinge": case("tanh", lambda z, y, t: torch.clamp(1 - t * y, min=0).mean(), signs),
    "bce_logits": case("linear", lambda z, y, t: F.binary_cross_entropy_with_logits(y, t), labels),
}
with open(os.path.join(HERE, "losses_pytorch.json"), "w") as fh:
    json.dump({"doc": __doc__.split("\n\n")[0], "cases": cases}, fh, indent=1)
