#!/usr/bin/env python3
"""Reference values for Modules/Layers from PyTorch: inputs, weights, outputs and gradients.

For each layer the script builds the PyTorch module with seeded weights, runs it on seeded
inputs, takes the loss L = sum(output * upstream) for a seeded `upstream` tensor (so dL/doutput
= upstream), and records every parameter gradient and the input gradient. Everything is computed
in float64 and stored as float32, so the reference carries no float32 rounding of its own.

Cases (tensor names in layer_reference.safetensors):
  linear.*        nn.Linear(5, 3) on x [4, 5]
  lstm.*          nn.LSTM(3, 4, num_layers=2, batch_first=True) on x [2, 5, 3], every step returned
  lstm_last.*     the same weights, x [3, 4, 3], only the last step returned
  lstm_masked.*   the same weights, x [3, 6, 3] left-padded by 0, 2 and 5 steps (mask [3, 6]);
                  the reference runs each sample's unpadded suffix alone (what the mask promises),
                  sums the losses, and sets the input gradient of padded steps to 0
  conv_same.*     nn.Conv1d(3, 5, kernel_size=2, padding='same') on x [2, 6, 3] (channels-last; the
                  module sees x.transpose(1, 2)), output [2, 6, 5]
  conv_valid.*    nn.Conv1d(3, 4, kernel_size=3) (no padding) on x [2, 6, 3], output [2, 4, 4]
  bn_train.*      nn.BatchNorm1d(4) in training mode on x [3, 5, 4] (channels-last); also the
                  running statistics after the step (bn_train.after.running_mean/var)
  bn_eval.*       the same module with set running statistics, in eval mode
  gru.*, gru_masked.*   nn.GRU(3, 4, num_layers=2, batch_first=True): every step on x [2, 5, 3], and
                        the last step of x [3, 6, 3] left-padded by 0, 2 and 5 (as lstm_masked)
  rnn.*, rnn_masked.*   nn.RNN(3, 4, num_layers=2, batch_first=True) (tanh), the same two cases
Parameters are stored under their state_dict names (linear.weight, lstm.weight_ih_l0, …).

Regenerate:  PY=$(../shared/bench/setup.sh); $PY Fixtures/layers/generate_layer_reference.py
"""
import os

import numpy
import safetensors
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)


def grads(module, prefix, out):
    for name, p in module.named_parameters():
        out[f"{prefix}.grad.{name}"] = p.grad.detach().clone()


