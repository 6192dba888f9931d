"""Every bad input to every command: exit code 2, exactly one line on stderr that says what is wrong and
how to fix it, and nothing written. The table CASES is also docs/troubleshooting.md's table (kept in
sync by a test); regenerate that table with the real messages by running this file:

    .venv/bin/python tests/test_bad_inputs.py > /tmp/table.md
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ntksym.cli.main import app

DOCS = Path(__file__).parent.parent / "docs" / "troubleshooting.md"
GOOD = "ntksym: 1\nname: g\ninput_shape: [8]\nhyperparameters: {w: 1.4}\nlayers:\n" \
       "  - repeat: 2\n    layers: [{dense: {w_std: w}}, {activation: relu}]\n  - dense: {}\n"
SPECS = {
    "good.yaml": GOOD,
    "noshape.yaml": "ntksym: 1\nname: n\nlayers:\n  - dense: {}\n  - activation: erf\n  - dense: {}\n",
    "malformed.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {w_std: 1.0\n  - activation: relu\n",
    "tab.yaml": "ntksym: 1\nname: g\nlayers:\n\t- dense: {}\n",
    "empty.yaml": "",
    "unknown_layer.yaml": "ntksym: 1\nname: g\nlayers:\n  - dnese: {}\n",
    "unknown_activation.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {}\n  - activation: rleu\n",
    "unknown_key.yaml": "ntksym: 1\nname: g\nlayerz: []\n",
    "negative_width.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {width: -3}\n",
    "fractional_width.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {width: 2.5}\n",
    "repeat_zero.yaml": "ntksym: 1\nname: g\nlayers:\n  - repeat: 0\n    layers: [{dense: {}}]\n",
    "repeat_huge.yaml": "ntksym: 1\nname: g\nlayers:\n  - repeat: 1e12\n    layers: [{dense: {}}]\n",
    "w_std_inf.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {w_std: .inf}\n",
    "w_std_nan.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {w_std: .nan}\n",
    "w_std_negative.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {w_std: -1}\n",
    "w_std_list.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {w_std: [1]}\n",
    "unknown_hyperparameter.yaml": "ntksym: 1\nname: g\nhyperparameters: {sigma_w: 1}\nlayers:\n"
                                   "  - dense: {w_std: sigma_ww}\n",
    "hyperparameter_nan.yaml": "ntksym: 1\nname: g\nhyperparameters: {w: .nan}\nlayers:\n  - dense: {w_std: w}\n",
    "no_version.yaml": "name: g\nlayers:\n  - dense: {}\n",
    "no_layers.yaml": "ntksym: 1\nname: g\n",
    "python_tag.yaml": "ntksym: 1\nname: !!python/object:os.system g\nlayers:\n  - dense: {}\n",
    "alias_cycle.yaml": "ntksym: 1\nname: g\nlayers: &a\n  - dense: {}\n  - residual: {layers: *a}\n",
    "hostile_expr.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {}\n"
                         "  - activation: {expr: \"__import__('os')\"}\n",
    "degree_100.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {}\n  - activation: {name: monomial, degree: 100}\n",
    "conv_no_shape.yaml": "ntksym: 1\nname: g\nlayers:\n  - conv: {filter: [3]}\n  - flatten\n  - dense: {}\n",
    "no_repeat.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {}\n  - activation: relu\n  - dense: {}\n",
    "hp_keyword.yaml": "ntksym: 1\nname: g\nhyperparameters: {lambda: 1.2}\nlayers:\n  - dense: {w_std: lambda}\n",
    "hp_builtin.yaml": "ntksym: 1\nname: g\nhyperparameters: {len: 1.2}\nlayers:\n  - dense: {w_std: len}\n",
    "w_std_1e308.yaml": "ntksym: 1\nname: g\nlayers:\n  - dense: {w_std: 1e308}\n  - activation: relu\n  - dense: {}\n",
    "hp_1e308.yaml": "ntksym: 1\nname: g\nhyperparameters: {w: 1e308}\nlayers:\n  - dense: {w_std: w}\n",
    "yaml_deep.yaml": "ntksym: 1\nname: g\nlayers: [{dense: {}}]\ndescription: " + "[" * 5000 + "]" * 5000 + "\n",
}


def nested(kind: str, levels: int, count: int = 2) -> str:
    """`levels` repeat (or residual) blocks inside one another around dense + relu."""
    body = "{dense: {}}, {activation: relu}"
    for _ in range(levels):
        body = f"{{repeat: {count}, layers: [{body}]}}" if kind == "repeat" else f"{{residual: {{layers: [{body}]}}}}"
    return f"ntksym: 1\nname: g\nlayers: [{body}, {{dense: {{}}}}]\n"


SPECS.update({"nested_300.yaml": nested("repeat", 300), "residual_200.yaml": nested("residual", 200),
              "residual_33.yaml": nested("residual", 33), "nested_30.yaml": nested("repeat", 30)})
K = "kernel {d}/good.yaml --x1 {d}/x.npy"
DYN = "dynamics {d}/good.yaml --train {d}/train.npz --test {d}/test.npz --t 0,1 -o {d}/out/p.npz"
PH = "phase {d}/good.yaml -o {d}/out/ph.png"
CHK = "check {d}/good.yaml -o {d}/out/report"

# (case, command line with {d} the fixture folder, the message it must print)
CASES: list[tuple[str, str, str]] = [
    # spec files: every command reads them through load_spec
    ("spec file missing", "validate {d}/missing.yaml", "spec file not found: "),
    ("spec path is a directory", "derive {d}/folder", "is a directory; give the path of a .yaml spec file"),
    ("spec is a pipe (FIFO)", "validate {d}/fifo", "is not a regular file (a pipe or device?)"),
    ("spec not UTF-8", "validate {d}/latin1.yaml", "is not UTF-8 text (byte 16); save it as UTF-8"),
    ("malformed YAML", "validate {d}/malformed.yaml", "malformed.yaml:5: malformed YAML, column 15: expected ',' or '}'"),
    ("tab in YAML", "compile {d}/tab.yaml -o {d}/out/m.py", "tab.yaml:4: malformed YAML, column 1: found character '\\t'"),
    ("empty spec", "derive {d}/empty.yaml", "the spec is empty; start it with `ntksym: 1`"),
    ("missing format version", "validate {d}/no_version.yaml", "missing `ntksym: 1` (the spec format version)"),
    ("missing layers", "validate {d}/no_layers.yaml", "missing `layers:`; list the network's layers"),
    ("unknown top-level key", "validate {d}/unknown_key.yaml", "unknown key `layerz`. Did you mean `layers`?"),
    ("unknown layer", "derive {d}/unknown_layer.yaml", "unknown layer `dnese`. Did you mean `dense`?"),
    ("unknown activation", "kernel {d}/unknown_activation.yaml --x1 {d}/x.npy -o {d}/out/k.npz",
     "unknown activation `rleu`. Did you mean `relu`?"),
    ("negative width", "validate {d}/negative_width.yaml", "layers[0].dense.width: expected a whole number >= 1, got -3"),
    ("fractional width", "validate {d}/fractional_width.yaml", "expected a whole number >= 1, got 2.5"),
    ("repeat 0", "validate {d}/repeat_zero.yaml", "layers[0].repeat: expected a whole number >= 1, got 0"),
    ("repeat too large", "validate {d}/repeat_huge.yaml", "expected a whole number at most 1,000,000, got 1e12"),
    ("w_std infinite", "validate {d}/w_std_inf.yaml", "layers[0].dense.w_std: expected a finite number, got inf"),
    ("w_std NaN", "validate {d}/w_std_nan.yaml", "expected a finite number, got nan"),
    ("w_std negative", "validate {d}/w_std_negative.yaml", "expected a number >= 0, got -1"),
    ("w_std of the wrong type", "validate {d}/w_std_list.yaml", "expected a number or a hyperparameter name, got a list"),
    ("unknown hyperparameter", "validate {d}/unknown_hyperparameter.yaml",
     "unknown hyperparameter `sigma_ww`; define it under `hyperparameters:`. Did you mean `sigma_w`?"),
    ("hyperparameter NaN", "validate {d}/hyperparameter_nan.yaml", "hyperparameter `w` must be a finite number, got nan"),
    ("YAML tag (code)", "validate {d}/python_tag.yaml", "python_tag.yaml:2: name: YAML tag tag:yaml.org,2002:python/object"),
    ("YAML alias cycle", "validate {d}/alias_cycle.yaml", "a YAML alias refers to a node that contains it (a cycle)"),
    ("hostile expression", "validate {d}/hostile_expr.yaml", "not allowed in an expression: a name starting with `_`"),
    ("degree out of range", "validate {d}/degree_100.yaml", "expected a whole number from 0 to 64, got 100"),
    ("conv without input_shape", "validate {d}/conv_no_shape.yaml",
     "`conv` at layers[0].conv needs spatial inputs, but the spec has no input_shape"),
    ("hyperparameter named a Python keyword", "compile {d}/hp_keyword.yaml -o {d}/out/m.py",
     "hyperparameters.lambda: `lambda` is a reserved name (a Python keyword); rename it, e.g. `lambda_value`"),
    ("hyperparameter named a builtin", "validate {d}/hp_builtin.yaml", "`len` is a reserved name (a Python builtin)"),
    ("w_std beyond float32", "kernel {d}/w_std_1e308.yaml --x1 {d}/x.npy -o {d}/out/k.npz",
     "w_std_1e308.yaml: layers[0].dense.w_std: 1e+308 is beyond float32's range (largest 3.4e+38); compute in float64"),
    ("hyperparameter beyond float32", "kernel {d}/hp_1e308.yaml --x1 {d}/x.npy -o {d}/out/k.npz",
     "hyperparameters.w: 1e+308 is beyond float32's range"),
    ("YAML nested 5,000 deep", "validate {d}/yaml_deep.yaml", "yaml_deep.yaml:4: the YAML is nested more than 200 levels deep"),
    ("300 nested repeats", "validate {d}/nested_300.yaml", "the YAML is nested more than 200 levels deep"),
    ("200 nested residuals", "derive {d}/residual_200.yaml", "the YAML is nested more than 200 levels deep"),
    ("33 nested residuals", "validate {d}/residual_33.yaml",
     "layers[0].residual: repeat / residual blocks are nested more than 32 levels deep"),
    ("30 nested repeats of 2", "kernel {d}/nested_30.yaml --x1 {d}/x.npy -o {d}/out/k.npz",
     "layers[0].repeat: nested repeats run their innermost block 1,073,741,824 times (the product of the counts)"),
    # data files
    ("data file missing", K + " -o {d}/out/k.npz --x2 {d}/missing.npy", "--x2: file not found: "),
    ("data path is a directory", "kernel {d}/good.yaml --x1 {d}/folder -o {d}/out/k.npz",
     "--x1: {d}/folder is a directory; give the path of a .npy or .npz file"),
    ("data is a pipe (FIFO)", "kernel {d}/good.yaml --x1 {d}/fifo -o {d}/out/k.npz", "--x1: {d}/fifo is not a regular file"),
    ("data not .npy", "kernel {d}/good.yaml --x1 {d}/garbage.npy -o {d}/out/k.npz", "cannot read {d}/garbage.npy as .npy/.npz"),
    ("data wrong feature size", "kernel {d}/good.yaml --x1 {d}/x3.npy -o {d}/out/k.npz",
     "x1: each example has shape (3,), but the spec's input_shape is [8]"),
    ("data rank 1", "kernel {d}/good.yaml --x1 {d}/x1d.npy -o {d}/out/k.npz",
     "x1: expected an array of shape (examples, features), got shape (8,)"),
    ("data rank 3 for an MLP without input_shape", "kernel {d}/noshape.yaml --x1 {d}/x3d.npy -o {d}/out/k.npz",
     "x1: expected vectors of shape (examples, features), got shape (4, 8, 2)"),
    ("data with NaN", K + " --x2 {d}/xnan.npy -o {d}/out/k.npz", "x2: contains 1 NaN or infinite values"),
    ("data with infinity", "kernel {d}/good.yaml --x1 {d}/xinf.npy -o {d}/out/k.npz", "x1: contains 1 NaN or infinite values"),
    ("data empty", "kernel {d}/good.yaml --x1 {d}/xempty.npy -o {d}/out/k.npz", "x1: holds no examples (shape (0, 8))"),
    ("data not numbers", "kernel {d}/good.yaml --x1 {d}/xstr.npy -o {d}/out/k.npz", "x1: expected numbers, got an array of <U1"),
    ("data complex", "kernel {d}/good.yaml --x1 {d}/xcomplex.npy -o {d}/out/k.npz", "x1: complex data is not supported"),
    ("npz without `x`", "kernel {d}/good.yaml --x1 {d}/two.npz -o {d}/out/k.npz", "--x1: {d}/two.npz has no array `x` (it has a, b)"),
    ("npz as .npy with several arrays", "kernel {d}/good.yaml --x1 {d}/two_as.npy -o {d}/out/k.npz",
     "--x1: {d}/two_as.npy holds several arrays (a, b) and none is named `x`"),
    ("data object array (.npz)", "kernel {d}/good.yaml --x1 {d}/xobj.npz -o {d}/out/k.npz",
     "--x1: array `x` of {d}/xobj.npz holds Python objects (a pickled object array), which ntksym never loads"),
    ("data object array (.npy)", "kernel {d}/good.yaml --x1 {d}/xobj.npy -o {d}/out/k.npz",
     "--x1: {d}/xobj.npy holds Python objects (a pickled object array)"),
    ("data 0-d (.npy)", "kernel {d}/good.yaml --x1 {d}/x0d.npy -o {d}/out/k.npz", "--x1: {d}/x0d.npy holds a single number (a 0-d array)"),
    ("data 0-d (.npz)", "kernel {d}/good.yaml --x1 {d}/x0d.npz -o {d}/out/k.npz",
     "--x1: array `x` of {d}/x0d.npz holds a single number (a 0-d array)"),
    ("data without features", "kernel {d}/noshape.yaml --x1 {d}/xnofeatures.npy -o {d}/out/k.npz",
     "x1: each example holds no features (shape (4, 0))"),
    ("data beyond float32", "kernel {d}/good.yaml --x1 {d}/xbig.npy -o {d}/out/k.npz",
     "x1: holds values up to 1e+300, beyond float32's range (largest 3.4e+38)"),
    ("train data object array", DYN.replace("train.npz", "train_obj.npz"),
     "--train: array `x` of {d}/train_obj.npz holds Python objects (a pickled object array)"),
    ("train data 0-d", DYN.replace("train.npz", "train_0d.npz"), "--train: array `x` of {d}/train_0d.npz holds a single number"),
    ("train y not numbers", DYN.replace("train.npz", "train_ystr.npz"),
     "--train: array `y` of {d}/train_ystr.npz must hold real numbers, got <U1"),
    ("train y without outputs", DYN.replace("train.npz", "train_y0.npz"), "--train: y has shape (5, 0), no outputs"),
    ("train y beyond float32", DYN.replace("train.npz", "train_ybig.npz"), "--train: y: holds values up to 1e+300, beyond float32's range"),
    ("check data object array", CHK + " --data {d}/xobj.npy", "--data: {d}/xobj.npy holds Python objects"),
    ("train data without y", DYN.replace("train.npz", "train_noy.npz"), "--train: {d}/train_noy.npz has no array `y`"),
    ("train y of the wrong length", DYN.replace("train.npz", "train_wrongy.npz"), "--train: y has shape (4, 1) but x holds 5 examples"),
    ("train data with NaN", DYN.replace("train.npz", "train_nan.npz"), "--train: array `x` of {d}/train_nan.npz must hold finite numbers"),
    ("train x of the wrong shape", DYN.replace("train.npz", "train_3.npz"), "--train: x: each example has shape (3,)"),
    ("train data not .npz", DYN.replace("train.npz", "x.npy"), "--train: {d}/x.npy is not an .npz archive"),
    ("check data with NaN", CHK + " --data {d}/xnan.npy", "--data {d}/xnan.npy: contains 1 NaN or infinite values"),
    ("check data too short", CHK + " --data {d}/x.npy", "x holds 4 examples but n + n_test = 32 + 16; lower --n"),
    # outputs
    ("output folder missing", K + " -o {d}/nowhere/k.npz", "-o {d}/nowhere/k.npz: the folder {d}/nowhere does not exist; create it first"),
    ("output is a directory", "compile {d}/good.yaml -o {d}/folder", "-o {d}/folder is a directory; give a file name such as {d}/folder/out.py"),
    ("output without .npz", K + " -o {d}/out/k.txt", "-o {d}/out/k.txt: give a .npz file name, e.g. k.npz"),
    ("module output without .py", "compile {d}/good.yaml -o {d}/out/m.txt", "-o {d}/out/m.txt: give a .py file name, e.g. m.py"),
    ("plot output without .png", DYN + " --plot {d}/out/p.txt", "--plot {d}/out/p.txt: give a .png file name, e.g. p.png"),
    ("phase output without .png", "phase {d}/good.yaml -o {d}/out/ph.txt", "-o {d}/out/ph.txt: give a .png file name, e.g. ph.png"),
    ("derive output folder missing", "derive {d}/good.yaml -o {d}/nowhere/d.txt", "the folder {d}/nowhere does not exist"),
    ("memmap output is a file", K + " --memmap -o {d}/x.npy", "-o {d}/x.npy exists and is not a folder; choose a folder path"),
    ("report folder's parent missing", "check {d}/good.yaml -o {d}/nowhere/report",
     "-o {d}/nowhere/report: the folder {d}/nowhere does not exist; create it first"),
    ("report folder is a file", "check {d}/good.yaml -o {d}/x.npy", "-o {d}/x.npy exists and is not a folder"),
    # options
    ("missing option", "kernel {d}/good.yaml -o {d}/out/k.npz", "missing --x1: give SPEC --x1 X -o OUT (or --status FOLDER alone)"),
    ("unknown option", K + " -o {d}/out/k.npz --bogus", "No such option: --bogus (see `ntksym kernel --help`)"),
    ("--format not a format", "derive {d}/good.yaml --format xml", "'xml' is not one of 'text', 'latex', 'json'"),
    ("--tile-size 0", K + " -o {d}/out/k.npz --tile-size 0", "Invalid value for '--tile-size': Input should be greater than or equal to 1"),
    ("--tile-size not a number", K + " -o {d}/out/k.npz --tile-size abc", "Invalid value for '--tile-size'"),
    ("--t negative", DYN.replace("0,1", "0,-1"), "--t: '-1' is not a time >= 0; give times like 0,0.5,5,50,inf"),
    ("--t not a number", DYN.replace("0,1", "0,soon"), "--t: 'soon' is not a number"),
    ("--t NaN", DYN.replace("0,1", "nan"), "--t: 'nan' is not a time >= 0"),
    ("--t fractional steps", DYN.replace("0,1", "0,0.5") + " --steps", "times count steps and must be whole numbers"),
    ("--kernel unknown", DYN + " --kernel gp", "--kernel must be ntk, nngp, both or ntkgp, got 'gp'"),
    ("--learning-rate <= 0", DYN + " --learning-rate 0", "--learning-rate must be a positive finite number, got 0"),
    ("--learning-rate NaN", CHK + " --learning-rate nan", "--learning-rate must be a positive finite number, got nan"),
    ("--diag-reg negative", DYN + " --diag-reg -1", "--diag-reg must be a finite number >= 0, got -1"),
    ("--diag-reg beyond float32", DYN + " --diag-reg 1e300", "--diag-reg: 1e+300 is beyond float32's range"),
    ("--learning-rate beyond float32", DYN + " --learning-rate 1e300", "--learning-rate: 1e+300 is beyond float32's range"),
    ("--t beyond float32", DYN.replace("0,1", "0,1e300"), "--t: 1e+300 is beyond float32's range"),
    ("--w-std not a range", PH + " --w-std 1:2", "--w-std '1:2': expected START:STOP:COUNT, e.g. 0.5:3:60"),
    ("--w-std negative", PH + " --w-std -1:2:3", "START and STOP must be finite and >= 0"),
    ("--b-std NaN", PH + " --b-std 0:nan:3", "START and STOP must be finite and >= 0"),
    ("--w-std reversed", PH + " --w-std 2:1:3", "STOP must be greater than START"),
    ("--w-std huge", PH + " --w-std 0:1e300:3", "--w-std '0:1e300:3': STOP must be at most 1e+06"),
    ("--w-std too many points", PH + " --w-std 1:2:100000", "COUNT must be between 2 and 2000"),
    ("phase of a spec without a repeated block", "phase {d}/no_repeat.yaml -o {d}/out/ph.png",
     "not analysed: the spec has no repeat of dense + activation"),
    ("--widths 0", CHK + " --widths 0,4", "--widths must be positive, like 64,256,1024; got '0,4'"),
    ("--widths not numbers", CHK + " --widths a", "--widths must be whole numbers separated by commas"),
    ("--widths too large for memory", CHK + " --widths 100000000", "--widths: width 100000000 needs about"),
    ("--seeds negative", CHK + " --seeds -1", "Invalid value for '--seeds': Input should be greater than or equal to 1"),
    ("--n 1", CHK + " --n 1", "Invalid value for '--n': Input should be greater than or equal to 2"),
    ("--train-steps negative", CHK + " --train-steps -1", "Invalid value for '--train-steps'"),
    ("--samples 0", CHK + " --samples 0", "Invalid value for '--samples'"),
    ("schema with an argument", "schema extra", "Got unexpected extra argument(s) (extra)"),
]


def make_fixtures(d: Path) -> None:
    for name, text in SPECS.items():
        (d / name).write_text(text)
    (d / "latin1.yaml").write_bytes(b"ntksym: 1\nname: \xff\xfe\n")
    (d / "folder").mkdir()
    (d / "out").mkdir()
    os.mkfifo(d / "fifo")
    rng = np.random.default_rng(0)
    np.save(d / "x.npy", rng.normal(size=(4, 8)))
    np.save(d / "x3.npy", rng.normal(size=(4, 3)))
    np.save(d / "x1d.npy", rng.normal(size=8))
    np.save(d / "x3d.npy", rng.normal(size=(4, 8, 2)))
    bad = rng.normal(size=(4, 8))
    bad[0, 0] = np.nan
    np.save(d / "xnan.npy", bad)
    np.save(d / "xinf.npy", np.where(np.isnan(bad), np.inf, bad))
    np.save(d / "xempty.npy", np.zeros((0, 8)))
    np.save(d / "xstr.npy", np.array([["a"] * 8] * 4))
    np.save(d / "xcomplex.npy", np.ones((4, 8)) * 1j)
    np.savez(d / "two.npz", a=np.ones((4, 8)), b=np.ones((4, 8)))
    (d / "garbage.npy").write_text("hello")
    np.savez(d / "train.npz", x=rng.normal(size=(5, 8)), y=rng.normal(size=(5, 1)))
    np.savez(d / "test.npz", x=rng.normal(size=(3, 8)), y=rng.normal(size=(3, 1)))
    np.savez(d / "train_nan.npz", x=bad, y=rng.normal(size=(4, 1)))
    np.savez(d / "train_noy.npz", x=rng.normal(size=(5, 8)))
    np.savez(d / "train_wrongy.npz", x=rng.normal(size=(5, 8)), y=rng.normal(size=(4, 1)))
    np.savez(d / "train_3.npz", x=rng.normal(size=(5, 3)), y=rng.normal(size=(5, 1)))
    np.savez(d / "two_as.npy", a=np.ones((4, 8)), b=np.ones((4, 8)))
    (d / "two_as.npy.npz").rename(d / "two_as.npy")
    np.savez(d / "xobj.npz", x=np.array([[1.0, None]] * 4, dtype=object))
    np.save(d / "xobj.npy", np.array([[1.0, None]] * 4, dtype=object), allow_pickle=True)
    np.save(d / "x0d.npy", np.array(3.0))
    np.savez(d / "x0d.npz", x=np.array(3.0))
    np.save(d / "xnofeatures.npy", np.zeros((4, 0)))
    np.save(d / "xbig.npy", np.full((4, 8), 1e300))
    np.savez(d / "train_obj.npz", x=np.array([[1.0, None]] * 5, dtype=object), y=np.ones((5, 1)))
    np.savez(d / "train_0d.npz", x=np.array(1.0), y=np.array(1.0))
    np.savez(d / "train_ystr.npz", x=rng.normal(size=(5, 8)), y=np.array([["a"]] * 5))
    np.savez(d / "train_y0.npz", x=rng.normal(size=(5, 8)), y=np.ones((5, 0)))
    np.savez(d / "train_ybig.npz", x=rng.normal(size=(5, 8)), y=np.full((5, 1), 1e300))


def listing(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


def run_case(d: Path, line: str):
    return CliRunner().invoke(app, [part.replace("{d}", str(d)) for part in shlex.split(line)])


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    make_fixtures(d)
    return d


@pytest.mark.parametrize(("case", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(folder, case, line, message):
    before = listing(folder)
    result = run_case(folder, line)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (case, result.output)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message.replace("{d}", str(folder)) in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert listing(folder) == before  # nothing written, not even a temporary file


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may read and write any file")
@pytest.mark.parametrize(("line", "message"), [
    ("validate {d}/locked/spec.yaml", "permission denied"),
    ("kernel {d}/good.yaml --x1 {d}/locked/x.npy -o {d}/out/k.npz", "permission denied"),
    ("compile {d}/good.yaml -o {d}/readonly/m.py", "permission denied; choose an output path in a folder you can write"),
    ("check {d}/good.yaml -o {d}/readonly/report", "permission denied; choose an output folder you can write"),
])
def test_unreadable_and_read_only_paths(tmp_path, line, message):
    make_fixtures(tmp_path)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "spec.yaml").write_text(GOOD)
    np.save(tmp_path / "locked" / "x.npy", np.ones((2, 8)))
    for name in ("spec.yaml", "x.npy"):
        (tmp_path / "locked" / name).chmod(0o000)
    (tmp_path / "readonly").mkdir()
    (tmp_path / "readonly").chmod(0o555)
    assert not os.access(tmp_path / "readonly", os.W_OK)
    try:
        result = run_case(tmp_path, line)
        assert result.exit_code == 2 and message in result.stderr and result.stderr.count("\n") == 1
        assert list((tmp_path / "readonly").iterdir()) == []
    finally:
        (tmp_path / "readonly").chmod(0o755)


def test_the_docs_table_lists_every_case_with_its_message():
    rows = [line for line in DOCS.read_text().splitlines() if line.startswith("| ") and " | `" in line]
    documented = {row.split(" | ")[0][2:]: row for row in rows}
    for case, _, message in CASES:
        assert case in documented, f"docs/troubleshooting.md lacks the case {case!r}"
        shown = message.replace("{d}", "DIR").replace("|", "\\|")
        assert shown.split(" (see")[0] in documented[case], (case, shown)


def main() -> None:
    """Print the Markdown table of docs/troubleshooting.md with the messages the commands print now."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        make_fixtures(d)
        print("| case | command | message (exit code 2) |\n|---|---|---|")
        for case, line, _ in CASES:
            result = run_case(d, line)
            message = result.stderr.strip().replace(str(d), "DIR").replace("|", "\\|")
            command = "ntksym " + line.replace("{d}/", "").replace("|", "\\|")
            print(f"| {case} | `{command}` | `` {message} `` |")


if __name__ == "__main__":
    sys.exit(main())
