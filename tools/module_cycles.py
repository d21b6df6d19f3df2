"""An import-linter contract: no import cycle between modules, a package's `__init__` included.

import-linter's `acyclic_siblings` finds cycles between the children of a package, each child
counted with its descendants. A package's `__init__.py` is not a sibling of its own modules, so a
cycle through it (`charts/__init__.py` imports `charts.style`, which imports a name from `charts`)
escapes that contract, although Python runs into it the same way. This contract looks at the
module graph itself and prints, for each group of modules that import each other, one chain that
closes a cycle and every import between the group's modules with its line: what a reader needs to
cut it.
"""

from __future__ import annotations

import grimp
from importlinter.application import contract_utils, output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def strongly_connected(edges: dict[str, list[str]]) -> list[list[str]]:
    """The groups of two or more modules that import each other, directly or not (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    for start in sorted(edges):
        if start in index:
            continue
        # iterative, so a long chain of imports cannot exhaust the recursion limit
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(edges[successor])))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return sorted(groups)


def cycle_through(first: str, group: set[str], edges: dict[str, list[str]]) -> list[str]:
    """A shortest chain first -> ... -> first inside the group (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [first]
    while frontier:
        following = []
        for node in frontier:
            for successor in edges[node]:
                if successor not in group:
                    continue
                if successor == first:
                    chain = [node]
                    while chain[-1] != first:
                        chain.append(previous[chain[-1]])
                    return [first, *reversed(chain[:-1]), first]
                if successor not in previous:
                    previous[successor] = node
                    following.append(successor)
        frontier = following
    return [first]


class ModuleCyclesContract(Contract):
    type_name = "module_cycles"

    broken_contract_guidance = fields.TextField(required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        edges = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
        cycles = []
        for group in strongly_connected(edges):
            members = set(group)
            links = []
            for importer in group:
                for imported in edges[importer]:
                    if imported in members:
                        details = graph.get_import_details(importer=importer, imported=imported)
                        lines = ", ".join(str(d["line_number"]) for d in details)
                        links.append((importer, imported, lines))
            chain = cycle_through(group[0], members, edges)
            cycles.append({"chain": chain, "links": links})
            output.verbose_print(verbose, f"Cycle: {' -> '.join(chain)}")
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(f"Cycle: {' -> '.join(cycle['chain'])}", bold=False)
            output.print_error("Imports between its modules:", bold=False)
            for importer, imported, lines in cycle["links"]:
                output.print_error(f"- {importer} -> {imported} (l.{lines})", bold=False)
            output.new_line()
        contract_utils.render_broken_contract_guidance(self.broken_contract_guidance)  # type: ignore[arg-type]
