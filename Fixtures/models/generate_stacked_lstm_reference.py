#!/usr/bin/env python3
"""Reference values for Models.StackedLSTM from ../shared/bench/torch_reference.py's PlainLSTM
(LSTM 7→128, Dropout 0.2, LSTM 128→64, Dropout 0.2, Linear 64→1, sigmoid), in float64, stored
as float32. Evaluation mode (dropout off): PyTorch's dropout draws cannot be reproduced, so
dropout is tested on its own in the Swift tests.

  initial.<name>   the state_dict;  x_seq [5, 10, 7], labels [5]
  probabilities [5]  sigmoid outputs;  loss [1]  binary cross-entropy (mean)
  grad.<name>      the gradient of every parameter

Regenerate (needs ../shared beside the repository):
    PY=$(../shared/bench/setup.sh); $PY Fixtures/models/generate_stacked_lstm_reference.py
"""
import os
import sys

import safetensors
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))
from torch_reference import PlainLSTM  # noqa: E402

torch.set_default_dtype(torch.float64)


def main():
    torch.manual_seed(4321)
    model = PlainLSTM().double()
    model.eval()
    out = {f"initial.{k}": v.detach().clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(5)
    x = torch.randn(5, 10, 7, generator=g)
    y = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0])
    probabilities = model(x)
    loss = F.binary_cross_entropy(probabilities, y)
    loss.backward()
    out.update({"x_seq": x, "labels": y, "probabilities": probabilities.detach(), "loss": loss.detach().reshape(1)})
    for name, p in model.named_parameters():
        out[f"grad.{name}"] = p.grad.detach().clone()
    save_file({k: v.detach().to(torch.float32).contiguous() for k, v in out.items()},
              os.path.join(HERE, "stacked_lstm_reference.safetensors"),
              metadata={"generator": "Fixtures/models/generate_stacked_lstm_reference.py",
                        "model": "../shared/bench/torch_reference.py PlainLSTM (eval mode)", "torch": torch.__version__,
                        "safetensors": safetensors.__version__, "precision": "computed in float64, stored as float32"})


if __name__ == "__main__":
    main()
