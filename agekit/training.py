"""Training runs: one folder per experiment, fine-tuning schedules, transfer, ensembles.

`fit` writes into its `run_dir`:

    logs/                TensorBoard event files (`tensorboard --logdir run_dir/logs`)
    best.weights.h5      weights of the best epoch on the monitored validation metric
                         (the weights only: no optimizer state)
    final.keras          the whole model after training (best weights restored; `final`
                         names it)
    stage<i>.weights.h5  weights after the last finished stage, while later stages remain
    history.csv          one row per epoch, every stage of a schedule appended
    settings.json        what the data, the model and the schedule were
    stages.json          the stages of a schedule already completed (for resuming)
    backup/              Keras BackupAndRestore state while a stage runs

A run that is interrupted (killed, pre-empted on a cluster) and started again with the
same arguments resumes: finished stages are skipped (their weights reloaded) and the
running stage continues from its last finished epoch. A folder resumes only its own
run: `fit` refuses a run folder whose `settings.json` records other data, another model
or another schedule (see `agekit._fingerprint`), instead of continuing it.

Schedules are data: `FineTune([Stage("head", 1e-4, 5), Stage("block5", 1e-5, 10)])` is
the VGG16 study's best schedule (train the new head, then unfreeze conv block 5 at a
learning rate ten times lower).
"""

import json
import logging
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from agekit._fingerprint import check_run_dir, run_settings
from agekit._validation import fail
from agekit._weights import BestWeights, load_weights, save_weights
from agekit.errors import MissingFileError
from agekit.models.build import compile_model
from agekit.models.heads import heads_of
from agekit.stages import FineTune, Stage

log = logging.getLogger(__name__)

DEFAULT_LEARNING_RATE = 1e-4  # Adam's rate for a model that fit compiles itself

# The metric each head kind is judged by, and whether lower is better.
_MONITOR = {
    "dex": ("expected_age_mae", "min"),
    "coral": ("coral_mae", "min"),
    "regression": ("mae", "min"),
    "bins": ("macro_f1", "max"),
    "class": ("accuracy", "max"),
}


def default_monitor(model, validation=True):
    """The metric to checkpoint on: the age head's, on validation data when there is some.

    Returns:
        `(name, mode)` such as `("val_expected_age_mae", "min")`.
    """
    heads = heads_of(model)
    if "age" in heads:
        metric, mode = _MONITOR[heads["age"].kind]
        if len(model.outputs) > 1:
            metric = f"age_{metric}"
    else:
        metric, mode = "loss", "min"
    return (f"val_{metric}" if validation else metric), mode


