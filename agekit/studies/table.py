"""A reproduction's table: each measure the study reported, beside the one measured.

`measured` is read from the runs' own files only: the held-out scores of
`metrics.json` (test splits, means over folds, the pre-trained model's scores) and the
per-epoch `history.csv` (train and validation scores, best or final epoch). A measure
whose variants did not run at a scale is left empty, and its deviation says so.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from agekit.experiment.config import TWO_OUTPUT

COLUMNS = ("measure", "reported", "measured", "data", "scale", "deviation")
# The Keras metric each age head reports in history.csv, and whether higher is better.
_AGE_MAE = {"dex": "expected_age_mae", "regression": "mae", "coral": "coral_mae"}
_HIGHER = ("accuracy", "f1")


class NotRun(Exception):
    """A measure whose runs are not part of this scale."""


def _head(experiment):
    kind, _, scheme = experiment.model.head.partition(":")
    return kind, scheme


def _history_column(name, experiment):
    """The `history.csv` column of a catalogue metric, without the `val_` prefix."""
    kind, _ = _head(experiment)
    multi = bool(experiment.model.outputs) or experiment.model.backbone in TWO_OUTPUT
    if name == "gender_accuracy":
        return "gender_accuracy"
    metric = {"age_mae": _AGE_MAE.get(kind), "age_accuracy": "accuracy",
              "age_macro_f1": "macro_f1"}[name]
    if metric is None:
        raise NotRun(f"no age MAE in the history of a {kind} head")
    return f"age_{metric}" if multi else metric


def _score_key(name, experiment):
    """The `metrics.json` key of a catalogue metric (held-out scores)."""
    kind, scheme = _head(experiment)
    bins = scheme if kind == "bins" else "utk7"
    return {"age_mae": "mae", "age_accuracy": f"{bins}_accuracy", "age_macro_f1": f"{bins}_macro_f1",
            "gender_accuracy": "gender_accuracy"}[name]


def _from_history(path, column, reduce):
    history = pd.read_csv(path)
    if column not in history.columns:
        raise NotRun(f"no {column} in {path}")
    values = history[column].dropna()
    if reduce == "final":
        return float(values.iloc[-1])
    better_high = any(word in column for word in _HIGHER)
    return float(values.max() if better_high else values.min())


def metric_value(metric, experiment, metrics):
    """The value of a catalogue metric in one run's files (`metrics` of `run_experiment`)."""
    name, split = metric["name"], metric["split"]
    if name == "rows":
        counts = metrics["pretrain"]["data"] if metric.get("data") == "pretrain" else metrics["data"]
        return int(counts["kept"])
    if name == "chosen":
        best = metrics["search"]["best"]
        return ", ".join(f"{key}={best[key]:.3g}" if isinstance(best[key], float) else f"{key}={best[key]}"
                         for key in metric["of"])
    pretrained = metric.get("stage") == 0 and experiment.pretrain is not None
    reduce = metric.get("reduce", "best")
    if split == "test":
        scores = metrics["pretrain"] if pretrained else metrics
        key = _score_key(name, experiment)
        if key not in scores:
            raise NotRun(f"no {key} in the held-out scores")
        return float(scores[key])
    column = ("val_" if split == "val" else "") + _history_column(name, experiment)
    run_dirs = [fold["run_dir"] for fold in metrics["folds"]] if "folds" in metrics else [metrics["run_dir"]]
    values = [_from_history(Path(d) / ("pretrain" if pretrained else "") / "history.csv", column,
                            "final" if reduce == "mean" else reduce) for d in run_dirs]
    return float(np.mean(values))


