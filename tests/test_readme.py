"""Every python block of README.md runs: with small stand-ins in CI (synthetic UTKFace
chips for `../shared/data/utkface`, ImageNet weights replaced by `weights=None`, tiny
sizes), and "A taste" verbatim on the real chips with `AGEKIT_README_REAL=1` (minutes)."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)

# The README's words -> the stand-in's, block by block (a block without an entry runs as
# written). Every word must be in its block: a README edit that drops one fails here.
TASTE = {
    '"../shared/data/utkface"': "{utkface!r}",
    "df.sample(3000, random_state=0)": "df.sample(48, random_state=0)",
    "image_size=64": "image_size=32",
    "input_shape=(64, 64, 3)": "input_shape=(32, 32, 3)",
    "base_filters=32, hidden=256": "base_filters=4, hidden=8, layers=2",
    "epochs=3": "epochs=1",
}
VGG16 = {
    'weights="imagenet", input_shape=(224, 224, 3)': 'weights=None, input_shape=(32, 32, 3), top="gap"',
    'options["image_size"] = 224': 'options["image_size"] = 32',
    "FineTune.study_best()": "FineTune.study_best(head_epochs=1, block5_epochs=1)",
}
# What the measures block takes as given: small arrays, valid ages and utk7 classes both.
ARRAYS = {"probs": np.full((2, 101), 1 / 101), "y_true": np.array([1, 3]), "y_pred": np.array([2, 3]),
          "mu": np.array([30.0, 50.0]), "sigma": np.array([3.0, 4.0]), "pred": np.array([32.0, 47.0]),
          "true": np.array([30.0, 50.0])}


def _stand_in(block, words, **values):
    for word, replacement in words.items():
        assert word in block, f"README block changed: {word!r} is gone (update tests/test_readme.py)"
        block = block.replace(word, replacement.format(**values))
    return block


def _synthetic_utkface(folder):
    """Synthetic UTKFace chips, two of them renamed to ages over 100 as in the real set."""
    from agekit.datasets import make_synthetic

    root = Path(make_synthetic(folder, 48, format="utkface", image_size=32))
    for path, age in zip(sorted(root.glob("*.jpg.chip.jpg"))[:2], (105, 116)):
        path.rename(path.with_name(f"{age}_{path.name.split('_', 1)[1]}"))
    return root


def test_the_readme_has_the_blocks_this_test_knows():
    assert len(BLOCKS) == 3, "a python block was added to README.md: give it a stand-in here"
    assert BLOCKS[0].startswith("import agekit") and "build_model(\"vgg16\"" in BLOCKS[1]


@pytest.mark.slow
def test_every_python_block_of_the_readme_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs/ is written here
    namespace = {}
    taste = _stand_in(BLOCKS[0], TASTE, utkface=str(_synthetic_utkface(tmp_path / "utk")))
    exec(taste, namespace)  # noqa: S102 (the README's code)
    assert namespace["scores"]["n"] == len(namespace["val"]) and (tmp_path / "runs" / "taste" / "final.keras").is_file()
    exec(_stand_in(BLOCKS[1], VGG16), namespace)  # noqa: S102 (the README's code)
    assert len(namespace["history"]) == 2 and namespace["model"].get_layer("block5_conv3")
    exec(BLOCKS[2], {"agekit": namespace["agekit"], **ARRAYS})  # noqa: S102 (the README's code)


@pytest.mark.real_data
@pytest.mark.skipif(os.environ.get("AGEKIT_README_REAL") != "1",
                    reason="minutes of training: set AGEKIT_README_REAL=1 to run the taste as written")
def test_the_taste_runs_as_written_on_the_real_chips(shared_data, tmp_path, monkeypatch, capsys):
    (tmp_path / "clone").mkdir()
    (tmp_path / "shared").symlink_to(shared_data.parent)
    monkeypatch.chdir(tmp_path / "clone")  # ../shared/data/utkface, as from a clone
    exec(BLOCKS[0], {})  # noqa: S102 (the README's code)
    mae, baseline = map(float, re.findall(r"[\d.]+", capsys.readouterr().out.splitlines()[-1])[:2])
    assert mae < baseline
