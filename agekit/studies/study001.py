"""Study 001: age bins on UTKFace with AGECNN (PyTorch), macro-F1 of 7 and 4 age groups.

AGECNN (section 5.20, hyperparameters copied from TensorBoard): 224 px greyscale,
`Basic_4cnv` (4 blocks conv 3x3 -> ReLU -> batch norm -> max-pool 2 from 64 filters,
flatten, 132 hidden units, dropout 0.6 on the output), NAdam lr 1e-4 with betas (0.9,
0.999), eps 1e-8 and PyTorch's weight_decay 0.1, label smoothing 0.001 (the script's
default), a weighted random sampler, albumentations augmentation (each op p=0.5), 7 bins.
The split is 80/20 stratified by age; the "F1" is sklearn's macro average, taken at the
best epoch on the 20 % split that also decided the early stopping.
"""

from agekit.studies._common import UTKFACE_DATA, line, merge, scales

STUDY = "001"

# albumentations: ShiftScaleRotate(0.05, 0.05, 15, p=0.5) (border BORDER_REFLECT_101),
# GaussianBlur(sigma_limit=9, p=0.5) (kernels 3-7 px), RandomBrightnessContrast(p=0.5)
# (0.2 / 0.2, x * alpha + beta * max).
AGECNN_AUGMENT = {
    "rotation": 15, "shift": 0.05, "zoom": 0.05, "flip": False, "fill_mode": "reflect",
    "p_affine": 0.5, "brightness": 0.2, "contrast": 0.2, "contrast_mode": "gain",
    "p_brightness": 0.5, "p_contrast": 0.5, "blur": 2.0, "p_blur": 0.5,
}

FULL = {
    "data": {"source": "real", "format": "utkface", "n": None, "limit": None,
             "image_size": None},
    "prepare": None,
    "split": {"kind": "fraction", "val": 0.2, "test": 0.0, "stratify": "age", "groups": False},
    "model": {"network": "basic_cnn", "head": "bins:utk7", "weights": None, "input_size": 224,
              "color": "grayscale", "outputs": {},
              # PyTorch's BatchNorm2d momentum 0.1 is Keras' 0.9 (the moving statistics' weight)
              "options": {"layers": 4, "base_filters": 64, "hidden": 132, "dropout": 0.6,
                          "bn_momentum": 0.9}},
    "preprocess": "0-1",
    "target": "bins:utk7",
    "labels": {"sigma": None, "clip_ages": False},
    "optimizer": {"name": "nadam", "learning_rate": 1e-4, "beta_1": 0.9, "beta_2": 0.999,
                  "epsilon": 1e-8, "weight_decay": 0.1, "weight_decay_mode": "l2"},
    "compile": {"label_smoothing": 0.001},
    "train": {"epochs": 100, "batch_size": 64, "patience": 10, "monitor": "val_macro_f1",
              "stages": None},
    "augment": AGECNN_AUGMENT,
    "augment_eval": False,
    "sampling": "bins:utk7",
    "variants": None,
    "minutes": None,
    "deviations": (
        "19,708 UTKFace chips here, the study had the whole 'aligned & cropped' set "
        "(23,708; the rest is agekit's held-out test set). Early-stopping patience is not "
        "given (10). albumentations' GaussianBlur draws a 3-7 px kernel with sigma up to "
        "9 (close to a box filter); agekit blends in a Gaussian of sigma 2 px by a random "
        "amount. The study's ToGray keeps three equal channels (its first conv takes 3); "
        "agekit feeds one, the same function with the three kernels summed. "
        "albumentations does not clip the brightness / contrast result of float images; "
        "agekit clips to [0, 255]."
    ),
}

CPU = {
    "model": {"input_size": 64, "options": {"base_filters": 16}},
    "train": {"epochs": 10, "patience": None},
    "augment": {"blur": 0.6},
    "minutes": 12,
    "deviations": (
        "64 px instead of 224 and 16 base filters instead of 64 (the 224 px, 64-filter "
        "network needs about 2.9 GMAC per image, far beyond the budget on two cores); 10 "
        "epochs without early stopping where the study ran up to 100 with it (about 50 s "
        "an epoch over the 19,708 chips on two cores); the blur sigma scaled with the "
        "image (0.6 px). " + FULL["deviations"]
    ),
}

SMOKE = {
    "data": {"source": "synthetic", "n": 80, "image_size": 64},
    "model": {"input_size": 32, "options": {"base_filters": 4, "hidden": 16}},
    "train": {"epochs": 2, "batch_size": 16},
    "minutes": 0.1,
    "deviations": "A plumbing check: 80 synthetic faces at 32 px, 4 base filters, 2 epochs.",
}

_BEST_F1 = {"name": "age_macro_f1", "split": "val", "reduce": "best"}

