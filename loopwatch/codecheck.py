"""Reading async view code without running it: what `manage.py check --tag loopwatch` finds.

    >>> for finding in view_findings(BookDetailView):
    ...     print(finding.where, finding.message)

Two kinds of finding, each at its `file:line`:

- `super_await`: an async handler that does `await super().get(...)` where the parent's `get`
  is synchronous (the guide's TemplateView and DetailView examples). The parent returns a
  response, and awaiting a response raises TypeError on every request (or, for a parent that
  queries the database, Django raises SynchronousOnlyOperation first).
- `blocking`: a known blocking call inside an async function of a view: `time.sleep`,
  `requests.*`, `urllib.request.urlopen`, `open()`, `subprocess.*`, or a queryset evaluated
  without an `a`-method (iterated, `list()`-ed, `.get()`, `.first()`, `.count()`...).

Code inside nested functions and lambdas is left alone: it may well run in a thread
(`sync_to_async(helper)`). Names are resolved through the module's imports, so
`from time import sleep` is found and `asyncio.sleep` is not.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction

from loopwatch import stacks

BLOCKING_CALLS = {
    "time.sleep": "time.sleep() blocks the whole loop: use await asyncio.sleep(...).",
    "urllib.request.urlopen": (
        "urlopen() blocks the loop until the server answers: use an async client "
        "(httpx.AsyncClient) or await sync_to_async(urlopen)(...)."
    ),
    "open": (
        "File I/O blocks the loop: await asyncio.to_thread(...) or sync_to_async(...) around "
        "the read or write."
    ),
}
BLOCKING_MODULES = {
    "requests": (
        "requests blocks the loop until the server answers: use httpx.AsyncClient "
        "(one client shared by the process, `await client.get(...)`: creating a client per "
        "request reads the CA bundle on the loop)."
    ),
    "subprocess": (
        "subprocess waits for the child process on the loop: use "
        "await asyncio.create_subprocess_exec(...)."
    ),
}
ORM_HINT = (
    "Use the async API (await qs.aget(), acount(), afirst(), async for obj in qs) or "
    "await sync_to_async(list)(qs)."
)
# QuerySet methods that return another lazy QuerySet (nothing runs yet).
LAZY_METHODS = frozenset(
    {
        "all",
        "filter",
        "exclude",
        "order_by",
        "select_related",
        "prefetch_related",
        "values",
        "values_list",
        "annotate",
        "alias",
        "distinct",
        "only",
        "defer",
        "using",
        "none",
        "reverse",
        "union",
        "intersection",
        "difference",
        "extra",
        "select_for_update",
        "dates",
        "datetimes",
    }
)
# QuerySet methods that run a query (each has an `a`-twin).
EVALUATING_METHODS = frozenset(
    {
        "get",
        "first",
        "last",
        "count",
        "exists",
        "aggregate",
        "earliest",
        "latest",
        "in_bulk",
        "create",
        "get_or_create",
        "update_or_create",
        "update",
        "delete",
        "bulk_create",
        "bulk_update",
        "contains",
        "explain",
        "iterator",
    }
)
# Builtins that evaluate an iterable passed to them.
EVALUATING_BUILTINS = frozenset(
    {
        "list",
        "tuple",
        "set",
        "frozenset",
        "len",
        "bool",
        "sorted",
        "any",
        "all",
        "sum",
        "max",
        "min",
        "dict",
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One mistake in view code: which check, where, what and what to do about it."""

    check: str  # "super_await" | "blocking"
    file: str
    line: int
    function: str
    message: str
    hint: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def view_findings(target: Any) -> list[Finding]:
    """Findings in the async functions of a view class (and its own bases), or a view function."""
    if inspect.isclass(target):
        found = []
        for owner in target.__mro__:
            if not _is_user_code(owner):
                continue
            for name, member in vars(owner).items():
                function = inspect.unwrap(member) if callable(member) else None
                if function is not None and iscoroutinefunction(function):
                    found += function_findings(function, target, owner, name)
        return found
    if callable(target) and iscoroutinefunction(target) and _is_user_code(target):
        return function_findings(target, None, None, getattr(target, "__name__", "?"))
    return []


def function_findings(
    function: Any, view_class: type | None, owner: type | None, name: str
) -> list[Finding]:
    """Findings in one async function; `owner` is the class defining it (for `super()`)."""
    try:
        lines, first = inspect.getsourcelines(function)
        filename = inspect.getsourcefile(function) or ""
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return []
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.AsyncFunctionDef):
        return []
    scope = _Scope(_module_imports(filename), first - 1, stacks.display_path(filename))
    scope.imports.update(_local_imports(node))
    qualname = getattr(function, "__qualname__", name)
    found = []
    for child in _own_nodes(node):
        if view_class is not None and owner is not None:
            parent = _sync_parent_awaited(child, view_class, owner)
            if parent is not None:
                found.append(scope.finding("super_await", child, qualname, *_super_text(parent)))
        scope.note_assignment(child)
        blocking = scope.blocking(child)
        if blocking is not None:
            found.append(scope.finding("blocking", child, qualname, *blocking))
    return found


# -- super() ------------------------------------------------------------------------------------


def _sync_parent_awaited(node: ast.AST, view_class: type, owner: type) -> Any:
    """For `await super().m(...)`: the parent's `m` when it is synchronous, else None."""
    if not isinstance(node, ast.Await) or not isinstance(node.value, ast.Call):
        return None
    func = node.value.func
    if not (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Call)
        and isinstance(func.value.func, ast.Name)
        and func.value.func.id == "super"
    ):
        return None
    mro = view_class.__mro__
    if owner not in mro:
        return None
    for parent_class in mro[mro.index(owner) + 1 :]:
        if func.attr in vars(parent_class):
            parent = vars(parent_class)[func.attr]
            if (
                callable(parent)
                and not iscoroutinefunction(inspect.unwrap(parent))
                and not _is_async_aware(parent)
            ):
                return parent
            return None
    return None


