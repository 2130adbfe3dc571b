"""The plugin host: find plugins by entry point, build the ones the config selects, register them.

Built-in plugins are entry points of our own distribution and go through exactly this code, like
a third party's. Listing plugins reads entry-point metadata only; a plugin's module is imported
when the config selects it (or when ``bucle plugins`` checks that it imports). Every way a plugin
can be wrong becomes one :class:`~framework.errors.PluginError` line naming the plugin and the fix.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from framework.errors import BucleError, PluginError, did_you_mean
from framework.hooks import specs
from framework.hooks.markers import PROJECT_NAME


@dataclass(frozen=True)
class Role:
    """A kind of swappable part: where it is found, where it is configured, how many run."""

    name: str
    group: str
    section: str
    many: bool
    required_hooks: tuple[str, ...] = ()
    framework_keys: tuple[str, ...] = ("name",)


ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role("source", "bucle.sources", "data", False, ("load_data",), ("name", "target")),
        Role("validator", "bucle.validators", "validate", True, ("validate_data",), ()),
        Role("tracker", "bucle.trackers", "tracker", True, (), ()),
        Role("store", "bucle.stores", "store", False, ("put_artifact", "get_artifact")),
        Role(
            "feature_store",
            "bucle.feature_stores",
            "features.store",
            False,
            ("write_features", "get_historical_features", "get_online_features"),
        ),
        Role(
            "registry",
            "bucle.registries",
            "registry",
            False,
            ("register_model", "get_model_version", "list_model_versions", "set_model_alias"),
        ),
        Role(
            "deployer",
            "bucle.deployers",
            "deploy",
            False,
            ("deploy", "deployment_status", "stop_deployment"),
            ("name", "strategy", "challenger_alias", "canary_fraction", "release"),
        ),
        Role("monitor", "bucle.monitors", "monitor", True, ("check_window",), ()),
        Role("alerter", "bucle.alerters", "alert", True, ("send_alert",), ("send_on",)),
        Role("hooks", "bucle.hooks", "hooks", True, (), ()),
    )
}

HOOK_NAMES = frozenset(
    name for name, value in vars(specs).items() if hasattr(value, f"{PROJECT_NAME}_spec")
)


def installed(role: Role) -> dict[str, EntryPoint]:
    """Every installed plugin of ``role`` by name; the first distribution on the path wins."""
    found: dict[str, EntryPoint] = {}
    for entry_point in entry_points(group=role.group):
        found.setdefault(entry_point.name, entry_point)
    return dict(sorted(found.items()))


def distribution_of(entry_point: EntryPoint) -> str:
    """``name version`` of the distribution that declares ``entry_point``."""
    dist = entry_point.dist
    if dist is None:
        return "unknown distribution"
    return f"{dist.metadata['Name']} {dist.version}"


def load_class(role: Role, name: str) -> type:
    """Import the plugin class ``name`` of ``role``, or say clearly why it cannot be."""
    available = installed(role)
    entry_point = available.get(name)
    if entry_point is None:
        names = ", ".join(available) or "none"
        hint = did_you_mean(name, list(available))
        raise PluginError(
            f"unknown {role.name} plugin '{name}' (config {role.section}); installed: {names}{hint}"
        )
    try:
        plugin_class = entry_point.load()
    except Exception as error:
        raise import_failure(role, name, entry_point, error) from error
    if not inspect.isclass(plugin_class):
        raise PluginError(
            f"{role.name} plugin '{name}' ({entry_point.value}) is not a class; "
            "point the entry point at the plugin class"
        )
    check_hook_names(role, name, plugin_class)
    return plugin_class


def import_failure(role: Role, name: str, entry_point: EntryPoint, error: Exception) -> PluginError:
    """Why a plugin's module did not import, naming the plugin, its module and distribution.

    Only a ``ModuleNotFoundError`` is a missing module (``error.name`` is the module); any other
    ``ImportError`` (a shared library, a name a module lacks) and any other exception raised at
    import keep their own message, since that is what the user must act on.
    """
    dist = distribution_of(entry_point)
    plugin = f"{role.name} plugin '{name}' ({entry_point.value}) from {dist}"
    missing = getattr(error, "name", None)
    if isinstance(error, ModuleNotFoundError) and missing:
        return PluginError(
            f"{plugin} failed to import: missing module '{missing}'; install it into this "
            "environment (or uninstall the plugin's distribution)"
        )
    return PluginError(
        f"{plugin} failed to import: {type(error).__name__}: {_one_line(error)}; fix or "
        "uninstall that distribution"
    )


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or "(no message)"


def shadowed(role: Role) -> dict[str, list[str]]:
    """Plugin names declared by more than one distribution: only the first one is used."""
    declared: dict[str, list[str]] = {}
    for entry_point in entry_points(group=role.group):
        declared.setdefault(entry_point.name, []).append(distribution_of(entry_point))
    return {name: dists for name, dists in declared.items() if len(set(dists)) > 1}


def build_plugin(role: Role, name: str, options: Mapping[str, Any]) -> object:
    """Construct plugin ``name`` with its config ``options`` as keyword arguments."""
    plugin_class = load_class(role, name)
    where = f"{role.section}.{name}" if role.many else role.section
    parameters = inspect.signature(plugin_class).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    accepted = [
        key
        for key, p in parameters.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    accepted_text = ", ".join(accepted) or "none"
    # Framework keys (``data.target``) reach a plugin only when its signature asks for them.
    options = {
        key: value
        for key, value in options.items()
        if key not in role.framework_keys or key in accepted or takes_any
    }
    unknown = [key for key in options if key not in accepted]
    if unknown and not takes_any:
        hint = did_you_mean(unknown[0], accepted)
        raise PluginError(
            f"{role.name} plugin '{name}' has no option '{unknown[0]}' ({where}.{unknown[0]}); "
            f"accepted options: {accepted_text}{hint}"
        )
    missing = [
        key
        for key in accepted
        if parameters[key].default is inspect.Parameter.empty and key not in options
    ]
    if missing:
        raise PluginError(
            f"{role.name} plugin '{name}' needs option '{missing[0]}'; "
            f"set {where}.{missing[0]}=... (accepted options: {accepted_text})"
        )
    check_option_types(role, name, where, parameters, options)
    try:
        plugin = plugin_class(**options)
    except BucleError:
        raise  # the plugin's own one-line error already names the option and the fix
    except Exception as error:
        raise constructor_failure(role, name, where, options, error, parameters) from error
    return plugin


#: Annotations :func:`check_option_types` checks before construction, as written in source.
_NUMBER_ANNOTATIONS = {
    "int": int,
    "float": float,
    "int | None": int,
    "float | None": float,
    "Optional[int]": int,
    "Optional[float]": float,
}


def check_option_types(
    role: Role,
    name: str,
    where: str,
    parameters: Mapping[str, inspect.Parameter],
    options: Mapping[str, Any],
) -> None:
    """An option annotated ``int`` or ``float`` that cannot be read as one, named before the
    constructor runs. Text that parses (``"8000"`` from an environment reference) passes: a
    constructor converting it is fine; only a value no conversion could save is refused."""
    for key, value in options.items():
        parameter = parameters.get(key)
        if parameter is None or value is None:
            continue
        annotation = parameter.annotation
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        expected = _NUMBER_ANNOTATIONS.get(str(text).replace(" ", "").replace("|", " | "))
        if expected is None or _readable_as(value, expected):
            continue
        kind = "an integer" if expected is int else "a number"
        default = parameter.default
        example = "" if default in (inspect.Parameter.empty, None) else f", e.g. {default!r}"
        raise PluginError(
            f"{role.name} plugin '{name}': option {where}.{key}={value!r} must be {kind}, "
            f"got {type(value).__name__}; set {where}.{key} to {kind}{example}"
        )


def _readable_as(value: Any, expected: type) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int) or (expected is float and isinstance(value, float)):
        return True
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, str):
        try:
            expected(value.strip())
        except ValueError:
            return False
        return True
    return False


def constructor_failure(
    role: Role,
    name: str,
    where: str,
    options: Mapping[str, Any],
    error: Exception,
    parameters: Mapping[str, inspect.Parameter] | None = None,
) -> PluginError:
    """A plugin's constructor raised: one line with the plugin, the option most likely at fault
    and the reason. The suspect is the option the message names, else the one whose value's
    type differs from its default's (``'ten'`` where the default is ``10``), else the only one."""
    reason = f"{type(error).__name__}: {_one_line(error)}"
    message = str(error)
    suspects = [key for key, value in options.items() if key in message or repr(value) in message]
    if not suspects and parameters:
        suspects = [
            key
            for key, value in options.items()
            if key in parameters and _unlike_default(value, parameters[key].default)
        ]
    if not suspects and len(options) == 1:
        suspects = list(options)
    if suspects:
        given = ", ".join(f"{where}.{key}={options[key]!r}" for key in suspects)
        return PluginError(
            f"{role.name} plugin '{name}' rejected option {given}: {reason}; check the "
            "option's type and value in the plugin's documentation"
        )
    given = ", ".join(f"{key}={value!r}" for key, value in options.items()) or "no options"
    return PluginError(
        f"{role.name} plugin '{name}' failed to start with {given} ({where}): {reason}; check "
        "the options' types and values in the plugin's documentation"
    )


