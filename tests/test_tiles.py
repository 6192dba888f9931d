"""Tiled evaluation: same numbers as one call, bounded pieces, exact diagonals, files written tile by tile."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import spec_text

import ntksym
from ntksym.runtime.tiling.plan import auto_tile_size, even_split, plan

LAYERS = """  - repeat: 3
    layers:
      - dense: {w_std: 1.4142135623730951, b_std: 0.1}
      - activation: relu
  - dense: {w_std: 1.0, b_std: 0.0}
"""
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}


@pytest.fixture(scope="module", params=["float32", "float64"])
def model(request):
    return ntksym.compile(ntksym.parse_spec(spec_text(LAYERS, name="relu-tiles")), dtype=request.param)


def data(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 5))


def relative_error(got: ntksym.Kernel, want: ntksym.Kernel) -> float:
    return max(
        np.abs(got.nngp - want.nngp).max() / np.abs(want.nngp).max(),
        np.abs(got.ntk - want.ntk).max() / np.abs(want.ntk).max(),
    )


@pytest.mark.parametrize("tile_size", [7, 16])
def test_tiled_equals_untiled(model, tile_size):
    x1, x2 = data(37, 0), data(23, 1)
    for second in (None, x2):
        want = model.kernel(x1, second)
        got = model.kernel(x1, second, tile_size=tile_size)
        assert got.nngp.shape == want.nngp.shape
        assert relative_error(got, want) <= TOLERANCE[model.dtype]


def test_symmetric_tiles_are_mirrored_and_keep_exact_diagonals(model):
    x = data(41, 2)
    got = model.kernel(x, tile_size=8)
    np.testing.assert_array_equal(got.nngp, got.nngp.T)
    np.testing.assert_array_equal(got.ntk, got.ntk.T)
    for i in (0, 20, 40):  # the diagonal is the kernel of each input with itself, computed alone
        alone = model.kernel(x[i : i + 1])
        np.testing.assert_allclose(got.nngp[i, i], alone.nngp[0, 0], rtol=TOLERANCE[model.dtype])
        np.testing.assert_allclose(got.ntk[i, i], alone.ntk[0, 0], rtol=TOLERANCE[model.dtype])


def test_folder_output_writes_npy_files_tile_by_tile(model, tmp_path):
    x1, x2 = data(30, 3), data(19, 4)
    want = model.kernel(x1, x2)
    got = model.kernel(x1, x2, tile_size=8, out=tmp_path / "k")
    assert isinstance(got.nngp, np.memmap)
    for name, array in (("nngp", want.nngp), ("ntk", want.ntk)):
        on_disk = np.load(tmp_path / "k" / f"{name}.npy")
        assert on_disk.dtype == np.dtype(model.dtype) and on_disk.shape == (30, 19)
        np.testing.assert_allclose(on_disk, array, rtol=0, atol=TOLERANCE[model.dtype] * np.abs(array).max())


def test_output_into_given_arrays_and_progress_reaches_total(model):
    x = data(20, 5)
    out = (np.zeros((20, 20), model.dtype), np.zeros((20, 20), model.dtype))
    calls = []
    got = model.kernel(x, tile_size=8, out=out, progress=lambda done, total: calls.append((done, total)))
    assert got.nngp is out[0] and got.ntk is out[1]
    assert relative_error(got, model.kernel(x)) <= TOLERANCE[model.dtype]
    assert calls == [(k, 6) for k in range(1, 7)]  # 3 row blocks: 3 diagonal tiles + 3 above


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8"])
def test_bad_tile_size_is_an_input_error(model, bad):
    with pytest.raises(ntksym.InputError, match="tile_size must be a positive integer"):
        model.kernel(data(4, 0), tile_size=bad)


def test_bad_out_is_an_input_error(model, tmp_path):
    with pytest.raises(ntksym.InputError, match="out nngp: expected a writable numpy array of shape"):
        model.kernel(data(4, 0), out=(np.zeros((3, 3)), np.zeros((4, 4))))
    (tmp_path / "file").write_text("")
    with pytest.raises(ntksym.InputError, match="is not a folder"):
        model.kernel(data(4, 0), out=tmp_path / "file")


@pytest.mark.parametrize("n1,n2,side", [(10, 10, 3), (17, 17, 17), (33, 9, 8)])
def test_symmetric_plan_covers_every_entry_once(n1, n2, side):
    for symmetric in (True, False) if n1 == n2 else (False,):
        count = np.zeros((n1, n2), int)
        for t in plan(n1, n2, side, side, symmetric):
            count[t.r0 : t.r1, t.c0 : t.c1] += 1
            if t.mirror:
                count[t.c0 : t.c1, t.r0 : t.r1] += 1
        assert (count == 1).all()


def test_tile_sizes_are_bounded_and_split_evenly():
    assert 128 <= auto_tile_size(4) <= 4096
    assert even_split(4000, 1024) == 1000 and even_split(50_000, 4096) == 3848
    assert even_split(5, 1024) == 5 and even_split(20, 10) == 10


def test_cli_kernel_memmap_folder_and_tile_size(tmp_path):
    from typer.testing import CliRunner

    from ntksym.cli.main import app

    spec = tmp_path / "relu.yaml"
    spec.write_text(spec_text(LAYERS, name="relu-tiles"))
    x = data(21, 6)
    np.save(tmp_path / "x.npy", x)
    runner = CliRunner()
    x1 = str(tmp_path / "x.npy")
    done = runner.invoke(
        app,
        ["kernel", str(spec), "--x1", x1, "-o", str(tmp_path / "k"), "--memmap", "--tile-size", "8", "--x64"],
    )
    assert done.exit_code == 0, done.output
    want = ntksym.compile(ntksym.parse_spec(spec.read_text()), dtype="float64").kernel(x)
    np.testing.assert_allclose(np.load(tmp_path / "k" / "ntk.npy"), want.ntk, rtol=1e-12)
    done = runner.invoke(
        app, ["kernel", str(spec), "--x1", x1, "-o", str(tmp_path / "k.npz"), "--tile-size", "0"]
    )
    assert done.exit_code == 2
