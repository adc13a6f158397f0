"""Study 004: age regression + gender on the course's UTKFace data, two-branch CNN (Keras).

"Our model" (agekit `two_branch_cnn`): a shared trunk (conv 64 3x3, conv 64 3x3, max-pool
2, batch norm, conv 128 3x3, max-pool 2), then an age and a gender branch (conv 64 3x3 /
pool / BN, conv 128 2x2 / pool / BN, conv 2x2 of 128 filters for age and 64 for gender,
flatten, dense 128, 16, 1) with dropout and L2 on the dense layers; MSE for age, binary
cross-entropy for gender, weighted 1:50 towards gender; Adam with an exponentially
decaying learning rate; 50 epochs keeping the weights of the lowest validation loss; a
0.2 validation split; rotation, zoom and flips on training AND validation data. The
dropout rate, the L2 factor and the branches' last conv widths were chosen with
keras.tuner; only the widths are reported. The image size is not given (the same
course's study 002 used 128x128).
"""

from agekit.studies._common import UTKFACE_DATA, line, merge, scales

STUDY = "004"

COURSE_DATA = {
    **UTKFACE_DATA,
    "study": "'the training data provided' by the course (CM50265): UTKFace faces, most "
             "likely the 5,000-image 128x128 subset study 002 describes; a seeded random "
             "5,000 of the chips here stands in",
}

FULL = {
    "data": {"source": "real", "format": "utkface", "n": None, "limit": 5000,
             "image_size": None},
    "prepare": None,
    "split": {"kind": "fraction", "val": 0.2, "test": 0.0, "stratify": None, "groups": False},
    "model": {"network": "two_branch_cnn", "head": "regression", "weights": None,
              "input_size": 128, "color": "rgb", "outputs": {"gender": 2},
              "options": {"dropout": 0.3, "l2": 1e-4, "age_filters": 128,
                          "gender_filters": 64}},
    "preprocess": "0-1",
    "target": {"age": "regression", "gender": "gender"},
    "labels": {"sigma": None, "clip_ages": False},
    "optimizer": {"name": "adam", "learning_rate": 1e-3,
                  "schedule": {"kind": "exponential", "decay_rate": 0.9,
                               "decay_steps": 1000}},
    "compile": {"losses": {"age": "mse"}, "loss_weights": {"age": 1.0, "gender": 50.0}},
    "train": {"epochs": 50, "batch_size": 32, "patience": None, "monitor": "val_loss",
              "stages": None},
    "augment": {"rotation": 20, "shift": 0.0, "zoom": 0.2, "flip": True,
                "fill_mode": "nearest"},
    "augment_eval": True,
    "sampling": None,
    "variants": None,
    "minutes": None,
    "deviations": (
        "Not in the text, chosen here: 128 px input (study 002's size for the same "
        "course), dropout 0.3 after the first dense layer and L2 1e-4 on both (tuned, "
        "values not reported), Adam 1e-3 decayed by 0.9 every 1,000 steps (the initial "
        "rate and decay are not given), batch 32, rotation +-20 degrees and zoom 0.2 (no "
        "ranges given), 'same' padding. agekit does not augment validation images (the "
        "study did). Gender is a 2-way softmax (the study: one sigmoid unit; the same "
        "loss values). The course's subset is not published: a seeded random 5,000 "
        "UTKFace chips instead."
    ),
}

CPU = {
    "model": {"input_size": 64},
    "train": {"epochs": 7},
    "minutes": 12,
    "deviations": "64 px instead of 128 (four times cheaper; the 128 px network needs "
                  "about 1.1 GMAC per image) and 7 epochs instead of 50 (about 75 s an "
                  "epoch over the 5,000 images on two cores). " + FULL["deviations"],
}

SMOKE = {
    "data": {"source": "synthetic", "n": 80, "image_size": 64, "limit": None},
    "model": {"input_size": 32},
    "train": {"epochs": 2, "batch_size": 16},
    "minutes": 0.1,
    "deviations": "A plumbing check: 80 synthetic faces at 32 px, 2 epochs.",
}

