"""Every setting of train() is checked at the door, with a message that says how to fix it."""

from __future__ import annotations

import numpy as np
import pytest

import deltanet as dn
from deltanet import optimizers

X = np.random.default_rng(0).normal(size=(20, 2))
Y01 = (X[:, 0] > 0).astype(float)


@pytest.mark.reliability(
    area="library input",
    fault="bad training settings: optimizer, schedule, validation, early stopping, class"
          " weights, metric, callbacks, checkpoint, resume, penalties",
    how="dn.train",
    result="ValueError or TypeError saying what was given; nothing trained")
@pytest.mark.parametrize("kwargs, exc, message", [
    (dict(optimizer="adamw"), ValueError, "unknown optimizer.*did you mean 'adam'"),
    (dict(optimizer=3), TypeError, "optimizer must be a name or a deltanet.optimizers"),
    (dict(optimizer="rprop"), ValueError, "rprop .* needs full-batch training.*batch_size=None"),
    (dict(optimizer="rprop", batch_size=None, lr_schedule="cosine"), ValueError,
     "rprop adapts its own step sizes"),
    (dict(optimizer="momentum", momentum=1.0), ValueError, "momentum must be < 1"),
    (dict(lr=0), ValueError, "lr must be > 0"),
    (dict(lr_schedule="exponential"), ValueError, "unknown lr_schedule.*constant, invscaling"),
    (dict(lr_schedule=0.5), ValueError, "lr_schedule must be a name"),
    (dict(optimizer=optimizers.adam(0.01), lr_schedule="cosine"), ValueError,
     "lr_schedule only applies to an optimizer given by name"),
    (dict(validation_fraction=1.0), ValueError, "validation_fraction must be < 1"),
    (dict(validation_fraction=0.99), ValueError, "leaves an empty part"),
    (dict(validation_fraction=0.2, validation_data=(X, Y01)), ValueError,
     "give validation_data or validation_fraction, not both"),
    (dict(validation_data=X), ValueError, "validation_data must be a pair"),
    (dict(validation_data=(X[:, :1], Y01)), ValueError, "X has 1 columns"),
    (dict(validation_data=(X, Y01[:5])), ValueError, "Y does not fit the outputs"),
    (dict(early_stopping="yes"), TypeError, "early_stopping must be True or False"),
    (dict(patience=0), ValueError, "patience must be >= 1"),
    (dict(min_delta=-0.1), ValueError, "min_delta must be >= 0"),
    (dict(restore_best=None), TypeError, "restore_best must be True or False"),
    (dict(class_weight="even"), ValueError, "unknown class_weight.*balanced"),
    (dict(class_weight={2: 1.0}), ValueError, "class_weight keys must be class indices"),
    (dict(class_weight={1: -1.0}), ValueError, r"class_weight\[1\] must be >= 0"),
    (dict(class_weight=[1, 2]), ValueError, "class_weight must be 'balanced' or a"),
    (dict(metric="f1"), ValueError, "unknown metric.*accuracy"),
    (dict(train_metric=1), TypeError, "train_metric must be True or False"),
    (dict(callbacks=3), TypeError, "callbacks must be a list"),
    (dict(callbacks=[3]), TypeError, "a callback must be a function"),
    (dict(verbose="yes"), TypeError, "verbose must be True or False"),
    (dict(checkpoint=3), TypeError, "checkpoint must be a file path"),
    (dict(checkpoint="c.ckpt", checkpoint_every=0), ValueError, "checkpoint_every must be >= 1"),
    (dict(resume=True), ValueError, "resume=True needs the checkpoint file"),
    (dict(resume=5), TypeError, "resume must be a file path"),
    (dict(diagnostics="on"), TypeError, "diagnostics must be True or False"),
    (dict(decay_bias=1), TypeError, "decay_bias must be True or False"),
    (dict(shuffle="no"), TypeError, "shuffle must be True or False"),
    (dict(l2=-1), ValueError, "l2 must be >= 0"),
    (dict(epochs=0), ValueError, "epochs must be >= 1"),
    (dict(batch_size=0), ValueError, "batch_size must be >= 1"),
    (dict(sample_weight=np.ones(3)), ValueError, "sample_weight has 3 entries for 20"),
    (dict(learning_rate=0.1), TypeError, "unexpected keyword argument 'learning_rate'"),
    (dict(epoch=3), TypeError, "unexpected keyword argument 'epoch'.*did you mean 'epochs'"),
])
def test_bad_settings_are_refused_clearly(kwargs, exc, message, tmp_path):
    net = dn.Network.layered([2, 3, 1], random_state=0)
    before = net.params.copy()
    with pytest.raises(exc, match=message) as info:
        dn.train(net, X, Y01, loss="log_loss", epochs=kwargs.pop("epochs", 2), **kwargs)
    assert "(got " in str(info.value)  # the message names what was given
    assert np.array_equal(net.params, before)  # nothing was trained


@pytest.mark.reliability(
    area="library input",
    fault="class weights on regression targets",
    how="dn.train",
    result="ValueError")
def test_class_weight_needs_class_targets():
    net = dn.Network.layered([2, 1], output="identity", random_state=0)
    with pytest.raises(ValueError, match="class_weight needs 0/1 targets"):
        dn.train(net, X, X[:, 0], class_weight="balanced", epochs=1)


@pytest.mark.reliability(
    area="library input",
    fault="batch normalisation with batches of one example",
    how="dn.train",
    result="ValueError naming the fix")
def test_batch_norm_with_batches_of_one_names_the_fix():
    net = dn.Network.layered([2, 3, 1], batch_norm=True, random_state=0)
    with pytest.raises(ValueError, match=r"batch_size >= 2 \(or None") as info:
        dn.train(net, X, Y01, batch_size=1, epochs=1)
    assert "batch_norm=False" in str(info.value)


def test_the_signature_shows_every_keyword_with_its_default_and_the_docstring_names_it():
    """train(net, X, Y=None, **keywords): what help() and editors show is the full
    signature, keyword-only, with the defaults a call leaves out; every keyword is
    documented."""
    import dataclasses
    import inspect

    from deltanet.training.settings import KEYWORDS, Settings

    params = inspect.signature(dn.train).parameters
    assert list(params)[:3] == ["net", "X", "Y"]
    keywords = {name: p.default for name, p in params.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keywords == KEYWORDS
    assert list(keywords) == [  # the public keywords, in the order the signature shows them
        "loss", "lr", "batch_size", "epochs", "optimizer", "random_state", "shuffle", "tol",
        "error_tol", "l2", "l1", "decay_bias", "dropout", "sample_weight", "class_weight",
        "momentum", "lr_schedule", "validation_data", "validation_fraction",
        "early_stopping", "patience", "min_delta", "restore_best", "metric", "train_metric",
        "callbacks", "verbose", "checkpoint", "checkpoint_every", "resume", "diagnostics",
        "engine"]
    assert set(keywords) < {f.name for f in dataclasses.fields(Settings)}
    for name in KEYWORDS:
        assert f"\n    {name}" in dn.train.__doc__ or f", {name}" in dn.train.__doc__, name
    net = dn.Network.layered([2, 3, 1], random_state=0)
    with pytest.raises(TypeError, match="positional"):
        dn.train(net, X, Y01, "log_loss")
