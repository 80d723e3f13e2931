"""Provider adapters, one module each, behind :class:`~tui.core.providers.base.OrderProvider`:
declared in :mod:`~tui.core.providers.registry`, built by :mod:`~tui.core.providers.factory`.

Kept empty on purpose: the registry and the settings import provider modules, which import
this package first.
"""
