"""Deployment: symbol/ONNX export, a numpy-only decoder, INT8 quantisation.

* :mod:`gluonpose.deploy.export` -- ``export_symbol``/``load_symbol``,
  ``export_onnx``, ``write_deployment`` (a folder with the model, a copy of the
  numpy decoder as ``pose_decoder.py`` and ``deploy.json``);
* :mod:`gluonpose.deploy.numpy_decoder` -- crop, flip merge, MSRA and DARK
  decoding in numpy alone (what a top-down deployment imports);
* :mod:`gluonpose.deploy.bottom_up_decoder` -- the bottom-up (OpenPose) test
  protocol with numpy, OpenCV and a copy of the PAF codec (what an OpenPose
  deployment imports);
* :mod:`gluonpose.deploy.ae_decoder` -- the Associative Embedding test
  protocol with numpy, OpenCV, scipy and a copy of the AE codec (what an AE
  deployment imports);
* :mod:`gluonpose.deploy.quantize` -- oneDNN INT8 post-training quantisation
  calibrated on the bundled mini COCO set, and INT8-vs-FP32 agreement;
* :mod:`gluonpose.deploy.cli` -- ``gluonpose export``.

Submodules are imported on first use so ``import gluonpose`` does not pull in
``onnx``.
"""
import importlib

__all__ = ["export", "numpy_decoder", "bottom_up_decoder", "ae_decoder", "quantize",
           "export_symbol", "load_symbol", "export_onnx", "write_deployment", "load_deployment",
           "deploy_config", "bottom_up_deploy_config", "pck_agreement", "quantize_net",
           "int8_report"]

_LAZY = {"export_symbol": "export", "load_symbol": "export", "export_onnx": "export",
         "write_deployment": "export", "load_deployment": "export", "deploy_config": "export",
         "bottom_up_deploy_config": "export",
         "pck_agreement": "quantize", "int8_report": "quantize"}


def __getattr__(name):
    if name in ("export", "numpy_decoder", "bottom_up_decoder", "ae_decoder", "quantize", "cli"):
        return importlib.import_module("." + name, __name__)
    if name == "quantize_net":
        return importlib.import_module(".quantize", __name__).quantize
    if name in _LAZY:
        return getattr(importlib.import_module("." + _LAZY[name], __name__), name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
