"""Runs the front end's pure-logic unit tests (js/test/*.test.js) with node's test runner,
and checks that the committed bundle is up to date with the sources."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "js"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_js_unit_tests_pass():
    proc = subprocess.run(
        [NODE, "--test", "test/"], cwd=JS, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout


def test_bundle_is_committed_and_newer_than_sources():
    bundle = REPO / "ecg_cluster_widget" / "views" / "static" / "widget.js"
    css = bundle.with_name("widget.css")
    assert bundle.is_file() and css.is_file(), "run `npm run build` in js/"
    text = bundle.read_text(encoding="utf-8")
    assert "render" in text and "export" in text
    # no network imports: the widget must work offline
    assert "https://" not in text and "http://" not in text
    esbuild = JS / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        pytest.skip("js/node_modules absent: cannot rebuild to compare")
    proc = subprocess.run(
        [str(esbuild), "index.js", "--bundle", "--format=esm", "--target=es2020", "--minify"],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == text.strip(), "widget.js is stale: run `npm run build` in js/"


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_browser_and_python_selection_summaries_agree():
    """The side panel's summary (js/bands.js) and w.selection_summary
    (explain/context.py) are the same computation: same clusters, order and numbers."""
    import json
    from types import SimpleNamespace

    import numpy as np

    from ecg_cluster_widget.explain.context import selection_summary

    rng = np.random.default_rng(0)
    cluster_ids = np.array([0, 3, 7, 8])
    labels = rng.integers(0, 4, 500)
    entropy = rng.random(500).astype(np.float32)
    cam = rng.random(500).astype(np.float32)
    expl = SimpleNamespace(cluster_ids=cluster_ids, labels=labels, entropy=entropy)
    ids = cluster_ids[labels]
    script = (
        "import { selectionSummary } from './bands.js';"
        "let s = ''; process.stdin.on('data', (d) => { s += d; });"
        "process.stdin.on('end', () => { const a = JSON.parse(s);"
        "const r = a.ranges.map(([x, y]) => selectionSummary(a.ids, Float32Array.from(a.ent),"
        " Float32Array.from(a.cam), x, y)); console.log(JSON.stringify(r)); });"
    )
    ranges = [(0, 500), (10, 20), (120, 377), (499, 500)]
    payload = {"ids": ids.tolist(), "ent": entropy.tolist(), "cam": cam.tolist(), "ranges": ranges}
    proc = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        cwd=JS,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for (a, b), js in zip(ranges, json.loads(proc.stdout)):
        py = selection_summary(expl, a, b, cam)
        assert [c["cluster_id"] for c in py["clusters"]] == [c["id"] for c in js["clusters"]]
        for p, j in zip(py["clusters"], js["clusters"]):
            assert p["share"] == pytest.approx(j["share"], rel=1e-9)
            assert p["mean_entropy"] == pytest.approx(j["mean_entropy"], rel=1e-5)
        assert py["mean_entropy"] == pytest.approx(js["mean_entropy"], rel=1e-5)
        assert py["gradcam_share"] == pytest.approx(js["gradcam_share"], rel=1e-4)


TSC = JS / "node_modules" / ".bin" / "tsc"


def test_jsdoc_types_check():
    """``tsc --checkJs`` (js/tsconfig.json) finds no type error in the front end."""
    if not TSC.exists():
        pytest.skip("js/node_modules absent: run `npm ci` in js/ to type-check")
    proc = subprocess.run(
        [str(TSC), "-p", "."], cwd=JS, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def _model_traits_typedef() -> dict[str, tuple[str, str]]:
    """``name -> (JSDoc type, description)`` of the ModelTraits typedef in js/model_traits.js."""
    import re

    text = (JS / "model_traits.js").read_text(encoding="utf-8")
    block = text[text.index("@typedef {Object} ModelTraits") :]
    block = block[: block.index("*/")]
    props = re.findall(r"@property \{(.+?)\} (\w+)(.*)", block)
    return {name: (typ.strip(), desc.strip()) for typ, name, desc in props}


def _js_type(trait) -> str | None:
    """The JSDoc type a synced trait must be declared with, or None when any object is fine."""
    import traitlets as t

    from ecg_cluster_widget.views.traits import Array

    if isinstance(trait, Array):
        return "WireArray"
    if isinstance(trait, t.Enum):
        return "|".join(f'"{v}"' if isinstance(v, str) else str(v) for v in trait.values)
    if isinstance(trait, t.Bool):
        return "boolean"
    if isinstance(trait, (t.Int, t.Float)):
        return "number"
    if isinstance(trait, t.Unicode):
        return "string"
    if isinstance(trait, t.List):
        item = _js_type(trait._trait)
        return f"{item}[]" if item else None
    return None  # Dict: a typedef of its own (RecordInfo, Selection, ...)


def test_model_traits_js_matches_the_python_traits():
    """js/model_traits.js declares every synced trait of ClusterExplorer, no other, with
    the matching type; array traits with their dtype and number of dimensions."""
    import re

    import anywidget

    from ecg_cluster_widget.views.widget import ClusterExplorer

    base = anywidget.AnyWidget.class_traits(sync=True)
    traits = {k: v for k, v in ClusterExplorer.class_traits(sync=True).items() if k not in base}
    declared = _model_traits_typedef()
    assert sorted(declared) == sorted(traits), (
        "js/model_traits.js ModelTraits and the synced traits of views/widget.py differ: "
        f"only in JS {sorted(set(declared) - set(traits))}, "
        f"only in Python {sorted(set(traits) - set(declared))}"
    )
    for name, trait in traits.items():
        typ, desc = declared[name]
        want = _js_type(trait)
        if want is None:
            assert not re.fullmatch(r"string|number|boolean|WireArray", typ), (name, typ)
            continue
        assert typ == want, f"{name}: model_traits.js says {{{typ}}}, the trait is {want}"
        if want == "WireArray":
            shape = re.match(r"\(([^)]*)\)\s+(\w+)", desc)
            assert shape, f"{name}: describe the array as '(dims) dtype' in model_traits.js"
            dims = [d for d in shape.group(1).split(",") if d.strip()]
            assert len(dims) == trait.ndim, f"{name}: {len(dims)} dims in JS, ndim={trait.ndim}"
            assert shape.group(2) == trait.dtype.name, f"{name}: {shape.group(2)} vs {trait.dtype}"
