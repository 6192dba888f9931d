"""JSON Schema (draft 2020-12) of `ntksym derive --format json` (`Derivation.to_dict()`).

Every number of the depth analysis is a JSON number or null. JSON has no infinity or NaN, so a
non-finite value (a float `inf`, `-inf` or `nan` in Python) is written as null and named in the
object's `nonfinite` map ({"q_star": "inf"}); the schema says, field by field, when that happens and
what it means, and requires the two to agree (a field is null exactly when `nonfinite` names it).
"""

from __future__ import annotations

NONFINITE = {"enum": ["inf", "-inf", "nan"]}

# field -> (what it is, what null means); null is allowed only for the fields listed here
FIXED_POINT_NUMBERS = {
    "q_star": (
        "the stable fixed point q* of the length map q -> w^2 E[phi(sqrt(q) z)^2] + b^2 (0 when the signal "
        "vanishes: b = 0, phi(0) = 0)",
        "inf: no finite fixed point, q grows without bound with depth (phase `no finite fixed point`); "
        "nan: every q is a fixed point (the length map is the identity, e.g. ReLU at w^2 = 2, b = 0)",
    ),
    "chi_1": (
        "w^2 E[phi'(sqrt(q*) z)^2]: < 1 ordered, > 1 chaotic, = 1 edge of chaos; without a finite fixed "
        "point, its limit as q -> inf (ReLU: w^2 / 2)",
        "inf: without a finite fixed point, w^2 E[phi'^2] grows without bound in q (e.g. polynomial phi); "
        "nan: that limit could not be determined",
    ),
    "c_star": (
        "the stable fixed point of the correlation map at q* (1 in the ordered phase and at the edge)",
        "nan: not defined, as the correlation map is taken at q*: q* = 0 or no finite fixed point",
    ),
    "chi_c": (
        "w^2 E[phi'(u) phi'(v)] at c*: the slope of the correlation map there",
        "nan: no finite fixed point, so no correlation map",
    ),
    "chi_q": (
        "w^2 dV/dq at q*: the slope of the length map there (without a finite fixed point, its limit as q -> inf)",
        "inf: that slope grows without bound in q; nan: it could not be determined",
    ),
    "xi_q": (
        "depth scale of the length map, -1/log|chi_q|: layers over which q approaches q* by a factor e",
        "inf: |chi_q| >= 1 (no exponential approach); nan: chi_q is nan",
    ),
    "xi_c": (
        "depth scale of correlations, -1/log|chi_c| (Schoenholz et al. 2017)",
        "inf: |chi_c| >= 1 (at the edge of chaos, or chi_c rounds to 1); nan: chi_c is nan",
    ),
    "q_growth": (
        "without a finite fixed point: lim q'/q as q -> inf, the factor by which q grows per layer (1: linear "
        "growth, e.g. residual blocks of bounded phi; Yang & Schoenholz 2017)",
        "nan: q* is finite (q does not grow); inf: q grows faster than geometrically",
    ),
    "q_step": (
        "where q grows linearly (q_growth = 1): lim q' - q as q -> inf, the increment per layer",
        "inf: q grows geometrically (q_growth > 1); nan: q* is finite, or the limit could not be read",
    ),
    "c_exponent": (
        "p in 1 - c_l ~ l^-p (|c_l - c*| ~ l^-p for residual blocks with linear growth): the polynomial "
        "approach of correlations",
        "nan: the approach is exponential, or not determined",
    ),
}
NTK_NUMBERS = {
    "off_diagonal_limit": ("the limit of the normalised NTK's off-diagonal entries with depth",
                           "nan: not determined (no finite fixed point, or q* = 0)"),
    "rate": ("per-layer factor of the exponential approach to that limit",
             "nan: the approach is polynomial (edge of chaos) or undetermined"),
    "depth_scale": ("-1/log(rate)", "inf: rate >= 1; nan: rate is nan"),
    "approach_exponent": ("edge of chaos: 1 - c_l ~ A / l^exponent", "nan: not at the edge of chaos"),
    "approach_constant": ("edge of chaos: the constant A", "nan: not at the edge of chaos"),
}
EDGE_NUMBERS = {
    "w_std": ("the critical w_std (chi_1 = 1) at b_std", "nan: chi_1 does not cross 1 for w_std in [0.01, 50]"),
    "chi_1": ("chi_1 at that w_std, approached from the ordered side (1 at a true crossing)",
              "nan: no crossing, or no finite fixed point there"),
}


