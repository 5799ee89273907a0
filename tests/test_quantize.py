"""INT8 (oneDNN) post-training quantisation: agreement with FP32 on a trained model."""
import os
import time

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from gluonpose.codecs import get_codec
from gluonpose.data import mini_coco
from gluonpose.data.transforms.presets.simple_pose import SimplePoseDefaultTrainTransform
from gluonpose.deploy.export import deploy_config, load_symbol, write_deployment
from gluonpose.deploy.quantize import (int8_report, pck_agreement, quantization_summary,
                                       quantize)
from gluonpose.data.schema import get_schema
from gluonpose.model_zoo import get_model

MODEL = "simple_pose_resnet18_v1b"
SIZE = (64, 64)          # the smallest input the stride-32 trunk takes with a square crop
NUM_PEOPLE = 8
SIGMA = 1.5
ITERATIONS = 160


def _tiny_net(seed=0):
    mx.random.seed(seed)
    # a 128-filter head keeps training short; the layer types (conv, BN, ReLU, pooling,
    # residual adds, transposed convs) are those of the zoo model
    net = get_model(MODEL, num_deconv_filters=(128, 128, 128))
    net.initialize(mx.init.MSRAPrelu())
    return net


@pytest.fixture(scope="module")
def trained():
    """A network that has memorised the first 8 people of the mini set (real heatmaps).

    The crops are the validation crops (no augmentation), so the heatmaps it
    produces at evaluation are the ones it was fitted to: peaked Gaussians at
    the labelled joints. Measured: about 27 s on 2 shared cores (loss 1e-2 ->
    4.4e-4); FP32 PCK@0.05 against the ground truth 0.97 on those people.
    """
    tic = time.time()
    ds = mini_coco(image_format="numpy")
    codec = get_codec("unbiased", image_size=SIZE, sigma=SIGMA)
    transform = SimplePoseDefaultTrainTransform(
        17, image_size=SIZE, scale_factor=0, rotation_factor=0, random_flip=False,
        codec=codec, schema="coco", rng=0)
    items = [transform(*ds[i]) for i in range(NUM_PEOPLE)]
    x = mx.nd.stack(*[it[0] for it in items])
    y = mx.nd.array(np.stack([it[1] for it in items]))
    w = mx.nd.array(np.stack([it[2] for it in items]))
    net = _tiny_net()
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 4e-3})
    l2 = gluon.loss.L2Loss()
    for _ in range(ITERATIONS):
        with autograd.record():
            loss = l2(net(x), y, w)
        loss.backward()
        trainer.step(NUM_PEOPLE)
    final = float(loss.mean().asscalar())
    print("tiny model: %d iterations in %.1fs, loss %.2e" % (ITERATIONS, time.time() - tic,
                                                             final))
    return net, x.asnumpy(), final


@pytest.fixture(scope="module")
def report(trained):
    net, crops, _ = trained
    qnet = quantize(net, SIZE, calib_mode="naive", calib_data=crops)
    return qnet, int8_report(net, qnet, SIZE, codec="unbiased", sigma=SIGMA,
                             max_samples=NUM_PEOPLE)


def _gt(n):
    recs = mini_coco(image_format="numpy").records[:n]
    joints = np.stack([np.asarray(r["joints_3d"])[:, :2, 0] for r in recs])
    labelled = np.stack([np.asarray(r["joints_3d"])[:, 0, 1] > 0 for r in recs])
    return joints, labelled


def test_int8_agrees_with_fp32_on_a_trained_model(trained, report):
    _, _, loss = trained
    qnet, rep = report
    print("FP32 AP %.3f INT8 AP %.3f; INT8 vs FP32 PCK@0.05 %.3f (all) %.3f (labelled)"
          % (rep["ap_fp32"], rep["ap_int8"], rep["pck_all"], rep["pck_labelled"]))
    assert loss < 2e-3                      # it did fit (starts at ~1e-2)
    # the FP32 heatmaps mean something: its joints are the labelled ones
    gt, labelled = _gt(NUM_PEOPLE)
    fp32_vs_gt = pck_agreement(rep["coords_fp32"], gt, rep["boxes"], 0.05, labelled)
    print("FP32 vs ground truth PCK@0.05 %.3f" % fp32_vs_gt)
    assert fp32_vs_gt >= 0.9, fp32_vs_gt
    # INT8 keeps them: measured 1.0 here (and 1.0 / 0.98 labelled / all joints for the
    # quickstart model at 128x96); the margin covers other oneDNN versions and CPUs
    assert rep["pck_labelled"] >= 0.95, rep
    assert rep["pck_all"] >= 0.9, rep
    assert np.isfinite(rep["ap_fp32"]) and np.isfinite(rep["ap_int8"])
    assert abs(rep["ap_int8"] - rep["ap_fp32"]) <= 0.05, rep
    int8_vs_gt = pck_agreement(rep["coords_int8"], gt, rep["boxes"], 0.05, labelled)
    assert int8_vs_gt >= fp32_vs_gt - 0.05


