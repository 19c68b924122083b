#!/usr/bin/env python3
"""Reference figures for training's built-in recipes, from scikit-learn on OUR splits.

Reads test/fixtures/datasets/reference-splits.json (written by
training/reference-accuracy.test.ts with UPDATE_REFERENCE_SPLITS=1: the row indices of every
train/validation/test split that train() makes with each seed, and which columns are numeric or
categorical), fits each reference on the training rows only, scores the test rows, and writes the
mean (and per-split values) of each test metric to test/fixtures/datasets/reference-metrics.json.

Needs numpy and scikit-learn (Debian: apt-get install python3-sklearn). Run from the repository root:
    /usr/bin/python3 scripts/reference/sklearn_reference.py

Preprocessing is scikit-learn's standard pipeline, the same steps as ours: numeric columns get
mean imputation then standardisation (population std), categorical columns one-hot encoding over
the training vocabulary with a missing category as all zeros (as ours).

Variants per recipe: "matched" (our default hyperparameters and method; early-stopping variants
fit on the training + validation rows and hold out the same share for validation as ours, since
scikit-learn draws its own holdout) and scikit-learn's defaults (fitted on the training rows).
"peers": scikit-learn's linear model, RandomForest(500), GradientBoosting and HistGradientBoosting
at their defaults on the training rows, and the best of them (the T1 yardstick).
"""

import csv
import datetime
import json
import math
import os
import sys
import warnings

import numpy as np
import sklearn
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DATASETS = os.path.join(ROOT, "test", "fixtures", "datasets")
MISSING = {"", "NA", "N/A", "NaN", "nan", "null", "NULL"}
# MLPs with a fixed epoch budget (ours: 200) stop before scikit-learn calls them converged; expected.
warnings.filterwarnings("ignore", category=ConvergenceWarning)
MISSING_MARK = "\u0000missing"
# Random references (MLPs, forests) are averaged over these random_state values on every split.
STATES = [0, 1, 2, 3, 4]

# Our defaults (training/trainers/*.ts), so the "matched" references use the same settings.
OURS = {
    "logistic": {"l2": 1e-3},
    "mlp": {"hidden": (32,), "learningRate": 0.01, "epochs": 200, "batchSize": 32, "l2": 1e-5, "patience": 15},
    "forest": {"nEstimators": 100, "minSamplesLeaf": 1, "maxBins": 255},
    "gbt": {
        "nEstimators": 300,
        "learningRate": 0.1,
        "maxDepth": 3,
        "minSamplesLeaf": 1,
        "lambda": 0.5,
        "maxBins": 128,
        "patience": 30,
    },
}


def read_table(case):
    with open(os.path.join(DATASETS, case["file"]), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    numeric = np.array(
        [[math.nan if r[c].strip() in MISSING else float(r[c]) for c in case["numeric"]] for r in rows],
        dtype=np.float64,
    ).reshape(len(rows), len(case["numeric"]))
    categorical = np.array(
        [[MISSING_MARK if r[c].strip() in MISSING else r[c] for c in case["categorical"]] for r in rows],
        dtype=object,
    ).reshape(len(rows), len(case["categorical"]))
    if case["task"] == "classification":
        index = {name: k for k, name in enumerate(case["classes"])}
        y = np.array([index[r[case["target"]]] for r in rows])
    else:
        y = np.array([float(r[case["target"]]) for r in rows])
    return np.hstack([numeric, categorical]) if categorical.size else numeric, y


def preprocessing(case, x_train):
    """Ours: mean imputation and standardisation; one-hot over the training vocabulary, where a
    missing or unseen category is all zeros (so the vocabulary leaves the missing marker out)."""
    n = len(case["numeric"])
    parts = [("numeric", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), list(range(n)))]
    if case["categorical"]:
        vocabulary = [
            sorted(set(x_train[:, n + j]) - {MISSING_MARK}) for j in range(len(case["categorical"]))
        ]
        parts.append(
            (
                "categorical",
                OneHotEncoder(categories=vocabulary, handle_unknown="ignore", sparse_output=False),
                list(range(n, n + len(case["categorical"]))),
            )
        )
    return ColumnTransformer(parts)