def _unlike_default(value: Any, default: Any) -> bool:
    """``value`` is of another kind than the option's default (numbers are one kind)."""
    if default is inspect.Parameter.empty or default is None or value is None:
        return False
    number = (int, float)
    if isinstance(value, number) and isinstance(default, number):
        return isinstance(value, bool) != isinstance(default, bool)
    return not isinstance(value, type(default))


def check_hook_names(role: Role, name: str, plugin: type) -> None:
    """A method marked ``@hookimpl`` must match a spec; a "one" role must answer its hooks."""
    implemented = set()
    for attribute in dir(plugin):
        method = getattr(plugin, attribute, None)
        if getattr(method, f"{PROJECT_NAME}_impl", None) is None:
            continue
        if attribute not in HOOK_NAMES:
            close = difflib.get_close_matches(attribute, sorted(HOOK_NAMES), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "see framework/hooks/specs.py"
            raise PluginError(
                f"{role.name} plugin '{name}': method '{attribute}' is marked @hookimpl but "
                f"matches no hook spec; {hint}"
            )
        implemented.add(attribute)
    absent = [hook for hook in role.required_hooks if hook not in implemented]
    if absent:
        raise PluginError(
            f"{role.name} plugin '{name}' does not implement {', '.join(absent)}; "
            f"a {role.name} must (see framework/hooks/specs.py)"
        )


def selected(role: Role, cfg: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The plugins of ``role`` a resolved config selects, with their options."""
    section = _section(cfg, role.section)
    if section is None:
        return {}
    section = _plain(section)
    if not isinstance(section, dict):
        raise PluginError(
            f"config '{role.section}' must be a mapping, got {type(section).__name__}; "
            f"see conf/{role.section}/"
        )
    if not role.many:
        name = section.get("name")
        if not name:
            raise PluginError(
                f"config '{role.section}' names no plugin; set {role.section}.name or choose "
                f"an option with {role.section}=NAME"
            )
        return {name: {k: v for k, v in section.items() if k != "name"}}
    chosen = {}
    for name, options in section.items():
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise PluginError(
                f"config '{role.section}.{name}' must hold the {role.name} plugin's options as "
                f"a mapping, got {options!r}; "
                f"write {role.section}.{name}: {{}} for a plugin without options"
            )
        chosen[name] = options
    return chosen


class PluginHost:
    """The pluggy manager with exactly the plugins one config selects."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(PROJECT_NAME)
        self.manager.add_hookspecs(specs)
        self.plugins: dict[str, object] = {}

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def add(self, role: Role, name: str, plugin: object) -> None:
        """Register one plugin instance under ``role:name``."""
        key = f"{role.name}:{name}"
        try:
            self.manager.register(plugin, name=key)
        except pluggy.PluginValidationError as error:
            reason = " ".join(str(error).split())
            raise PluginError(
                f"{role.name} plugin '{name}' breaks a hook spec: {reason}"
            ) from error
        self.plugins[key] = plugin

    def active(self, role_name: str) -> dict[str, object]:
        """The active plugins of one role by name."""
        prefix = f"{role_name}:"
        return {k[len(prefix) :]: v for k, v in self.plugins.items() if k.startswith(prefix)}


def build_host(cfg: Mapping[str, Any], roles: Iterable[str] | None = None) -> PluginHost:
    """Load, build and register every plugin the config selects (optionally only some roles)."""
    host = PluginHost()
    for role_name in roles or ROLES:
        role = ROLES[role_name]
        for name, options in selected(role, cfg).items():
            host.add(role, name, build_plugin(role, name, options))
    return host


def _section(cfg: Mapping[str, Any], dotted: str) -> Any:
    """``cfg["features"]["store"]`` for ``"features.store"``; None where any part is absent."""
    node: Any = cfg
    for part in dotted.split("."):
        if node is None or not hasattr(node, "get"):
            return None
        node = node.get(part)
    return node


def _plain(value: Any) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value
