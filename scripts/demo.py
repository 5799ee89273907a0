"""Pose estimation demo: ``gluonpose predict`` under GluonCV's demo script name.

Takes GluonCV's ``scripts/pose/simple_pose/demo.py`` option names
(``--input-pic``, ``--pose-model``, ``--detector``) plus every
``gluonpose predict`` option (see ``gluonpose predict --help``); SOURCE may be
an image, a folder, a video or ``webcam:N``. Annotated output goes to
``--output-dir`` (default ``demo_output``)::

    python scripts/demo.py photo.jpg --params runs/quickstart/net.params --input-size 128,96
    python scripts/demo.py clip.mp4 --det-file detections.json --flip-test
    python scripts/demo.py --webcam 0 --max-frames 300 --boxes 100,40,200,400
"""
import sys

from gluonpose.inference.cli import demo_main

if __name__ == "__main__":
    sys.exit(demo_main(sys.argv[1:]))
