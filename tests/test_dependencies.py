"""Every runtime dependency declared in setup.cfg is used by agekit, or says why not."""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Distribution name -> the module agekit imports.
MODULES = {"scikit-learn": "sklearn", "opencv-python-headless": "cv2", "dlib-bin": "dlib",
           "keras-tuner": "keras_tuner"}
# Declared without an import in agekit, and why.
NOT_IMPORTED = {
    "tensorboard": "the `tensorboard --logdir run_dir/logs` viewer of the logs fit writes",
}


def _requirements():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    names = [re.match(r"[A-Za-z0-9_.\-]+", line.strip()).group(0) for line in lines
             if line.strip() and not line.strip().startswith("#")]
    return sorted(set(names))


def _imported():
    pattern = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)|find_spec\(\"([A-Za-z_]\w*)\"\)",
                         re.MULTILINE)
    found = set()
    for path in (ROOT / "agekit").rglob("*.py"):
        for match in pattern.finditer(path.read_text()):
            found.add(match.group(1) or match.group(2))
    return found


def test_every_declared_dependency_is_used():
    imported = _imported()
    unused = [name for name in _requirements() if name not in NOT_IMPORTED
              and MODULES.get(name, name.replace("-", "_")) not in imported]
    assert unused == []
