"""Mixup (Zhang et al. 2018) for batches of faces and age distributions.

`mixup(ds, alpha=0.2)` blends each image of a batch with another image of the same
batch, `x = lam * x_i + (1 - lam) * x_j`, and its age distribution (a `dex` target)
the same way. `lam` is drawn per image from Beta(alpha, alpha) and folded into
[0.5, 1] so that image i always dominates: the other outputs (gender, ethnicity,
their sample weights) keep image i's labels unchanged.
"""

import tensorflow as tf

from agekit._validation import fail


def mixup(ds, *, alpha=0.2, output="age", seed=None):
    """Mix the images and the `output` target of every batch of a dataset.

    Args:
        ds: A batched `tf.data.Dataset` of `(images, y)` or `(images, y, sample_weight)`
            as `make_dataset` yields; `y` is the target of a single-output model or a
            dict of targets. The mixed target must be a distribution (`dex`, float).
        alpha: Beta(alpha, alpha) concentration; small values (0.1-0.4) mix little.
        output: Name of the mixed target when `y` is a dict.
        seed: Seed of the draws (None: random).

    Returns:
        The dataset with mixed images (float32) and mixed `output` targets.

    Example:
        >>> train = mixup(make_dataset(df, target="dex", seed=0), alpha=0.2, seed=0)  # doctest: +SKIP
    """
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not alpha > 0:
        fail("alpha > 0", "alpha", alpha)
    spec = ds.element_spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        fail("a dataset of (images, y[, sample_weight]) batches", "element_spec", str(spec),
             error=TypeError)
    target = spec[1]
    if isinstance(target, dict):
        if output not in target:
            fail(f"one of the targets {sorted(target)}", "output", output)
        target = target[output]
    if len(target.shape) != 2 or not target.dtype.is_floating:
        fail("a float distribution target such as dex, shape (batch, classes)",
             "target spec", str(target))
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def mix(element, pair):
        images, y, *rest = element
        n = tf.shape(images)[0]
        lam = _beta(n, float(alpha), pair)
        lam = tf.maximum(lam, 1.0 - lam)
        partner = tf.random.experimental.stateless_shuffle(tf.range(n), seed=pair[::-1])
        images = tf.cast(images, tf.float32)
        mixed = images * lam[:, None, None, None] + tf.gather(images, partner) * (
            1.0 - lam[:, None, None, None])

        def blend(t):
            t = tf.cast(t, tf.float32)
            return t * lam[:, None] + tf.gather(t, partner) * (1.0 - lam[:, None])

        if isinstance(y, dict):
            y = {**y, output: blend(y[output])}
        else:
            y = blend(y)
        return (mixed, y, *rest)

    return tf.data.Dataset.zip((ds, seeds)).map(mix, num_parallel_calls=tf.data.AUTOTUNE)


def _beta(n, alpha, seed):
    """`n` draws of Beta(alpha, alpha) from two stateless gamma draws."""
    a = tf.random.stateless_gamma((n,), seed=seed, alpha=alpha)
    b = tf.random.stateless_gamma((n,), seed=seed + 1, alpha=alpha)
    return a / tf.maximum(a + b, 1e-12)
