"""Data parallel training of generated modules: DistributedDataParallel with gloo on CPU."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from neural.api import analyse, loads
from neural.targets.pytorch.codegen import format_code, generate
from neural.targets.pytorch.load import import_code

SOURCE = """
network Tiny {
  input: (6,)
  layers:
    Dense(16, "tanh")
    Dense(16, "relu")
    Output(3, "softmax")
  loss: "sparse_categorical_crossentropy"
  optimizer: SGD(learning_rate=0.1, momentum=0.9)
  metrics: ["accuracy"]
  train { epochs: 2 batch_size: 8 validation_split: 0.25 seed: 1 }
}
"""


def code() -> str:
    return generate(analyse(loads(SOURCE).network()))


def free_port() -> int:
    """A TCP port nothing listens on now (tests may run in parallel workers)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _worker(rank: int, world: int, port: int, text: str, results: dict[str, object]) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    dist.init_process_group("gloo", rank=rank, world_size=world)
    module = import_code(text, "Tiny")
    torch.manual_seed(0)
    model = module.build_model()
    reference = module.build_model()
    reference.load_state_dict(model.state_dict())
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    loss_fn = module.make_loss(module.LOSS)
    optimizer = module.make_optimizer(ddp.parameters(), module.OPTIMIZER, 0.1)
    rng = np.random.default_rng(100 + rank)  # each rank sees different data
    for step in range(3):
        x = torch.tensor(rng.standard_normal((4, 6)), dtype=torch.float32)
        y = torch.tensor(rng.integers(0, 3, size=4))
        # the local gradient of the same weights, without DDP
        reference.load_state_dict(model.state_dict())
        reference.zero_grad()
        loss_fn(reference(x), y).backward()
        local = torch.cat([p.grad.reshape(-1) for p in reference.parameters()])
        gathered = [torch.zeros_like(local) for _ in range(world)]
        dist.all_gather(gathered, local)
        optimizer.zero_grad()
        loss_fn(ddp(x), y).backward()
        synced = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
        results[f"grad-{rank}-{step}"] = float((synced - torch.stack(gathered).mean(dim=0)).abs().max())
        optimizer.step()
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    everyone = [torch.zeros_like(flat) for _ in range(world)]
    dist.all_gather(everyone, flat)
    results[f"params-{rank}"] = float((everyone[0] - everyone[1]).abs().max())
    dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_two_processes_keep_weights_equal_and_average_gradients() -> None:
    manager = mp.Manager()
    results = manager.dict()
    port = free_port()
    mp.spawn(_worker, args=(2, port, code(), results), nprocs=2, join=True)
    values = dict(results)
    assert values["params-0"] == 0.0 and values["params-1"] == 0.0
    grads = [v for k, v in values.items() if k.startswith("grad-")]
    assert len(grads) == 6 and max(grads) < 1e-6


@pytest.mark.slow
def test_generated_script_under_torchrun(tmp_path: Path) -> None:
    script = tmp_path / "model.py"
    script.write_text(format_code(code()))
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node=2",
            "--master-port",
            str(free_port()),
            str(script),
            "--data",
            "synthetic:64",
            "--epochs",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 2, result.stdout  # printed by rank 0 only
    assert (out / "model.safetensors").exists()


def test_generated_script_runs_alone(tmp_path: Path) -> None:
    script = tmp_path / "model.py"
    script.write_text(format_code(code()))
    result = subprocess.run(
        [sys.executable, str(script), "--data", "synthetic:64", "--epochs", "1", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("epoch 1/1") == 1
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120, check=False
    ).stdout
    for option in ("--data", "--epochs", "--batch-size", "--amp", "--compile", "--device"):
        assert option in help_text
