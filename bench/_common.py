"""What every ``bench/bench_*.py`` module shares: machine line, median, command line."""
import argparse
import os
import platform
import statistics
import sys

__all__ = ["cpu_name", "median", "machine_line", "bench_main", "gmacs"]


def cpu_name():
    """The CPU model from /proc/cpuinfo (platform's guess elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gmacs(name, size):
    """Multiply-adds (1e9) of registered model ``name`` at input ``(H, W)``, from its graph."""
    from gluonpose.model_zoo import get_model
    from gluonpose.utils.model_summary import model_summary
    return model_summary(get_model(name), size).macs / 1e9


def median(values):
    """Median of a non-empty sequence of numbers."""
    return statistics.median(list(values))


def machine_line(extra=""):
    """``Machine: <cpu>, <n> CPU cores (shared ...); mxnet X, gluonpose Y.<extra>``."""
    import mxnet as mx
    import gluonpose
    return ("Machine: %s, %d CPU cores (shared, so absolute numbers drift between runs); "
            "mxnet %s, gluonpose %s.%s" % (cpu_name(), os.cpu_count() or 0, mx.__version__,
                                           gluonpose.__version__, extra))


def bench_main(run, doc, quick_help, argv=None):
    """The ``python bench/bench_x.py [--quick]`` entry point: print ``run(args)``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    print(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit("bench/_common.py is a helper module; run bench/run_all.py")
