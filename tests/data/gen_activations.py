"""Activations computed by PyTorch, for `tests/activations_pytorch.rs`, in the format of the
shared fixtures `activation_gelu.json` and `activation_elu.json` (copied here from
`../shared/fixtures/pytorch`): `{"doc", "tensors": {"x", "y", "dy", "dx"}}`, where `y` is the
activation of `x`, `dy` a random upstream gradient and `dx` the gradient of `sum(y * dy)`
with respect to `x`, all in float64 on the shared fixtures' inputs.

Writes `activation_selu.json`, `activation_silu.json`, `activation_softplus.json`,
`activation_hardsigmoid.json` and `activation_elu_0.5.json` next to this file.

Usage: ~/peers/bin/python tests/data/gen_activations.py
"""
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(11)
x0 = json.load(open(os.path.join(HERE, "activation_gelu.json")))["tensors"]["x"]["data"]

CASES = {
    "selu": torch.nn.functional.selu,
    "silu": torch.nn.functional.silu,
    "softplus": torch.nn.functional.softplus,
    "hardsigmoid": torch.nn.functional.hardsigmoid,
    "elu_0.5": lambda t: torch.nn.functional.elu(t, alpha=0.5),
}
for name, f in CASES.items():
    x = torch.tensor(x0, dtype=torch.float64).reshape(2, 10).requires_grad_()
    y = f(x)
    dy = torch.randn(2, 10, dtype=torch.float64).exp()
    (y * dy).sum().backward()
    t = lambda v: {"shape": list(v.shape), "data": v.detach().reshape(-1).tolist()}
    out = {
        "doc": f"{name} applied to x [2,10]; dy upstream; dx gradient of sum(y * dy)",
        "tensors": {"x": t(x), "y": t(y), "dy": t(dy), "dx": t(x.grad)},
    }
    with open(os.path.join(HERE, f"activation_{name}.json"), "w") as fh:
        json.dump(out, fh)