def fit(
    model,
    train,
    val=None,
    *,
    run_dir,
    epochs=10,
    schedule=None,
    learning_rate=None,
    monitor=None,
    patience=None,
    class_weight=None,
    strategy=None,
    mixed_precision=False,
    callbacks=None,
    verbose="auto",
    compile_options=None,
    final="final.keras",
):
    """Train with TensorBoard logs, a best-weights checkpoint, early stopping and a CSV.

    Args:
        model: A compiled-or-not agekit model, or a function of no arguments that builds
            one (needed with `strategy` or `mixed_precision`, so that the model is
            built and compiled inside the strategy's scope / under the policy).
        train: Training data (a `tf.data.Dataset` of `(x, y[, w])`, or a tuple of arrays).
        val: Validation data, same kinds.
        run_dir: Folder for this experiment (created; reused to resume the same run
            only: a folder made with other data, model or schedule is refused).
        epochs: Epochs when there is no `schedule`.
        schedule: A `FineTune`; each stage sets what trains and recompiles (at the
            stage's learning rate: `learning_rate` does not apply) with
            `compile_options`.
        learning_rate: Learning rate when there is no `schedule`. A model that `fit`
            compiles gets Adam at this rate (default 1e-4); an already compiled model
            keeps its optimizer, set to this rate when it is given (default: its own
            rate). A model compiled with a learning-rate schedule takes None only.
        monitor: Metric for the checkpoint and early stopping, such as
            `"val_expected_age_mae"`; default from the age head (`default_monitor`).
        patience: Early-stopping patience in epochs (None: no early stopping).
        class_weight: Passed to `model.fit` (single-output models).
        strategy: A `tf.distribute.Strategy` (e.g. `MirroredStrategy()` for several GPUs).
        mixed_precision: `True` or `"float16"`: train in mixed_float16 (GPUs);
            `"bfloat16"`: mixed_bfloat16 (TPUs, recent GPUs, and CPUs with AVX512-BF16
            or AMX, where a convolution step costs about half as much). Heads stay
            float32.
        callbacks: Extra Keras callbacks, run after agekit's own.
        verbose: Passed to `model.fit`.
        compile_options: Keyword arguments of `agekit.models.compile_model` for every
            compile `fit` does (each stage of a schedule, a model not compiled yet):
            the optimizer and its settings (`optimizer`, `schedule`, `weight_decay`,
            `weight_decay_mode`, `optimizer_options`), `loss_weights`, `losses`,
            `label_smoothing`. The stage's learning rate is passed as `learning_rate`.
            None: Adam with agekit's losses, equal loss weights.
        final: File name (in `run_dir`) of the whole model written at the end, e.g.
            `"model.keras"` for a caller that saves the model there again with more
            facts on its card: the run folder then holds one model, not two.

    Returns:
        `(model, history)`: the trained model (best weights restored) and the history of
        every epoch as a DataFrame.

    Example:
        `fit(model, train_ds, val_ds, run_dir="runs/vgg16_dex", schedule=FineTune.study_best())`
        fine-tunes as the VGG16 study did. Two epochs of a tiny model on arrays:

        >>> import tempfile
        >>> import numpy as np
        >>> from agekit.models import basic_cnn
        >>> model = basic_cnn(input_shape=(16, 16, 1), layers=1, base_filters=2, hidden=4,
        ...                   head="regression")
        >>> x, ages = np.zeros((8, 16, 16, 3), "float32"), np.linspace(10.0, 80.0, 8)
        >>> model, history = fit(model, (x, ages), (x, ages), run_dir=tempfile.mkdtemp(),
        ...                      epochs=2, verbose=0)
        >>> history.columns.tolist()
        ['epoch', 'loss', 'mae', 'val_loss', 'val_mae']
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    needs_builder = strategy is not None or mixed_precision
    if needs_builder and (not callable(model) or isinstance(model, keras.Model)):
        fail("a function that builds the model when strategy or mixed_precision is set",
             "model", type(model).__name__, error=TypeError)
    policy = _policy(mixed_precision)
    if policy:
        keras.mixed_precision.set_global_policy(policy)
    try:
        if strategy is not None:
            with strategy.scope():
                model = model()
        elif not isinstance(model, keras.Model):
            model = model()
    finally:
        if policy:
            keras.mixed_precision.set_global_policy("float32")
    compiled = model.compiled
    if schedule is None and compiled:
        if learning_rate is not None:
            _set_learning_rate(model.optimizer, learning_rate)
        # a LossScaleOptimizer (mixed precision) wraps the one that has the rate
        optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer).get_config()
        described = ({"trainable": "as compiled", "learning_rate": optimizer["learning_rate"],
                      "epochs": epochs},)
    else:
        optimizer = _described(compile_options) if compile_options else "adam"
        described = None
    rate = DEFAULT_LEARNING_RATE if learning_rate is None else learning_rate
    stages = schedule.stages if schedule is not None else (Stage("all", rate, epochs),)
    if monitor is None:
        monitor, mode = default_monitor(model, validation=val is not None)
    else:
        mode = "max" if any(k in monitor for k in ("accuracy", "f1", "auc")) else "min"
    check_run_dir(run_dir, run_settings(
        model=model, train=train, val=val, stages=described or stages, optimizer=optimizer,
        monitor=monitor, class_weight=class_weight,
    ))  # fmt: skip

    done = _read_done(run_dir)[: len(stages)]
    if done:  # resuming: reload the weights of the last finished stage (or the final model)
        last = run_dir / f"stage{len(done) - 1}.weights.h5"
        load_weights(model, last if last.is_file() else run_dir / final)
        log.info("resuming %s after %d finished stage(s)", run_dir, len(done))
    epoch = sum(done)
    for index in range(len(done), len(stages)):
        stage = stages[index]
        if schedule is not None or not compiled:
            trainable = stage.apply(model) if schedule is not None else None
            _compile(model, stage.learning_rate, strategy, compile_options)
            log.info("stage %d: %s trainable at lr %g", index, trainable, stage.learning_rate)
        best = _best_so_far(run_dir, monitor, mode)
        model.fit(
            **_as_fit_args(train),
            validation_data=val,
            initial_epoch=epoch,
            epochs=epoch + stage.epochs,
            callbacks=[*_callbacks(run_dir, index, monitor, mode, patience, best),
                       *(callbacks or [])],
            class_weight=class_weight,
            shuffle=isinstance(train, (tuple, list)),  # datasets shuffle themselves
            verbose=verbose,
        )
        if (run_dir / "best.weights.h5").is_file():
            load_weights(model, run_dir / "best.weights.h5")
        if index + 1 < len(stages):  # what a resume of the later stages starts from
            save_weights(model, run_dir / f"stage{index}.weights.h5")
        else:
            model.save(run_dir / final)
        epoch += stage.epochs
        done.append(stage.epochs)
        (run_dir / "stages.json").write_text(json.dumps(done))
        (run_dir / f"stage{index - 1}.weights.h5").unlink(missing_ok=True)  # superseded
    return model, read_history(run_dir)


def _set_learning_rate(optimizer, learning_rate):
    """Honour `fit(learning_rate=...)` on a compiled model: set its optimizer's rate."""
    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        fail("learning_rate > 0 (or None)", "learning_rate", learning_rate)
    try:
        optimizer.learning_rate = float(learning_rate)
    except TypeError:  # Keras: "This optimizer was created with a LearningRateSchedule"
        fail("learning_rate=None for a model compiled with a learning-rate schedule (it "
             "sets the rate)", "learning_rate", learning_rate, error=TypeError)


