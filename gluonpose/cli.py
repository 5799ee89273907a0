"""The ``gluonpose`` command line (also ``python -m gluonpose``).

Each sub-command is a thin layer over the library. Errors that come from the
user's input or environment (a missing file, no network, a bad checksum) print
one ``gluonpose: error: ...`` line and exit with status 1 instead of a traceback.
"""
import argparse
import sys

__all__ = ["main", "build_parser"]


def _cmd_models(args):
    from .model_zoo import get_model_list
    from .model_zoo.model_store import pretrained_model_list
    published = set(pretrained_model_list())
    for name in get_model_list():
        if args.pretrained and name not in published:
            continue
        print("%-28s%s" % (name, "  pretrained" if name in published else ""))
    return 0


def _cmd_download(args):
    from .model_zoo.model_store import get_model_file
    print(get_model_file(args.name, tag=args.tag, root=args.root))
    return 0


def build_parser():
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="gluonpose", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("models", help="list the registered models")
    p.add_argument("--pretrained", action="store_true", help="only those with published weights")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("download", help="fetch a model's published weights into the cache")
    p.add_argument("name", help="model name, e.g. simple_pose_resnet18_v1b")
    p.add_argument("--tag", default=None, help="8-hex hashtag of a specific weight file")
    p.add_argument("--root", default=None, help="cache directory (default ~/.mxnet/models)")
    p.set_defaults(func=_cmd_download)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OSError, ValueError, RuntimeError) as err:
        # one line, no traceback: these are problems with input or environment
        text = str(err).strip()
        print("gluonpose: error: %s" % (text.splitlines()[0] if text else type(err).__name__),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gluonpose: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
