"""The on-disk cache of derived duals: `cache_dir()/duals/<key>.pickle`.

The key hashes the expression text, the hyperparameter values, the ntksym version and the engine's own
source (so a changed engine never serves stale results). Entries are pickles of `Dual` objects that
ntksym itself wrote into its own cache folder (never user-supplied files); they are written atomically,
and an entry that cannot be read back as a `Dual` is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from functools import lru_cache
from pathlib import Path

from ntksym._version import __version__
from ntksym.files import cache_dir, write_atomic
from ntksym.symbolic.dual import Dual

_SYMBOLIC = Path(__file__).resolve().parent.parent  # ntksym/symbolic
_ENGINE_FILES = (
    "engine/__init__.py",
    "engine/gaussian.py",
    "engine/piecewise.py",
    "dual.py",
    "state.py",
    "rules/polynomial.py",
    "rules/numerical.py",
    "../spec/expressions.py",
    "../spec/symbols.py",
)


@lru_cache(maxsize=1)
def engine_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in _ENGINE_FILES:
        digest.update((_SYMBOLIC / name).read_bytes())
    return digest.hexdigest()[:12]


def cache_key(text: str, hyper: dict[str, float]) -> str:
    payload = json.dumps([text, sorted(hyper.items()), __version__, engine_fingerprint()])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def entry_path(key: str) -> Path:
    return cache_dir() / "duals" / f"{key}.pickle"


def load(key: str) -> Dual | None:
    """The cached dual, or None when missing or unreadable (it is then rebuilt and overwritten)."""
    path = entry_path(key)
    try:
        dual = pickle.loads(path.read_bytes())
    except Exception:  # missing, truncated or corrupted: rebuild
        return None
    return dual if isinstance(dual, Dual) else None


def store(key: str, dual: Dual) -> None:
    try:
        write_atomic(entry_path(key), pickle.dumps(dual, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:  # a read-only cache folder only costs speed
        pass
