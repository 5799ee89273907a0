"""``gluonpose predict`` / ``scripts/demo.py``: the Predictor on images, folders, videos, webcams.

``gluonpose predict SOURCE`` where SOURCE is an image, a folder of images, a
video file or ``webcam:N`` (also ``--webcam N``). Person boxes come from
``--det-file`` (COCO detections json), ``--boxes x,y,w,h;...``, ``--detector``
(a GluonCV model name; needs gluoncv and its weights) or, by default, the
whole image; a bottom-up model (``--model openpose_...``) needs no boxes
(``--scales`` sets its test scales). ``--output-dir`` receives annotated
images (same file names) or an annotated ``<name>_pose.mp4``;
``--results-json`` the COCO keypoint results.

Exit status: 0 on success; 1 with one ``gluonpose: error: ...`` line when the
source cannot be read (missing or unreadable file, a video or camera that
cannot be opened, a folder where no image could be read). In a folder,
unreadable files are skipped with a ``warning: skipped ...`` line each and the
run goes on. A frame with nobody in it is an empty result, not an error. A
webcam runs until ``--max-frames`` or Ctrl-C, which ends it cleanly (the video
is kept).
"""
import os
import sys
import warnings

__all__ = ["add_predict_options", "add_predict_parser", "predict_main", "demo_main"]


def add_predict_options(p, demo=False):
    """The options of ``gluonpose predict`` (``demo=True``: GluonCV demo aliases too)."""
    if demo:
        p.add_argument("source", nargs="?", default=None,
                       help="image, folder, video or webcam:N")
        p.add_argument("--input-pic", dest="source_alias", default=None,
                       help="GluonCV demo name of SOURCE")
    else:
        p.add_argument("source", nargs="?", default=None,
                       help="image, folder of images, video file, or webcam:N")
    p.add_argument("--webcam", type=int, default=None, metavar="N",
                   help="read camera N (same as SOURCE webcam:N)")
    g = p.add_argument_group("pose model")
    g.add_argument("--model", "--pose-model", dest="model", default="simple_pose_resnet18_v1b",
                   help="model name (default simple_pose_resnet18_v1b)")
    g.add_argument("--params", "--params-file", dest="params", default=None,
                   help="weights file (.params or checkpoint .ckpt.json); default: the "
                        "published weights of --model")
    g.add_argument("--pretrained", nargs="?", const=True, default=None, metavar="TAG",
                   help="use the published weights (optionally of an 8-hex hashtag)")
    g.add_argument("--input-size", default=None,
                   help="network input H,W (default: the model's, e.g. 256,192)")
    g.add_argument("--codec", default="msra", choices=("msra", "unbiased", "dark", "integral"),
                   help="decoder the model was trained for (default msra)")
    g.add_argument("--schema", default=None,
                   help="keypoint set, e.g. coco, halpe26, halpe136 (default: the model's)")
    g.add_argument("--sigma", type=float, default=None,
                   help="codec sigma (default: what the model was trained with, else 2)")
    g.add_argument("--flip-test", action="store_true", help="average with mirrored crops")
    g.add_argument("--scales", default=None, metavar="S1,S2,...",
                   help="bottom-up models (OpenPose): test scales relative to --input-size "
                        "(the image height at scale 1); default the model's")
    g.add_argument("--batch-size", type=int, default=64,
                   help="most people per forward pass (default 64)")
    g.add_argument("--ctx", default=None, help="device, e.g. cpu or gpu:0 (default cpu)")
    g = p.add_argument_group("person boxes (default: the whole image)")
    g.add_argument("--det-file", default=None,
                   help="COCO-format detections json (image_id, category_id, bbox, score)")
    g.add_argument("--ann-file", default=None,
                   help="COCO annotation json mapping --det-file image ids to file names")
    g.add_argument("--det-score-thresh", type=float, default=0.0,
                   help="drop --det-file detections below this score")
    g.add_argument("--boxes", default=None, metavar="X,Y,W,H;...",
                   help="person boxes in pixels, COCO order, for every frame")
    g.add_argument("--detector", default=None,
                   help="GluonCV detector name, e.g. yolo3_mobilenet1.0_coco (needs gluoncv "
                        "and its weights)")
    g.add_argument("--box-thresh", type=float, default=0.5,
                   help="detector score threshold (default 0.5)")
    g = p.add_argument_group("post-processing and output")
    g.add_argument("--keypoint-thresh", type=float, default=0.2,
                   help="joints above this confidence are drawn and form the pose score")
    g.add_argument("--oks-nms", type=float, default=0.9,
                   help="OKS-NMS threshold (default 0.9); 0 or less disables it")
    g.add_argument("--pose-nms", default=None,
                   choices=("none", "oks", "soft-oks", "parametric"),
                   help="pose NMS: none, oks (threshold --oks-nms), soft-oks, or parametric "
                        "(AlphaPose's, merges duplicates); default: oks unless --oks-nms <= 0")
    g.add_argument("--output-dir", default="demo_output" if demo else None,
                   help="write annotated images / video here"
                        + (" (default demo_output)" if demo else ""))
    g.add_argument("--results-json", default=None, help="write COCO keypoint results here")
    g.add_argument("--show-backend", default="cv", choices=("cv", "mpl"),
                   help="drawing: cv (OpenCV, cv_plot_keypoints) or mpl (matplotlib, "
                        "plot_keypoints; images only)")
    g.add_argument("--video-ext", default=".mp4", choices=(".mp4", ".avi"),
                   help="container of annotated videos (default .mp4)")
    g.add_argument("--track", action="store_true",
                   help="give people an identity across the frames of a video, webcam or "
                        "folder (PoseFlow-style tracker); drawn in one colour per id, "
                        "written as track_id in --results-json")
    g.add_argument("--smooth", action="store_true",
                   help="with tracking: One-Euro filtering of each track's keypoints "
                        "(implies --track)")
    g.add_argument("--no-pipeline", dest="pipeline", action="store_false",
                   help="run reading, network, tracking and drawing of consecutive frames one "
                        "after another instead of overlapping them in threads (same results)")
    g.add_argument("--max-frames", type=int, default=None,
                   help="stop a video or webcam after N frames")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")