AGECNN_UTK7 = {
    "name": "001-agecnn-utk7",
    "study": STUDY,
    "table": "Table 2 (Results of main trials) and 5.20 Final optimal model AGECNN",
    "title": "AGECNN, 7 UTKFace age bins: macro-F1 73.27 %",
    "reported": {
        "val_macro_f1": {
            "value": 0.7327,
            "quote": "| Optimal model AGECNN | 73.27% |",
            "where": line(1576, "Table 2"),
            "metric": _BEST_F1,
            "comparable": True,
            "note": "also Figure 100 and Table 3; the best epoch on the 20 % split that "
                    "also chose the epoch (no separate test set)",
        },
    },
    "data": {**UTKFACE_DATA, "study": "UTKFace 'aligned & cropped' faces (over 20,000, "
             "200x200), 80/20 split stratified by age"},
    "variants": None,
    "scales": scales(FULL, cpu=CPU, smoke=SMOKE),
    "notes": (
        "Bins ['0-2', '3-6', '7-14', '15-30', '31-40', '41-65', '66-116'] (agekit 'utk7'). "
        "The weighted sampler draws every bin equally often with replacement (agekit's "
        "balance). SmallestMaxSize(224) + RandomCrop(224) only resize the square chips. "
        "The gender (32 filters, 64 hidden) and ethnicity (64 / 64) models of 5.20 are "
        "separate networks; 5.20 swaps their F1 scores (80.25 % / 93.41 %) against Tables "
        "4-5 and 7.1 (gender 93.41 %, ethnicity 80.25 %)."
    ),
}

AGECNN_UTK4 = {
    "name": "001-agecnn-utk4",
    "study": STUDY,
    "table": "5.7 Age categories - 4 bins (Figure 79)",
    "title": "AGECNN on 4 UTKFace age bins; the study's 4-bin figure is from trial 5.7",
    "reported": {
        "val_macro_f1": {
            "value": 0.7510,
            "quote": "Adding an extra bin results in an F1 score of 75.10% and causes the "
                     "model training to early stop at the 25th epoch.",
            "where": line(1688, "5.7"),
            "metric": {**_BEST_F1, "variant": "trial-5-7"},
            "comparable": True,
            "note": "trial 5.7, before the weighted sampler, greyscale, dropout and NAdam "
                    "were added; the study never ran AGECNN on 4 bins",
        },
        "val_macro_f1_agecnn": {
            "value": 0.7510,
            "quote": "Adding an extra bin results in an F1 score of 75.10% and causes the "
                     "model training to early stop at the 25th epoch.",
            "where": line(1688, "5.7"),
            "metric": {**_BEST_F1, "variant": "agecnn"},
            "comparable": False,
            "note": "AGECNN on 4 bins set against trial 5.7's figure: the study has no "
                    "AGECNN 4-bin number, AGECNN should do at least as well",
        },
    },
    "data": {**UTKFACE_DATA, "study": "UTKFace 'aligned & cropped' faces, 80/20 split "
             "stratified by age"},
    "variants": {
        "agecnn": {"label": "AGECNN settings, bins ['0-12', '13-19', '20-59', '60-116']",
                   "overrides": {}},
        "trial-5-7": {
            "label": "trial 5.7 as far as the text says: RGB, Adam lr 1e-3, class-weighted "
                     "loss (1 - n_class / n), no sampler, augmentation",
            "overrides": {
                "model": {"color": "rgb"},
                "optimizer": {"name": "adam", "learning_rate": 1e-3, "epsilon": 1e-8,
                              "weight_decay": None, "weight_decay_mode": "decoupled"},
                "compile": {"label_smoothing": 0.001},
                "sampling": None,
                "class_weight": "one_minus_frequency",
            },
        },
    },
    "scales": scales(
        merge(FULL, {"model": {"head": "bins:utk4"}, "target": "bins:utk4",
                     "sampling": "bins:utk4"}),
        cpu=merge(CPU, {"variants": ["agecnn"]}),
        smoke=merge(SMOKE, {"variants": ["agecnn"]}),
    ),
    "notes": (
        "Trial 5.7 ran a 4-layer CNN (base filters, hidden units and image size not "
        "given) with the weighted loss of 5.1 (class weight 1 - n_class / n_total, "
        "Equation 4), Adam at 1e-3 (from 5.6), the augmentation of 5.5, RGB, dropout 0.1 "
        "after the blocks and 0.6 on the output (the Basic CNN code; 5.11 later removed "
        "the 0.1s); it stopped early at epoch 25. The variant weighs the loss with the "
        "runner's class_weight 'one_minus_frequency' (Equation 4)."
    ),
}

ENTRIES = (AGECNN_UTK7, AGECNN_UTK4)
