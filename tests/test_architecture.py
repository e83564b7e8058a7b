"""The portal's dependencies point one way, and no modules import each other in a circle.

    lib  ←  partners  ←  audit  ←  accounts  ←  live, integrations  ←  vms  ←  webhooks, usage  ←  jobs  ←  portal

Every module of these packages is parsed (not imported), with the imports inside functions too, and the
graph of module imports is checked. Tests, and the helpers they share under `tests/`, are not part of it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. An app may import its own layer's modules and those of the layers below it; apps of
# one layer do not import each other.
LAYERS: list[set[str]] = [
    {"lib"},
    {"partners"},  # the tenant, its credentials, the partner (HMAC) client
    # The audit log: below accounts, whose own writes (Disconnect, scope grants) it records; it knows
    # the partner and, by AUTH_USER_MODEL, the person, nothing of the domain. Its page, which needs
    # accounts' role guard, is in portal.
    {"audit"},
    {"accounts"},  # users, sign-in, tokens, roles and scopes
    {"live", "integrations"},  # the live outbox and stream; NovaCron's integrations pages
    {"vms"},  # the cache of VMs, clusters, migrations and its pages
    # webhooks: the receiver, processing, subscriptions, both delivery logs;
    # usage: daily and monthly usage rolled up from vms' state intervals, its page and CSV
    {"webhooks", "usage"},
    # Bulk actions as jobs: act on cached VMs through vms' write path and notify through webhooks'
    # notifications; a finished migration reaches them through vms.cache's hook, not an import.
    {"jobs"},
    {"portal"},  # settings, URLs, Celery, health, error pages
]
LAYER_OF = {app: index for index, apps in enumerate(LAYERS) for app in apps}
# live knows the partner and nothing else of the domain.
LIVE_MAY_USE_OF_PARTNERS = {"partners.models"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def portal_modules() -> dict[str, Path]:
    modules = {}
    for app in LAYER_OF:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" not in path.relative_to(ROOT).parts:
                modules[_module_name(path)] = path
    return modules


def _imported_names(name: str, path: Path) -> Iterator[str]:
    """Dotted names this module imports; `from x import y` yields `x.y` (a module, or a name of x)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            yield from (f"{source}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module → the portal modules it imports (the nearest enclosing module of each imported name)."""
    modules = portal_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imported_names(name, path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _app(module: str) -> str:
    return module.partition(".")[0]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports (its modules in order, the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for target in sorted(graph[module]):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done and (cycle := visit(target)):
                return cycle
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done and (cycle := visit(module)):
            return cycle
    return None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            source_app, target_app = _app(module), _app(target)
            if source_app == target_app:
                continue
            if LAYER_OF[target_app] >= LAYER_OF[source_app]:
                wrong.append(f"{module} imports {target} ({source_app} may not import {target_app})")
            elif source_app == "live" and target_app == "partners" and target not in LIVE_MAY_USE_OF_PARTNERS:
                wrong.append(f"{module} imports {target} (live knows only the Partner model)")
    return wrong


def test_every_portal_app_is_in_a_layer() -> None:
    apps = {path.parent.name for path in ROOT.glob("*/apps.py")} - {"sandbox"}
    assert apps <= set(LAYER_OF), f"apps missing from LAYERS: {sorted(apps - set(LAYER_OF))}"


def test_no_modules_import_each_other_in_a_circle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " → ".join(cycle or [])


def test_no_app_imports_an_app_above_it() -> None:
    wrong = upward_imports(import_graph())
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_partners_imports_nothing_of_webhooks_live_or_vms() -> None:
    graph = import_graph()
    wrong = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        if _app(module) == "partners"
        for target in sorted(targets)
        if _app(target) in {"webhooks", "live", "vms"}
    ]
    assert not wrong, "\n".join(wrong)


def test_app_tests_share_helpers_only_through_the_tests_package() -> None:
    """A helper one app's tests take from another app's tests belongs under `tests/`."""
    wrong = []
    for app in LAYER_OF:
        for path in sorted((ROOT / app).glob("tests/**/*.py")):
            name = _module_name(path)
            for imported in _imported_names(name, path):
                if ".tests" in imported and _app(imported) != app and _app(imported) in LAYER_OF:
                    wrong.append(f"{name} imports {imported}")
    assert not wrong, "\n".join(wrong)
