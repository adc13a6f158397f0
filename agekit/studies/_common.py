"""Helpers to write the entries: merge settings, and the data every UTKFace study shares."""

import copy


def merge(base, overrides):
    """`base` with `overrides` merged in: dicts recursively, other values replaced."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def scales(full, *, cpu, smoke):
    """The three scales from the full settings and the overrides of the smaller ones."""
    cpu_settings = merge(full, cpu)
    return {"smoke": merge(cpu_settings, smoke), "cpu": cpu_settings, "full": full}


def line(n, section=""):
    """Where a quote is: its line in the study text, and the section."""
    return f"line {n}" + (f", {section}" if section else "")


UTKFACE_REAL = "../shared/data/utkface"

# 19,708 real chips here; the studies used the full "aligned & cropped" set (23,708) or
# a course's 5,000-image subset of it. 200x200 RGB JPEGs.
UTKFACE_DATA = {
    "format": "utkface",
    "real": UTKFACE_REAL,
    "synthetic": {"format": "utkface", "image_size": 64},
}

NO_AUGMENT = None