def references(task, n_train, holdout):
    """(recipe, name, fit rows, factory(random_state), random) for the task. Fit rows: "train" (ours'
    training rows) or "train+validation" (early stopping draws `holdout` of them for validation).
    Random references are averaged over STATES. Recipe "peer" marks scikit-learn's own models at
    their defaults (linear, random forest, gradient boosting): the T1 yardstick for our best recipe."""
    gbt = OURS["gbt"]
    mlp = OURS["mlp"]
    classification = task == "classification"
    hist = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
    perceptron = MLPClassifier if classification else MLPRegressor
    boosting = GradientBoostingClassifier if classification else GradientBoostingRegressor
    forest = RandomForestClassifier if classification else RandomForestRegressor
    # Our MLP regressor learns a standardised target; this is scikit-learn's standard way to do that.
    wrap = (lambda m: m) if classification else (lambda m: TransformedTargetRegressor(regressor=m, transformer=StandardScaler()))
    hist_matched = dict(
        max_iter=gbt["nEstimators"],
        learning_rate=gbt["learningRate"],
        max_depth=gbt["maxDepth"],
        min_samples_leaf=gbt["minSamplesLeaf"],
        l2_regularization=gbt["lambda"],
        max_bins=gbt["maxBins"],
        early_stopping=True,
        validation_fraction=holdout,
        n_iter_no_change=gbt["patience"],
        scoring="loss",
        tol=0,
    )
    mlp_matched = dict(
        hidden_layer_sizes=mlp["hidden"],
        learning_rate_init=mlp["learningRate"],
        max_iter=mlp["epochs"],
        batch_size=mlp["batchSize"],
        alpha=mlp["l2"],
        early_stopping=True,
        validation_fraction=holdout,
        n_iter_no_change=mlp["patience"],
        tol=0,
    )
    both = "train+validation"
    found = []
    if classification:
        # Ours minimises mean log loss + l2/2·|w|²; scikit-learn C·Σ loss + |w|²/2: C = 1/(l2·n).
        c = 1 / (OURS["logistic"]["l2"] * n_train)
        found += [
            ("logistic", f"matched: LogisticRegression(C=1/(l2*n)={c:.3g})", "train", lambda s: LogisticRegression(C=c, max_iter=100_000)),
            ("logistic", "defaults: LogisticRegression() (C=1)", "train", lambda s: LogisticRegression(max_iter=10_000)),
            ("peer", "LogisticRegression()", "train", lambda s: LogisticRegression(max_iter=10_000)),
        ]
    else:
        found += [
            ("ridge", "matched = defaults: Ridge(alpha=1)", "train", lambda s: Ridge(alpha=1.0)),
            ("peer", "Ridge()", "train", lambda s: Ridge(alpha=1.0)),
        ]
    name = "Classifier" if classification else "Regressor"
    found += [
        (
            "mlp",
            f"matched: MLP{name}(32 ReLU, adam 0.01, batch 32, alpha 1e-5, early stopping, patience 15)",
            both,
            lambda s: wrap(perceptron(random_state=s, **mlp_matched)),
        ),
        ("mlp", f"defaults: MLP{name}() (100 ReLU, adam 0.001, batch 200)", "train", lambda s: wrap(perceptron(random_state=s, max_iter=1000))),
        (
            "gbt",
            f"matched: HistGradientBoosting{name}(300 rounds, lr 0.1, depth 3, leaf 1, l2 0.5, 128 bins, early stopping, patience 30; no row subsampling)",
            both,
            lambda s: hist(random_state=s, **hist_matched),
        ),
        ("gbt", f"defaults: HistGradientBoosting{name}()", "train", lambda s: hist(random_state=s)),
        ("gbt", f"defaults: GradientBoosting{name}()", "train", lambda s: boosting(random_state=s)),
        (
            "forest",
            f"matched: RandomForest{name}(100 trees, {'sqrt' if classification else 'all'} features per split, leaf 1, bootstrap)",
            "train",
            lambda s: forest(random_state=s, n_estimators=OURS["forest"]["nEstimators"], min_samples_leaf=OURS["forest"]["minSamplesLeaf"]),
        ),
        ("peer", f"RandomForest{name}(n_estimators=500)", "train", lambda s: forest(random_state=s, n_estimators=500)),
        ("peer", f"GradientBoosting{name}()", "train", lambda s: boosting(random_state=s)),
        ("peer", f"HistGradientBoosting{name}()", "train", lambda s: hist(random_state=s)),
    ]
    return found