_TRAINING = ("It achieves an accuracy of 93% for gender prediction and a mean absolute "
             "error of 5.6 for age prediction on the training data.")
_VALIDATION = ("with an accuracy or 88% for gender prediction and mean absolute error of "
               "6.8 for age prediction.")

TWO_BRANCH = {
    "name": "004-two-branch",
    "study": STUDY,
    "table": "1.4 Performance (our model)",
    "title": "Two-branch CNN, age + gender: validation MAE 6.8, gender accuracy 88 %",
    "reported": {
        "train_age_mae": {
            "value": 5.6, "quote": _TRAINING, "where": line(76, "1.4"),
            "metric": {"name": "age_mae", "split": "train", "reduce": "final"},
            "comparable": True,
            "note": "training images augmented",
        },
        "train_gender_accuracy": {
            "value": 0.93, "quote": _TRAINING, "where": line(76, "1.4"),
            "metric": {"name": "gender_accuracy", "split": "train", "reduce": "final"},
            "comparable": True,
            "note": "training images augmented",
        },
        "val_age_mae": {
            "value": 6.8, "quote": _VALIDATION, "where": line(76, "1.4"),
            "metric": {"name": "age_mae", "split": "val", "reduce": "final"},
            "comparable": True,
            "note": "the study's validation images were augmented too",
        },
        "val_gender_accuracy": {
            "value": 0.88, "quote": _VALIDATION, "where": line(76, "1.4"),
            "metric": {"name": "gender_accuracy", "split": "val", "reduce": "final"},
            "comparable": True,
            "note": "the study's validation images were augmented too",
        },
    },
    "data": COURSE_DATA,
    "variants": None,
    "scales": scales(FULL, cpu=CPU, smoke=SMOKE),
    "notes": (
        "Section 1.2 gives the loss weights as 'weighted 1:50 towards gender' because the "
        "gender losses were about 50 times smaller than the age losses: age 1, gender 50. "
        "The exponential decay is of the learning rate ('Adam optimizer with a "
        "exponentially decaying learning rate'), not of the loss weights. The appendix "
        "compares greyscale on both branches, on the gender branch only and on neither "
        "(figures only, no numbers)."
    ),
}

FULL_RESNET = merge(FULL, {
    "model": {"network": "resnet50", "weights": "imagenet", "input_size": 128,
              "options": {"top": "gap", "dropout": 0.0}},
    "preprocess": "caffe",
    "train": {"patience": 3,
              "stages": [{"trainable": "head", "learning_rate": 1e-3, "epochs_share": 1.0}]},
    "deviations": (
        "The study's branches after global pooling repeat its own model's dense layers "
        "(128 and 16 units, dropout, L2) before each output; agekit's build_model puts "
        "the heads on the pooled features directly. " + FULL["deviations"]
    ),
})
FULL_RESNET["model"]["options"] = {"top": "gap", "dropout": 0.0}  # not two_branch_cnn's

