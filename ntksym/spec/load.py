"""YAML text -> `Spec`, with errors that name the file, the line and the key path.

Only `yaml.SafeLoader` is used; nothing in a spec is ever evaluated.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from ntksym.activations import ACTIVATIONS
from ntksym.errors import SpecError, did_you_mean
from ntksym.layers import LAYERS, walk_layers
from ntksym.spec import schema as s
from ntksym.spec.fields import PADDINGS, REQUIRED, RESERVED_NAMES, Field
from ntksym.spec.rolling import roll_runs

MAX_SPEC_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_EXPR_CHARS = 4096
MAX_COUNT = 1_000_000  # repeat counts and widths: more would never finish
MAX_NESTING = 32  # repeat / residual blocks inside one another (docs/spec_format.md#limits)
MAX_YAML_DEPTH = 200  # nested YAML collections: deeper documents exhaust the parser's stack
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_NUMERIC = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map"))
TOP_LEVEL = ("ntksym", "name", "description", "parameterization", "input_shape", "hyperparameters", "layers")


def load_spec(path: str | Path) -> s.Spec:
    """Read and validate a spec file."""
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise SpecError(f"{path} is a directory; give the path of a .yaml spec file")
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
            raise SpecError(f"{path} is not a regular file (a pipe or device?); save the spec to a .yaml file")
        if info.st_size > MAX_SPEC_BYTES:
            raise SpecError(f"spec file is larger than {MAX_SPEC_BYTES} bytes", file=str(path))
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"spec file not found: {path}; check the path") from None
    except PermissionError:
        raise SpecError(f"cannot read spec file {path}: permission denied; check its permissions") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"spec file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise SpecError(f"cannot read spec file {path}: {exc.strerror or exc}") from None
    return parse_spec(text, source=str(path))


def parse_spec(text: str, source: str = "<string>") -> s.Spec:
    """Validate spec text (YAML) into an immutable `Spec`."""
    document, lines = _compose(text, source)
    validator = _Validator(source, lines)
    _check_nesting(document, validator)
    return validator.spec(document)


def path_text(path: tuple) -> str:
    """('layers', 2, 'dense', 'w_std') -> 'layers[2].dense.w_std'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _compose(text: str, source: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML into plain data plus a map from key path to (1-based) line."""
    if len(text.encode("utf-8", "replace")) > MAX_SPEC_BYTES:
        raise SpecError(f"spec is larger than {MAX_SPEC_BYTES} bytes", file=source)
    try:
        loader = _DepthLimitedLoader(text)
        try:
            root = loader.get_single_node()
            lines: dict[tuple, int] = {}
            data = None if root is None else _Builder(loader, lines).build(root, ())
        finally:
            loader.dispose()
    except SpecError as exc:
        if exc.file is None:  # raised while building nodes: name the file too
            raise SpecError(exc.message, file=source, line=exc.line, path=exc.path) from None
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        what = (exc.problem or exc.context or "syntax error").strip()
        raise SpecError(f"malformed YAML{column}: {what}; fix the YAML syntax", file=source, line=line) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"malformed YAML: {exc}", file=source) from None
    except RecursionError:  # a backstop: the depth limits below stop well before Python's stack does
        raise SpecError(TOO_DEEP, file=source) from None
    if root is None:
        raise SpecError("the spec is empty; start it with `ntksym: 1`", file=source)
    return data, lines


TOO_DEEP = (f"the YAML is nested more than {MAX_YAML_DEPTH} levels deep (repeat / residual blocks may nest at most "
            f"{MAX_NESTING} levels); flatten it")


class _DepthLimitedLoader(yaml.SafeLoader):
    """SafeLoader whose (recursive) composer refuses documents nested deeper than MAX_YAML_DEPTH."""

    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise SpecError(TOO_DEEP, line=self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _check_nesting(document: Any, validator: _Validator) -> None:
    """Refuse repeat / residual blocks nested more than MAX_NESTING deep, before any recursion."""
    # (node, shown path, nesting level, outermost block's path)
    stack: list[tuple[Any, tuple, int, Any]] = [(document, (), -1, None)]
    while stack:
        node, path, level, outer = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if key in ("layers", "paths") and isinstance(node, dict) and isinstance(value, list):
                here = path + (("repeat", "layers") if "repeat" in node else (key,))
                if level + 1 > MAX_NESTING:
                    line = validator.error(here, "").line
                    raise validator.error(outer, f"repeat / residual blocks are nested more than {MAX_NESTING} levels "
                                          f"deep here (deeper at line {line}); flatten the spec (one repeat of the "
                                          "multiplied counts does the same) to at most that depth")
                if level == 0:  # entering the outermost block of a top-level layer
                    outer = path + ("repeat",) if "repeat" in node else path
                stack.append((value, here, level + 1, outer))
            elif isinstance(value, (dict, list)):
                stack.append((value, path + (key,), level, outer))


def _repeat_runs(validator: _Validator, layers) -> int:
    """How many times the most repeated layer of `layers` runs (the product of its repeat counts)."""
    most = 1
    for layer in layers:
        if isinstance(layer, s.Repeat):
            count = layer.count if isinstance(layer.count, int) else int(validator.hyper[layer.count.name])
            most = max(most, count * _repeat_runs(validator, layer.layers))
        elif LAYERS[layer.kind].combinator:  # residual, branches
            most = max(most, _repeat_runs(validator, LAYERS[layer.kind].children(layer)))
    return most


def _check_runs(validator: _Validator, layers: tuple) -> None:
    """Nested repeats whose innermost layers would run more than MAX_COUNT times are refused like one
    such repeat (at the top-level block that holds them)."""
    for i, layer in enumerate(layers):
        runs = _repeat_runs(validator, (layer,))
        if runs > MAX_COUNT:
            kind = layer.kind
            raise validator.error(("layers", i, kind), f"nested repeats run their innermost block {runs:,} times "
                                  f"(the product of the counts), more than {MAX_COUNT:,}; lower the counts")


def reserved_reason(name: str) -> str | None:
    """Why `name` cannot be an identifier in generated code, or None if it can.

    The one rule for every user-chosen name that reaches generated text (today: hyperparameter names):
    Python keywords (soft ones too), builtins (a local `len` or `float` would shadow the generated code's
    own calls), the generated code's names (RESERVED_NAMES) and the spec format's own words."""
    import builtins
    import keyword

    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "a Python keyword"
    if name in RESERVED_NAMES:
        return "a name the generated code uses"
    if hasattr(builtins, name):
        return "a Python builtin"
    if name in ACTIVATIONS or name in LAYERS:
        return "a word of the spec format"
    return None


def _repeat_block(repeat: s.Repeat) -> s.Repeat:
    """`repeat: a` holding only `repeat: b` is one repeat of a * b: derived and compiled as one loop, the
    body keeps its own paths."""
    inner = repeat.layers[0] if len(repeat.layers) == 1 else None
    if isinstance(inner, s.Repeat) and isinstance(repeat.count, int) and isinstance(inner.count, int):
        return s.Repeat(count=repeat.count * inner.count, layers=inner.layers, path=repeat.path)
    return repeat


class _Builder:
    """Plain data from a YAML node tree, recording each key path's line; refuses duplicate keys."""

    def __init__(self, loader: yaml.SafeLoader, lines: dict[tuple, int]):
        self.loader, self.lines, self.count = loader, lines, 0
        self.open: set[int] = set()  # ids of the collections being built (to catch cycles)

    def build(self, node: yaml.Node, path: tuple) -> Any:
        if len(path) > MAX_YAML_DEPTH:  # aliases can stack anchors deeper than the composer saw
            raise SpecError(TOO_DEEP, line=node.start_mark.line + 1)
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(f"the spec has more than {MAX_NODES} YAML nodes (alias bomb?)")
        if id(node) in self.open:  # an alias inside its own anchor would never end
            raise SpecError("a YAML alias refers to a node that contains it (a cycle); write the block out",
                            line=node.start_mark.line + 1, path=path_text(path))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self.open.add(id(node))
            try:
                return self._build(node, path)
            finally:
                self.open.discard(id(node))
        return self._build(node, path)

    def _build(self, node: yaml.Node, path: tuple) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag not in PLAIN_TAGS:
            raise SpecError(f"YAML tag {node.tag} is not allowed in a spec; write plain values",
                            line=node.start_mark.line + 1, path=path_text(path))
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    raise SpecError("keys must be plain names", line=key_node.start_mark.line + 1,
                                    path=path_text(path))
                if key in out:
                    raise SpecError(f"duplicate key `{key}`; keep one", line=key_node.start_mark.line + 1,
                                    path=path_text(path))
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node)