def metrics(task, model, x, y, classes):
    if task == "classification":
        p = model.predict_proba(x)
        predicted = p.argmax(axis=1)
        auc = (
            roc_auc_score(y, p[:, 1])
            if len(classes) == 2
            else roc_auc_score(y, p, multi_class="ovr", average="macro", labels=list(range(len(classes))))
        )
        return {
            "accuracy": accuracy_score(y, predicted),
            "macroF1": f1_score(y, predicted, average="macro"),
            "rocAuc": auc,
            "logLoss": log_loss(y, p, labels=list(range(len(classes)))),
        }
    predicted = model.predict(x)
    return {
        "rmse": math.sqrt(mean_squared_error(y, predicted)),
        "mae": mean_absolute_error(y, predicted),
        "r2": r2_score(y, predicted),
    }


def main():
    with open(os.path.join(DATASETS, "reference-splits.json"), encoding="utf-8") as f:
        recorded = json.load(f)
    out = {
        "generatedBy": "scripts/reference/sklearn_reference.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "date": datetime.date.today().isoformat(),
        "seeds": recorded["seeds"],
        "note": "Fitted on each seed's training rows (70%; early-stopping variants: training + validation rows), scored on its test rows (15%); mean over the seeds "
        "(MLPs and forests: also over random_state 0-4). Per recipe, 'mean' is the matched variant's (our method and settings).",
        "cases": {},
    }
    for case in recorded["cases"]:
        x, y = read_table(case)
        task = case["task"]
        per_recipe = {}
        first = case["splits"][0]
        holdout = len(first["validation"]) / (len(first["train"]) + len(first["validation"]))
        for recipe, name, rows, factory in references(task, len(first["train"]), holdout):
            per_split = []
            for split in case["splits"]:
                fit = np.array(split["train"] + (split["validation"] if rows != "train" else []))
                test = np.array(split["test"])
                runs = []
                random = recipe in ("mlp", "forest") or name.startswith("RandomForest")
                for state in STATES if random else [0]:
                    pipeline = Pipeline([("features", preprocessing(case, x[fit])), ("model", factory(state))])
                    pipeline.fit(x[fit], y[fit])
                    runs.append(metrics(task, pipeline, x[test], y[test], case["classes"]))
                per_split.append({k: float(np.mean([r[k] for r in runs])) for k in runs[0]})
            mean = {k: float(np.mean([m[k] for m in per_split])) for k in per_split[0]}
            variant = {"name": name, "fitRows": rows, "mean": mean, "perSeed": per_split}
            per_recipe.setdefault(recipe, {"variants": []})["variants"].append(variant)
            print(f"{case['id']:17s} {recipe:8s} {name[:58]:58s} " + " ".join(f"{k}={v:.4f}" for k, v in mean.items()))
        for recipe, entry in per_recipe.items():
            if recipe == "peer":
                continue
            # The test holds each trainer to the matched reference: the same method and settings.
            matched = next(v for v in entry["variants"] if v["name"].startswith("matched"))
            entry["reference"] = matched["name"]
            entry["mean"] = matched["mean"]
        # T1: the best of scikit-learn's own linear, forest and boosting models, by mean test metric.
        peers = per_recipe.pop("peer")["variants"]
        key = (lambda v: -v["mean"]["accuracy"]) if task == "classification" else (lambda v: v["mean"]["rmse"])
        best = sorted(peers, key=key)[0]
        per_recipe["peers"] = {"variants": peers, "best": best["name"], "mean": best["mean"]}
        out["cases"][case["id"]] = per_recipe
    with open(os.path.join(DATASETS, "reference-metrics.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
