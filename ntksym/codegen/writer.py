"""Recursion -> the text of a standalone JAX module.

Each entrywise step becomes a pair of small functions (`_cross_k` for pairs of inputs, `_diag_k` for an
input with itself) whose bodies are SymPy's printed expressions after common-subexpression elimination.
`_cross_k` also returns the new correlation gap where the step has a rule for it (symbolic/gap.py), else
None.
Repeats become `lax.fori_loop`, so compile time does not grow with depth. Only printer output,
validated identifiers and `repr()` of spec text ever reach the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sympy as sp

from ntksym._version import __version__
from ntksym.codegen.emit_network import network_parts
from ntksym.codegen.printer import KernelPrinter
from ntksym.codegen.rolling import MIN_RUN, VaryingRun, roll_varying_runs
from ntksym.codegen.text import comment_text, prelude_source
from ntksym.errors import CodegenError
from ntksym.layers import LAYERS, kind_of
from ntksym.symbolic.derivation import Recursion
from ntksym.symbolic.dual import GaussianExpectation, GaussianExpectationDiag
from ntksym.symbolic.gap import SqrtDetFromGap
from ntksym.symbolic.state import SQRT_DET, fan_in, g12, q11, q12, q22, t11, t12
from ntksym.symbolic.steps import EntrywiseStep, Step, iter_steps

# XLA's loop emitters instead of its newer fusion emitters (XLA CPU): kernels of convolutions, attention and
# quadrature activations compile about twice as fast with them and run 1.1-2x faster; dense closed-form
# kernels (ReLU, erf) run 1.4-1.9x faster with the fusion emitters and keep XLA's defaults. Measured with
# jax 0.10.2 on a 2-core CPU: docs/performance.md, "XLA's emitters".
LOOP_EMITTERS = {"xla_cpu_use_fusion_emitters": False}

CROSS_ARGS = (q11, q12, q22, t12, fan_in, g12)
DIAG_ARGS = (q11, t11, fan_in)


class ModuleWriter:
    def __init__(self, derivation: Recursion, dtype: str):
        self.d, self.dtype = derivation, dtype
        self.printer = KernelPrinter()
        self.hyper_symbols = {sym: name for name, sym in derivation.symbols.items()}
        self.functions: list[str] = []
        self.counter = 0
        self.constants = 0  # constants of rolled runs named so far (_c0, _c1, ...)
        self.kinds_used: set[str] = set()

    # -- expressions -----------------------------------------------------------------------
    def function(self, name: str, args: tuple[sp.Symbol, ...], exprs: list[sp.Expr], doc: str,
                 clamp_correlation: bool = False, missing_gap: bool = False) -> None:
        """Emit `def name(*args, hp)` returning `exprs` (and a final None where `missing_gap`)."""
        allowed = set(args) | set(self.hyper_symbols)
        for expr in exprs:
            stray = expr.free_symbols - allowed
            if stray:
                raise CodegenError(f"{doc}: unexpected symbols {sorted(map(str, stray))} in {expr}")
        uses_gap = g12 in args and any(e.has(g12) or e.has(SQRT_DET) for e in exprs)
        if uses_gap:  # sqrt(det) from the carried gap, as one unit that cse cannot take apart
            exprs = [e.xreplace({SQRT_DET: SqrtDetFromGap(q11, q22, g12)}) for e in exprs]
        # quadrature calls become names first: cse must not pull a lambda's body out of the lambda
        quadrature = (GaussianExpectation, GaussianExpectationDiag)
        calls = sorted(set().union(*(e.atoms(*quadrature) for e in exprs)), key=str)
        names = {call: sp.Symbol(f"_e{i}") for i, call in enumerate(calls)}
        exprs_named = [e.xreplace(names) for e in exprs]
        replacements, reduced = sp.cse(exprs_named, symbols=sp.numbered_symbols("_x"), order="none")
        used = set().union(*(e.free_symbols for e in exprs))
        lines = [f"def {name}({', '.join(map(str, args))}, hp):", f"    # {comment_text(doc)}"]
        if clamp_correlation:  # rounding must not push |q12| past sqrt(q11 q22): keep the covariance valid
            lines.append("    q12 = _clamp_correlation(q11, q12, q22)")
        if uses_gap:
            lines += ["    if g12 is None:  # a spatial state carries no gap", "        g12 = _gap_of(q11, q12, q22)"]
        for sym, hp_name in sorted(self.hyper_symbols.items(), key=lambda kv: kv[1]):
            if sym in used:
                lines.append(f"    {hp_name} = hp[{hp_name!r}]")
        lines += self._expectation_lines(names)
        for sym, value in replacements:
            lines.append(f"    {sym} = {self.printer.doprint(value)}")
        returned = [self.printer.doprint(e) for e in reduced] + (["None"] if missing_gap else [])
        lines.append(f"    return ({', '.join(returned)})")
        self.functions.append("\n".join(lines))

    def _expectation_lines(self, names: dict[sp.Expr, sp.Symbol]) -> list[str]:
        """`_e0 = ...` for each quadrature call; calls at the same covariances (a layer's NNGP and NTK factor)
        as one `_expect_pairs` / `_expect_sames` call, which shares nodes, series choice and program branch:
        half the code for XLA to compile."""
        groups: dict[tuple[type, tuple[sp.Expr, ...]], list[sp.Expr]] = {}
        for call in names:
            groups.setdefault((type(call), call.args[2:]), []).append(call)
        lines = []
        for (kind, covariances), calls in groups.items():
            if len(calls) == 1:
                lines.append(f"    {names[calls[0]]} = {self.printer.doprint(calls[0])}")
                continue
            helper = "_expect_pairs" if kind is GaussianExpectation else "_expect_sames"
            functions = ", ".join(f"({self.printer.doprint(c.args[0])}, {self.printer.doprint(c.args[1])})"
                                  for c in calls)
            arguments = ", ".join(self.printer.doprint(a) for a in covariances)
            targets = ", ".join(str(names[c]) for c in calls)
            lines.append(f"    {targets} = {helper}(({functions}), {arguments})")
        return lines

    # -- steps -------------------------------------------------------------------------------
    full = False  # the spatial writer: True when the state holds every pixel pair

    @property
    def unrolled(self) -> frozenset[str]:  # repeat blocks traced count times instead of a fori_loop
        return frozenset()

    def steps(self, steps: tuple[Step, ...], indent: str) -> list[str]:
        """Lines of `_propagate` for `steps`: each step's kind writes its own (ntksym.layers); runs of layers
        that differ only in their numbers become one loop (codegen/rolling.py)."""
        out: list[str] = []
        for step in roll_varying_runs(steps, self._constant_name) if len(steps) >= MIN_RUN else steps:
            if isinstance(step, VaryingRun):
                out.extend(self.varying_run(step, indent))
                continue
            kind = kind_of(step)
            self.kinds_used.add(kind.key)
            out.extend(kind.emit(step, self, indent))
        return out

    def _constant_name(self) -> str:
        self.constants += 1
        return f"_c{self.constants - 1}"

    def varying_run(self, run: VaryingRun, indent: str) -> list[str]:
        """A fori_loop over the copies of `run`, its constants looked up in `hp` from a table row per copy."""
        for symbol in run.symbols:
            self.hyper_symbols[symbol] = str(symbol)
        k = self.new_index()
        rows = ", ".join("[" + ", ".join(repr(v) for v in row) + "]" for row in run.table)
        lookups = ", ".join(f"{str(sym)!r}: _table_{k}[_i, {j}]" for j, sym in enumerate(run.symbols))
        lines = [f"{indent}# {comment_text(run.first_path)} to {comment_text(run.last_path)}: {len(run.table)} "
                 "written-out blocks that differ only in their numbers, as one loop",
                 f"{indent}_table_{k} = jnp.asarray([{rows}], DTYPE)",
                 f"{indent}def _block_{k}(_i, s, hp=hp):",
                 f"{indent}    hp = {{**hp, {lookups}}}"]
        lines.extend(self.steps(run.body, indent + "    "))
        return lines + [f"{indent}    return s", f"{indent}s = lax.fori_loop(0, {len(run.table)}, _block_{k}, s)"]

    def new_index(self) -> int:
        """A fresh number for a generated function's name (_cross_k, _affine_k, _block_k)."""
        self.counter += 1
        return self.counter - 1

    @staticmethod
    def comment(step: Any) -> str:
        return comment_text(f"{step.path}: {step.label}", 70)

    def entrywise_line(self, step: EntrywiseStep, indent: str, helper: str = "_entrywise") -> str:
        k = self.new_index()
        doc = f"{step.path}: {step.label}"
        clamp = step.dual is not None and not step.dual.clamps_correlation
        cross = [step.nngp, step.ntk] + ([] if step.gap is None else [step.gap])
        self.function(f"_cross_{k}", CROSS_ARGS, cross, doc, clamp_correlation=clamp, missing_gap=step.gap is None)
        self.function(f"_diag_{k}", DIAG_ARGS, [step.nngp_diag, step.ntk_diag], doc + " (same input)")
        width = "" if step.width is None else f", width={self.value(step.width)}"
        return f"{indent}s = {helper}(s, _cross_{k}, _diag_{k}, hp{width})  # {comment_text(doc, 70)}"

    def value(self, expr: sp.Expr) -> str:
        """A number, or a hyperparameter looked up in `hp`."""
        if expr.free_symbols - set(self.hyper_symbols):
            raise CodegenError(f"unexpected symbols in {expr}")
        text = self.printer.doprint(expr.subs({s: sp.Symbol(f"hp[{n!r}]") for s, n in self.hyper_symbols.items()}))
        return text

    # -- module -------------------------------------------------------------------------------
    def module(self) -> str:
        spec = self.d.spec
        body = self.steps(self.d.steps, "    ")
        hyper = self.d.hyperparameters
        kwargs = "".join(f", {name}={value!r}" for name, value in hyper.items())
        hp_dict = ", ".join(f"{name!r}: {name}" for name in hyper)
        uses_quadrature = self.uses_quadrature()
        parts = [
            f'"""NNGP and NTK of the spec `{spec.name}`, generated by ntksym {__version__}.\n\n'
            f'Regenerate with `ntksym compile`; do not edit by hand. Needs only jax and numpy.\n"""',
            "from typing import NamedTuple\n\n"
            "import jax\nimport jax.numpy as jnp\nimport jax.scipy.special as jsp\nimport numpy as np\nfrom jax import lax",
            f"SPEC_NAME = {spec.name!r}\nSPEC_SHA256 = {spec.sha256!r}\nNTKSYM_VERSION = {__version__!r}\n"
            f"SPEC_DESCRIPTION = {spec.description!r}\nPARAMETERIZATION = {spec.parameterization!r}\n"
            f"INPUT_SHAPE = {spec.input_shape!r}\nDTYPE = {self.dtype!r}\nHYPERPARAMETERS = {hyper!r}\n"
            f"FLOATS_PER_PAIR = {self.floats_per_pair()}  # numbers held per pair of inputs and per kernel\n"
            f"XLA_OPTIONS = {self.xla_options(uses_quadrature)!r}  # XLA options for the kernel (codegen/writer.py)",
            'if DTYPE == "float64":\n    jax.config.update("jax_enable_x64", True)',
            prelude_source("kernel"),
            *self.extra_preludes(),
        ]
        if uses_quadrature:
            parts += [prelude_source("quadrature"), prelude_source("mehler")]
        parts += [LAYERS[key].kernel_helpers.strip() for key in sorted(self.kinds_used) if LAYERS[key].kernel_helpers]
        parts += self.functions
        parts.append("def _propagate(s, hp):\n" + "\n".join(body) + "\n    return s")
        parts.append(
            "@_jit(xla_options=XLA_OPTIONS)\n"
            "def _kernel(x1, x2, hp):\n"
            "    x1 = jnp.asarray(x1, DTYPE)\n"
            "    same = x2 is None\n"
            "    x2 = x1 if same else jnp.asarray(x2, DTYPE)\n"
            "    hp = {k: jnp.asarray(v, DTYPE) for k, v in hp.items()}\n"
            f"    q11, t11, q22, t22, q12, t12 = _covariances(_propagate({self.inputs_call}, hp))\n"
            "    if same:\n"
            "        return _symmetric(q12, q11), _symmetric(t12, t11)\n"
            "    return q12, t12"
        )
        parts.append(
            "@_jit(xla_options=XLA_OPTIONS)\n"
            "def _kernel_with_diagonals(x1, x2, hp):\n"
            "    x1, x2 = jnp.asarray(x1, DTYPE), jnp.asarray(x2, DTYPE)\n"
            "    hp = {k: jnp.asarray(v, DTYPE) for k, v in hp.items()}\n"
            f"    q11, t11, q22, t22, q12, t12 = _covariances(_propagate({self.inputs_call}, hp))\n"
            "    return q12, t12, q11, t11"
        )
        parts.append(
            f"def kernel_with_diagonals(x1, x2{', *' if hyper else ''}{kwargs}):\n"
            '    """(nngp, ntk) of x1 by x2, each (n1, n2), and the same-input (nngp, ntk) of x1, each (n1,).\n\n'
            "    One compiled program serves every block of a tiled kernel: a block on the diagonal is x1 by\n"
            '    itself, its diagonal replaced by the exact same-input values and its lower triangle mirrored."""\n'
            f"    return _kernel_with_diagonals(x1, x2, {{{hp_dict}}})"
        )
        parts.append(
            f"def kernel(x1, x2=None{', *' if hyper else ''}{kwargs}):\n"
            '    """(nngp, ntk) of the infinite-width network, each of shape (n1, n2); x2=None means x1.\n\n'
            "    Hyperparameters are traced arguments: changing them does not recompile, and jax.grad\n"
            '    with respect to them works (repeat counts given as hyperparameters: forward mode only)."""\n'
            f"    return _kernel(x1, x2, {{{hp_dict}}})"
        )
        parts.append(prelude_source("dynamics"))  # predict / max_learning_rate on `kernel`
        parts += network_parts(spec, self.printer, prelude_source("network"))
        return "\n\n\n".join(parts) + "\n"

    inputs_call = "_inputs(x1, x2)"  # the initial state; the spatial writer starts from pixel covariances

    def extra_preludes(self) -> list[str]:
        return []

    def floats_per_pair(self) -> int:
        """Numbers the state holds per pair of inputs and per kernel at its widest: sizes the blocks."""
        return 1

    def uses_quadrature(self) -> bool:
        """Whether some activation has no closed form (its Gaussian expectations are computed numerically)."""
        return any(e.has(GaussianExpectation, GaussianExpectationDiag) for e in self.all_expressions())

    def xla_options(self, uses_quadrature: bool) -> dict[str, bool]:
        """XLA's loop emitters for kernels with quadrature activations, its defaults for closed forms (measured:
        docs/performance.md, "XLA's emitters")."""
        return dict(LOOP_EMITTERS) if uses_quadrature else {}

    def all_expressions(self) -> Iterator[sp.Expr]:
        for step in iter_steps(self.d.steps):
            if isinstance(step, EntrywiseStep):
                yield from (step.nngp, step.ntk, step.nngp_diag, step.ntk_diag)
