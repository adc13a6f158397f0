"""Named experiments: measured settings anyone can re-run with one command.

A preset is an `Experiment` value, run by the one runner (`run_experiment`), so it is
trained, described (its model card), evaluated and written up exactly as any other run:

- `"quickstart"`: the whole pipeline in a few minutes on synthetic IMDb-WIKI faces;
- `"utkface"`: the UTKFace recipe, age (DEX) and gender from scratch on a CPU,
  `python -m agekit.recipes utkface PATH` (see `agekit.recipes` for its measured numbers).

Example:
    >>> exp = preset("utkface", data={"root": "datasets/UTKFace"}, train={"run_dir": "runs/u"})
    >>> exp.model.backbone, exp.data.image_size
    ('basic_cnn', 64)
"""

from agekit._validation import fail
from agekit.experiment.config import DataConfig, Experiment, ModelConfig, TrainConfig
from agekit.experiment.report import QUICKSTART

UTKFACE = Experiment(
    data=DataConfig(format="utkface", val=0.1, test=0.1, image_size=64, batch_size=64,
                    augment=True,  # the VGG16 study's: rotation 10, shifts 0.1, zoom 0.1, flip
                    sigma=2.0, clip_ages=True, cache=True, seed=0),
    model=ModelConfig(backbone="basic_cnn", head="dex", outputs={"gender": 2}, layers=4,
                      base_filters=32, hidden=256, dropout=0.3, bn_momentum=0.99),
    train=TrainConfig(epochs=20, learning_rate=1e-3, lr_schedule="plateau", loss_weights={"gender": 1.0},
                      run_dir="runs/utkface"),
)

PRESETS = {"quickstart": QUICKSTART, "utkface": UTKFACE}


def preset(name: str, **sections) -> Experiment:
    """A named experiment, with some settings changed (`Experiment.replace`).

    Args:
        name: A key of `PRESETS`.
        **sections: `data={...}`, `model={...}`, `train={...}` changes.
    """
    if name not in PRESETS:
        fail(f"a preset among {sorted(PRESETS)}", "name", name)
    return PRESETS[name].replace(**sections) if sections else PRESETS[name]
