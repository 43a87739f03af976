#!/usr/bin/env python3
"""Reference trajectories for Modules/Optimizers from torch.optim, in float64, stored as float32.

Each optimizer starts from the same 12 parameters and is fed the same 20 gradients (recorded,
so the test isolates the optimizer from any model); the parameters after every step are stored.
  initial [12], gradients [20, 12]
  adam.trajectory [20, 12]          Adam(lr 0.01) — BRIEF's betas and eps
  adam_l2.trajectory                Adam(lr 0.01, weight_decay 0.1)
  adamw.trajectory                  AdamW(lr 0.01, weight_decay 0.1)
  sgd.trajectory                    SGD(lr 0.05, momentum 0.9, weight_decay 0.01)
  nesterov.trajectory               SGD(lr 0.05, momentum 0.9, nesterov=True)
  clip.input [12] → clip.output, clip.norm   clip_grad_norm_(max_norm 1.0)
  schedule.step [10]                StepLR(step_size 3, gamma 0.5) from lr 0.1, epochs 0..9
  schedule.cosine [10]              CosineAnnealingLR(T_max 10, eta_min 0.001) from lr 0.1
  plateau.metrics [16] → plateau.lr [16]   ReduceLROnPlateau(factor 0.5, patience 2, cooldown 1)

Regenerate:  PY=$(../shared/bench/setup.sh); $PY Fixtures/optimizers/generate_optimizer_reference.py
"""
import os

import safetensors
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)


def trajectory(make, initial, gradients):
    p = torch.nn.Parameter(initial.clone())
    opt = make([p])
    rows = []
    for g in gradients:
        p.grad = g.clone()
        opt.step()
        rows.append(p.detach().clone())
    return torch.stack(rows)


def schedule(make, epochs=10):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(rates)


def main():
    g = torch.Generator().manual_seed(11)
    initial = torch.randn(12, generator=g)
    # Gradients of very different scales per coordinate, some sign flips: exercises the moments.
    gradients = torch.randn(20, 12, generator=g) * torch.logspace(-3, 1, 12)
    out = {"initial": initial, "gradients": gradients}
    out["adam.trajectory"] = trajectory(lambda ps: torch.optim.Adam(ps, lr=0.01), initial, gradients)
    out["adam_l2.trajectory"] = trajectory(lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1), initial, gradients)
    out["adamw.trajectory"] = trajectory(lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1), initial, gradients)
    out["sgd.trajectory"] = trajectory(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01), initial, gradients)
    out["nesterov.trajectory"] = trajectory(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True), initial, gradients)

    p = torch.nn.Parameter(torch.zeros(12))
    p.grad = gradients[3].clone()
    out["clip.input"] = gradients[3].clone()
    out["clip.norm"] = torch.nn.utils.clip_grad_norm_([p], max_norm=1.0).reshape(1)
    out["clip.output"] = p.grad.clone()

    out["schedule.step"] = schedule(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5))
    out["schedule.cosine"] = schedule(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001))

    metrics = torch.tensor([1.0, 0.9, 0.8, 0.8, 0.81, 0.8, 0.79995, 0.7, 0.7, 0.7, 0.7, 0.7, 0.69, 0.7, 0.7, 0.7])
    q = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([q], lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1)
    rates = []
    for m in metrics:
        plateau.step(m.item())
        rates.append(opt.param_groups[0]["lr"])
    out["plateau.metrics"] = metrics
    out["plateau.lr"] = torch.tensor(rates)

    save_file({k: v.detach().to(torch.float32).contiguous() for k, v in out.items()},
              os.path.join(HERE, "optimizer_reference.safetensors"),
              metadata={"generator": "Fixtures/optimizers/generate_optimizer_reference.py", "torch": torch.__version__,
                        "safetensors": safetensors.__version__, "precision": "computed in float64, stored as float32"})


if __name__ == "__main__":
    main()
