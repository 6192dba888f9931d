"""max(x, 0)^n: the arc-cosine kernel of degree n (Cho & Saul 2009).

  E[relu(u)^n relu(v)^n] = (q11 q22)^(n/2) J_n(theta) / (2 pi),
  J_n(theta) = (-1)^n sin(theta)^(2n+1) ((1/sin theta) d/dtheta)^n ((pi - theta)/sin theta),
and since phi' = n max(x, 0)^(n-1), E[phi' phi'] = n^2 times the degree n-1 kernel (degree 0 is the
step function's (pi - theta)/(2 pi)). J_n is expanded into powers of sin and cos, which become
sqrt(det)/r and q12/r with r = sqrt(q11 q22), so no angle enters except through (pi - theta).
On the diagonal, J_n(0) = pi (2n-1)!!, so E(x, x) = (2n-1)!! q11^n / 2.
"""

from __future__ import annotations

from functools import cache

import sympy as sp

from ntksym.spec.schema import Activation
from ntksym.symbolic.dual import Dual
from ntksym.symbolic.state import ANGLE, SQRT_DET, q11, q12, q22

SOURCE = "arc-cosine kernel of degree n (Cho & Saul 2009)"
_theta = sp.Symbol("theta", positive=True)


@cache
def angular_part(n: int) -> sp.Expr:
    """J_n(theta), simplified."""
    f = (sp.pi - _theta) / sp.sin(_theta)
    for _ in range(n):
        f = sp.diff(f, _theta) / sp.sin(_theta)
    return sp.simplify((-1) ** n * sp.sin(_theta) ** (2 * n + 1) * f)


def arc_cosine(n: int) -> tuple[sp.Expr, sp.Expr]:
    """(cross form in q11, q12, q22; diagonal form in q11) of E[relu(u)^n relu(v)^n]."""
    j = sp.expand(sp.expand_trig(angular_part(n)))
    r = sp.sqrt(q11 * q22)
    sin_t, cos_t = sp.Symbol("sin_t"), sp.Symbol("cos_t")
    j = j.subs({sp.sin(_theta): sin_t, sp.cos(_theta): cos_t})
    homogeneous = sp.expand(r**n * j).subs({sin_t: SQRT_DET / r, cos_t: q12 / r, _theta: ANGLE})
    cross = sp.expand(homogeneous) / (2 * sp.pi)
    diag = sp.factorial2(2 * n - 1) * q11**n / 2
    return cross, diag


def rectified_monomial(act: Activation) -> Dual:
    n = int(act.param("degree"))
    nngp, nngp_diag = arc_cosine(n)
    if n == 0:
        ntk, ntk_diag = sp.Integer(0), sp.Integer(0)
    else:
        lower, lower_diag = arc_cosine(n - 1)
        ntk, ntk_diag = n**2 * lower, n**2 * lower_diag
    return Dual(nngp, ntk, nngp_diag, ntk_diag, "closed form", SOURCE)
