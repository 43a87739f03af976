#!/usr/bin/env python3
"""Reference values for Models.CNNLSTM from ../shared/bench/torch_reference.py's own CNNLSTM
class and focal_loss, in float64, stored as float32.

  initial.<name>        the state_dict (parameters and BN buffers) before anything runs
  x_seq [6, 10, 7], x_stat [6, 10, 4], labels [6]
  probabilities [6, 2]  training-mode forward (batch statistics)
  loss [1]              focal loss (alpha 0.25, gamma 2) on those probabilities
  grad.<name>           the gradient of every parameter
  after.<bn>.running_*  BN running statistics after that forward
  adam.losses [20]      the loss before each of 20 Adam steps (lr 1e-3) on the same batch
  adam.final.<name>     every parameter after the 20 steps

Regenerate (needs ../shared beside the repository):
    PY=$(../shared/bench/setup.sh); $PY Fixtures/models/generate_cnn_lstm_reference.py
"""
import os
import sys

import safetensors
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))
from torch_reference import CNNLSTM, focal_loss  # noqa: E402

torch.set_default_dtype(torch.float64)


def main():
    torch.manual_seed(1234)
    model = CNNLSTM().double()
    model.train()
    out = {f"initial.{k}": v.detach().clone() for k, v in model.state_dict().items() if "num_batches" not in k}
    g = torch.Generator().manual_seed(99)
    x_seq = torch.randn(6, 10, 7, generator=g)
    x_stat = torch.randn(6, 10, 4, generator=g)
    y = torch.tensor([1, 0, 0, 1, 0, 0])
    out.update({"x_seq": x_seq, "x_stat": x_stat, "labels": y.double()})

    probabilities = model(x_seq, x_stat)
    loss = focal_loss(probabilities, y)
    loss.backward()
    out["probabilities"] = probabilities.detach()
    out["loss"] = loss.detach().reshape(1)
    for name, p in model.named_parameters():
        out[f"grad.{name}"] = p.grad.detach().clone()
    for name in ("bn_seq", "bn_stat"):
        for stat in ("running_mean", "running_var"):
            out[f"after.{name}.{stat}"] = getattr(getattr(model, name), stat).detach().clone()

    model.load_state_dict({k.removeprefix("initial."): v for k, v in out.items() if k.startswith("initial.")}, strict=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        step_loss = focal_loss(model(x_seq, x_stat), y)
        losses.append(step_loss.item())
        step_loss.backward()
        optimizer.step()
    out["adam.losses"] = torch.tensor(losses)
    for name, p in model.named_parameters():
        out[f"adam.final.{name}"] = p.detach().clone()

    save_file({k: v.detach().to(torch.float32).contiguous() for k, v in out.items()},
              os.path.join(HERE, "cnn_lstm_reference.safetensors"),
              metadata={"generator": "Fixtures/models/generate_cnn_lstm_reference.py",
                        "model": "../shared/bench/torch_reference.py CNNLSTM", "torch": torch.__version__,
                        "safetensors": safetensors.__version__, "precision": "computed in float64, stored as float32"})


if __name__ == "__main__":
    main()