def _nullable(what: str, null: str) -> dict:
    return {"type": ["number", "null"], "description": f"{what}. null (named in `nonfinite`): {null}"}


def _number(what: str) -> dict:
    return {"type": "number", "description": what}


def _agree(fields) -> list[dict]:
    """A field is null exactly when `nonfinite` names it."""
    rules = []
    for name in fields:
        rules.append({"if": {"properties": {name: {"type": "null"}}, "required": [name]},
                      "then": {"properties": {"nonfinite": {"required": [name]}}},
                      "else": {"properties": {"nonfinite": {"not": {"required": [name]}}}}})
    return rules


def _numbers_object(nullable: dict, numbers: dict, extra: dict, required_extra: list[str]) -> dict:
    properties = {name: _nullable(*text) for name, text in nullable.items()}
    properties.update({name: _number(text) for name, text in numbers.items()})
    properties.update(extra)
    properties["nonfinite"] = {
        "type": "object",
        "description": "the fields written as null, each with the value it stands for: inf, -inf or nan",
        "properties": {name: NONFINITE for name in nullable},
        "additionalProperties": False,
    }
    return {"type": "object", "properties": properties,
            "required": [*nullable, *numbers, *required_extra, "nonfinite"],
            "additionalProperties": False, "allOf": _agree(nullable)}


def _not_analysed() -> dict:
    return {"type": "object", "properties": {"applies": {"const": False}, "reason": {"type": "string"}},
            "required": ["applies", "reason"], "additionalProperties": False,
            "description": "the spec is not analysed (e.g. attention, dropout, conv_transpose); `reason` says why"}


def derivation_json_schema() -> dict:
    text = {"type": "string"}
    ntk = _numbers_object(NTK_NUMBERS, {}, {
        "regime": {"enum": ["freeze", "chaos", "edge of chaos", "undetermined"]},
        "limit": text, "approach": text,
        "approach_symbolic": {"type": ["string", "null"], "description": "A in closed form; null: none found"},
    }, ["regime", "limit", "approach", "approach_symbolic"])
    fixed_point = _numbers_object(
        FIXED_POINT_NUMBERS,
        {"w_std": "the block's weight standard deviation", "b_std": "the block's bias standard deviation"},
        {"phase": {"enum": ["ordered", "chaotic", "edge of chaos", "no finite fixed point"]},
         "block": {"type": "string", "description": "key path of the analysed block"},
         "convergence": {"type": "string", "description": "how correlations converge with depth, in words"},
         "state": {"type": "string", "description": "composed blocks (layer norm, residual, conv): the layer "
                   "whose output q* and c* describe; empty for dense + activation (the pre-activation)"},
         "notes": {"type": "array", "items": text},
         "ntk": ntk,
         "symbolic": {"type": "object", "description": "closed forms SymPy found, as text (null: none)",
                      "additionalProperties": {"type": ["string", "null"]}}},
        ["phase", "block", "notes", "ntk", "symbolic", "convergence", "state"])
    edge = _numbers_object(
        EDGE_NUMBERS, {"b_std": "the b_std the edge is found at"},
        {"symbolic": {"type": ["string", "null"], "description": "closed form of the critical w_std; null: none"},
         "note": text},
        ["symbolic", "note"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ntksym derive --format json",
        "type": "object",
        "required": ["name", "parameterization", "sha256", "hyperparameters", "input", "steps",
                     "fixed_point", "edge_of_chaos"],
        "properties": {
            "name": text,
            "parameterization": {"enum": ["ntk", "standard"]},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "hyperparameters": {"type": "object", "additionalProperties": {"type": "number"}},
            "input": {"type": "object"},
            "steps": {"type": "array", "items": {"type": "object", "required": ["path", "kind"]},
                      "description": "the layerwise recursions, as SymPy text"},
            "fixed_point": {"oneOf": [fixed_point, _not_analysed()]},
            "edge_of_chaos": {"oneOf": [edge, _not_analysed()]},
        },
    }
