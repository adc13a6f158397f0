"""Hyperparameter search with Keras Tuner: what the VGG16 study tuned by hand, automated.

`AgeHyperModel` is a `keras_tuner.HyperModel` over the backbone, the head, the learning
rate, the batch size, the trainable layers (`set_trainable(last=N)`), the dropout and
augmentation on/off. `tune` runs a search (Hyperband, random or Bayesian) and returns a
`TuneResult`: one row per trial, and the best model reloaded with its best weights.

Every hyperparameter is a keyword argument of `AgeHyperModel`, given as:

    a scalar   fixed:       dropout=0.3
    a tuple    a range:     learning_rate=(1e-5, 1e-2)   (log scale for the learning
                            rate, powers of two from the low end for the batch size)
    a list     choices:     head=["dex", "regression"], trainable_layers=[1, 8, 22]

Because the batch size and augmentation change per trial, the search takes unbatched
data: DataFrames of image paths and ages (`agekit.datasets` loaders), or `(x, y)` tuples
of image arrays and ages in years; each trial builds its own pipeline.

A search is resumable: run `tune` again with the same `directory` and `project_name`
(and `overwrite=False`, the default) and it continues where it stopped; finished trials
are not run again, a trial that was cut off is run again from its start.

Distributed search uses Keras Tuner's own chief/worker mode: start the same script once
as the chief (it only hands out trials and collects results) and once per worker
(each runs trials), set apart by three environment variables. `directory` must be a
folder all of them can read and write (the best model is loaded from the checkpoints
the workers write there). On the chief `tune` returns the whole search; on a worker it
returns the trials that worker ran, with `best_model=None`. Example, `search.py`:

    import agekit
    from agekit.datasets import load_utkface, split

    train, val = split(load_utkface("data/UTKFace"), val=0.2, seed=0)
    hypermodel = agekit.AgeHyperModel(backbone="vgg16", head=["dex", "regression"])
    result = agekit.tune(train, val, hypermodel=hypermodel, tuner="bayesian",
                         max_trials=40, epochs=10, directory="/shared/tuning",
                         project_name="vgg16_utkface")
    if result.best_model is not None:  # the chief, or a search without workers
        print(result.results.sort_values("score").head())
        result.best_model.save("best.keras")

Several GPUs on one machine (one worker per GPU, the chief on the CPU):

    export KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000
    KERASTUNER_TUNER_ID=chief CUDA_VISIBLE_DEVICES="" python search.py > chief.log 2>&1 &
    KERASTUNER_TUNER_ID=tuner0 CUDA_VISIBLE_DEVICES=0 python search.py > tuner0.log 2>&1 &
    KERASTUNER_TUNER_ID=tuner1 CUDA_VISIBLE_DEVICES=1 python search.py > tuner1.log 2>&1 &
    wait

Several machines with Slurm (one worker per node; the batch script, which runs on the
first node, starts the chief there):

    #!/bin/bash
    #SBATCH --nodes=4 --ntasks-per-node=1 --gpus-per-node=1
    export KERASTUNER_ORACLE_IP=$(hostname) KERASTUNER_ORACLE_PORT=8000
    KERASTUNER_TUNER_ID=chief CUDA_VISIBLE_DEVICES="" python search.py > chief.log 2>&1 &
    srun bash -c 'KERASTUNER_TUNER_ID=tuner$SLURM_PROCID python search.py'
    wait

The modules (every public name is importable from `agekit.tuning`):

    space        the hyperparameter specs (fixed / range / choices) and their checks
    hypermodel   AgeHyperModel (build, fit, make_dataset) and check_data
    search       tune, TuneResult, results_table, default_objective
    distributed  the chief/worker mode: the tuners that record their trials, TUNERS
"""

from agekit.tuning.distributed import TUNERS
from agekit.tuning.hypermodel import AgeHyperModel, check_data
from agekit.tuning.search import TuneResult, default_objective, results_table, tune
from agekit.tuning.space import AGE_METRIC, DEFAULT_CHOICES, SCRATCH

__all__ = [
    "AGE_METRIC",
    "DEFAULT_CHOICES",
    "SCRATCH",
    "TUNERS",
    "AgeHyperModel",
    "TuneResult",
    "check_data",
    "default_objective",
    "results_table",
    "tune",
]
