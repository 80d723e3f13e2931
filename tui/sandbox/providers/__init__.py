"""The simulated order systems, one module each, above the data they keep.

Each module is a simulator: ``KEY`` (the provider it simulates), ``create(rng)`` (its demo
store), ``identifiers(store)``, ``build_routes(sandbox)``, ``settings_env(root, config)`` (the
``STOPLINE_*`` variables that point Stopline at it) and ``SHOWCASE`` (orders to try); one
that offers load-test orders has ``extra_ids(count)`` and ``add_extra(store, count)``.
:data:`BUILTIN` lists the four; the console passes the registered providers' simulators.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Mapping, Sequence
from types import ModuleType

from ..config import SIMULATORS
from ..data import DemoData

BUILTIN: tuple[str, ...] = SIMULATORS


def load(names: Sequence[str] = BUILTIN) -> list[ModuleType]:
    return [importlib.import_module(name) for name in names]


def generate(
    seed: int,
    extra_orders: Mapping[str, int] | None = None,
    modules: Sequence[ModuleType] | None = None,
) -> DemoData:
    """Fresh demo data for ``seed``, plus ``extra_orders`` open orders per provider."""
    modules = list(modules) if modules is not None else load()
    data = DemoData(
        by_provider={
            m.KEY: m.create(random.Random(f"stopline-sandbox:{seed}:{m.KEY}")) for m in modules
        },
        listers={m.KEY: m.identifiers for m in modules},
    )
    by_key = {m.KEY: m for m in modules}
    for key, count in (extra_orders or {}).items():
        by_key[key].add_extra(data[key], count)
    return data


def extra_order_ids(provider: str, count: int) -> list[str]:
    """The identifiers of the orders ``SandboxConfig.extra_orders`` adds, in order."""
    module = importlib.import_module(f"tui.sandbox.providers.{provider}")
    if not hasattr(module, "extra_ids"):
        raise ValueError(f"extra orders are not available for {provider}")
    return list(module.extra_ids(count))
