"""The registry behind :func:`get_model`: lower-case name -> factory."""
import difflib

from . import resnetv1b, simple_pose

__all__ = ["get_model", "get_model_list", "register_model"]

_MODELS = {}


def register_model(name, factory):
    """Register ``factory(**kwargs) -> Block`` under a lower-case ``name``.

    Raises
    ------
    ValueError
        If ``name`` is already taken by another factory.
    """
    key = name.lower()
    if key in _MODELS and _MODELS[key] is not factory:
        raise ValueError("model name %r is already registered" % name)
    _MODELS[key] = factory
    return factory


for _name in resnetv1b.RESNET_SPECS:
    register_model(_name, getattr(resnetv1b, _name))
for _base in simple_pose.SIMPLE_POSE_BASES:
    register_model("simple_pose_" + _base, getattr(simple_pose, "simple_pose_" + _base))


def get_model(name, **kwargs):
    """Build a registered model by name, as ``gluoncv.model_zoo.get_model`` does.

    Parameters
    ----------
    name : str
        Registered name, case-insensitive (see :func:`get_model_list`).
    pretrained : bool or str, default False
        ``True`` loads the published weights from the model store; an 8-hex
        string selects weights by hashtag.
    pretrained_base : bool, default False
        Load ImageNet weights into the backbone (pose models).
    ctx : Context or list of Context, default cpu()
        Where pretrained parameters are loaded.
    root : str, optional
        Model-store directory (default ``$GLUONPOSE_HOME/models``, then
        ``$MXNET_HOME/models``, then ``~/.mxnet/models``).
    **kwargs
        Model arguments such as ``num_joints``.

    Returns
    -------
    mxnet.gluon.HybridBlock

    Raises
    ------
    ValueError
        For an unknown name; the message lists the closest registered names.
    """
    key = str(name).lower()
    try:
        factory = _MODELS[key]
    except KeyError:
        close = difflib.get_close_matches(key, list(_MODELS), n=5, cutoff=0.5)
        hint = ("; did you mean %s?" % ", ".join(close)) if close else ""
        raise ValueError("model %r is not in gluonpose's model zoo%s (get_model_list() lists all %d)"
                         % (name, hint, len(_MODELS))) from None
    return factory(**kwargs)


def get_model_list():
    """All registered model names, sorted."""
    return sorted(_MODELS)
