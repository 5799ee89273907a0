"""Install gluonpose.

The MXNet wheel is chosen at install time because pip extras can only *add*
requirements, never replace one: a ``[gpu]`` extra would install the CUDA wheel
next to the CPU wheel, and two ``mxnet`` distributions in one environment
overwrite each other's files.  So::

    pip install -e .                                   # mxnet==1.9.1 (CPU)
    GLUONPOSE_MXNET=cu112 pip install -e .             # mxnet-cu112==1.9.1
    GLUONPOSE_MXNET=none pip install -e .              # bring your own mxnet build

``make install GPU=cu112`` does the second.  ``gluonpose`` warns at import time
when it finds two MXNet distributions side by side.
"""
import os
import re

from setuptools import find_namespace_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
MXNET_VERSION = "1.9.1"


def read_version():
    with open(os.path.join(HERE, "gluonpose", "_version.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def mxnet_requirement():
    """The single MXNet distribution to depend on, from ``GLUONPOSE_MXNET``."""
    flavour = os.environ.get("GLUONPOSE_MXNET", "cpu").strip().lower()
    if flavour in ("", "cpu"):
        return ["mxnet==%s" % MXNET_VERSION]
    if flavour == "none":
        return []
    if re.fullmatch(r"cu\d{2,3}", flavour):
        return ["mxnet-%s==%s" % (flavour, MXNET_VERSION)]
    raise SystemExit("GLUONPOSE_MXNET=%r: expected 'cpu', 'none' or a CUDA tag such as 'cu112'"
                     % flavour)


INSTALL_REQUIRES = mxnet_requirement() + [
    # mxnet 1.9 uses numpy aliases (np.bool, ...) that numpy 1.24 removed.
    "numpy>=1.17,<1.24",
    "opencv-python-headless==4.8.1.78",
    "pycocotools>=2.0.6",
    "matplotlib<3.9",
    "scipy<1.12",
    "tqdm>=4.40",
    "requests>=2.20",
    # CLEAR-MOT / IDF1 bookkeeping of gluonpose.tracking.evaluate.
    "motmetrics>=1.4",
]

DEPLOY = [
    # mxnet.onnx (1.9) targets the onnx 1.14 API; onnxruntime 1.18 is the first
    # cp311 wheel that still accepts numpy < 1.24 (1.15-1.17 demand >= 1.24.2).
    "onnx==1.14.1",
    "onnxruntime==1.18.1",
]
DOCS = [
    "sphinx==8.1.3",
    "sphinx-gallery==0.19.0",
]
EXTRAS = {
    "deploy": DEPLOY,
    "docs": DOCS,
    # gluoncv is our reference oracle in tests and benchmarks, never a runtime
    # dependency.  Pinning opencv-python keeps pip from pulling a numpy-2 OpenCV.
    # The tests export to ONNX and build the docs (the tutorials run there).
    "test": [
        "pytest>=7",
        "pytest-xdist>=3",
        "gluoncv==0.10.5.post0",
        "opencv-python==4.8.1.78",
    ] + DEPLOY + DOCS,
}

setup(
    name="gluonpose",
    version=read_version(),
    description="Human pose estimation model zoo on MXNet Gluon, compatible with GluonCV's pose weights",
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.8",
    packages=find_namespace_packages(include=["gluonpose", "gluonpose.*"]),
    include_package_data=True,
    package_data={"gluonpose": ["datasets/**/*", "model_zoo/*.json"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["gluonpose=gluonpose.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
)