def add_predict_parser(subparsers):
    """Register ``predict`` on the ``gluonpose`` sub-command parser."""
    p = subparsers.add_parser("predict", help="poses on an image, folder, video or webcam",
                              description=__doc__.split("\n\n")[1].strip())
    add_predict_options(p)
    p.set_defaults(func=predict_main)
    return p


def _source(args):
    source = getattr(args, "source_alias", None) or args.source
    if args.webcam is not None:
        if source is not None:
            raise ValueError("--webcam: give either SOURCE or --webcam, not both")
        return args.webcam
    if source is None:
        raise ValueError("SOURCE: give an image, a folder, a video or webcam:N")
    return source


def _predictor(args):
    import mxnet as mx
    from ..engine.config import parse_contexts
    from .boxes import parse_boxes
    from .predictor import Predictor
    ctx = parse_contexts(args.ctx, None, 0)[0] if args.ctx else mx.cpu()
    if args.params and args.pretrained:
        raise ValueError("--params: give either --params or --pretrained, not both")
    boxes = parse_boxes(args.boxes) if args.boxes is not None else None
    extra = {}
    if getattr(args, "scales", None) is not None:
        from ..model_zoo import spec_of
        if getattr(spec_of(args.model, args.model), "kind", "") != "bottom_up":
            raise ValueError("--scales applies to bottom-up models (e.g. "
                             "openpose_mobilenet_light_coco)")
        extra["scales"] = args.scales
    return Predictor(args.model, pretrained=args.pretrained if not args.params else None,
                     params_file=args.params, ctx=ctx, input_size=args.input_size,
                     codec=args.codec, sigma=args.sigma, flip_test=args.flip_test,
                     detector=args.detector, det_file=args.det_file, ann_file=args.ann_file,
                     boxes=boxes, box_format="xywh", box_thresh=args.box_thresh,
                     det_score_thresh=args.det_score_thresh,
                     keypoint_thresh=args.keypoint_thresh,
                     oks_nms_thresh=args.oks_nms if args.oks_nms > 0 else None,
                     pose_nms=args.pose_nms, schema=args.schema,
                     batch_size=args.batch_size, progress=args.progress, **extra)


