"""Summarises a log of scripts/compare_peers.sh: per workload, our time and PyTorch's in each
round, their medians, the ratio of the medians and the range of the per-round ratios.

    python3 scripts/compare_summary.py LOG

compare_peers.sh runs it on its own output at the end. Times compared: quickstart and
regression, the training's seconds; MNIST, CNN and sequence workloads, seconds per epoch
(ours' mean epoch, PyTorch's median epoch); the GAN, the median epoch of each run.
"""
import json
import re
import statistics
import sys

# Our examples' summary field holding the time compared, by example.
OURS = {
    "quickstart": ("quickstart", "train_seconds"),
    "regression": ("regression", "train_seconds"),
    "mnist_mlp": ("mnist", "seconds_per_epoch"),
    "mnist_cnn": ("cnn", "seconds_per_epoch"),
    "mnist_lstm": ("seq", "seconds_per_epoch"),
    "gan_mnist": ("gan", "median_epoch_seconds"),
}
# PyTorch's workloads (the JSON line's "workload"), by workload.
PEERS = {"W2": "quickstart", "W5": "regression", "W3": "mnist", "W4": "cnn", "W6": "seq", "W7": "gan"}


def peer_seconds(record):
    """The time compared from one of ../shared/bench's JSON lines."""
    if record["workload"] in ("W2", "W5"):
        return record["value"]
    if "median" in record:
        return record["median"]
    return statistics.median(record["epoch_seconds"])


def cell_of(command):
    m = re.search(r"--cell (\w+)", command)
    return f"-{m.group(1)}" if m else ""


def main(path):
    ours, peers = {}, {}
    command = None
    for line in open(path):
        line = line.strip()
        if line.startswith("--- "):
            command = line[4:]
            continue
        if command is None or not line:
            continue
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            workload = PEERS.get(record.get("workload"))
            if workload:
                peers.setdefault(workload + cell_of(command), []).append(peer_seconds(record))
        else:
            program = command.split()[0].rsplit("/", 1)[-1]
            if program in OURS:
                workload, field = OURS[program]
                m = re.search(rf"\b{field}=([0-9.]+)", line)
                if m:
                    ours.setdefault(workload + cell_of(command), []).append(float(m.group(1)))
        command = None
    for workload in ours:
        if workload not in peers:
            continue
        a, b = ours[workload], peers[workload]
        rounds = min(len(a), len(b))
        ratios = [p / o for o, p in zip(a[:rounds], b[:rounds]) if o > 0]
        if not ratios:
            continue
        print(
            f"{workload}: {rounds} rounds; nn {min(a):.4g}-{max(a):.4g} s (median "
            f"{statistics.median(a):.4g}), PyTorch {min(b):.4g}-{max(b):.4g} s (median "
            f"{statistics.median(b):.4g}); ratio of medians "
            f"{statistics.median(b) / statistics.median(a):.2f}x, per round "
            f"{min(ratios):.2f}-{max(ratios):.2f}x (median {statistics.median(ratios):.2f}x)"
        )


if __name__ == "__main__":
    main(sys.argv[1])
