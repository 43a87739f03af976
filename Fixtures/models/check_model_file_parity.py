#!/usr/bin/env python3
"""Loads a Revisit model file into PyTorch and reproduces Revisit's probabilities.

    python check_model_file_parity.py MODEL.safetensors INPUTS.safetensors

MODEL is a `trainer` output (safetensors: weights under PyTorch state_dict names, metadata with
the architecture and input shape). INPUTS holds `x_seq [B, T, F]`, `mask [B, T]`,
`statics [B, S]`, `aggregates [B, A]` and `probabilities [B]`, Revisit's P(order) for them.
The model is built in PyTorch (the reference CNN-LSTM of ../shared/bench/torch_reference.py for
`cnn_lstm`, the equivalent modules below for the others; `cnn_lstm_timing` is the CNN-LSTM with K
outputs per linear layer, one hazard per timing bin, whose P(order within H) is read as Revisit's
HazardReadout documents it, from the `timing` bins and horizon of the `training` metadata), loaded with load_state_dict(strict=True)
and run in eval mode; the script exits 1 unless every probability agrees within 1e-5.
Masked (left-padded) rows are run on their real suffix alone, as Revisit's mask defines them.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))


class CNNLSTM(nn.Module):
    """torch_reference.py's CNNLSTM with its sizes taken from the model file (the defaults are the reference's)."""

    def __init__(self, t, f_seq, f_stat, static_branch=True, timing=None):
        super().__init__()
        outputs = len(timing["bin_edges"]) if timing else 2
        self.timing = timing
        self.conv_seq = nn.Conv1d(f_seq, 64, kernel_size=2, padding="same")
        self.bn_seq = nn.BatchNorm1d(64)
        self.lstm = nn.LSTM(64, 128, num_layers=3, batch_first=True)
        self.fc_seq = nn.Linear(128, outputs)
        self.static_branch = static_branch
        if static_branch:
            self.conv_stat = nn.Conv1d(f_stat, 64, kernel_size=2, padding="same")
            self.bn_stat = nn.BatchNorm1d(64)
            self.fc_stat = nn.Linear(64 * t, outputs)
            self.head = nn.Linear(2 * outputs, outputs)

    def within_horizon(self, logits):
        """P(order within H) from per-bin hazards, the daily hazard constant inside a bin."""
        log_survival, start, horizon = torch.zeros(logits.shape[0]), 0, self.timing["horizon_days"]
        for k, end in enumerate(self.timing["bin_edges"]):
            log_survive = F.logsigmoid(-logits[:, k])
            if end <= horizon:
                log_survival = log_survival + log_survive
            else:
                log_survival = log_survival + log_survive * (horizon - start) / (end - start)
                break
            if end == horizon:
                break
            start = end
        return -torch.expm1(log_survival)

    def forward(self, x_seq, x_stat, n_real):
        s = F.relu(self.bn_seq(self.conv_seq(x_seq.transpose(1, 2))))
        out, _ = self.lstm(s.transpose(1, 2)[:, -n_real:, :])   # padded steps carry no state in Revisit
        s = self.fc_seq(out[:, -1, :])
        if not self.static_branch:
            return torch.softmax(s, dim=1)[:, 1]
        t = F.relu(self.bn_stat(self.conv_stat(x_stat.transpose(1, 2))))
        t = self.fc_stat(t.flatten(1))
        logits = self.head(torch.cat([s, t], dim=1))
        return self.within_horizon(logits) if self.timing else torch.softmax(logits, dim=1)[:, 1]


class Stack(nn.Module):
    def __init__(self, layer, f_seq):
        super().__init__()
        self.l1 = layer(f_seq, 128, batch_first=True)
        self.l2 = layer(128, 64, batch_first=True)
        self.fc = nn.Linear(64, 1)

    def forward(self, x_seq, x_stat, n_real):
        h, _ = self.l1(x_seq[:, -n_real:, :])
        h, _ = self.l2(h)
        return torch.sigmoid(self.fc(h[:, -1, :])).squeeze(1)


class MLP(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(a, 64), nn.Linear(64, 32), nn.Linear(32, 1)

    def forward(self, aggregates):
        return torch.sigmoid(self.out(F.relu(self.fc2(F.relu(self.fc1(aggregates)))))).squeeze(1)


class LogReg(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.linear = nn.Linear(a, 1)

    def forward(self, aggregates):
        return torch.sigmoid(self.linear(aggregates)).squeeze(1)


def main(model_path, inputs_path):
    with safe_open(model_path, framework="pt") as handle:
        metadata = handle.metadata()
    assert metadata["format"] == "revisit-model", metadata.get("format")
    shape = json.loads(metadata["shape"])
    architecture = metadata["architecture"]
    t, f, s, a = shape["steps"], shape["sequenceFeatures"], shape["staticFeatures"], shape["aggregateFeatures"]
    model = {
        "cnn_lstm": lambda: CNNLSTM(t, f, s),
        "cnn_lstm_seq": lambda: CNNLSTM(t, f, s, static_branch=False),
        "lstm": lambda: Stack(nn.LSTM, f),
        "gru": lambda: Stack(nn.GRU, f),
        "rnn": lambda: Stack(nn.RNN, f),
        "mlp": lambda: MLP(a),
        "logreg": lambda: LogReg(a),
        "cnn_lstm_timing": lambda: CNNLSTM(t, f, s, timing=json.loads(metadata["training"])["timing"]),
    }[architecture]()
    state = load_file(model_path)
    model.load_state_dict(state, strict=True)
    model.eval()
    inputs = load_file(inputs_path)
    expected = inputs["probabilities"]
    with torch.no_grad():
        if architecture in ("mlp", "logreg"):
            got = model(inputs["aggregates"])
        else:
            rows = []
            x_seq, mask = inputs["x_seq"], inputs["mask"]
            x_stat = inputs["statics"].unsqueeze(1).expand(-1, t, -1).contiguous()   # the study's [B, T, S] layout
            for row in range(x_seq.shape[0]):
                n_real = int(mask[row].sum().item())
                rows.append(model(x_seq[row:row + 1], x_stat[row:row + 1], max(n_real, 1))[0])
            got = torch.stack(rows)
    worst = (got - expected).abs().max().item()
    print(f"{architecture}: {expected.shape[0]} probabilities, max |PyTorch − Revisit| = {worst:.3g}")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
