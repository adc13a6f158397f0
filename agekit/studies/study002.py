"""Study 002: age regression + gender on a 5,000-image UTKFace subset, 128x128 (Keras).

Model A ("our own CNN", agekit `split_branch_cnn`): two branches straight from the
input, each conv -> ReLU -> batch norm -> max-pool -> dropout with filters 16 -> 32 ->
64 -> 128, then dense ReLU layers, a linear age and a sigmoid gender. Model B:
InceptionV3 with ImageNet weights, its top layers trained, two branches split off right
after the base (ReLU, dropout, batch norm, Gaussian noise), batch 50, up to 100 epochs
with early stopping. 4,000 images train, 1,000 validate. Augmentation: rotations,
illumination, rescaling (no ranges). The printed validation losses satisfy
val_loss = val_age_output_loss + 500 * val_gender_output_loss in every row (so the
losses were weighted 1:500 towards gender) and val_age_output_loss is about the square of
the age MAE (so the age loss is MSE).
"""

from agekit.studies._common import UTKFACE_DATA, line, merge, scales

STUDY = "002"

SUBSET_DATA = {
    **UTKFACE_DATA,
    "study": "a 5,000-image subset of UTKFace handed out by the course (128x128), 4,000 "
             "train / 1,000 validation; the subset itself is not published: a seeded random "
             "5,000 of the chips here stands in",
}

_TWO_OUTPUTS = {"age": "regression", "gender": "gender"}

FULL_A = {
    "data": {"source": "real", "format": "utkface", "n": None, "limit": 5000,
             "image_size": None},
    "prepare": None,
    "split": {"kind": "fraction", "val": 0.2, "test": 0.0, "stratify": "age", "groups": False},
    "model": {"network": "split_branch_cnn", "head": "regression", "weights": None,
              "input_size": 128, "color": "rgb", "outputs": {"gender": 2}, "options": {}},
    "preprocess": "0-1",
    "target": _TWO_OUTPUTS,
    "labels": {"sigma": None, "clip_ages": False},
    "optimizer": {"name": "adam", "learning_rate": 1e-4},
    "compile": {"losses": {"age": "mse"}, "loss_weights": {"age": 1.0, "gender": 500.0}},
    "train": {"epochs": 30, "batch_size": 50, "patience": 5, "monitor": "val_loss",
              "stages": None},
    "augment": {"rotation": 10, "shift": 0.0, "zoom": 0.0, "flip": False, "brightness": 0.1,
                "fill_mode": "nearest"},
    "augment_eval": False,
    "sampling": None,
    "variants": None,
    "minutes": None,
    "deviations": (
        "The course's 5,000-image subset is not published: a seeded random 5,000 UTKFace "
        "chips instead (resized from 200 to 128 px). Not in the text, chosen here: kernel "
        "3x3, pool 2x2, dropout 0.25 in the blocks and 0.5 after a dense 128 with batch norm "
        "(the tutorial the study cites), Adam 1e-4, batch 50 (model B's), 30 epochs with "
        "patience 5, rotation +-10 degrees and brightness +-10 % (the study names "
        "'rotations, illuminations, and rescaling' without ranges), validation split "
        "stratified by age (the study's 80/20 split is not described). The 1:500 loss "
        "weights are read off the printed losses, not stated. Gender is a 2-way softmax "
        "with cross-entropy (the study: one sigmoid unit, binary cross-entropy; the same "
        "loss values)."
    ),
}

CPU_A = {
    "optimizer": {"learning_rate": 1e-3},
    "train": {"epochs": 10},
    "minutes": 12,
    "deviations": "10 epochs (the study's printed runs are about that long) at Adam 1e-3 "
                  "(Keras' default; the 1e-4 of full needs more than 10 epochs to bring the "
                  "linear age output up to the ages). " + FULL_A["deviations"],
}

SMOKE_A = {
    "data": {"source": "synthetic", "n": 80, "image_size": 64, "limit": None},
    "model": {"input_size": 32, "options": {"filters": [4, 8], "dense_units": [8]}},
    "train": {"epochs": 2, "batch_size": 16, "patience": None},
    "minutes": 0.1,
    "deviations": "A plumbing check: 80 synthetic faces at 32 px, two small blocks, 2 epochs.",
}

