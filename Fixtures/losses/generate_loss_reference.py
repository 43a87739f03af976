#!/usr/bin/env python3
"""Reference values for Modules/Losses from PyTorch: each loss's value and its gradient with
respect to the logits, computed in float64 through autograd and stored as float32.

Cases (names in loss_reference.safetensors; `<case>.loss` is a 1-element tensor):
  bce.*             BCEWithLogitsLoss, 10 logits incl. ±30, hard labels, mean
  bce_weighted.*    the same with class weights (negative 0.5, positive 4.0) as per-element weight, sum
  ce.*              CrossEntropyLoss on [7, 3] logits, mean
  ce_weighted.*     the same with class weights [0.2, 1.0, 3.0], mean (divides by the target weights)
  focal_binary.*    torchvision-style sigmoid focal loss (alpha 0.25 on positives, gamma 2), mean
  focal_softmax.*   the study's focal loss on softmax outputs, as ../shared/bench/torch_reference.py
                    writes it (clamp to [1e-7, 1 - 1e-7]), [10, 2] logits incl. clamped ones, mean
  focal_softmax_sum.*  the same with alpha 0.6, gamma 0.5, sum
  hazard.*          the discrete-time hazard likelihood: BCE-with-logits over [6, 5] bin logits
                    (incl. ±25) masked by the bins at risk (`hazard.at_risk`), summed and divided by
                    the 6 examples; rows: events in bins 0, 2 and 4, censored after 3 and 5 bins,
                    and one row at risk in no bin
Every case stores `<case>.logits`, `<case>.labels` (float 0/1, or class indices as floats for
ce), `<case>.loss` and `<case>.grad`.

Regenerate:  PY=$(../shared/bench/setup.sh); $PY Fixtures/losses/generate_loss_reference.py
"""
import os

import safetensors
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)


def focal_softmax(logits, y, alpha, gamma, reduction, eps=1e-7):
    probs = torch.softmax(logits, dim=1)
    p = probs[:, 1].clamp(eps, 1 - eps)
    yf = y.double()
    pt = torch.where(y == 1, p, 1 - p)
    at = alpha * yf + (1 - alpha) * (1 - yf)
    losses = -at * (1 - pt) ** gamma * torch.log(pt)
    return losses.mean() if reduction == "mean" else losses.sum()


def focal_binary(logits, y, alpha, gamma):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
    pt = p * y + (1 - p) * (1 - y)
    at = alpha * y + (1 - alpha) * (1 - y)
    return (at * ce * (1 - pt) ** gamma).mean()


def record(out, name, logits, labels, loss_fn):
    z = logits.clone().requires_grad_(True)
    loss = loss_fn(z)
    loss.backward()
    out[f"{name}.logits"] = logits
    out[f"{name}.labels"] = labels.double()
    out[f"{name}.loss"] = loss.detach().reshape(1)
    out[f"{name}.grad"] = z.grad


def main():
    g = torch.Generator().manual_seed(7)
    out = {}
    z = torch.cat([torch.randn(8, generator=g) * 3, torch.tensor([30.0, -30.0])])
    y = torch.tensor([1, 0, 0, 1, 0, 0, 0, 1, 0, 1]).double()
    record(out, "bce", z, y, lambda t: F.binary_cross_entropy_with_logits(t, y))
    w = 0.5 * (1 - y) + 4.0 * y
    record(out, "bce_weighted", z, y, lambda t: F.binary_cross_entropy_with_logits(t, y, weight=w, reduction="sum"))

    zc = torch.randn(7, 3, generator=g) * 2
    k = torch.tensor([0, 2, 1, 2, 0, 1, 2])
    record(out, "ce", zc, k, lambda t: F.cross_entropy(t, k))
    cw = torch.tensor([0.2, 1.0, 3.0])
    record(out, "ce_weighted", zc, k, lambda t: F.cross_entropy(t, k, weight=cw))

    record(out, "focal_binary", z, y, lambda t: focal_binary(t, y, 0.25, 2.0))

    z2 = torch.randn(10, 2, generator=g) * 2
    z2[8] = torch.tensor([-12.0, 12.0])   # p = 1 - 4e-11: clamped, gradient 0
    z2[9] = torch.tensor([15.0, -15.0])   # p = 9e-14: clamped
    yb = torch.tensor([1, 0, 0, 1, 0, 1, 0, 0, 1, 0])
    record(out, "focal_softmax", z2, yb, lambda t: focal_softmax(t, yb, 0.25, 2.0, "mean"))
    record(out, "focal_softmax_sum", z2, yb, lambda t: focal_softmax(t, yb, 0.6, 0.5, "sum"))

    zh = torch.randn(6, 5, generator=g) * 2
    zh[0, 0], zh[3, 1] = 25.0, -25.0
    events = torch.zeros(6, 5)
    at_risk = torch.zeros(6, 5)
    for row, (seen, event) in enumerate([(1, 0), (3, 2), (5, 4), (3, None), (5, None), (0, None)]):
        at_risk[row, :seen] = 1
        if event is not None:
            events[row, event] = 1
    record(out, "hazard", zh, events,
           lambda t: F.binary_cross_entropy_with_logits(t, events, weight=at_risk, reduction="sum") / t.shape[0])
    out["hazard.at_risk"] = at_risk

    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in out.items()}
    save_file(tensors, os.path.join(HERE, "loss_reference.safetensors"),
              metadata={"generator": "Fixtures/losses/generate_loss_reference.py", "torch": torch.__version__,
                        "safetensors": safetensors.__version__, "precision": "computed in float64, stored as float32"})


if __name__ == "__main__":
    main()