class _Validator:
    def __init__(self, source: str, lines: dict[tuple, int]):
        self.source, self.lines = source, lines
        self.hyper: dict[str, float] = {}

    def error(self, path: tuple, message: str) -> SpecError:
        # shown paths say `repeat.layers`; in the YAML, `layers` is the sibling of `repeat`
        raw = tuple(p for i, p in enumerate(path) if not (p == "repeat" and path[i + 1:i + 2] == ("layers",)))
        line = None
        for cut in range(len(raw), -1, -1):  # the nearest ancestor that has a line
            if raw[:cut] in self.lines:
                line = self.lines[raw[:cut]]
                break
        return SpecError(message, file=self.source, line=line, path=path_text(path))

    def spec(self, doc: Any) -> s.Spec:
        if not isinstance(doc, dict):
            raise self.error((), f"the spec must be a mapping of keys, got {_kind(doc)}; start it with `ntksym: 1`")
        self.unknown_keys(doc, TOP_LEVEL, ())
        if "ntksym" not in doc:
            raise self.error((), "missing `ntksym: 1` (the spec format version); add it as the first line")
        if doc["ntksym"] != 1 or isinstance(doc["ntksym"], bool):
            raise self.error(("ntksym",), f"unsupported spec format version {doc['ntksym']!r}; this ntksym reads version 1")
        name = doc.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.error(("name",), f"`name` must be letters, digits, '-' or '_', got {name!r}; e.g. `name: relu-mlp`")
        description = doc.get("description", "") or ""
        if not isinstance(description, str):
            raise self.error(("description",), "`description` must be text")
        parameterization = doc.get("parameterization", "ntk")
        if parameterization not in ("ntk", "standard"):
            raise self.error(("parameterization",), f"expected `ntk` or `standard`, got {parameterization!r}."
                             + did_you_mean(parameterization, ("ntk", "standard")))
        input_shape = self.input_shape(doc.get("input_shape"))
        self.hyper = self.hyperparameters(doc.get("hyperparameters"))
        if "layers" not in doc:
            raise self.error((), "missing `layers:`; list the network's layers, e.g. `- dense: {w_std: 1.0}`")
        layers = self.layer_list(doc["layers"], ("layers",))
        _check_runs(self, layers)
        self.check_spatial_input(layers, input_shape)
        canonical = json.dumps(doc, sort_keys=True, default=str, separators=(",", ":"))
        return s.Spec(
            name=name, layers=layers, parameterization=parameterization, description=description.strip(),
            input_shape=input_shape, hyperparameters=tuple(self.hyper.items()), source=self.source,
            sha256=hashlib.sha256(canonical.encode()).hexdigest(),
        )

    def check_spatial_input(self, layers: tuple[s.Layer, ...], input_shape: tuple[int, ...] | None) -> None:
        """Convolutions and pooling need the per-example shape (height, width, channels) up front."""
        spatial = next((layer for layer in walk_layers(layers)
                        if LAYERS[layer.kind].on_pixels and layer.kind != "flatten"), None)
        if spatial is None:
            return
        kind = spatial.path.rsplit(".", 1)[-1]
        if input_shape is None or len(input_shape) not in (2, 3):
            got = "no input_shape" if input_shape is None else f"input_shape {list(input_shape)}"
            raise self.error(("input_shape",) if input_shape else (), f"`{kind}` at {spatial.path} needs spatial inputs, but the "
                             f"spec has {got}; give `input_shape: [width, channels]` (1-D) or `[height, width, channels]` (2-D)")

    def unknown_keys(self, mapping: dict, allowed, path: tuple) -> None:
        for key in mapping:
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f" Valid keys: {', '.join(allowed) or 'none'}."
                raise self.error(path + (key,), f"unknown key `{key}`.{hint}")

    def input_shape(self, value: Any) -> tuple[int, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not value or not all(_is_int(v) and v >= 1 for v in value):
            raise self.error(("input_shape",), f"expected a list of positive whole numbers like [8] or [32, 32, 3], got {value!r}")
        return tuple(int(v) for v in value)

    def hyperparameters(self, value: Any) -> dict[str, float]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(("hyperparameters",), "expected a mapping of names to numbers, e.g. `sigma_w: 1.4`")
        out = {}
        for key, number in value.items():
            path = ("hyperparameters", key)
            if not isinstance(key, str) or not _IDENTIFIER.match(key):
                raise self.error(path, f"hyperparameter name {key!r} must start with a letter and hold only letters, digits and '_'")
            if reserved_reason(key):
                raise self.error(path, f"`{key}` is a reserved name ({reserved_reason(key)}); rename it, e.g. `{key}_value`")
            number = _as_number(number)
            if number is None or not math.isfinite(number):
                raise self.error(path, f"hyperparameter `{key}` must be a finite number, got {value[key]!r}")
            out[key] = number
        return out

    # -- layers -------------------------------------------------------------------------------
    def layer_list(self, value: Any, path: tuple) -> tuple[s.Layer, ...]:
        if not isinstance(value, list) or not value:
            raise self.error(path, "expected a non-empty list of layers, e.g. `- dense: {w_std: 1.0}`")
        return roll_runs(tuple(self.layer(item, path + (i,)) for i, item in enumerate(value)))

    def layer(self, item: Any, path: tuple) -> s.Layer:
        if isinstance(item, str) and item in LAYERS and not LAYERS[item].fields and item != "activation":
            item = {item: None}  # `- flatten` as a bare word
        if not isinstance(item, dict) or not item:
            raise self.error(path, f"each layer is a mapping with one key (a layer kind), got {_kind(item)}; "
                             f"kinds: {', '.join(LAYERS)}")
        if "repeat" in item:
            self.unknown_keys(item, ("repeat", "layers"), path)
            count = self.value(item["repeat"], LAYERS["repeat"].fields["repeat"], path + ("repeat",))
            if "layers" not in item:
                raise self.error(path + ("repeat",), "`repeat` needs a sibling `layers:` list holding the block")
            body = self.layer_list(item["layers"], path + ("repeat", "layers"))
            here = path + ("repeat",)
            return _repeat_block(LAYERS["repeat"].build({"repeat": count, "layers": body}, path_text(here),
                                                        lambda key, message: self.error(here + (key,), message)))
        if len(item) != 1:
            raise self.error(path, f"a layer is a mapping with exactly one key, got {', '.join(map(str, item))}; "
                             "split them into separate list entries")
        ((kind, params),) = item.items()
        if kind not in LAYERS:
            raise self.error(path + (kind,), f"unknown layer `{kind}`.{did_you_mean(kind, LAYERS)} "
                             f"Layer kinds: {', '.join(LAYERS)}")
        here = path + (kind,)
        if kind == "activation":
            return self.activation(params, here)
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise self.error(here, f"expected a mapping of fields ({', '.join(LAYERS[kind].fields) or 'none'}), got {_kind(params)}")
        fields = LAYERS[kind].fields
        self.unknown_keys(params, fields, here)
        values = {}
        for key, spec_field in fields.items():
            if key in params:
                values[key] = self.value(params[key], spec_field, here + (key,))
            elif spec_field.default is REQUIRED:
                raise self.error(here, f"missing required field `{key}` ({spec_field.help or spec_field.kind})")
            else:
                values[key] = spec_field.default
        return LAYERS[kind].build(values, path_text(here), lambda key, message: self.error(here + (key,), message))

    def activation(self, value: Any, path: tuple) -> s.Activation:
        where = path_text(path)
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, dict):
            raise self.error(path, "expected an activation name (e.g. `relu`), `{name: erf, a: 2}` or "
                             f"`{{expr: \"...\"}}`, got {_kind(value)}")
        if "expr" in value:
            self.unknown_keys(value, ("expr",), path)
            text = value["expr"]
            if not isinstance(text, str) or not text.strip():
                raise self.error(path + ("expr",), "`expr` must be a non-empty text such as \"x**3 - 0.5*x\"")
            if len(text) > MAX_EXPR_CHARS:
                raise self.error(path + ("expr",), f"expression is longer than {MAX_EXPR_CHARS} characters")
            self.check_expression(text, path + ("expr",))
            # the hyperparameters the expression may use travel with it to the derivation engine
            return s.Activation("expr", tuple(self.hyper.items()), text, path=where)
        name = value.get("name")
        if not isinstance(name, str):
            raise self.error(path, "missing `name:` for the activation, e.g. `{name: erf, a: 2}`")
        if name not in ACTIVATIONS:
            raise self.error(path + ("name",), f"unknown activation `{name}`.{did_you_mean(name, ACTIVATIONS)} "
                             f"Known: {', '.join(ACTIVATIONS)}; or write `{{expr: \"...\"}}`")
        fields = ACTIVATIONS[name].params
        self.unknown_keys({k: v for k, v in value.items() if k != "name"}, fields, path)
        params = []
        for key, spec_field in fields.items():
            if key in value:
                params.append((key, self.value(value[key], spec_field, path + (key,))))
            elif spec_field.default is REQUIRED:
                raise self.error(path, f"activation `{name}` needs the parameter `{key}`")
            else:
                params.append((key, spec_field.default))
        return s.Activation(name, tuple(params), path=where)

    def check_expression(self, text: str, path: tuple) -> None:
        """Parse the expression through the whitelist parser so errors surface at load time."""
        from ntksym.spec.expressions import parse_activation

        try:
            parse_activation(text, self.hyper)
        except SpecError as exc:
            raise self.error(path, exc.message) from None

    # -- values ---------------------------------------------------------------------------------
    def value(self, raw: Any, spec_field: Field, path: tuple) -> Any:
        kind = spec_field.kind
        if kind == "layers":
            return self.layer_list(raw, path)
        if kind == "paths":  # a list of layer lists, [] the identity (branches)
            if not isinstance(raw, list) or not raw or not all(isinstance(p, list) for p in raw):
                raise self.error(path, f"expected a non-empty list of layer lists, got {_kind(raw)}; e.g. "
                                 "`paths: [[{dense: {width: 64}}, {activation: relu}], []]` ([] is the identity)")
            return tuple(self.layer_list(p, path + (i,)) if p else () for i, p in enumerate(raw))
        if kind == "padding":
            text = str(raw).upper() if isinstance(raw, str) else raw
            if text not in PADDINGS:
                raise self.error(path, f"padding must be one of {', '.join(PADDINGS)}, got {raw!r}.{did_you_mean(text, PADDINGS)}")
            return text
        if kind == "choice":
            text = raw.lower() if isinstance(raw, str) else raw
            if text not in spec_field.choices:
                raise self.error(path, f"expected one of {', '.join(spec_field.choices)}, got {raw!r}."
                                 + did_you_mean(str(text), spec_field.choices))
            return text
        if kind == "bool":
            if not isinstance(raw, bool):
                raise self.error(path, f"expected true or false, got {raw!r}")
            return raw
        if kind == "shape":
            items = [raw] if not isinstance(raw, list) else raw
            if not 1 <= len(items) <= 2 or not all(_is_int(v) and v >= 1 for v in items):
                raise self.error(path, f"expected a positive whole number or a list of one or two, like [3, 3], got {raw!r}")
            return tuple(int(v) for v in items)
        if kind == "real_list":
            if not isinstance(raw, list) or not raw:
                raise self.error(path, f"expected a non-empty list of numbers (lowest degree first), got {raw!r}")
            return tuple(self.value(v, Field("real"), path + (i,)) for i, v in enumerate(raw))
        if kind == "optional_nonneg" and raw is None:
            return None
        if isinstance(raw, str) and not _NUMERIC.match(raw.strip()):
            return self.reference(raw, kind, path, spec_field)
        number = _as_number(raw)
        if number is None:
            raise self.error(path, f"expected a number or a hyperparameter name, got {_kind(raw)} {raw!r}")
        self.check_range(number, kind, path, str(raw), spec_field)
        return int(number) if kind in ("count", "degree") else float(number)

    def reference(self, name: str, kind: str, path: tuple, spec_field: Field | None = None) -> s.Ref:
        if name not in self.hyper:
            known = f" Defined: {', '.join(self.hyper)}." if self.hyper else ""
            raise self.error(path, f"unknown hyperparameter `{name}`; define it under `hyperparameters:`."
                             + (did_you_mean(name, self.hyper) or known))
        self.check_range(self.hyper[name], kind, path, f"`{name}` = {self.hyper[name]}", spec_field)
        if kind == "degree":  # a degree changes the formula's shape, so it is resolved now
            return int(self.hyper[name])  # type: ignore[return-value]
        return s.Ref(name)

    def check_range(self, number: float, kind: str, path: tuple, shown: str, spec_field: Field | None = None) -> None:
        if not math.isfinite(number):
            raise self.error(path, f"expected a finite number, got {shown}")
        if spec_field is not None:
            low, high = spec_field.minimum, spec_field.maximum
            below = low is not None and (number <= low if spec_field.exclusive_minimum else number < low)
            if below or (high is not None and number > high):
                rule = f"{'>' if spec_field.exclusive_minimum else '>='} {low:g}" if low is not None else ""
                rule += (" and " if rule and high is not None else "") + (f"<= {high:g}" if high is not None else "")
                raise self.error(path, f"expected a number {rule} ({spec_field.help or spec_field.kind}), got {shown}")
        if kind in ("nonneg", "optional_nonneg") and number < 0:
            raise self.error(path, f"expected a number >= 0, got {shown}; the sign of a standard deviation does not matter")
        if kind == "count" and (number != int(number) or number < 1):
            raise self.error(path, f"expected a whole number >= 1, got {shown}")
        if kind == "count" and number > MAX_COUNT:
            raise self.error(path, f"expected a whole number at most {MAX_COUNT:,}, got {shown}")
        if kind == "degree" and (number != int(number) or not 0 <= number <= 64):
            raise self.error(path, f"expected a whole number from 0 to 64, got {shown}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMERIC.match(value.strip()):
        return float(value)
    return None


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a text", type(None): "nothing"}.get(type(value), type(value).__name__)
