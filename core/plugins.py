"""Finds adapters through the ``knowrithm_bots.adapters`` entry-point group, importing lazily.

Listing (``discover``) reads package metadata only; ``load_adapter`` imports exactly the one
module that registers the name asked for, so a broken or heavy plugin costs nothing until a
config or command names it. Every failure is a ``PluginError`` whose message is one sentence
naming the adapter, the distribution that registers it and what to do.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from knowrithm_bots.core.adapter import Adapter, Capabilities, Limits
from knowrithm_bots.core.errors import PluginError

GROUP = "knowrithm_bots.adapters"
BUILTIN_DISTRIBUTION = "knowrithm-bots"

_REQUIRED_METHODS = ("from_config", "start", "stop", "post", "edit")


@dataclass(frozen=True, kw_only=True)
class AdapterInfo:
    """An adapter known from package metadata alone (nothing imported)."""

    name: str
    value: str
    distribution: str
    version: str

    @property
    def origin(self) -> str:
        """The distribution and version, for messages: ``knowrithm-bots-webhook 0.1.0``."""
        return f"{self.distribution} {self.version}"


def _info(entry: EntryPoint) -> AdapterInfo:
    dist = entry.dist
    return AdapterInfo(
        name=entry.name,
        value=entry.value,
        distribution=dist.name if dist is not None else "an unknown distribution",
        version=dist.version if dist is not None else "?",
    )


def _registered() -> list[tuple[AdapterInfo, EntryPoint]]:
    """Every entry point of the group, one per (name, distribution)."""
    seen: set[tuple[str, str]] = set()
    found: list[tuple[AdapterInfo, EntryPoint]] = []
    for entry in entry_points(group=GROUP):
        info = _info(entry)
        # One distribution can sit twice on sys.path (an editable install and its source
        # tree); that is the same plugin, not a clash.
        key = (info.name, info.distribution.lower().replace("_", "-"))
        if key not in seen:
            seen.add(key)
            found.append((info, entry))
    return found


def discover() -> dict[str, list[AdapterInfo]]:
    """Every registered adapter name with the distributions that register it (no imports)."""
    found: dict[str, list[AdapterInfo]] = {}
    for info, _ in _registered():
        found.setdefault(info.name, []).append(info)
    return dict(sorted(found.items()))


def _entry(name: str) -> tuple[AdapterInfo, EntryPoint]:
    matches = [(info, entry) for info, entry in _registered() if info.name == name]
    if not matches:
        known = ", ".join(discover()) or "none"
        raise PluginError(
            f"no adapter named {name!r} is installed (installed adapters: {known}); "
            "check the name or install the package that provides it"
        )
    if len(matches) > 1:
        dists = " and ".join(sorted(info.origin for info, _ in matches))
        raise PluginError(
            f"adapter name {name!r} is registered by more than one distribution ({dists}); "
            "uninstall one of them"
        )
    return matches[0]


def missing_parts(cls: object, *, name: str | None = None) -> list[str]:
    """What ``cls`` lacks to satisfy the adapter contract; empty when it has everything.

    ``name`` is the entry-point name, which must equal the class's ``name`` because thread
    keys start with it and the bridge routes them back by it.
    """
    if not inspect.isclass(cls):
        return [f"to be a class (the entry point names {type(cls).__name__} {cls!r})"]
    missing: list[str] = []
    if not issubclass(cls, Adapter):
        missing.append("knowrithm_bots.core.adapter.Adapter as a base class")
    declared = getattr(cls, "name", None)
    if not isinstance(declared, str) or not declared:
        missing.append("a class attribute 'name' (a non-empty string)")
    elif name is not None and declared != name:
        missing.append(
            f"a name matching its entry point ({name!r}; the class declares {declared!r})"
        )
    if not isinstance(getattr(cls, "limits", None), Limits):
        missing.append("a class attribute 'limits' (a core.adapter.Limits)")
    if not isinstance(getattr(cls, "capabilities", Capabilities()), Capabilities):
        missing.append("a class attribute 'capabilities' that is a core.adapter.Capabilities")
    absent = [m for m in _REQUIRED_METHODS if not callable(getattr(cls, m, None))]
    abstract = sorted(set(getattr(cls, "__abstractmethods__", ())) - set(absent))
    missing += [f"method {m}()" for m in absent]
    missing += [f"an implementation of {m}()" for m in abstract]
    return missing


def load_adapter(name: str) -> type[Adapter]:
    """Import the adapter class registered as ``name``; only this adapter's module is imported.

    Raises ``PluginError`` when no distribution or several register ``name``, when its module
    cannot be imported, or when what it names does not satisfy the adapter contract.
    """
    info, entry = _entry(name)
    try:
        cls: object = entry.load()
    except ModuleNotFoundError as exc:
        hint = (
            f"; install knowrithm-bots[{name}]"
            if info.distribution == BUILTIN_DISTRIBUTION
            else f"; reinstall {info.distribution} with its dependencies"
        )
        raise PluginError(
            f"adapter {name!r} from {info.origin} cannot be imported "
            f"({type(exc).__name__}: {exc}){hint}"
        ) from exc
    except Exception as exc:
        raise PluginError(
            f"adapter {name!r} from {info.origin} failed while importing {info.value} "
            f"({type(exc).__name__}: {exc}); fix or reinstall {info.distribution}"
        ) from exc
    missing = missing_parts(cls, name=name)
    if missing:
        raise PluginError(
            f"adapter {name!r} from {info.origin} ({info.value}) does not satisfy the adapter "
            f"protocol: it lacks {'; '.join(missing)}"
        )
    assert inspect.isclass(cls) and issubclass(cls, Adapter)
    return cls
