"""Runs the front end's pure-logic unit tests (js/test/*.test.js) with node's test runner,
and checks that the committed bundle is up to date with the sources."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
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
