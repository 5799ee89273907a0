"""The documentation builds, and every tutorial in docs/tutorials runs.

One sphinx build (module-scoped fixture) of a copy of ``docs/`` in a
temporary folder: sphinx-gallery executes every tutorial from scratch (the
copy has no cached outputs), nothing is written into the checkout, and a
tutorial that raises fails the build (``abort_on_example_error``) and this
test. The HTML is then checked for each tutorial's page and figures, the
model-zoo page for every registered model, and the API pages for every
public module.
"""
import html
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import gluonpose
from gluonpose.model_zoo import get_model_list

DOCS = Path(__file__).resolve().parent.parent / "docs"
TUTORIALS = sorted(p.stem for p in (DOCS / "tutorials").glob("*.py")
                   if not p.name.startswith("_"))
GENERATED = ("_build", "build_tutorials", "generated")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    src = tmp_path_factory.mktemp("docs") / "docs"
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns(*GENERATED, "__pycache__"))
    out = src / "_build" / "html"
    env = dict(os.environ, MPLBACKEND="Agg", TQDM_DISABLE="1")
    tic = time.time()
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(out)],
                          cwd=str(src), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=900)
    log = proc.stdout
    assert proc.returncode == 0, "sphinx build failed:\n" + log[-6000:]
    return {"src": src, "out": out, "log": log, "seconds": time.time() - tic}


def test_build_has_no_warnings(built):
    warnings = [line for line in built["log"].splitlines()
                if "WARNING" in line or "ERROR" in line]
    assert not warnings, "\n".join(warnings[:30])


def test_every_tutorial_executed(built):
    assert TUTORIALS, "no tutorial found in docs/tutorials"
    junit = ET.parse(built["out"] / "sg_junit.xml").getroot()
    cases = {c.get("classname"): c for c in junit.iter("testcase")}
    assert sorted(cases) == TUTORIALS
    for name, case in cases.items():
        assert case.find("failure") is None and case.find("skipped") is None, name
        assert float(case.get("time")) > 0, name


def test_every_tutorial_has_its_page_and_figures(built):
    gallery = built["out"] / "build_tutorials"
    index = (gallery / "index.html").read_text(encoding="utf-8")
    images = built["out"] / "_images"
    for name in TUTORIALS:
        page = gallery / (name + ".html")
        assert page.is_file(), name
        html = page.read_text(encoding="utf-8")
        figures = sorted(images.glob("sphx_glr_%s_*.png" % name))
        figures = [f for f in figures if "thumb" not in f.name]
        assert figures, "tutorial %s drew no figure" % name
        for fig in figures:                      # every figure is on the page and not empty
            assert fig.name in html, (name, fig.name)
            assert fig.stat().st_size > 5000, fig
        assert name + ".html" in index
        # the printed output of the run is on the page
        assert "sphx-glr-script-out" in html, name


