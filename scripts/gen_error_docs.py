"""Write the "What the errors mean" section of docs/troubleshooting.md from errors.py.

Every exception and warning class in ``ecg_cluster_widget/errors.py`` gets an entry: its
name, what it also is (so which ``except`` clauses catch it) and the text of its
docstring. Only the text between the two marker comments is rewritten; the rest of the
file belongs to people. If the markers are missing, the section is appended.

    python scripts/gen_error_docs.py           # rewrite the section
    python scripts/gen_error_docs.py --check   # exit 1 if the section is stale

``tests/test_error_docs.py`` fails when the section is out of date.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "troubleshooting.md"
BEGIN = "<!-- BEGIN GENERATED: error classes (scripts/gen_error_docs.py; do not edit by hand) -->"
END = "<!-- END GENERATED: error classes -->"
HEADING = "## What the errors mean"
_SECTIONS = ("Parameters", "Attributes", "Examples", "Notes", "Raises", "Returns", "See Also")


def _error_classes() -> list[type]:
    sys.path.insert(0, str(ROOT))
    from ecg_cluster_widget import errors

    found = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if obj.__module__ == errors.__name__
        and issubclass(obj, (errors.ECGClusterError, errors.ECGClusterWarning))
    ]
    return sorted(found, key=lambda c: inspect.getsourcelines(c)[1])


def _rst_to_md(text: str) -> str:
    """Turn the docstrings' reST markup into Markdown."""
    text = re.sub(
        r":(?:class|func|meth|attr|data|exc|mod):`(~?)([^`]+)`",
        lambda m: f"`{m.group(2).split('.')[-1] if m.group(1) else m.group(2)}`",
        text,
    )
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _description(cls: type) -> str:
    """The docstring up to its first numpydoc section, as Markdown paragraphs."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    lines = doc.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() in _SECTIONS and set(nxt.strip()) == {"-"}:
            break
        out.append(line)
    paragraphs = [" ".join(p.split()) for p in "\n".join(out).strip().split("\n\n") if p.strip()]
    return "\n\n".join(_rst_to_md(p) for p in paragraphs)


def _bases(cls: type) -> str:
    names = []
    for base in cls.__mro__[1:]:
        if base in (object, BaseException, Exception, Warning):
            continue
        mod = (
            ""
            if base.__module__ in ("builtins", "ecg_cluster_widget.errors")
            else f"{base.__module__}."
        )
        names.append(f"`{mod}{base.__name__}`")
    return ", ".join(names) or ("`Warning`" if issubclass(cls, Warning) else "`Exception`")


def render_section() -> str:
    """The generated Markdown that goes between the markers (markers excluded)."""
    classes = _error_classes()
    rows = [
        "",
        "Every bad input raises (or warns with) one of these classes, from "
        "`ecg_cluster_widget.errors`, with a message that names the problem and the fix. "
        "Errors are also the built-in exceptions listed, so `except ValueError` or "
        "`except OSError` catch them too; catch `ECGClusterError` for all of them. Turn a "
        'warning into an error with `warnings.simplefilter("error", DataWarning)`.',
        "",
        "| class | kind | also a |",
        "|---|---|---|",
    ]
    for cls in classes:
        kind = "warning" if issubclass(cls, Warning) else "error"
        rows.append(f"| [`{cls.__name__}`](#{cls.__name__.lower()}) | {kind} | {_bases(cls)} |")
    for cls in classes:
        rows += ["", f"### `{cls.__name__}`", "", _description(cls)]
    rows.append("")
    return "\n".join(rows)


def update(text: str, section: str | None = None) -> str:
    """``text`` with the generated section replaced (or appended when it has no markers)."""
    section = render_section() if section is None else section
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        start = text.index(BEGIN)
        stop = text.index(END, start) + len(END)
        return text[:start] + block + text[stop:]
    if (BEGIN in text) != (END in text):
        raise SystemExit(
            f"{DOC}: only one of the generated-section markers is present; "
            f"restore both:\n{BEGIN}\n{END}"
        )
    return text.rstrip("\n") + f"\n\n{HEADING}\n\n{block}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the section is stale")
    parser.add_argument("--doc", type=Path, default=DOC, help="the Markdown file to update")
    args = parser.parse_args(argv)
    text = args.doc.read_text(encoding="utf-8")
    new = update(text)
    if args.check:
        if new != text:
            print(f"{args.doc} is stale: run python scripts/gen_error_docs.py", file=sys.stderr)
            return 1
        return 0
    if new != text:
        args.doc.write_text(new, encoding="utf-8")
        print(f"updated {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