def _video_name(src, ext):
    if src.is_camera:
        return "webcam%s_pose%s" % (src.name.split(":")[-1], ext)
    return os.path.splitext(os.path.basename(src.name))[0] + "_pose" + ext


def predict_main(args, out=None, err=None):
    """Run ``gluonpose predict`` with parsed ``args``; returns the exit status."""
    from .render import AnnotatedVideo, save_annotated_image
    from .sources import VideoSource, open_source
    out = out or sys.stdout
    err = err or sys.stderr
    source = _source(args)
    if args.max_frames is not None and args.max_frames < 1:
        raise ValueError("--max-frames must be >= 1, got %d" % args.max_frames)
    src = open_source(source, args.max_frames)          # fails early on a bad source
    is_video = isinstance(src, VideoSource)
    if is_video and args.show_backend == "mpl" and args.output_dir:
        src.close()
        raise ValueError("--show-backend mpl draws images; annotated videos use cv")
    with warnings.catch_warnings():
        # folder skips are reported below, once, as 'warning: skipped ...' lines
        warnings.filterwarnings("ignore", message="skipped ")
        pred = _predictor(args)
        print("gluonpose predict: %s" % pred.describe(), file=out)
        frames = people = 0
        video = None
        if is_video and args.output_dir:
            video = AnnotatedVideo(os.path.join(args.output_dir,
                                                _video_name(src, args.video_ext)),
                                   src.fps, pred.schema, args.keypoint_thresh)
        try:
            if video is not None:
                video.__enter__()
            def render(result, image):
                if video is not None:
                    video.write(image, result)
                else:
                    save_annotated_image(
                        os.path.join(args.output_dir, os.path.basename(result.name)),
                        image, result, pred.schema, args.show_backend, args.keypoint_thresh)

            # frames overlap in threads (read+crop | network | track | draw+write)
            stream = pred.predict_source(src, track=args.track or args.smooth,
                                         smooth=args.smooth,
                                         pipeline=args.pipeline and not src.single,
                                         render=render if args.output_dir else None)
            try:
                for result in stream:
                    frames += 1
                    people += len(result)
                    if not is_video:
                        print("%s: %d %s" % (result.name, len(result),
                                             "person" if len(result) == 1 else "people"),
                              file=out)
            except KeyboardInterrupt:
                if not (is_video and src.is_camera):
                    raise
                stream.close()          # a webcam ends with Ctrl-C: keep what was recorded
        except BaseException:
            if video is not None:
                video.__exit__(*sys.exc_info())
                video = None
            raise
        if video is not None:
            video.__exit__(None, None, None)
    for path, reason in pred.skipped:
        print("warning: skipped %s" % reason, file=err)
    if frames == 0:
        raise ValueError("%s: no readable image (%d file(s) skipped)"
                         % (getattr(src, "folder", src.name if is_video else source),
                            len(pred.skipped)))
    if is_video:
        print("%s: %d frames, %d people" % (src.name, frames, people), file=out)
    if video is not None:
        print("annotated video: %s" % video.path, file=out)
    elif args.output_dir:
        print("annotated images: %s" % args.output_dir, file=out)
    if args.results_json:
        pred.write_coco_results(args.results_json)
        print("results: %s (%d people)" % (args.results_json, len(pred.results)), file=out)
    return 0


def demo_main(argv=None, prog="demo.py"):
    """``scripts/demo.py``: ``gluonpose predict`` with GluonCV's demo option names too."""
    from ..utils.cli_common import _Parser, _parse, _run
    parser = _Parser(prog=prog, description="Pose estimation demo: " + __doc__.split("\n\n")[1]
                     .strip())
    add_predict_options(parser, demo=True)
    args, status = _parse(parser, argv)
    return status if args is None else _run(predict_main, args)
