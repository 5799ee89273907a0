"""What every gluonpose command line shares: the parser class, parsing and running.

``gluonpose`` (:mod:`gluonpose.cli`), ``gluonpose predict`` / ``scripts/demo.py``
(:mod:`gluonpose.inference.cli`) and the GluonCV-named scripts all use these, so
the commands below :mod:`gluonpose.cli` never import it. Errors that come from
the user's input or environment print one ``gluonpose: error: ...`` line and
exit with status 1 instead of a traceback.
"""
import argparse
import sys

__all__ = []


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line error convention (status 1, no usage dump)."""

    def error(self, message):
        print("%s: error: %s (see --help)" % (self.prog, message), file=sys.stderr)
        sys.exit(1)


def _run(func, args):
    try:
        return func(args)
    except (OSError, ValueError, RuntimeError) as err:
        # one line, no traceback: these are problems with input or environment
        text = str(err).strip()
        print("gluonpose: error: %s" % (text.splitlines()[0] if text else type(err).__name__),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gluonpose: interrupted", file=sys.stderr)
        return 130


def _parse(parser, argv):
    """Parsed arguments, or the exit status argparse chose (--help: 0, bad option: 1)."""
    try:
        return parser.parse_args(argv), None
    except SystemExit as stop:
        return None, stop.code if isinstance(stop.code, int) else 1
