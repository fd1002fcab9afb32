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