def measure(item, scale_runs):
    """`(measured, note)` of one reported measure; `scale_runs` is variant -> (experiment, metrics)."""
    metric = item["metric"]
    if metric["name"] in ("difference", "best_variant"):
        inner = {"name": metric["of"], "split": metric["split"],
                 "reduce": "final" if metric["split"] == "test" else "best"}
        wanted = metric.get("variants") or metric.get("among")
        ran = [v for v in wanted if v in scale_runs]
        if metric["name"] == "difference":
            missing = [v for v in wanted if v not in scale_runs]
            if missing:
                raise NotRun(f"variants {missing} not run at this scale")
            a, b = (metric_value(inner, *scale_runs[v]) for v in wanted)
            return a - b, f"{wanted[0]} minus {wanted[1]}"
        if not ran:
            raise NotRun(f"none of the variants {wanted} run at this scale")
        values = {v: metric_value(inner, *scale_runs[v]) for v in ran}
        pick = (min if metric["mode"] == "min" else max)(values, key=values.get)
        note = f"{metric['mode']} {metric['of']} among the {len(ran)} of {len(wanted)} variants run"
        return pick, note + ": " + ", ".join(f"{v} {values[v]:.3f}" for v in ran)
    key = metric.get("variant")
    if key is None:  # any run that has it (the pre-training data is every variant's)
        wanted = metric.get("data") == "pretrain"
        key = next((k for k, (exp, _) in scale_runs.items() if not wanted or exp.pretrain is not None),
                   None)
    if key not in scale_runs:
        raise NotRun(f"variant {key} not run at this scale")
    return metric_value(metric, *scale_runs[key]), ""


def data_text(experiment, metrics):
    """The data of a run in words; `synthetic` where it is."""
    metrics = metrics["folds"][0] if "folds" in metrics else metrics
    counts, data = metrics["data"], experiment.data
    used = counts.get("kept", counts.get("loaded"))
    if data.root is None:
        text = f"synthetic ({data.format} layout, {used} faces)"
    else:
        text = f"{data.format} at {data.root} ({used} of {counts['loaded']} images)"
    if experiment.pretrain is not None and "pretrain" in metrics:
        pre, rows = experiment.pretrain, metrics["pretrain"]["data"].get("kept")
        source = f"synthetic ({pre.format} layout, {rows})" if pre.root is None else f"{pre.format} ({rows})"
        text += f"; pre-training: {source}"
    return text


def _format(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def build_table(entry, scale, experiments, runs) -> pd.DataFrame:
    """One row per reported measure: the study's value and this run's (`COLUMNS`)."""
    scale_runs = {key: (experiments[key], runs[key]) for key in runs}
    first = next(iter(scale_runs.values()))
    data = data_text(*first)
    deviations = entry["scales"][scale]["deviations"]
    if entry["scales"][scale]["data"]["source"] == "synthetic" and first[0].data.root is not None:
        deviations = ("Real data given with --data in place of the scale's synthetic faces (a random "
                      "sample of as many rows). " + deviations)
    rows = []
    for name, item in entry["reported"].items():
        notes = []
        try:
            value, note = measure(item, scale_runs)
            measured = _format(value)
            notes.append(note)
        except NotRun as reason:
            measured = ""
            notes.append(f"not measured at {scale} scale: {reason}")
        if not item["comparable"]:
            notes.append("not comparable with the study's figure: " + item.get("note", ""))
        rows.append({"measure": name, "reported": _format(item["value"]), "measured": measured,
                     "data": data, "scale": scale,
                     "deviation": "; ".join(n for n in [*notes, deviations] if n)})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_table(out, entry, scale, table, *, figures=(), minutes=None):
    """`table.csv` (the full deviation text in every row) and `table.md` (per-row notes,
    then the scale's deviations once, the figures and the wall time)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "table.csv", index=False)
    deviations = entry["scales"][scale]["deviations"]
    short = table.assign(deviation=[text.replace(deviations, "").strip("; ") or "-"
                                    for text in table["deviation"]])
    lines = [f"# {entry['name']}: {entry['title']}", "",
             f"Study {entry['study']}, {entry['table']}. Scale: {scale}"
             + (f", {minutes} minutes." if minutes is not None else "."), "",
             "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for row in short.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "/") or " " for v in row) + " |")
    lines += ["", f"Deviations at {scale} scale (every row): {deviations}", "",
              f"Notes: {entry['notes']}", ""]
    if figures:
        lines += ["## Figures", "", *[f"![{Path(f).stem}]({f})" for f in figures], ""]
    (out / "table.md").write_text("\n".join(lines))
    return out / "table.md"
