#!/usr/bin/env python3
"""An edgefleet script job: a PyTorch MLP on a tabular dataset, exported as the ONNX model the hub
expects (see trainer/README.md).

Inputs come from the worker's environment: vectors.csv (every row already in the model's input
convention: numerics raw, categoricals as vocabulary codes, NaN = missing), schema.json (features,
classes, training means/stds) and split.json (the hub's own train/validation/test rows). The
preprocessing (impute, standardise, one-hot) is part of the exported graph, so devices send raw
features. Trains on CUDA when available; exports on the CPU.

Params ($EDGEFLEET_PARAMS): hidden [64, 64], epochs 100, lr 1e-3, batch_size 64,
weight_decay 1e-5, patience 10.
"""

import json
import os
import sys

import numpy as np
import torch
from torch import nn


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: run this through an edgefleet trainer worker")
    return value


schema = json.load(open(env("EDGEFLEET_SCHEMA_PATH")))
split = json.load(open(env("EDGEFLEET_SPLIT_PATH")))
params = {"hidden": [64, 64], "epochs": 100, "lr": 1e-3, "batch_size": 64, "weight_decay": 1e-5, "patience": 10}
params.update(json.loads(os.environ.get("EDGEFLEET_PARAMS") or "{}"))
output_dir = env("EDGEFLEET_OUTPUT_DIR")
torch.manual_seed(int(os.environ.get("EDGEFLEET_SEED", "1")))

classification = schema["task"] == "classification"
classes = schema["classes"]
features = schema["features"]
# vectors.csv: header of feature names + "__target__"; "nan" marks a missing value.
table = np.genfromtxt(env("EDGEFLEET_VECTORS_PATH"), delimiter=",", skip_header=1, dtype=np.float32)
table = table.reshape(len(table), -1)
x_all, y_all = table[:, :-1], table[:, -1]
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"{schema['task']} on {schema['rows']} rows, {len(features)} features, device {device}; params {json.dumps(params)}")


class Preprocess(nn.Module):
    """Raw `features` [batch, F] → design matrix: numerics imputed + standardised, categoricals one-hot."""

    def __init__(self):
        super().__init__()
        numeric = [f for f in features if f["kind"] != "categorical"]
        categorical = [f for f in features if f["kind"] == "categorical"]
        self.register_buffer("numeric_index", torch.tensor([f["index"] for f in numeric], dtype=torch.long))
        self.register_buffer("mean", torch.tensor([f["mean"] for f in numeric], dtype=torch.float32))
        self.register_buffer("std", torch.tensor([f["std"] for f in numeric], dtype=torch.float32))
        self.categorical = [(f["index"], len(f["vocabulary"])) for f in categorical]
        self.width = len(numeric) + sum(size for _, size in self.categorical)

    def forward(self, x):
        parts = []
        if self.numeric_index.numel() > 0:
            numeric = x.index_select(1, self.numeric_index)
            numeric = torch.where(torch.isnan(numeric), self.mean, numeric)
            parts.append((numeric - self.mean) / self.std)
        for index, size in self.categorical:
            # Missing (NaN) and unseen (-1 or any other code) compare unequal to every code: all zeros.
            codes = x[:, index : index + 1]
            parts.append((codes == torch.arange(size, dtype=x.dtype, device=x.device)).to(x.dtype))
        return torch.cat(parts, dim=1)


class Model(nn.Module):
    def __init__(self, y_mean=0.0, y_std=1.0):
        super().__init__()
        self.pre = Preprocess()
        layers, width = [], self.pre.width
        for hidden in params["hidden"]:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, len(classes) if classification else 1))
        self.net = nn.Sequential(*layers)
        self.register_buffer("y_mean", torch.tensor(y_mean, dtype=torch.float32))
        self.register_buffer("y_std", torch.tensor(y_std, dtype=torch.float32))

    def raw(self, x):
        """Logits (classification) or the standardised prediction (regression): what the loss sees."""
        return self.net(self.pre(x))

    def forward(self, x):
        out = self.raw(x)
        if classification:
            probabilities = torch.softmax(out, dim=1)
            return torch.argmax(probabilities, dim=1), probabilities
        return out * self.y_std + self.y_mean


def rows(name):
    index = np.asarray(split[name], dtype=np.int64)
    return torch.from_numpy(x_all[index]).to(device), torch.from_numpy(y_all[index]).to(device)


x_train, y_train = rows("train")
x_val, y_val = rows("validation")
x_test, _ = rows("test")
y_mean = 0.0 if classification else float(y_train.mean())
y_std = 1.0 if classification else float(y_train.std(unbiased=False)) or 1.0
model = Model(y_mean, y_std).to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"], weight_decay=params["weight_decay"])


def loss_of(x, y):
    out = model.raw(x)
    if classification:
        return nn.functional.cross_entropy(out, y.long())
    return nn.functional.mse_loss(out[:, 0], (y - y_mean) / y_std)


best, best_state, waited = float("inf"), None, 0
for epoch in range(1, params["epochs"] + 1):
    model.train()
    order = torch.randperm(len(x_train), device=device)
    for start in range(0, len(order), params["batch_size"]):
        batch = order[start : start + params["batch_size"]]
        optimizer.zero_grad()
        loss_of(x_train[batch], y_train[batch]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        train_loss = float(loss_of(x_train, y_train))
        val_loss = float(loss_of(x_val, y_val)) if len(x_val) else train_loss
    print(f"EDGEFLEET_METRIC train_loss={train_loss:.6f} validation_loss={val_loss:.6f} step={epoch}", flush=True)
    print(f"EDGEFLEET_PROGRESS {epoch}/{params['epochs']}", flush=True)
    if val_loss < best - 1e-6:
        best, waited = val_loss, 0
        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    else:
        waited += 1
        if waited >= params["patience"]:
            print(f"early stop at epoch {epoch} (best validation loss {best:.6f})")
            break
model.load_state_dict(best_state)

# Export on the CPU with a dynamic batch dimension; the vector input convention of training.
model = model.cpu().eval()
dummy = torch.zeros(2, len(features), dtype=torch.float32)
names = ["label", "probabilities"] if classification else ["prediction"]
export_args = dict(
    input_names=["features"],
    output_names=names,
    dynamic_axes={"features": {0: "batch"}, **{name: {0: "batch"} for name in names}},
    opset_version=17,
)
path = os.path.join(output_dir, "model.onnx")
try:
    torch.onnx.export(model, (dummy,), path, dynamo=False, **export_args)
except TypeError:  # torch < 2.5 has no `dynamo` argument (and always used the TorchScript exporter)
    torch.onnx.export(model, (dummy,), path, **export_args)

# The model's own test-split outputs, for the hub's parity check against the ONNX file.
with torch.no_grad():
    out = model(x_test.cpu())
if classification:
    probabilities = out[1]
    predictions = {"probabilities": probabilities.tolist()}
    accuracy = float((out[0] == torch.from_numpy(y_all[np.asarray(split["test"], dtype=np.int64)]).long()).float().mean())
    print(f"EDGEFLEET_METRIC test_accuracy={accuracy:.6f} step={epoch}")
else:
    predictions = {"prediction": out[:, 0].tolist()}
json.dump(predictions, open(os.path.join(output_dir, "predictions.json"), "w"))
print(f"wrote {path}")
