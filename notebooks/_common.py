"""Shared pieces of the notebook sources (see ``_build.py``)."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell

SETUP = """\
import os

# ECW_FAST=1 (set by the test suite) shrinks the data so the notebook runs in seconds.
FAST = os.environ.get("ECW_FAST") == "1"
"""

BOKEH = """\
from bokeh.io import output_notebook, show
from bokeh.resources import INLINE

output_notebook(INLINE, hide_banner=True)  # inline resources: works offline
"""


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))