def test_agreement_metric_separates_untrained_nets(trained, report):
    """Control: the same metric between two unrelated nets is low, so >= 0.95 means something."""
    _, rep = report
    other = _tiny_net(seed=1)
    other.hybridize()
    q_other = quantize(other, SIZE, calib_mode="naive", calib_data=trained[1])
    rep_other = int8_report(other, q_other, SIZE, codec="unbiased", sigma=SIGMA,
                            max_samples=NUM_PEOPLE)
    cross = pck_agreement(rep_other["coords_fp32"], rep["coords_fp32"], rep["boxes"], 0.05,
                          rep["labelled"])
    assert cross < 0.3, cross


def test_quantized_ops_and_int8_export_round_trip(report, tmp_path):
    qnet, _ = report
    summary = quantization_summary(qnet)
    # MXNet 1.9 has no quantized deconvolution: the three head layers stay FP32
    assert summary["fp32"].get("Deconvolution") == 3
    assert summary["int8"].get("_sg_mkldnn_conv", 0) >= 20        # trunk + final conv
    assert not {"Convolution", "_sg_mkldnn_conv"} & set(summary["fp32"])
    x = mx.nd.array(np.random.default_rng(0).standard_normal((2, 3) + SIZE).astype("f4"))
    ref = qnet(x).asnumpy()
    cfg = deploy_config(MODEL, SIZE, "unbiased", SIGMA, get_schema("coco"), (0.485, 0.456, 0.406),
                        (0.229, 0.224, 0.225), "symbol-int8")
    net_fp32 = _tiny_net()
    write_deployment(net_fp32, str(tmp_path / "int8"), cfg, quantized_net=qnet)
    assert sorted(os.listdir(tmp_path / "int8")) == ["deploy.json", "model-int8-0000.params",
                                                     "model-int8-symbol.json", "pose_decoder.py"]
    back = load_symbol(str(tmp_path / "int8"))
    np.testing.assert_allclose(back(x).asnumpy(), ref, rtol=0, atol=1e-5)


def test_entropy_calibration_keeps_keypoints(trained):
    """KL calibration clips the rare heatmap peaks (raw maxima drop by up to ~25 % here),
    but the decoded joints, which depend on where the peak is, still agree."""
    net, crops, _ = trained
    qnet = quantize(net, SIZE, calib_mode="entropy", calib_data=crops)
    rep = int8_report(net, qnet, SIZE, codec="unbiased", sigma=SIGMA, max_samples=NUM_PEOPLE)
    assert rep["pck_labelled"] >= 0.95, rep      # measured 1.0 (quickstart model: 0.999)


def test_pck_agreement_hand_values():
    a = np.zeros((2, 3, 2))
    b = a.copy()
    boxes = np.array([[0, 0, 100, 50], [10, 10, 30, 50]])     # longer sides 100 and 40
    b[0, 0] = [5, 0]        # 5 <= 0.05 * 100: agrees (boundary)
    b[0, 1] = [0, 5.01]     # just over
    b[1, 0] = [1.2, 1.6]    # distance 2.0 <= 0.05 * 40
    b[1, 2] = [0, 2.5]      # 2.5 > 2
    assert pck_agreement(a, b, boxes) == pytest.approx(4 / 6)
    mask = np.array([[True, True, False], [True, False, False]])
    assert pck_agreement(a, b, boxes, mask=mask) == pytest.approx(2 / 3)
    assert np.isnan(pck_agreement(a, b, boxes, mask=np.zeros((2, 3), bool)))
    with pytest.raises(ValueError):
        pck_agreement(a, b[:1], boxes)