def main():
    g = torch.Generator().manual_seed(20181010)
    out = {}

    linear = torch.nn.Linear(5, 3)
    for p in linear.parameters():
        torch.nn.init.uniform_(p, -0.8, 0.8, generator=g)
    x = torch.randn(4, 5, generator=g, requires_grad=True)
    y = linear(x)
    r = torch.randn(*y.shape, generator=g)
    (y * r).sum().backward()
    out.update({"linear.weight": linear.weight.detach(), "linear.bias": linear.bias.detach(),
                "linear.input": x.detach(), "linear.output": y.detach(), "linear.upstream": r,
                "linear.grad.input": x.grad})
    grads(linear, "linear", out)

    lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
    for p in lstm.parameters():
        torch.nn.init.uniform_(p, -0.7, 0.7, generator=g)
    for name, p in lstm.named_parameters():
        out[f"lstm.{name}"] = p.detach().clone()

    x = torch.randn(2, 5, 3, generator=g, requires_grad=True)
    y, _ = lstm(x)
    r = torch.randn(*y.shape, generator=g)
    lstm.zero_grad()
    (y * r).sum().backward()
    out.update({"lstm.input": x.detach(), "lstm.output": y.detach(), "lstm.upstream": r, "lstm.grad.input": x.grad})
    grads(lstm, "lstm", out)

    x = torch.randn(3, 4, 3, generator=g, requires_grad=True)
    y, _ = lstm(x)
    last = y[:, -1, :]
    r = torch.randn(*last.shape, generator=g)
    lstm.zero_grad()
    (last * r).sum().backward()
    out.update({"lstm_last.input": x.detach(), "lstm_last.output": last.detach(), "lstm_last.upstream": r,
                "lstm_last.grad.input": x.grad})
    grads(lstm, "lstm_last", out)

    padding = [0, 2, 5]
    steps = 6
    x = torch.randn(3, steps, 3, generator=g)
    mask = torch.ones(3, steps)
    for n, k in enumerate(padding):
        x[n, :k] = 0.0      # padded steps hold zeros; the mask, not the values, marks them
        mask[n, :k] = 0.0
    r = torch.randn(3, 4, generator=g)
    lstm.zero_grad()
    last_rows, input_grad = [], torch.zeros_like(x)
    for n, k in enumerate(padding):
        xn = x[n:n + 1, k:].clone().requires_grad_(True)
        yn, _ = lstm(xn)
        (yn[:, -1, :] * r[n:n + 1]).sum().backward()
        last_rows.append(yn[0, -1, :].detach())
        input_grad[n, k:] = xn.grad[0]
    out.update({"lstm_masked.input": x, "lstm_masked.mask": mask, "lstm_masked.output": torch.stack(last_rows),
                "lstm_masked.upstream": r, "lstm_masked.grad.input": input_grad})
    grads(lstm, "lstm_masked", out)

    for name, module, x in [
        ("conv_same", torch.nn.Conv1d(3, 5, kernel_size=2, padding="same"), torch.randn(2, 6, 3, generator=g)),
        ("conv_valid", torch.nn.Conv1d(3, 4, kernel_size=3), torch.randn(2, 6, 3, generator=g)),
    ]:
        for p in module.parameters():
            torch.nn.init.uniform_(p, -0.6, 0.6, generator=g)
        x = x.requires_grad_(True)
        y = module(x.transpose(1, 2)).transpose(1, 2)
        r = torch.randn(*y.shape, generator=g)
        (y * r).sum().backward()
        out.update({f"{name}.weight": module.weight.detach(), f"{name}.bias": module.bias.detach(),
                    f"{name}.input": x.detach(), f"{name}.output": y.detach(), f"{name}.upstream": r,
                    f"{name}.grad.input": x.grad})
        grads(module, name, out)

    bn = torch.nn.BatchNorm1d(4)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5, generator=g)
        bn.bias.uniform_(-0.5, 0.5, generator=g)
        bn.running_mean.uniform_(-0.2, 0.2, generator=g)
        bn.running_var.uniform_(0.5, 2.0, generator=g)
    for name, train in [("bn_train", True), ("bn_eval", False)]:
        for key, value in bn.state_dict().items():
            if "num_batches" not in key:
                out[f"{name}.{key}"] = value.detach().clone()
        bn.train(train)
        bn.zero_grad()
        x = (torch.randn(3, 5, 4, generator=g) * 2 + 1).requires_grad_(True)
        y = bn(x.transpose(1, 2)).transpose(1, 2)
        r = torch.randn(*y.shape, generator=g)
        (y * r).sum().backward()
        out.update({f"{name}.input": x.detach(), f"{name}.output": y.detach(), f"{name}.upstream": r,
                    f"{name}.grad.input": x.grad, f"{name}.after.running_mean": bn.running_mean.detach().clone(),
                    f"{name}.after.running_var": bn.running_var.detach().clone()})
        grads(bn, name, out)

    for name, module in [("gru", torch.nn.GRU(3, 4, num_layers=2, batch_first=True)),
                         ("rnn", torch.nn.RNN(3, 4, num_layers=2, batch_first=True))]:
        for p in module.parameters():
            torch.nn.init.uniform_(p, -0.7, 0.7, generator=g)
        for pname, p in module.named_parameters():
            out[f"{name}.{pname}"] = p.detach().clone()
        x = torch.randn(2, 5, 3, generator=g, requires_grad=True)
        y, _ = module(x)
        r = torch.randn(*y.shape, generator=g)
        module.zero_grad()
        (y * r).sum().backward()
        out.update({f"{name}.input": x.detach(), f"{name}.output": y.detach(), f"{name}.upstream": r, f"{name}.grad.input": x.grad})
        grads(module, name, out)

        x = torch.randn(3, steps, 3, generator=g)
        mask = torch.ones(3, steps)
        for n, k in enumerate(padding):
            x[n, :k] = 0.0
            mask[n, :k] = 0.0
        r = torch.randn(3, 4, generator=g)
        module.zero_grad()
        last_rows, input_grad = [], torch.zeros_like(x)
        for n, k in enumerate(padding):
            xn = x[n:n + 1, k:].clone().requires_grad_(True)
            yn, _ = module(xn)
            (yn[:, -1, :] * r[n:n + 1]).sum().backward()
            last_rows.append(yn[0, -1, :].detach())
            input_grad[n, k:] = xn.grad[0]
        out.update({f"{name}_masked.input": x, f"{name}_masked.mask": mask, f"{name}_masked.output": torch.stack(last_rows),
                    f"{name}_masked.upstream": r, f"{name}_masked.grad.input": input_grad})
        grads(module, f"{name}_masked", out)

    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in out.items()}
    metadata = {"generator": "Fixtures/layers/generate_layer_reference.py", "torch": torch.__version__,
                "numpy": numpy.__version__, "safetensors": safetensors.__version__,
                "precision": "computed in float64, stored as float32"}
    save_file(tensors, os.path.join(HERE, "layer_reference.safetensors"), metadata=metadata)


if __name__ == "__main__":
    main()
