"""Where trained models live: find one by name, install one for every working folder.

A model is named by its file, `<name>.keras`, looked up in order in

1. `$AGEKIT_WEIGHTS` (a folder, when set);
2. `./weights/` in the current working folder;
3. the per-user folder `weights_home()`: `$AGEKIT_HOME/weights`, default
   `~/.agekit/weights` (as Keras keeps its files in `~/.keras`);
4. `weights/` beside the agekit package (a development checkout).

The UTKFace recipe installs its model into the per-user folder as `utkface.keras`, so
`agekit.load_model("utkface")` and `agekit predict photo.jpg` find it from any working
folder after `pip install`.
"""

import os
import shutil
from pathlib import Path

from agekit._validation import fail
from agekit.errors import MissingFileError

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
# What makes each named model, for the message when it is missing.
MAKERS = {
    "utkface": "python -m agekit.recipes utkface PATH/TO/UTKFace --photos PATH/TO/FGNET (about 30 minutes on 2 CPU cores)",
}


def weights_home() -> Path:
    """The per-user model folder: `$AGEKIT_HOME/weights`, default `~/.agekit/weights`.

    Example:

    >>> os.environ["AGEKIT_HOME"] = "/tmp/agekit-home"
    >>> str(weights_home())
    '/tmp/agekit-home/weights'
    >>> del os.environ["AGEKIT_HOME"]
    """
    return Path(os.environ.get("AGEKIT_HOME") or Path.home() / ".agekit").expanduser() / "weights"


def search_dirs() -> list[Path]:
    """The folders a model name is looked up in, in order (see the module docstring)."""
    dirs = []
    if os.environ.get("AGEKIT_WEIGHTS"):
        dirs.append(Path(os.environ["AGEKIT_WEIGHTS"]).expanduser())
    dirs += [Path.cwd() / "weights", weights_home(), WEIGHTS_DIR]
    return list(dict.fromkeys(dirs))


def find_model(name_or_path) -> Path:
    """Resolve a model path, or a name such as `"utkface"` in the model folders.

    Args:
        name_or_path: A `.keras` file, or a name looked up as `<name>.keras` in
            `search_dirs()`.

    Returns:
        The path of the model file.

    Raises:
        MissingFileError: No such file; for a name, the message lists the folders
            searched and the command that makes the model.

    Example:

    >>> find_model("no-such-model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    agekit.errors.MissingFileError: Expected a model file or the name of one ...
    """
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if path.suffix or os.sep in str(name_or_path):
        raise MissingFileError(f"Expected a model file. Received: path={str(path)!r} (no such file)")
    tried = [d / f"{name_or_path}.keras" for d in search_dirs()]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    make = MAKERS.get(str(name_or_path), "agekit train experiment.toml, then agekit.store.install_model")
    raise MissingFileError(
        f"Expected a model file or the name of one in the model folders. Received: "
        f"name={name_or_path!r}; looked for {[str(t) for t in tried]}. Make it with: {make} "
        f"(it installs into {weights_home()}), or pass --model PATH/TO/model.keras"
    )


def install_model(path, name: str, *, folder=None) -> Path:
    """Copy a model file into the per-user folder as `<name>.keras`.

    Args:
        path: The `.keras` file (a run's `model.keras`).
        name: The name to load it by (`load_model(name)`, `agekit predict --model name`).
        folder: Where to install; `None`: `weights_home()`.

    Returns:
        The installed file's path (an older file of that name is replaced).

    Example:

    >>> _ = Path("m.keras").write_bytes(b"PK")
    >>> install_model("m.keras", "mine", folder="models").name
    'mine.keras'
    """
    source = Path(path)
    if not source.is_file():
        raise MissingFileError(f"Expected a model file to install. Received: path={str(source)!r} (no such file)")
    if not isinstance(name, str) or not name or os.sep in name or name.endswith(".keras"):
        fail("a plain model name such as 'utkface'", "name", name)
    target_dir = Path(folder) if folder is not None else weights_home()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{name}.keras"
    partial = target.with_suffix(".keras.partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)  # a reader never sees half a file
    return target