def test_duc_head_quantizes_every_convolution():
    """MobilePose's DUC head: no convolution left in FP32; only the pixel shuffles may be."""
    from gluonpose.deploy.quantize import LAYOUT_OPS, calibration_crops
    mx.random.seed(0)
    net = get_model("mobile_pose_resnet18_v1b")
    net.initialize(mx.init.MSRAPrelu())
    crops = calibration_crops(SIZE, num_examples=4)
    qnet = quantize(net, SIZE, calib_data=crops, batch_size=4)
    summary = quantization_summary(qnet)
    print(summary)
    # 20 trunk convolutions, the 1x1 reduction, 3 DUC convs, the heatmap conv
    assert summary["convolutions"] == {"int8": 25, "fp32": 0, "fp32_names": []}
    assert set(summary["fp32"]) <= set(LAYOUT_OPS), summary["fp32"]
    assert not summary["blocks"]["features"]["fp32"]
    head = summary["blocks"]["upsampling"]
    assert head["int8"] == {"_sg_mkldnn_conv": 5}, head       # conv+BN+ReLU fused in each DUC
    # each pixel shuffle: three reshapes and one transpose
    assert head["fp32"] == {"Reshape": 9, "transpose": 3}, head
    # one conversion pair per pixel shuffle (oneDNN transposes FP32 only), plus input/output
    assert summary["conversions"] == {"_contrib_quantize_v2": 4, "_contrib_dequantize": 4}
    # the shuffles can also run on the INT8 codes: no conversion inside, same outputs
    fused = quantize(net, SIZE, calib_data=crops, batch_size=4, int8_layout=True)
    fused_summary = quantization_summary(fused)
    assert not fused_summary["fp32"], fused_summary["fp32"]
    assert fused_summary["conversions"] == {"_contrib_quantize_v2": 1, "_contrib_dequantize": 1}
    x = mx.nd.array(crops)
    np.testing.assert_array_equal(fused(x).asnumpy(), qnet(x).asnumpy())


@pytest.mark.parametrize("name, expected_convs", [("hourglass_1stack", 56),
                                                  ("cpn_resnet50_v1b", 91)])
def test_multi_stage_families_quantize_every_convolution(name, expected_convs):
    """Hourglass and CPN: every convolution INT8; what stays FP32 is named, and outputs agree.

    The hourglass's pre-activation units put a ReLU before each convolution
    (oneDNN fuses ReLU only after one), its nearest up-sampling has no INT8
    kernel; CPN's bilinear resizes neither. Weights are random (gamma of the
    heads' closing batch norms set to 1 so the outputs are not all zero), so
    agreement is the correlation of the decoded outputs over every pixel (a
    random ResNet-50 amplifies the rounding: CPN's is about 0.85 here, where
    trained networks are compared by PCK in ``bench/bench_int8_agreement.py``).
    """
    from gluonpose.deploy.quantize import calibration_crops
    from gluonpose.model_zoo import get_model_spec
    spec = get_model_spec(name)
    size = (spec.size_multiple, spec.size_multiple)
    mx.random.seed(0)
    net = get_model(name)
    net.initialize(mx.init.MSRAPrelu())
    for param in net.collect_params(".*gamma").values():
        param.set_data(mx.nd.ones_like(param.data()))
    crops = calibration_crops(size, num_examples=4, mean=spec.mean, std=spec.std)
    qnet = quantize(net, size, calib_data=crops, batch_size=4)
    summary = quantization_summary(qnet)
    assert summary["convolutions"] == {"int8": expected_convs, "fp32": 0, "fp32_names": []}
    fp32_ops = set(summary["fp32"])
    assert fp32_ops <= {"relu", "UpSampling", "_contrib_BilinearResize2D"}, fp32_ops
    x = mx.nd.array(crops)
    want = spec.decoded(net(x)).asnumpy()
    got = spec.decoded(qnet(x)).asnumpy()
    corr = np.corrcoef(want.ravel(), got.ravel())[0, 1]
    print("%s: INT8 vs FP32 correlation %.4f, max |diff| %.3g of range %.3g"
          % (name, corr, np.abs(got - want).max(), want.max() - want.min()))
    assert corr > 0.8
