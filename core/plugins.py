"""Finds adapters through the ``knowrithm_bots.adapters`` entry-point group, importing lazily."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from core.adapter import Adapter
from core.errors import PluginError

GROUP = "knowrithm_bots.adapters"

_REQUIRED_ATTRIBUTES = ("name", "limits")
_REQUIRED_METHODS = ("from_config", "start", "stop", "post", "edit")


@dataclass(frozen=True)
class AdapterInfo:
    """An adapter known from package metadata alone (nothing imported)."""

    name: str
    value: str
    distribution: str
    version: str


def _info(entry: EntryPoint) -> AdapterInfo:
    dist = entry.dist
    return AdapterInfo(
        name=entry.name,
        value=entry.value,
        distribution=dist.name if dist is not None else "?",
        version=dist.version if dist is not None else "?",
    )


def discover() -> dict[str, list[AdapterInfo]]:
    """Every registered adapter name with the distributions that register it."""
    found: dict[str, list[AdapterInfo]] = {}
    for entry in entry_points(group=GROUP):
        info = _info(entry)
        known = found.setdefault(entry.name, [])
        # One distribution can appear twice on sys.path (an editable install); count it once.
        if all(i.distribution != info.distribution for i in known):
            known.append(info)
    return found


def _entry(name: str) -> EntryPoint:
    matches = {
        (e.dist.name if e.dist else "?"): e for e in entry_points(group=GROUP) if e.name == name
    }
    if not matches:
        known = ", ".join(sorted(discover())) or "none"
        raise PluginError(f"no adapter named {name!r} is installed (installed adapters: {known})")
    if len(matches) > 1:
        dists = " and ".join(sorted(matches))
        raise PluginError(
            f"adapter name {name!r} is registered by more than one distribution ({dists}); "
            "uninstall one of them"
        )
    return next(iter(matches.values()))


def missing_parts(cls: object) -> list[str]:
    """What ``cls`` lacks to be an adapter; empty when it has everything."""
    if not inspect.isclass(cls):
        return ["a class (the entry point names something else)"]
    missing = [f"attribute {a!r}" for a in _REQUIRED_ATTRIBUTES if not hasattr(cls, a)]
    missing += [f"method {m}()" for m in _REQUIRED_METHODS if not callable(getattr(cls, m, None))]
    abstract = sorted(getattr(cls, "__abstractmethods__", ()))
    missing += [f"an implementation of {m}()" for m in abstract if f"method {m}()" not in missing]
    return missing


def load_adapter(name: str) -> type[Adapter]:
    """Import the adapter class registered as ``name``; only this adapter's module is imported."""
    entry = _entry(name)
    dist = entry.dist.name if entry.dist else "an unknown distribution"
    try:
        cls = entry.load()
    except ImportError as exc:
        raise PluginError(
            f"adapter {name!r} from {dist} cannot be imported: {exc} "
            f"(for a built-in adapter, install knowrithm-bots[{name}])"
        ) from exc
    except Exception as exc:
        raise PluginError(
            f"adapter {name!r} from {dist} failed while importing: {type(exc).__name__}: {exc}"
        ) from exc
    missing = missing_parts(cls)
    if missing:
        raise PluginError(
            f"adapter {name!r} from {dist} is not a valid adapter: it lacks {', '.join(missing)}"
        )
    if not issubclass(cls, Adapter):
        raise PluginError(
            f"adapter {name!r} from {dist} is not a valid adapter: "
            "it must subclass core.adapter.Adapter"
        )
    adapter: type[Adapter] = cls
    return adapter
