"""Compatibility guard: every Home Assistant name the integration imports must exist in the oldest
supported release (the installed one) and in the newest release on PyPI, nothing the newest
release marks deprecated may be used, and no API that newer releases removed may be used.

The newest release needs a newer Python than ours, so its source is read, never imported: with
`ast` where our Python can parse it, else with a line scan.
"""

from __future__ import annotations

import argparse
import ast
from dataclasses import dataclass
import importlib
from pathlib import Path
import re
import subprocess
import sys
import zipfile

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = REPO_ROOT / "custom_components" / "email_incidents"
CACHE = REPO_ROOT / ".cache" / "ha-newest"
NEWEST_PYTHON = "3.14.2"


@dataclass(frozen=True, order=True)
class ImportedName:
    """`from module import name`, or `import module` with an empty name."""

    module: str
    name: str
    where: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}" if self.name else self.module


@dataclass(frozen=True)
class ForbiddenApi:
    pattern: re.Pattern[str]
    why: str


FORBIDDEN_APIS = (
    ForbiddenApi(
        re.compile(r"\basync_track_state_change\b(?!_)"),
        "async_track_state_change was removed; use async_track_state_change_event",
    ),
    ForbiddenApi(re.compile(r"\bhass\.helpers\b"), "hass.helpers was removed; import helpers"),
    ForbiddenApi(
        re.compile(r"\basync_forward_entry_setup\("),
        "async_forward_entry_setup was removed; use async_forward_entry_setups",
    ),
    ForbiddenApi(
        re.compile(r"\bself\.config_entry\s*=(?!=)"),
        "options flows must not set self.config_entry (removed in 2025.12)",
    ),
    ForbiddenApi(
        re.compile(r"\basync_update_reload_and_abort\b"),
        "async_update_reload_and_abort reloads twice next to our update listener",
    ),
    ForbiddenApi(re.compile(r"\basync_setup_platforms\b"), "async_setup_platforms was removed"),
    ForbiddenApi(
        re.compile(r"\bAddEntitiesCallback\b"),
        "use AddConfigEntryEntitiesCallback for config entry platforms",
    ),
)


def imported_names(root: Path) -> list[ImportedName]:
    """Every `homeassistant` import in the integration's Python files."""
    found: set[ImportedName] = set()
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] == "homeassistant":
                    found.update(
                        ImportedName(node.module, alias.name, where) for alias in node.names
                    )
            elif isinstance(node, ast.Import):
                found.update(
                    ImportedName(alias.name, "", where)
                    for alias in node.names
                    if alias.name.split(".")[0] == "homeassistant"
                )
    return sorted(found)