CNN_A = {
    "name": "002-cnn-a",
    "study": STUDY,
    "table": "Our own CNN: training outputs and curves (model A)",
    "title": "CNN A, two branches from the input: validation age MAE 6.9, gender about 90 %",
    "reported": {
        "val_age_mae": {
            "value": 6.9,
            "quote": "The age MAE on the validation set reaches a minimum of 6.9",
            "where": line(87, "Our own CNN"),
            "metric": {"name": "age_mae", "split": "val", "reduce": "best"},
            "comparable": True,
        },
        "val_gender_accuracy": {
            "value": 0.90,
            "quote": "The gender training and validation accuracies are performing well on the "
                     "data and increase to stabilize close to 90% accuracy",
            "where": line(83, "Our own CNN"),
            "metric": {"name": "gender_accuracy", "split": "val", "reduce": "best"},
            "comparable": True,
            "note": "'close to 90%'",
        },
    },
    "data": SUBSET_DATA,
    "variants": None,
    "scales": scales(FULL_A, cpu=CPU_A, smoke=SMOKE_A),
    "notes": (
        "The first five rows of the epoch table printed for model A (lines 70-74) are, "
        "value for value, the last five rows of model B's printed trace (lines 105-109), "
        "and every row of both satisfies val_loss = age loss + 500 * gender loss: the "
        "table is most likely model B's. Its best validation MAE, 7.9595 (line 75), is not "
        "the 6.9 the text reads off model A's curve."
    ),
}

FULL_B = merge(FULL_A, {
    "model": {"network": "inception_v3", "head": "regression", "weights": "imagenet",
              "input_size": 128, "options": {"top": "gap", "dropout": 0.5}},
    "preprocess": "tf",
    "train": {"epochs": 100, "patience": 5,
              "stages": [{"trainable": "head", "learning_rate": 1e-4, "epochs_share": 1.0}]},
    "deviations": (
        "agekit's build_model puts both heads on one pooled feature vector with dropout; "
        "the study's two branches of ReLU, dropout, batch norm and Gaussian-noise layers "
        "after the base (sizes not given) are not built. Only the new layers train (the "
        "study: 'it is enough to train the final layers'). " + FULL_A["deviations"]
    ),
})

INCEPTION = {
    "name": "002-inceptionv3",
    "study": STUDY,
    "table": "Pre-trained CNN: training outputs (model B)",
    "title": "InceptionV3 transfer, age + gender on the 5k subset",
    "reported": {
        "val_age_mae_best": {
            "value": 8.4962,
            "quote": "val_age_output_mae: 8.4962",
            "where": line(104, "Pre-trained CNN, training outputs"),
            "metric": {"name": "age_mae", "split": "val", "reduce": "best"},
            "comparable": True,
            "note": "the best of the eight epochs printed",
        },
        "val_age_mae_final": {
            "value": 9.0778,
            "quote": "val_gender_output_accuracy: 0.8600 - val_age_output_mae: 9.0778",
            "where": line(109, "Pre-trained CNN, training outputs"),
            "metric": {"name": "age_mae", "split": "val", "reduce": "final"},
            "comparable": True,
        },
        "val_gender_accuracy_best": {
            "value": 0.9030,
            "quote": "val_gender_output_accuracy: 0.9030",
            "where": line(105, "Pre-trained CNN, training outputs"),
            "metric": {"name": "gender_accuracy", "split": "val", "reduce": "best"},
            "comparable": True,
        },
    },
    "data": SUBSET_DATA,
    "variants": None,
    "scales": scales(
        FULL_B,
        cpu={
            "model": {"weights": None, "input_size": 75},
            "optimizer": {"learning_rate": 1e-3},
            "train": {"epochs": 3, "stages": [{"trainable": "all", "learning_rate": 1e-3,
                                               "epochs_share": 1.0}]},
            "minutes": 12,
            "deviations": "InceptionV3 from random weights (nothing is downloaded), so the "
                          "whole network trains (a frozen random base gives random "
                          "features: its age output stayed near 0, MAE about 33, in a "
                          "probe): expect far worse than the study; 75 px (InceptionV3's "
                          "smallest input) instead of 128; 3 epochs at Adam 1e-3 (about 2 "
                          "minutes an epoch on two cores). " + FULL_B["deviations"],
        },
        smoke={
            "data": {"source": "synthetic", "n": 60, "image_size": 64, "limit": None},
            "model": {"input_size": 75},
            # the new layers only, as full does: training all of InceptionV3 costs a
            # minute of graph building, beyond a smoke run's budget
            "train": {"epochs": 1, "batch_size": 16, "patience": None,
                      "stages": [{"trainable": "head", "learning_rate": 1e-3,
                                  "epochs_share": 1.0}]},
            "minutes": 0.2,
            "deviations": "A plumbing check: 60 synthetic faces at 75 px (InceptionV3's "
                          "smallest input), random weights, only the new layers train, "
                          "1 epoch.",
        },
    ),
    "notes": (
        "The summary says the pre-trained model 'doesn't outperform greatly (only by 2%)' "
        "in gender accuracy, while its printed age MAE (8.5-9.1) is worse than model A's "
        "6.9. Trained for up to 100 epochs at batch 50 with early stopping (patience not "
        "given). The losses: val_loss = val_age_output_loss + 500 * "
        "val_gender_output_loss in every printed row (1:500 weights), MSE for age."
    ),
}

ENTRIES = (CNN_A, INCEPTION)
