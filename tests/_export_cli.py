"""``gluonpose export`` driven in-process, shared by the bottom-up export tests."""
import os

from gluonpose.cli import main


def export_cli(capsys, *args):
    """``(exit status, stdout, stderr)`` of ``gluonpose export ARGS``."""
    rc = main(["export"] + list(args))
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def assert_one_line_export_error(case, capsys, tmp_path, model, params_file, size, odd_size,
                                 multiple):
    """One bad-input case of a bottom-up export: one error line, exit 1, nothing written.

    ``size`` is a valid ``'H,W'``; ``odd_size`` one that breaks the model's
    size ``multiple``.
    """
    args = ["--model", model, "--params-file", params_file, "--input-size", size,
            "--output", str(tmp_path / "out")]
    expect = {"odd_size": "multiples of %d" % multiple, "bad_size": "--input-size",
              "int8": "top-down only", "codec": "top-down only",
              "missing": "no such file"}[case]
    if case == "odd_size":
        args[5] = odd_size
    elif case == "bad_size":
        args[5] = size.split(",")[0] + "xab"
    elif case == "int8":
        args += ["--int8", "--format", "symbol"]
    elif case == "codec":
        args += ["--codec", "unbiased"]
    elif case == "missing":
        args[3] = str(tmp_path / "nope.params")
    rc, _, err = export_cli(capsys, *args)
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gluonpose: error: "), err
    assert expect in lines[0], lines[0]
    assert not os.path.exists(tmp_path / "out")
