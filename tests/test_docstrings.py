"""Every public function and class has a numpy-style docstring with a runnable example.

The public API is every module under ``ecg_cluster_widget`` whose dotted name has no
component starting with ``_``; in each, the functions and classes it defines whose names do
not start with ``_`` (the ``cmd_*`` handlers of ``ecg_cluster_widget.cli`` are internal).
Public methods of public classes need a docstring; their Examples are optional. The doctests
of every module run too, with small shared fixtures (:func:`doctest_fixtures`: ``tlc``, ``ds``,
``bundle``, ``w``) in a temporary folder; examples that need Jupyter, real data, a network or
take long carry ``# doctest: +SKIP``.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import pkgutil
import re
import textwrap
from types import ModuleType

import numpy as np
import pytest

import ecg_cluster_widget

PACKAGE = ecg_cluster_widget.__name__


def _public_modules() -> list[ModuleType]:
    modules = [ecg_cluster_widget]
    for info in pkgutil.walk_packages(ecg_cluster_widget.__path__, prefix=PACKAGE + "."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        modules.append(importlib.import_module(info.name))
    return modules


MODULES = _public_modules()


def _has_section(doc: str, *names: str) -> bool:
    return any(re.search(rf"^{name}\n-{{3,}}\s*$", doc, re.M) for name in names)


def _takes_arguments(obj) -> bool:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    params = [p for name, p in sig.parameters.items() if name not in ("self", "cls")]
    return bool(params)


def _returns_value(func) -> bool:
    """Whether a function returns something: by annotation, else by its ``return`` statements."""
    ann = inspect.signature(func).return_annotation
    if ann is not inspect.Signature.empty:
        return ann not in (None, "None", "NoReturn", "Never")
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0]
    nodes = [n for n in ast.walk(body) if isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom))]
    # Ignore returns of nested functions.
    nested = [
        n
        for n in ast.walk(body)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and n is not body
    ]
    inner = {id(x) for n in nested for x in ast.walk(n)}
    return any(
        id(n) not in inner and (not isinstance(n, ast.Return) or n.value is not None) for n in nodes
    )


def _public_objects():
    for module in MODULES:
        for name, obj in vars(module).items():
            if name.startswith("_"):
                continue
            if module.__name__ == f"{PACKAGE}.cli" and name.startswith("cmd_"):
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            yield f"{module.__name__}.{name}", obj


def _public_methods(cls):
    for name, attr in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if inspect.isfunction(attr) or isinstance(attr, property):
            yield name, attr


def _offences(qualname: str, obj) -> list[str]:
    doc = inspect.getdoc(obj) if not inspect.isclass(obj) else obj.__doc__
    if inspect.isclass(obj) and doc:
        doc = inspect.cleandoc(doc)
    if not doc or not doc.strip():
        return [f"{qualname}: no docstring"]
    problems = []
    if inspect.isclass(obj):
        if "__init__" in vars(obj) or "__dataclass_fields__" in vars(obj):
            if _takes_arguments(obj) and not _has_section(doc, "Parameters", "Attributes"):
                problems.append(f"{qualname}: no Parameters section")
    else:
        if _takes_arguments(obj) and not _has_section(doc, "Parameters"):
            problems.append(f"{qualname}: no Parameters section")
        if _returns_value(obj) and not _has_section(doc, "Returns", "Yields"):
            problems.append(f"{qualname}: no Returns section")
    if not _has_section(doc, "Examples"):
        problems.append(f"{qualname}: no Examples section")
    return problems


def test_public_api_has_numpy_docstrings_with_examples():
    offenders: list[str] = []
    seen = 0
    for qualname, obj in _public_objects():
        seen += 1
        offenders += _offences(qualname, obj)
        if inspect.isclass(obj):
            for name, method in _public_methods(obj):
                doc = method.__doc__
                if not doc or not doc.strip():
                    offenders.append(f"{qualname}.{name}: no docstring")
    assert seen > 50, f"only {seen} public objects found; is the walk broken?"
    assert not offenders, f"{len(offenders)} docstring problems:\n" + "\n".join(offenders)


_FIXTURES: dict = {}


def doctest_fixtures() -> dict:
    """Small shared objects the examples may use without building them: ``tlc`` (a
    fitted demo explainer, K=6), ``ds`` (its 60 synthetic records), ``bundle`` (the demo
    model), ``w`` (a ``ClusterExplorer`` on them) and ``np``. Built once per process."""
    if not _FIXTURES:
        from ecg_cluster_widget.demo import demo_explainer
        from ecg_cluster_widget.views.widget import ClusterExplorer

        tlc, ds, bundle = demo_explainer(n_clusters=6, n_records=60)
        w = ClusterExplorer(tlc, ds, model=bundle, progress=False)
        _FIXTURES.update(tlc=tlc, ds=ds, bundle=bundle, w=w, np=np)
    return _FIXTURES


def run_doctest(test: doctest.DocTest, runner: doctest.DocTestRunner, out) -> doctest.TestResults:
    """Run one docstring's examples with the shared fixtures for names it does not define."""
    for name, value in doctest_fixtures().items():
        test.globs.setdefault(name, value)
    return runner.run(test, out=out, clear_globs=True)


@pytest.mark.slow
def test_doctests_pass(tmp_path, monkeypatch):
    # Examples that write files ("labels.json", "report.html") write them here, never
    # into the checkout.
    monkeypatch.chdir(tmp_path)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    failures: list[str] = []
    ran = 0
    for module in MODULES:
        for test in finder.find(module, module.__name__):
            if not test.examples:
                continue
            lines: list[str] = []
            result = run_doctest(test, runner, lines.append)
            ran += result.attempted
            if result.failed:
                failures.append("".join(lines))
    if ran == 0:
        pytest.fail("no doctest examples were found")
    assert not failures, "\n".join(failures)
