"""The registry behind :func:`get_model`: lower-case name -> factory."""
import difflib

from . import resnetv1b, simple_pose
from . import mobile_pose, mobilenet
from . import fast_pose
from . import cpn
from . import hourglass
from . import openpose
from . import associative_embedding
from .spec import TopDownSpec

__all__ = ["get_model", "get_model_list", "register_model", "get_model_spec", "spec_of",
           "get_pose_model_list"]

_MODELS = {}
_SPECS = {}


def register_model(name, factory, spec=None):
    """Register ``factory(**kwargs) -> Block`` under a lower-case ``name``.

    Parameters
    ----------
    name : str
    factory : callable
    spec : TopDownSpec or BottomUpSpec, optional
        The model's contract (input size, normalisation, stride, supervised
        outputs, schema); every pose model has one, backbones have none.

    Raises
    ------
    ValueError
        If ``name`` is already taken by another factory.
    """
    key = name.lower()
    if key in _MODELS and _MODELS[key] is not factory:
        raise ValueError("model name %r is already registered" % name)
    _MODELS[key] = factory
    if spec is not None:
        _SPECS[key] = spec
    return factory


def get_model_spec(name):
    """The spec of a registered pose model (``None`` for a backbone).

    Raises
    ------
    ValueError
        For an unknown name, as :func:`get_model`.
    """
    key = str(name).lower()
    if key not in _MODELS:
        _unknown(name)
    return _SPECS.get(key)


def spec_of(net, name=None):
    """The spec of a network built by :func:`get_model` (or of ``name``).

    A network built some other way gets the Simple Baselines contract, which
    is what a plain ``(N, 3, H, W) -> (N, J, H/4, W/4)`` heatmap network is.
    """
    spec = getattr(net, "pose_spec", None)
    if spec is None and name is not None and str(name).lower() in _SPECS:
        spec = _SPECS[str(name).lower()]
    return spec if spec is not None else DEFAULT_SPEC


def get_pose_model_list(kind=None):
    """Registered pose models (those with a spec), optionally of one ``kind``.

    ``kind`` is ``'top_down'`` (:class:`~gluonpose.model_zoo.spec.TopDownSpec`) or
    ``'bottom_up'`` (:class:`~gluonpose.model_zoo.spec.BottomUpSpec`); ``None`` lists both.
    """
    return sorted(k for k, s in _SPECS.items() if kind is None or s.kind == kind)


#: the contract of a network that came without one
DEFAULT_SPEC = TopDownSpec("simple_pose")

for _name in resnetv1b.RESNET_SPECS:
    register_model(_name, getattr(resnetv1b, _name))
for _base in simple_pose.SIMPLE_POSE_BASES:
    register_model("simple_pose_" + _base, getattr(simple_pose, "simple_pose_" + _base),
                   spec=simple_pose.SPEC)
for _name, _factory in mobilenet.MOBILENET_TRUNKS.items():
    register_model(_name, _factory)
for _base in mobile_pose.MOBILE_POSE_BASES:
    register_model("mobile_pose_" + _base,
                   getattr(mobile_pose, "mobile_pose_" + _base.replace(".", "_")),
                   spec=mobile_pose.SPEC)
for _name, _entry in fast_pose.FAST_POSE_MODELS.items():
    register_model(_name, getattr(fast_pose, _name), spec=_entry[-1])
for _name, _entry in cpn.CPN_MODELS.items():
    register_model(_name, getattr(cpn, _name), spec=_entry[-1])
for _name, _entry in hourglass.HOURGLASS_MODELS.items():
    register_model(_name, getattr(hourglass, _name), spec=_entry[-1])
for _name, _entry in openpose.OPENPOSE_MODELS.items():
    register_model(_name, getattr(openpose, _name), spec=_entry[-1])
for _name, _entry in associative_embedding.ASSOCIATIVE_EMBEDDING_MODELS.items():
    register_model(_name, getattr(associative_embedding, _name), spec=_entry[-1])


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
    if key not in _MODELS:
        _unknown(name)
    net = _MODELS[key](**kwargs)
    if key in _SPECS:
        # the engine, Predictor and exporter read the contract from the network
        net.pose_spec = _SPECS[key]
    return net


def _unknown(name):
    key = str(name).lower()
    close = difflib.get_close_matches(key, list(_MODELS), n=5, cutoff=0.5)
    hint = ("; did you mean %s?" % ", ".join(close)) if close else ""
    raise ValueError("model %r is not in gluonpose's model zoo%s (get_model_list() lists all %d)"
                     % (name, hint, len(_MODELS)))


def get_model_list():
    """All registered model names, sorted."""
    return sorted(_MODELS)
