"""Train a Simple Baselines pose model: GluonCV's ``train_simple_pose.py`` options.

A thin wrapper around ``gluonpose train`` (see ``gluonpose train --help``)::

    python scripts/train_simple_pose.py --model simple_pose_resnet18_v1b --num-joints 17 \
        --mode hybrid --lr 0.001 --wd 0 --lr-decay-epoch 90,120 --num-epochs 140 \
        --batch-size 32 --num-gpus 8 -j 60 --use-pretrained-base
"""
import sys

from gluonpose.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main(sys.argv[1:]))
