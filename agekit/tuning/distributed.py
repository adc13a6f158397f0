"""Distributed search: Keras Tuner's chief/worker mode, and which trials a process ran.

Start the same script once as the chief (it only hands out trials and collects
results) and once per worker (each runs trials), set apart by three environment
variables (`KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT`, `KERASTUNER_TUNER_ID`);
the `agekit.tuning` docstring shows a script and how to start it on several GPUs or
with Slurm. On the chief `tune` returns the whole search; on a worker it returns the
trials that worker ran (`_Recording` keeps them), with `best_model=None`.
"""

import os

import keras_tuner


class _Recording:
    """Keeps the trials this process ran (a worker's share of a distributed search)."""

    def on_search_begin(self):
        super().on_search_begin()
        self.ran_trials = []

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        self.ran_trials.append(self.oracle.get_trial(trial.trial_id))  # while the chief runs


class _RandomSearch(_Recording, keras_tuner.RandomSearch):
    pass


class _Hyperband(_Recording, keras_tuner.Hyperband):
    pass


class _BayesianOptimization(_Recording, keras_tuner.BayesianOptimization):
    pass


TUNERS = {"hyperband": _Hyperband, "random": _RandomSearch, "bayesian": _BayesianOptimization}


def is_worker():
    """Whether this process is a worker of a distributed search (not its chief)."""
    return ("KERASTUNER_ORACLE_IP" in os.environ
            and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", ""))