def test_tutorial_numbers_on_the_pages(built):
    gallery = built["out"] / "build_tutorials"
    text = {}
    for name in TUTORIALS:
        raw = (gallery / (name + ".html")).read_text(encoding="utf-8")
        text[name] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", raw))
    codecs = text.get("30_heatmap_codecs")
    if codecs is not None:
        # the oracle APs of both codecs at both sizes, with their protocol
        lines = re.findall(r"oracle AP (\d\.\d+) \[gt boxes, no flip, codec=(\w+)\S* [^\]]*input "
                           r"(\d+x\d+)", codecs)
        found = {(codec, size): float(ap) for ap, codec, size in lines}
        assert set(found) == {(c, s) for c in ("msra", "unbiased") for s in ("128x96", "256x192")}
        assert found[("unbiased", "128x96")] > found[("msra", "128x96")]
    predict = text.get("10_predict_pretrained")
    if predict is not None:
        predict = html.unescape(predict)
        # weights published to the mirror, fetched by pretrained=True, sha1 checked, tamper refused
        assert re.search(r"sha1 in the mirror index: ([0-9a-f]{40}) -> match", predict)
        assert re.search(r"pretrained=True and pretrained='[0-9a-f]{8}' load the same weights: True",
                         predict)
        assert re.search(r"ModelChecksumError: \S+\.params in \S+\.zip .* has sha1 [0-9a-f]{40}, "
                         r"expected [0-9a-f]{40}", predict)
        # the GluonCV demo helpers give the Predictor's keypoints
        diff = float(re.search(r"largest difference to the Predictor's keypoints: (\d[-+.e\d]*) px",
                               predict).group(1))
        assert diff < 0.01
        # per-stage timings are printed, and the memorised people are reproduced
        assert re.search(r"network +\d+\.\d+ ms .* total +\d+\.\d+ ms for 4 people", predict)
        ap = float(re.search(r"memorisation check: COCO keypoint AP (\d\.\d+) AP50 .*? on the 8 "
                             r"training people \[ground-truth boxes", predict).group(1))
        assert ap > 0.6
        assert "simple_pose_resnet50_v1b pretrained" in predict
    custom = text.get("50_custom_keypoints")
    if custom is not None:
        aps = [float(a) for a in re.findall(r"AP (\d\.\d+) AP50", custom)]
        assert len(aps) == 2 and all(0 <= a <= 1 for a in aps)
    paf = text.get("90_openpose_part_affinity_fields")
    if paf is not None:
        # the oracle AP with its protocol, the grouping check, the light
        # network's cost and the random-weight run that finds nobody
        ap = float(re.search(r"PAF oracle AP (\d\.\d+) \[ground-truth maps, no "
                             r"network, bottom-up, no boxes, single scale, no "
                             r"flip, input height 368, coco_mini train2017", paf).group(1))
        assert 0 < ap <= 1
        assert "score_limbs accepts the same pairs: True" in paf
        assert re.search(r"86 annotated people: 22 without a neck", paf)
        assert re.search(r"openpose_mobilenet_light_coco at 368x368: 4\.\d\d M "
                         r"parameters, \d\.\d\d GFLOPs", paf)
        assert re.search(r"random weights, openpose_mobilenet_light_coco "
                         r"\[[^\]]*\]: 0 people", paf)
    ae = text.get("95_associative_embedding")
    if ae is not None:
        ae = html.unescape(ae)
        # pull and push move the right way: ideal tags pull 0, shuffled labels pull and
        # push more, one tag for everybody pushes the most (0.5)
        term = {name: [float(v) for v in re.search(
            re.escape(name) + r" (\d+\.\d+) (\d+\.\d+) (\d+\.\d+)", ae).groups()]
            for name in ("ideal tags", "one tag for all", "labels shuffled per joint")}
        assert term["ideal tags"][1] == 0
        assert term["labels shuffled per joint"][1] > 1
        assert term["labels shuffled per joint"][2] > term["ideal tags"][2]
        assert abs(term["one tag for all"][2] - 0.5) < 1e-3
        # the oracle over the bundled set with its protocol, and the tag-noise curve
        protocol = (r"\[ground-truth heatmaps \+ ideal tags, no network, bottom-up, no boxes, "
                    r"single scale, no flip, input %d \(longer side")
        assert re.search(r"AE oracle AP " + protocol % 512 + r"[^\]]*\], Gaussian tag noise",
                         ae)
        curve = [(float(t), float(a)) for t, a in
                 re.findall(r"tag noise (\d\.\d+): AP (\d\.\d+)", ae)]
        assert len(curve) >= 4 and curve[0][0] == 0
        assert curve[0][1] >= 0.95
        assert all(b[1] <= a[1] + 0.01 for a, b in zip(curve, curve[1:]))
        assert curve[-1][1] < 0.5
        # the oracle at the test sizes: the larger input, the higher the AP
        sized = {int(s): float(a) for a, s in re.findall(
            r"AE oracle AP (\d\.\d+) " + protocol.replace("%d", r"(\d+)"), ae)}
        assert sorted(sized) == [64, 128, 192, 512]
        assert sized[64] < sized[128] < sized[192] < sized[512]
        assert sized[512] >= 0.95
        # the short training run: the detection term of both stacks falls
        for stack in (1, 2):
            first, last = (float(v) for v in re.search(
                r"loss_stack%d_det first 5 updates (\d\.\d+), last 5 (\d\.\d+)" % stack,
                ae).groups())
            assert last < first / 5, (stack, first, last)
        # three AP lines of the trained model, each with its full protocol
        runs = {(flip, scales): float(ap) for ap, flip, scales in re.findall(
            r"trained \d+ updates: AP (\d\.\d+) AP50 .*? \[method=bottom-up, boxes=none, "
            r"(no flip|flip), scales=\[([^\]]*)\], codec=ae\(stride=4, sigma=2\), "
            r"input_size=128, split=coco_mini/person_keypoints_train2017, images=3\]", ae)}
        assert set(runs) == {("no flip", "1.0"), ("flip", "1.0"), ("flip", "1.5, 1.0, 0.5")}
        assert all(0 <= v <= 1 for v in runs.values())
    hourglass = text.get("70_stacked_hourglass")
    if hourglass is not None:
        # computed cost of the 8-stack MPII model, next to the published one
        assert re.search(r"hourglass_8stack_mpii 8 16 25\.43 27\.44", hourglass)
        # the per-stack table, with its protocol: stack 1 sharper than stack 0
        assert re.search(r"Memorisation, not accuracy: the 8 training people, ground-truth "
                         r"boxes, no flip, input 64x64, 16x16 maps, codec=unbiased", hourglass)
        row = {name: [float(v) for v in re.search(
            name + r" (\d+\.\d+) (\d+\.\d+) (\d+\.\d+) (\d+\.\d+) (\d\.\d+)",
            hourglass).groups()] for name in ("target", "stack0", "stack1")}
        assert row["target"][2] < 0.1                      # the codec decodes its targets
        assert row["stack1"][0] > row["stack0"][0]         # higher at the joint
        assert row["stack1"][2] < row["stack0"][2]         # decodes closer to it
        # the flip merge on ideal maps: -1.5 px, +0.5 px, exact with spec.flip_shift
        assert "spec.flip_shift of hourglass_2stack: 0.75" in hourglass
        flip = {label: float(v) for label, v in re.findall(
            r"(shift=False|shift=True|shift=0\.75) \([^)]*\) ([-+]\d+\.\d+)", hourglass)}
        assert abs(flip["shift=False"] + 1.5) < 0.05
        assert abs(flip["shift=True"] - 0.5) < 0.05
        assert abs(flip["shift=0.75"]) < 0.05
    cpn = text.get("80_cpn_pyramid_ohkm")
    if cpn is not None:
        cpn = html.unescape(cpn)
        # the parameter count agrees with the published 27.0 M
        assert re.search(r"cpn_resnet50_v1b at 256x192: 27\.01 M parameters", cpn)
        # each of the five targets is the Gaussian of its sigma around the joint's cell
        rows = re.findall(r"(global_p\d|refine) (\d\.\d) \d+\.\d (\d\.\de[-+]\d+) "
                          r"(\d\.\de[-+]\d+)", cpn)
        assert [(r[0], r[1]) for r in rows] == [
            ("global_p2", "1.4"), ("global_p3", "1.7"), ("global_p4", "2.0"),
            ("global_p5", "2.6"), ("refine", "1.4")]
        assert all(float(d) < 1e-6 for r in rows for d in r[2:])
        # OHKMLoss equals the mean of the kept joints' losses computed by hand
        number = r"(\d\.\d+e[-+]\d+)"
        by_loss = float(re.search(r"OHKMLoss\(topk=8, weight=2\) on the batch: " + number,
                                  cpn).group(1))
        by_hand = float(re.search(r"losses by hand: " + number, cpn).group(1))
        assert by_loss > 0 and abs(by_loss - by_hand) <= 1e-6 * by_loss
        assert re.search(r"keeps the same joints as numpy\S* sort: True", cpn)
        # on a kept joint the OHKM gradient is the plain L2 one times 17 / 8
        assert re.search(r"gradient = 2\.1250 to 2\.1250 \(17 / 8 = 2\.1250\)", cpn)
        assert len(re.findall(r"person \d \(\s?\d+ labelled\): (?:\w+\*?, ){7}\w+\*?",
                              cpn)) == 8


def test_model_zoo_page_lists_every_registered_model(built):
    html = (built["out"] / "model_zoo.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    for name in get_model_list():
        assert re.search(r"\b%s\b" % re.escape(name), text), name
    # computed figures, not typed: ResNet-50 simple pose at 256x192
    assert re.search(r"simple_pose_resnet50_v1b 256x192 34\.0 5\.43 8\.99 e2c7b1ad "
                     r"71\.0/91\.2/78\.6 72\.2/92\.2/79\.9", text)
    assert "ground-truth person box" in text


def test_api_pages_cover_every_public_module(built):
    generated = built["out"] / "generated"
    missing = []
    for info in pkgutil.walk_packages(gluonpose.__path__, "gluonpose."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        if not (generated / (info.name + ".html")).is_file():
            missing.append(info.name)
    assert not missing, "no API page for %s (add to docs/api.rst)" % ", ".join(missing)


def test_no_remote_resources(built):
    # images, scripts and stylesheets all come from the build (links to other sites are fine)
    remote = re.compile(r"""(<(img|script|iframe)[^>]*\ssrc|<link[^>]*\shref)=["'](https?:)?//""")
    for page in built["out"].rglob("*.html"):
        assert not remote.search(page.read_text(encoding="utf-8")), page