def _policy(mixed_precision):
    """The Keras dtype policy of `fit(mixed_precision=...)`, or None for float32."""
    policies = {False: None, None: None, True: "mixed_float16", "float16": "mixed_float16",
                "bfloat16": "mixed_bfloat16"}
    if not isinstance(mixed_precision, (bool, str, type(None))) or mixed_precision not in policies:
        fail("False, True, 'float16' or 'bfloat16'", "mixed_precision", mixed_precision)
    return policies[mixed_precision]


def _as_fit_args(train):
    """`(x, y[, sample_weight])` tuples of arrays -> keyword arguments of `model.fit`."""
    if isinstance(train, (tuple, list)):
        if len(train) not in (2, 3):
            fail("train as a dataset or an (x, y[, sample_weight]) tuple", "len(train)",
                 len(train))
        return dict(zip(("x", "y", "sample_weight"), train))
    return {"x": train}


def _compile(model, learning_rate, strategy, options=None):
    options = {**(options or {}), "learning_rate": learning_rate}  # the stage's rate
    if strategy is not None:
        with strategy.scope():
            compile_model(model, **options)
    else:
        compile_model(model, **options)


def _described(options):
    """`compile_options` as JSON-ready data for the run's settings (what a resume checks)."""
    return {key: value if isinstance(value, (str, int, float, bool, dict, list, type(None)))
            else type(value).__name__ for key, value in sorted(options.items())}


def _read_done(run_dir):
    path = run_dir / "stages.json"
    return json.loads(path.read_text()) if path.is_file() else []


