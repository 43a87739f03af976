#!/usr/bin/env python3
"""Reference values for the related models of BRIEF §1, in float64, stored as float32:

  gru.*, rnn.*     the 2-layer stack of torch_reference.py's PlainLSTM with nn.GRU / nn.RNN(tanh)
                   layers (l1: 7→128, l2: 128→64, dropout 0.2, fc: 64→1), eval mode, BCE
  cnn_seq.*        the CNN+LSTM without the static branch: conv_seq → bn_seq → ReLU → LSTM(64→128, x3)
                   → last step → fc_seq (128→2) → softmax, training mode, focal loss (α 0.25, γ 2)
  mlp.*            fc1 (16→64) → ReLU → Dropout(0.2) → fc2 (64→32) → ReLU → out (32→1), eval mode, BCE
  logreg.*         linear (16→1), BCE

For each prefix P: P.initial.<name> (state_dict), P.input [B, …], P.labels [B],
P.probabilities [B] (P(order)), P.loss [1], P.grad.<name>; masked.* adds a left-padded batch
for the GRU stack (mask [B, T]) whose reference is computed on the unpadded suffixes, one
sequence at a time.

Regenerate (needs ../shared beside the repository):
    PY=$(../shared/bench/setup.sh); $PY Fixtures/models/generate_related_models_reference.py
"""
import os
import sys

import safetensors
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))
from torch_reference import focal_loss  # noqa: E402

torch.set_default_dtype(torch.float64)


class Stack(nn.Module):
    """PlainLSTM's layout with a chosen recurrent layer."""

    def __init__(self, layer):
        super().__init__()
        self.l1 = layer(7, 128, batch_first=True)
        self.l2 = layer(128, 64, batch_first=True)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(64, 1)

    def forward(self, x):
        h, _ = self.l1(x)
        h, _ = self.l2(self.drop(h))
        return self.fc(self.drop(h[:, -1, :])).squeeze(1)   # logit


class SequenceOnlyCNNLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_seq = nn.Conv1d(7, 64, kernel_size=2, padding="same")
        self.bn_seq = nn.BatchNorm1d(64)
        self.lstm = nn.LSTM(64, 128, num_layers=3, batch_first=True)
        self.fc_seq = nn.Linear(128, 2)

    def forward(self, x):
        s = F.relu(self.bn_seq(self.conv_seq(x.transpose(1, 2))))
        out, _ = self.lstm(s.transpose(1, 2))
        return torch.softmax(self.fc_seq(out[:, -1, :]), dim=1)


class MLP(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.fc1 = nn.Linear(a, 64)
        self.fc2 = nn.Linear(64, 32)
        self.out = nn.Linear(32, 1)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        return self.out(F.relu(self.fc2(self.drop(F.relu(self.fc1(x)))))).squeeze(1)


class LogReg(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.linear = nn.Linear(a, 1)

    def forward(self, x):
        return self.linear(x).squeeze(1)


def record(out, prefix, model, x, y, probability_of, loss_of):
    out.update({f"{prefix}.initial.{k}": v.detach().clone() for k, v in model.state_dict().items() if "num_batches" not in k})
    model.zero_grad()
    result = model(x)
    loss = loss_of(result, y)
    loss.backward()
    out[f"{prefix}.input"] = x
    out[f"{prefix}.labels"] = y.double()
    out[f"{prefix}.probabilities"] = probability_of(result).detach()
    out[f"{prefix}.loss"] = loss.detach().reshape(1)
    for name, p in model.named_parameters():
        out[f"{prefix}.grad.{name}"] = p.grad.detach().clone()


def main():
    out = {}
    g = torch.Generator().manual_seed(2024)
    bce = lambda logit, y: F.binary_cross_entropy_with_logits(logit, y.double())
    for prefix, layer, seed in (("gru", nn.GRU, 11), ("rnn", nn.RNN, 12)):
        torch.manual_seed(seed)
        model = Stack(layer).double().eval()
        x = torch.randn(5, 10, 7, generator=g)
        y = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0])
        record(out, prefix, model, x, y, torch.sigmoid, bce)

    # Left-padded GRU batch: lengths 10, 6, 3, 1; padded steps are zeros with mask 0. The
    # reference runs each sequence's real suffix alone, so padding must change nothing.
    torch.manual_seed(11)
    model = Stack(nn.GRU).double().eval()
    lengths = [10, 6, 3, 1]
    x = torch.randn(4, 10, 7, generator=g)
    mask = torch.zeros(4, 10)
    for row, n in enumerate(lengths):
        x[row, : 10 - n] = 0
        mask[row, 10 - n:] = 1
    logits = torch.stack([model(x[row:row + 1, 10 - n:])[0] for row, n in enumerate(lengths)])
    out["masked.gru.input"] = x
    out["masked.gru.mask"] = mask
    out["masked.gru.probabilities"] = torch.sigmoid(logits).detach()

    torch.manual_seed(13)
    model = SequenceOnlyCNNLSTM().double().train()
    x = torch.randn(6, 10, 7, generator=g)
    y = torch.tensor([1, 0, 0, 1, 0, 0])
    record(out, "cnn_seq", model, x, y, lambda p: p[:, 1], focal_loss)

    for prefix, cls, seed in (("mlp", MLP, 14), ("logreg", LogReg, 15)):
        torch.manual_seed(seed)
        model = cls(16).double().eval()
        x = torch.randn(8, 16, generator=g)
        y = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0])
        record(out, prefix, model, x, y, torch.sigmoid, bce)

    save_file({k: v.detach().to(torch.float32).contiguous() for k, v in out.items()},
              os.path.join(HERE, "related_models_reference.safetensors"),
              metadata={"generator": "Fixtures/models/generate_related_models_reference.py", "torch": torch.__version__,
                        "safetensors": safetensors.__version__, "precision": "computed in float64, stored as float32"})


if __name__ == "__main__":
    main()