RESNET = {
    "name": "004-resnet50",
    "study": STUDY,
    "table": "2.3 Performance (pre-trained model)",
    "title": "ResNet50 (ImageNet, frozen) + two dense branches: gender 84 %, age 8.1",
    "reported": {
        "val_gender_accuracy": {
            "value": 0.84,
            "quote": "It achieved an accuracy of 84% on gender predciton and a mean squared "
                     "error of 8.1 on age prediction.",
            "where": line(97, "2.3"),
            "metric": {"name": "gender_accuracy", "split": "val", "reduce": "final"},
            "comparable": True,
        },
        "val_age_mae": {
            "value": 8.1,
            "quote": "It achieved an accuracy of 84% on gender predciton and a mean squared "
                     "error of 8.1 on age prediction.",
            "where": line(97, "2.3"),
            "metric": {"name": "age_mae", "split": "val", "reduce": "final"},
            "comparable": True,
            "note": "the text says 'mean squared error'; an MSE of 8.1 (2.8 years RMS) "
                    "cannot be 'slightly worse' than the other model's MAE of 6.8, so it is "
                    "read as the MAE",
        },
    },
    "data": COURSE_DATA,
    "variants": None,
    "scales": scales(
        FULL_RESNET,
        cpu={"model": {"weights": None, "input_size": 64}, "train": {"epochs": 10},
             "minutes": 15,
             "deviations": "ResNet50 from random weights (nothing is downloaded): the frozen "
                           "base gives random features, so expect far worse than the study; "
                           "64 px, 10 epochs at most. " + FULL_RESNET["deviations"]},
        smoke={"data": {"source": "synthetic", "n": 60, "image_size": 64, "limit": None},
               "model": {"input_size": 32}, "train": {"epochs": 1, "batch_size": 16},
               "minutes": 0.15,
               "deviations": "A plumbing check: 60 synthetic faces at 32 px, random weights, "
                             "1 epoch."},
    ),
    "notes": (
        "Same losses, loss weights, learning rate and optimizer as the own model; frozen "
        "ImageNet weights, global average pooling, early stopping after three epochs "
        "without a lower validation loss."
    ),
}

_SEARCH_FULL = {
    "tuner": "random",
    "max_trials": 20,
    "epochs": 10,
    "objective": "val_loss",
    "space": {"dropout": [0.1, 0.5], "l2": [1e-5, 1e-2], "age_filters": [32, 64, 128],
              "gender_filters": [32, 64, 128]},
}

TUNER = {
    "name": "004-keras-tuner",
    "study": STUDY,
    "table": "1.1 Architecture (keras.tuner choices)",
    "title": "keras.tuner over the two-branch CNN's dropout, L2 and last conv widths",
    "reported": {
        "chosen_last_conv_filters": {
            "value": "age 128, gender 64",
            "quote": "They are then followed by another convolutional layer of 64 2x2 filters "
                     "for gender and 128 2x2 filters for age.",
            "where": line(48, "1.1"),
            "metric": {"name": "chosen", "split": "val", "of": ["age_filters",
                                                                "gender_filters"]},
            "comparable": True,
        },
        "tuned_hyperparameters": {
            "value": "dropout rate, L2 factor, last conv widths (values not reported)",
            "quote": "The dropout rate, regularisation factor and the size of the final "
                     "convolutional layer in the branches were chosen using hyperparameter "
                     "tuning with keras.tuner.",
            "where": line(50, "1.1"),
            "metric": {"name": "chosen", "split": "val", "of": ["dropout", "l2"]},
            "comparable": True,
        },
    },
    "data": COURSE_DATA,
    "variants": None,
    "scales": {
        "smoke": {**merge(merge(FULL, CPU), merge(SMOKE, {
            "train": {"epochs": 1},
            "deviations": "A plumbing check: 80 synthetic faces at 32 px, one trial of 1 epoch, "
                          "then 1 epoch of it."})),
                  "search": {**_SEARCH_FULL, "max_trials": 1, "epochs": 1},
                  "minutes": 0.2},
        "cpu": {**merge(FULL, merge(CPU, {
            "data": {"limit": 2000}, "train": {"epochs": 3},
            "deviations": "Six trials of 3 epochs on 2,000 images at 64 px (not 128), then "
                          "3 epochs of the best. " + FULL["deviations"]})),
            "search": {**_SEARCH_FULL, "max_trials": 6, "epochs": 3}},
        "full": {**FULL, "search": _SEARCH_FULL},
    },
    "notes": (
        "The study names what it tuned, not the search space, the tuner or the number of "
        "trials: those in search are guesses. The runner's [search] section tries them "
        "on two_branch_cnn with both outputs, its losses and optimizer (Keras Tuner), "
        "then trains the best; a two-value float range is searched on a log scale when "
        "it spans 100x or more (l2)."
    ),
}

ENTRIES = (TWO_BRANCH, RESNET, TUNER)