def _best_so_far(run_dir, monitor, mode):
    """Best monitored value of earlier stages, so a later stage only saves improvements."""
    path = run_dir / "history.csv"
    if not path.is_file():
        return None
    values = pd.read_csv(path).get(monitor)
    if values is None or values.dropna().empty:
        return None
    return float(values.min() if mode == "min" else values.max())


def _callbacks(run_dir, index, monitor, mode, patience, best):
    callbacks = [
        keras.callbacks.TensorBoard(log_dir=str(run_dir / "logs")),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        keras.callbacks.BackupAndRestore(str(run_dir / "backup" / f"stage{index}")),
        BestWeights(run_dir / "best.weights.h5", monitor, mode, best),
    ]
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=monitor, mode=mode, patience=patience, restore_best_weights=True
        ))
    return callbacks


def read_history(run_dir):
    """The `history.csv` of a run as a DataFrame (one row per epoch, all stages)."""
    path = Path(run_dir) / "history.csv"
    if not path.is_file():
        raise MissingFileError(f"Expected a history.csv in the run folder. Received: {path}")
    return pd.read_csv(path)


def transfer_weights(source, target):
    """Copy weights from `source` to `target` layer by layer, by name.

    Layers whose weight shapes differ (a 101-way head onto an 8-way head) are skipped,
    so a model pre-trained on IMDb-WIKI can start a ChaLearn or Adience model.

    Returns:
        `(copied, skipped)` lists of layer names.
    """
    copied, skipped = [], []
    own = {layer.name: layer for layer in target.layers}
    for layer in source.layers:
        twin = own.get(layer.name)
        if twin is None or not layer.weights:
            continue
        weights = layer.get_weights()
        if [w.shape for w in weights] == [tuple(w.shape) for w in twin.weights]:
            twin.set_weights(weights)
            copied.append(layer.name)
        else:
            skipped.append(layer.name)
    return copied, skipped


def pretrain_then_finetune(build, pretrain, finetune, *, run_dir, pretrain_schedule=None,
                           finetune_schedule=None, finetune_build=None, **fit_kwargs):
    """Pre-train on one dataset (IMDb-WIKI) and fine-tune on another (ChaLearn).

    Args:
        build: Function of no arguments returning the model to pre-train.
        pretrain, finetune: `(train, val)` pairs.
        run_dir: Parent folder; runs go to `run_dir/pretrain` and `run_dir/finetune`.
        pretrain_schedule, finetune_schedule: `FineTune` schedules (default: the study's).
        finetune_build: Builder of the fine-tuning model when it differs (another head
            or class count); weights are copied by layer name where shapes match.
        **fit_kwargs: Passed to both `fit` calls.

    Returns:
        `(model, pretrain_history, finetune_history)`.
    """
    run_dir = Path(run_dir)
    model, first = fit(build, *pretrain, run_dir=run_dir / "pretrain",
                       schedule=pretrain_schedule or FineTune.study_best(), **fit_kwargs)
    if finetune_build is not None:
        target = finetune_build()
        copied, skipped = transfer_weights(model, target)
        log.info("transferred %d layers; new: %s", len(copied), skipped)
        model = target
    model, second = fit(model, *finetune, run_dir=run_dir / "finetune",
                        schedule=finetune_schedule or FineTune.study_best(), **fit_kwargs)
    return model, first, second


def ensemble_predict(models, x, *, batch_size=64):
    """Average the age outputs of several models (DEX averaged its networks).

    DEX and class outputs are averaged as distributions (then the expected age is
    taken); regression outputs are averaged as ages. All models must share head kinds.

    Returns:
        The averaged output of each model output (dict for multi-output models).
    """
    if not models:
        fail("at least one model", "models", models)
    outputs = [m.predict(x, batch_size=batch_size, verbose=0) for m in models]
    if isinstance(outputs[0], dict):
        return {k: np.mean([o[k] for o in outputs], axis=0) for k in outputs[0]}
    return np.mean(outputs, axis=0)
