"""Run every ``bench/bench_*.py`` module and write BENCHMARKS.md.

Each benchmark module exposes ``run(args) -> str`` returning one markdown
section (``args`` is this script's argparse namespace; ``args.quick`` asks
for a short run). The file starts with a description of the machine and the
library versions, so numbers are never read without their context. It is
written atomically (temporary file + rename): an interrupted run leaves the
previous BENCHMARKS.md intact.

With ``--only``, the sections of the benchmarks not run are kept from the
existing file, each marked with the date of the run that measured it (its own
``Machine:`` line still describes where it ran), so one benchmark can be
re-measured without spending the half hour the whole set takes.

Usage::

    .venv/bin/python bench/run_all.py [--quick] [--only data,models] [--output FILE]
"""
import argparse
import datetime
import glob
import importlib.util
import os
import platform
import re
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _dist_version(name, module=None):
    """Installed distribution version (and the module's own ``__version__`` if it differs)."""
    try:
        from importlib.metadata import version
        dist = version(name)
    except Exception:   # noqa: BLE001 - not installed or no metadata
        dist = None
    mod_version = None
    if module:
        try:
            mod_version = getattr(importlib.import_module(module), "__version__", None)
        except Exception:   # noqa: BLE001
            mod_version = None
    if dist and mod_version and mod_version != dist:
        return "%s (module reports %s)" % (dist, mod_version)
    return dist or mod_version or "not installed"


def machine_description():
    """Markdown bullet list: CPU, cores, RAM, OS, Python and library versions, date, load."""
    cpuinfo = _read("/proc/cpuinfo")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    logical = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = logical
    mem = next((line.split(":", 1)[1].strip() for line in _read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal")), "unknown")
    if mem.endswith("kB"):
        mem = "%.1f GiB" % (int(mem.split()[0]) / 2 ** 20)
    os_name = next((line.split("=", 1)[1].strip().strip('"')
                    for line in _read("/etc/os-release").splitlines()
                    if line.startswith("PRETTY_NAME=")), platform.platform())
    load = _read("/proc/loadavg").split()[:3]
    import cv2
    rows = [
        ("CPU", model),
        ("cores", "%s logical, %s usable by this process; OpenCV threads %d"
         % (logical, usable, cv2.getNumThreads())),
        ("RAM", mem),
        ("OS", "%s (kernel %s)" % (os_name, platform.release())),
        ("Python", platform.python_version()),
        ("mxnet", _dist_version("mxnet", "mxnet")),
        ("numpy", _dist_version("numpy", "numpy")),
        ("opencv", "%s (cv2 %s)" % (_dist_version("opencv-python-headless")
                                    if _dist_version("opencv-python-headless") != "not installed"
                                    else _dist_version("opencv-python"), cv2.__version__)),
        ("gluoncv", _dist_version("gluoncv", "gluoncv")),
        ("gluonpose", _dist_version("gluonpose", "gluonpose")),
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("load average at start", " ".join(load) if load else "unknown"),
    ]
    return "\n".join("* **%s**: %s" % row for row in rows)


def discover(only=None):
    """``bench/bench_*.py`` paths, optionally filtered by name (``data`` -> bench_data.py)."""
    paths = sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
    if only:
        wanted = {w.strip() for w in only.split(",") if w.strip()}
        paths = [p for p in paths
                 if os.path.basename(p)[len("bench_"):-3] in wanted
                 or os.path.basename(p)[:-3] in wanted]
    return paths


#: the line that closes every section: ``_(`bench_x.py`, 29 s...)_``
_TRAILER = re.compile(r"^_\(`(bench_\w+\.py)`.*\)_[ \t]*$", re.M)


def existing_sections(text):
    """``{module file name: section text}`` of a BENCHMARKS.md, and the date of its run."""
    date = re.search(r"^\* \*\*date\*\*: (.+)$", text, re.M)
    machine = text.find("## Machine")
    start = text.find("\n## ", machine + 1) if machine >= 0 else -1
    sections = {}
    if start < 0:
        return sections, None
    prev = start
    for match in _TRAILER.finditer(text, start):
        sections[match.group(1)] = text[prev:match.end()].strip()
        prev = match.end()
    return sections, date.group(1).strip() if date else None


def _kept(section, date):
    """A kept section, its trailer saying when it was measured."""
    if "kept from the run of" in section or not date:
        return section
    head, _, trailer = section.rpartition("\n")
    return head + "\n" + trailer[:-2] + "; kept from the run of %s)_" % date


def load_module(path):
    name = os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location("gluonpose_bench_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--only", help="comma-separated benchmark names (e.g. data)")
    parser.add_argument("--output", default=os.path.join(REPO, "BENCHMARKS.md"),
                        help="markdown file to write (default BENCHMARKS.md at the repo root)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    paths = discover(args.only)
    if args.list:
        print("\n".join(os.path.basename(p) for p in paths))
        return 0
    if not paths:
        print("no benchmark matched", file=sys.stderr)
        return 1
    if REPO not in sys.path:
        sys.path.insert(0, REPO)

    header = ("# Benchmarks\n\n"
              "Written by `bench/run_all.py`%s; every section below comes from one "
              "`bench/bench_*.py` module. Numbers are from a single run on the machine "
              "described here; compare ratios, not absolute figures, across machines.\n\n"
              "## Machine\n\n%s\n"
              % (" --quick (short runs)" if args.quick else "", machine_description()))
    from gluonpose.utils.atomic import write_text
    sections, failed = [], 0
    for path in paths:
        name = os.path.basename(path)
        print("== %s" % name, file=sys.stderr)
        t0 = time.perf_counter()
        try:
            section = load_module(path).run(args).strip()
        except Exception:   # noqa: BLE001 - one broken benchmark must not lose the others
            failed += 1
            section = ("## %s\n\n**FAILED** -- no figures; the error was:\n\n```\n%s```"
                       % (name, traceback.format_exc()))
        sections.append(section + "\n\n_(`%s`, %.0f s)_" % (name, time.perf_counter() - t0))
    if args.only and os.path.isfile(args.output):
        # keep what was not re-run, in the order of the full benchmark list
        with open(args.output, encoding="utf-8") as f:
            old, old_date = existing_sections(f.read())
        fresh = dict(zip((os.path.basename(p) for p in paths), sections))
        sections = [fresh[name] if name in fresh else _kept(old[name], old_date)
                    for name in (os.path.basename(p) for p in discover())
                    if name in fresh or name in old]
        header = header.replace("## Machine", "## Machine (of the sections without a "
                                "\"kept\" mark)", 1)
    write_text(args.output, header + "\n" + "\n\n".join(sections) + "\n")
    print("wrote %s" % args.output, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