def _is_async_aware(parent: Any) -> bool:
    """`View.dispatch`, `options`, `http_method_not_allowed`: sync, but awaitable when async.

    `dispatch` returns what the handler returns (a coroutine for async handlers) and the
    other two wrap their response in a coroutine when the view is async, so the guide's
    `await super().dispatch(...)` is right.
    """
    from django.views import View

    return any(parent is vars(View).get(name) for name in _VIEW_PASS_THROUGH)


_VIEW_PASS_THROUGH = ("dispatch", "options", "http_method_not_allowed")


def _super_text(parent: Any) -> tuple[str, str]:
    name = getattr(parent, "__qualname__", repr(parent))
    if name in _QUERYING_PARENTS:
        failure = (
            "it queries the database with the sync ORM on the event loop, which Django refuses "
            "(SynchronousOnlyOperation) on every request, before the await is even reached."
        )
    else:
        failure = (
            "it returns a response, and awaiting a response raises TypeError on every request."
        )
    return (
        f"`await super().{parent.__name__}(...)` awaits {name}, which is synchronous: {failure}",
        f"Call the parent in a thread: return await sync_to_async(super().{parent.__name__})"
        "(request, *args, **kwargs); or drop the await when the parent does no I/O "
        "(TemplateView.get only builds an unrendered TemplateResponse; DetailView.get and "
        "ListView.get query the database).",
    )


# Django's generic-view handlers that run a query themselves (the object or the list).
_QUERYING_PARENTS = frozenset(
    {
        "BaseDetailView.get",
        "BaseListView.get",
        "BaseUpdateView.get",
        "BaseUpdateView.post",
        "BaseDeleteView.post",
        "DeletionMixin.delete",
    }
)


# -- blocking calls -----------------------------------------------------------------------------


class _Scope:
    """Names known in one async function: imports, and local names bound to querysets."""

    def __init__(self, imports: dict[str, str], offset: int, file: str) -> None:
        self.imports = dict(imports)
        self.offset = offset
        self.file = file
        self.querysets: set[str] = set()

    def finding(self, check: str, node: ast.AST, function: str, message: str, hint: str) -> Finding:
        # A comprehension's `for` clause has no position of its own: use its iterable's.
        located = node.iter if isinstance(node, ast.comprehension) else node
        line = getattr(located, "lineno", 1) + self.offset
        return Finding(check, self.file, line, function, message, hint)

    def note_assignment(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                if self.is_queryset(node.value):
                    self.querysets.add(target.id)
                else:
                    self.querysets.discard(target.id)

    def dotted(self, node: ast.AST) -> str | None:
        """`time.sleep` for `time.sleep`, `t.sleep` (import time as t), `sleep` (from time ...)."""
        if isinstance(node, ast.Name):
            if node.id in self.imports:
                return self.imports[node.id]
            return node.id if hasattr(builtins, node.id) else None
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def is_queryset(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Attribute):
            return node.attr == "objects"
        if isinstance(node, ast.Name):
            return node.id in self.querysets
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr in LAZY_METHODS and self.is_queryset(node.func.value)
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            return self.is_queryset(node.value)
        return False

    def blocking(self, node: ast.AST) -> tuple[str, str] | None:
        """(message, hint) when `node` itself blocks the loop."""
        if isinstance(node, ast.Call):
            return self._blocking_call(node)
        if isinstance(node, ast.For) and self.is_queryset(node.iter):
            return self._evaluates("iterating a queryset with a plain for loop")
        if (
            isinstance(node, ast.comprehension)
            and not node.is_async
            and self.is_queryset(node.iter)
        ):
            return self._evaluates("iterating a queryset in a comprehension")
        if (
            isinstance(node, ast.Subscript)
            and not isinstance(node.slice, ast.Slice)
            and self.is_queryset(node.value)
        ):
            return self._evaluates("indexing a queryset")
        return None

    def _blocking_call(self, node: ast.Call) -> tuple[str, str] | None:
        name = self.dotted(node.func)
        if name in BLOCKING_CALLS:
            return f"{name}() blocks the event loop in an async function.", BLOCKING_CALLS[name]
        module = name.split(".", 1)[0] if name else None
        if name and module in BLOCKING_MODULES and "." in name:
            return f"{name}() blocks the event loop in an async function.", BLOCKING_MODULES[module]
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in EVALUATING_METHODS
            and self.is_queryset(func.value)
        ):
            return self._evaluates(f".{func.attr}() without its async twin .a{func.attr}()")
        if name in EVALUATING_BUILTINS and node.args and self.is_queryset(node.args[0]):
            return self._evaluates(f"{name}() of a queryset")
        return None

    @staticmethod
    def _evaluates(how: str) -> tuple[str, str]:
        return f"The ORM runs a query on the event loop: {how}.", ORM_HINT


def _own_nodes(function: ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """Every node of the function body in source order, not entering nested functions."""
    stack: list[ast.AST] = list(reversed(function.body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _local_imports(function: ast.AsyncFunctionDef) -> dict[str, str]:
    return _imports(_own_nodes(function))


@functools.lru_cache(maxsize=256)
def _module_imports(filename: str) -> dict[str, str]:
    try:
        with open(filename, encoding="utf-8") as source:
            tree = ast.parse(source.read())
    except (OSError, SyntaxError, ValueError):
        return {}
    return _imports(tree.body)


def _imports(nodes: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _is_user_code(obj: Any) -> bool:
    try:
        filename = inspect.getsourcefile(obj)
    except TypeError:
        return False
    return filename is not None and stacks.is_user_file(filename)