def forbidden_uses(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            problems.extend(
                f"{path.relative_to(root).as_posix()}:{number}: {api.why}"
                for api in FORBIDDEN_APIS
                if api.pattern.search(line)
            )
    return problems


def exists_installed(imported: ImportedName) -> bool:
    try:
        module = importlib.import_module(imported.module)
    except ImportError:
        return False
    if not imported.name:
        return True
    if hasattr(module, imported.name):
        return True
    try:
        importlib.import_module(f"{imported.module}.{imported.name}")
    except ImportError:
        return False
    return True


@dataclass
class Deprecations:
    """What one module of a release marks deprecated."""

    module_level: set[str]  # its functions, classes, constants and aliases
    members: set[str]  # methods and properties of its classes
    parameters: set[str]  # keyword parameters of the functions and classes it defines
    defined: set[str]  # every function, method and class it defines


# The ways Home Assistant marks something deprecated: a report_usage message ("calls
# `device_registry.async_get_device`, which is deprecated ..."), @deprecated_function or
# @deprecated_class, _DEPRECATED_X = DeprecatedConstant(...) or DeprecatedAlias(...) for X,
# a table _DEPRECATED_..._PARAMETERS = {"via_device": ...}, and ":param x: Deprecated." in a
# docstring.
_DEPRECATED_MESSAGE = re.compile(
    r"(?:calls|accesses|uses|passes) `?(?:[\w.]+\.)?(\w+)`?,? which is deprecated"
)
_DEPRECATED_DECORATOR = re.compile(r"^\s*@deprecated_(?:function|class)\b")
_DEFINITION = re.compile(r"^(\s*)(?:async\s+def|def|class)\s+(\w+)")
_DEPRECATED_CONSTANT = re.compile(r"^_DEPRECATED_(\w+)\s*=\s*Deprecated\w*\(")
_DEPRECATED_TABLE = re.compile(r"^_DEPRECATED_\w+\s*(?::[^=]*)?=\s*\{")
_TABLE_KEY = re.compile(r'^\s+"(\w+)"\s*:')
_DEPRECATED_PARAMETER = re.compile(r":param (\w+): Deprecated\b")
# Implicit concatenation of string literals over lines: joined, a message is on one line.
_STRING_BREAK = re.compile(r"[\"']\s*\n\s*[rf]*[\"']")


def deprecations(source: str) -> Deprecations:
    """Read from the source, never imported, so that any Python can read any release. A
    function that reports its own use is module-level when it is; everything else reported
    inside a class is one of its members."""
    found = Deprecations(set(), set(), set(_DEPRECATED_PARAMETER.findall(source)), set())
    top_level = ""  # the module-level function or class the line is in
    decorated = in_table = False
    for line in _STRING_BREAK.sub("", source).splitlines():
        if in_table:
            in_table = not line.startswith("}")
            if match := _TABLE_KEY.match(line):
                found.parameters.add(match[1])
            continue
        if match := _DEFINITION.match(line):
            indent, name = match.groups()
            found.defined.add(name)
            if not indent:
                top_level = name
            if decorated:
                (found.members if indent else found.module_level).add(name)
                decorated = False
        elif _DEPRECATED_DECORATOR.match(line):
            decorated = True
        elif match := _DEPRECATED_CONSTANT.match(line):
            found.module_level.add(match[1])
        elif _DEPRECATED_TABLE.match(line):
            in_table = True
        for name in _DEPRECATED_MESSAGE.findall(line):
            (found.module_level if name == top_level else found.members).add(name)
    return found


class SourceTree:
    """Top-level names of the modules in an unpacked release, read without importing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, set[str] | None] = {}
        self._deprecations: dict[str, Deprecations | None] = {}

    def deprecations(self, module: str) -> Deprecations | None:
        if module not in self._deprecations:
            path = self.module_path(module)
            self._deprecations[module] = (
                None if path is None else deprecations(path.read_text(encoding="utf-8"))
            )
        return self._deprecations[module]

    def module_path(self, module: str) -> Path | None:
        base = self.root.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def names(self, module: str) -> set[str] | None:
        if module not in self._cache:
            path = self.module_path(module)
            self._cache[module] = None if path is None else _top_level_names(path)
        return self._cache[module]

    def has(self, imported: ImportedName) -> bool:
        names = self.names(imported.module)
        if names is None:
            return False
        if not imported.name or imported.name in names:
            return True
        return self.module_path(f"{imported.module}.{imported.name}") is not None


_LINE_DEFINITION = re.compile(
    r"^(?:async\s+def|def|class|type)\s+(\w+)|^(\w+)\s*(?::[^=]*)?=|^(\w+)\s*:",
)
_LINE_IMPORT = re.compile(r"^(?:from\s+\S+\s+)?import\s+\(?([^#]*)")


def _top_level_names(path: Path) -> set[str]:
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return _scan_top_level_names(source)
    names: set[str] = set()
    for node in tree.body:
        names.update(_names_bound_by(node))
    return names


def _names_bound_by(node: ast.stmt) -> set[str]:
    match node:
        case ast.FunctionDef(name=name) | ast.AsyncFunctionDef(name=name) | ast.ClassDef(name=name):
            return {name}
        case ast.Assign(targets=targets):
            return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        case ast.AnnAssign(target=ast.Name(id=name)) | ast.TypeAlias(name=ast.Name(id=name)):
            return {name}
        case ast.Import(names=aliases) | ast.ImportFrom(names=aliases):
            return {(a.asname or a.name).split(".")[0] for a in aliases}
        case ast.If(body=body, orelse=orelse) | ast.Try(body=body, orelse=orelse):
            bound: set[str] = set()
            for child in [*body, *orelse, *getattr(node, "handlers", ())]:
                if isinstance(child, ast.ExceptHandler):
                    for inner in child.body:
                        bound |= _names_bound_by(inner)
                else:
                    bound |= _names_bound_by(child)
            return bound
    return set()


_BLOCK_HEADER = re.compile(r"^(?:if|elif|else|try|except|finally)\b.*:\s*(?:#.*)?$")


def _scan_top_level_names(source: str) -> set[str]:
    """Fallback for source our Python cannot parse (newer syntax): definitions and imports at
    module level, also inside module-level if/else and try blocks, which is where a module's
    public names live."""
    names: set[str] = set()
    in_import = False
    in_block = False
    for raw_line in source.splitlines():
        line = raw_line
        if raw_line and not raw_line[0].isspace():
            in_block = bool(_BLOCK_HEADER.match(raw_line))
        elif in_block and raw_line.startswith("    ") and not raw_line.startswith("     "):
            line = raw_line[4:]
        if in_import:
            names.update(_import_aliases(line))
            in_import = ")" not in line
            continue
        if match := _LINE_DEFINITION.match(line):
            names.add(next(group for group in match.groups() if group))
        elif match := _LINE_IMPORT.match(line):
            names.update(_import_aliases(match.group(1)))
            in_import = "(" in line and ")" not in line
    return names


def _import_aliases(text: str) -> set[str]:
    aliases = set()
    for part in text.replace(")", "").split(","):
        words = part.split()
        if words:
            aliases.add(words[-1].split(".")[0])
    return aliases


def newest_release(cache: Path) -> tuple[str, SourceTree]:
    """Download (once) and unpack the newest `homeassistant` wheel for the newest Python."""
    cache.mkdir(parents=True, exist_ok=True)
    wheels = cache / "wheels"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--python-version", NEWEST_PYTHON,
            "--dest", str(wheels), "homeassistant",
        ],
        check=True,
    )  # fmt: skip
    wheel = max(wheels.glob("homeassistant-*.whl"), key=_wheel_version)
    version = ".".join(map(str, _wheel_version(wheel)))
    unpacked = cache / f"homeassistant-{version}"
    if not (unpacked / "homeassistant" / "const.py").is_file():
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist() if m.startswith("homeassistant/")]
            archive.extractall(unpacked, members)
    return version, SourceTree(unpacked)


def _wheel_version(wheel: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", wheel.name.split("-")[1])[:3])


def check(names: list[ImportedName], newest: SourceTree, forbidden: list[str]) -> list[str]:
    """Every problem found, one line each; empty when all is well."""
    problems = list(forbidden)
    for imported in names:
        if not exists_installed(imported):
            problems.append(f"{imported.where}: {imported} is missing from the installed release")
        if not newest.has(imported):
            problems.append(f"{imported.where}: {imported} is missing from the newest release")
    return problems


def deprecated_uses(root: Path, names: list[ImportedName], newest: SourceTree) -> list[str]:
    """Uses in the integration of what the newest release marks deprecated in the modules it
    imports: names imported from a module or read from it, methods and properties by name,
    keyword arguments to the functions and classes of the module that deprecates them."""
    modules = {name.module for name in names} | {f"{n.module}.{n.name}" for n in names if n.name}
    marked = {module: found for module in sorted(modules) if (found := newest.deprecations(module))}
    problems = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = _module_aliases(tree, marked)
        for node in ast.walk(tree):
            problems.extend(
                f"{where}:{getattr(node, 'lineno', 0)}: {module}: `{name}` is deprecated in "
                "the newest release"
                for module, name in _deprecated_in(node, marked, aliases)
            )
    return problems


def _module_aliases(tree: ast.Module, marked: dict[str, Deprecations]) -> dict[str, str]:
    """The names the file gives the marked modules (`device_registry as dr`: dr)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if (module := f"{node.module}.{alias.name}") in marked:
                    aliases[alias.asname or alias.name] = module
        elif isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname and a.name in marked})
    return aliases


