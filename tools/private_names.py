"""An import-linter contract: no private name (`_name`) is imported across modules.

import-linter's own `private_modules` contract covers private *modules* of the root packages, but
not private *names* (`from extractors.mail.patches import _PULL`), and ruff's `PLC2701` (preview
only) skips imports inside the same top-level package, which is where they happen. This contract
reads each module of the root packages and reports:

- `from a.b import _name` (or `b._name` on an imported module) where `_name` is a function, class
  or variable defined in another module `a.b`: a private name crossing modules;
- any import through a private module of a package outside the root packages
  (`from dagster._core.errors import ...`): another project's internals, which can change without
  notice.

A private name that is not defined in a package's `__init__.py` is taken to be a module (a C
extension module such as `extractors.mail._scan`, which grimp does not see): using it from inside
its package is what the leading underscore allows. Dunder names (`__version__`) are public.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import grimp
from importlinter.application import contract_utils, output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@dataclass(frozen=True, order=True)
class PrivateImport:
    importer: str
    line: int
    imported: str  # dotted: the module, then the private name


@dataclass(frozen=True)
class SourceFile:
    path: Path
    is_package: bool


class SourceTree:
    """Where the source of each module of the root packages is, and what its top level defines."""

    def __init__(self, root_packages: list[str]) -> None:
        self.roots: dict[str, Path] = {}
        for root in root_packages:
            spec = importlib.util.find_spec(root)
            if spec is not None and spec.submodule_search_locations:
                self.roots[root] = Path(next(iter(spec.submodule_search_locations)))

    @cache  # noqa: B019 - one tree per lint run; the cache lives exactly as long as it
    def source(self, module: str) -> SourceFile | None:
        root, *rest = module.split(".")
        if root not in self.roots:
            return None
        base = self.roots[root].joinpath(*rest)
        if (base / "__init__.py").is_file():
            return SourceFile(base / "__init__.py", is_package=True)
        if base.with_suffix(".py").is_file():
            return SourceFile(base.with_suffix(".py"), is_package=False)
        return None

    @cache  # noqa: B019
    def top_level_names(self, module: str) -> frozenset[str]:
        found = self.source(module)
        return frozenset(bound_names(ast.parse(found.path.read_bytes()).body)) if found else frozenset()


def bound_names(body: list[ast.stmt]) -> set[str]:
    """The names a module's top level binds, including inside `if`/`try`/`with` blocks."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.If | ast.For | ast.While | ast.With | ast.Try):
            for block in ("body", "orelse", "finalbody"):
                names |= bound_names(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                names |= bound_names(handler.body)
    return names


def dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a chain of attribute accesses on a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (head := dotted(node.value)):
        return f"{head}.{node.attr}"
    return None


class ModuleChecker:
    """Finds the private imports of one module."""

    def __init__(self, tree: SourceTree, modules: set[str], module: str) -> None:
        self.tree, self.modules, self.module = tree, modules, module
        self.found: set[PrivateImport] = set()
        self.aliases: dict[str, str] = {}  # local name -> first-party module it is bound to

    def run(self) -> set[PrivateImport]:
        source = self.tree.source(self.module)
        if source is None:
            return set()
        syntax = ast.parse(source.path.read_bytes(), filename=str(source.path))
        package = self.module if source.is_package else self.module.rpartition(".")[0]
        for node in ast.walk(syntax):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.check_module_path(alias.name, node.lineno)
                    local = alias.asname or alias.name.split(".")[0]
                    target = alias.name if alias.asname else local
                    if target in self.modules:
                        self.aliases[local] = target
            elif isinstance(node, ast.ImportFrom):
                base = resolve(package, node.level, node.module)
                self.check_module_path(base, node.lineno)
                for alias in node.names:
                    if alias.name != "*":
                        self.check_name(base, alias.name, node.lineno)
                    if f"{base}.{alias.name}" in self.modules:
                        self.aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
        # attribute access on imported modules (`patches._walk`) is the same import in disguise
        for node in ast.walk(syntax):
            if isinstance(node, ast.Attribute) and (chain := dotted(node.value)):
                head, _, rest = chain.partition(".")
                if head in self.aliases:
                    target = f"{self.aliases[head]}.{rest}" if rest else self.aliases[head]
                    if target in self.modules:
                        self.check_name(target, node.attr, node.lineno)
        return self.found

    def check_module_path(self, dotted_module: str, line: int) -> None:
        # private modules of the root packages are import-linter's `private_modules` contract
        if dotted_module.split(".")[0] not in self.tree.roots and any(
            is_private(part) for part in dotted_module.split(".")
        ):
            self.found.add(PrivateImport(self.module, line, dotted_module))

    def check_name(self, base: str, name: str, line: int) -> None:
        if not is_private(name) or f"{base}.{name}" in self.modules:
            return
        if base.split(".")[0] not in self.tree.roots:
            self.found.add(PrivateImport(self.module, line, f"{base}.{name}"))
            return
        source = self.tree.source(base)
        if source is None or base == self.module:
            return
        # a package's private name that its __init__ does not define is a (compiled) submodule
        if not source.is_package or name in self.tree.top_level_names(base):
            self.found.add(PrivateImport(self.module, line, f"{base}.{name}"))


def resolve(package: str, level: int, module: str | None) -> str:
    """The absolute module of `from <dots><module> import ...` written inside `package`."""
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


class PrivateNamesContract(Contract):
    type_name = "private_names"

    broken_contract_guidance = fields.TextField(required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        tree = SourceTree(list(self.session_options["root_packages"]))
        modules = set(graph.modules)
        found: set[PrivateImport] = set()
        for module in sorted(modules):
            output.verbose_print(verbose, f"Reading the imports of {module}...")
            found |= ModuleChecker(tree, modules, module).run()
        return ContractCheck(kept=not found, metadata={"private_imports": sorted(found)})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Private names may only be used inside the module that defines them:", bold=False)
        output.new_line()
        for item in check.metadata["private_imports"]:
            output.print_error(f"- {item.importer} -> {item.imported} (l.{item.line})", bold=False)
        output.new_line()
        contract_utils.render_broken_contract_guidance(self.broken_contract_guidance)  # type: ignore[arg-type]