def _deprecated_in(
    node: ast.AST, marked: dict[str, Deprecations], aliases: dict[str, str]
) -> list[tuple[str, str]]:
    match node:
        case ast.ImportFrom(module=str(module), level=0) if module in marked:
            return [(module, a.name) for a in node.names if a.name in marked[module].module_level]
        case ast.Attribute(value=ast.Name(id=alias), attr=attr) if (
            alias in aliases and attr in marked[aliases[alias]].module_level
        ):
            return [(aliases[alias], attr)]
        case ast.Attribute(attr=attr):
            return [(module, attr) for module, found in marked.items() if attr in found.members]
        case ast.Call(func=ast.Attribute(attr=callee) | ast.Name(id=callee), keywords=keywords):
            return [
                (module, keyword.arg)
                for keyword in keywords
                for module, found in marked.items()
                if keyword.arg in found.parameters and callee in found.defined
            ]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--integration", type=Path, default=INTEGRATION)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args(argv)

    from homeassistant.const import __version__ as installed_version

    newest_version, newest = newest_release(args.cache)
    names = imported_names(args.integration)
    problems = check(names, newest, forbidden_uses(args.integration))
    problems += deprecated_uses(args.integration, names, newest)
    for problem in problems:
        print(problem)
    print(
        f"check-ha-api: {len(names)} Home Assistant names checked against "
        f"{installed_version} (installed) and {newest_version} (newest): "
        + ("OK" if not problems else f"{len(problems)} problem(s)")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
