"""The quickstart as a marimo app: the same data, model, fit and explorer as quickstart.ipynb.

marimo renders anywidgets natively, so the ClusterExplorer works here as in Jupyter.
Open it with ``marimo edit notebooks/quickstart_marimo.py`` (editable) or
``marimo run notebooks/quickstart_marimo.py`` (as an app). ``ECW_FAST=1`` shrinks the
data, as in the Jupyter notebooks; tests/browser/test_marimo.py runs this app headless.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full")


@app.cell
def _():
    import os

    import marimo as mo

    # ECW_FAST=1 (set by the test suite) shrinks the data so the app starts in seconds.
    FAST = os.environ.get("ECW_FAST") == "1"
    return FAST, mo


@app.cell
def _(mo):
    mo.md("""
    # Quickstart: time-localized clusters in marimo

    Every time step of every ECG is assigned to one of *K* clusters of the network's
    own internal activations (the last three residual blocks). Each ECG becomes a
    sequence of coloured segments, and the clusters usually line up with P waves, QRS
    complexes, T waves and the baseline.

    Everything runs offline: synthetic 12-lead ECGs (10 s, 100 Hz, with exact P/QRS/T
    annotations) and the demo ResNet1d that ships with the package.
    """)
    return


@app.cell
def _(FAST):
    from ecg_cluster_widget.demo import demo_dataset
    from ecg_cluster_widget.explain import TLCExplainer
    from ecg_cluster_widget.model import load_demo_model
    from ecg_cluster_widget.views.widget import ClusterExplorer

    ds = demo_dataset(n_records=60 if FAST else 300)  # records the model never saw
    bundle = load_demo_model()
    tlc = TLCExplainer(bundle, n_clusters=6, random_state=0, progress=False).fit(ds)
    return ClusterExplorer, bundle, ds, tlc


@app.cell
def _(mo):
    mo.md("""
    ## The explorer

    One ECG with its cluster bands, the uncertainty ribbon underneath and the cluster
    prototypes on the side. Press **?** inside it for the keyboard shortcuts; `+` / `-`
    change K, and clusters that survive keep their id and colour.
    """)
    return


@app.cell
def _(ClusterExplorer, bundle, ds, mo, tlc):
    # mo.ui.anywidget makes the widget's traits reactive: cells that read
    # explorer.value run again whenever the explorer changes in the browser.
    explorer = mo.ui.anywidget(ClusterExplorer(tlc, ds, model=bundle, progress=False))
    explorer
    return (explorer,)


@app.cell
def _(explorer, mo):
    state = explorer.value
    mo.md(
        f"**From Python:** record {state['index']} of {state['n_records']}, "
        f"K = {state['n_clusters']}, selection {state['selection'] or 'none'}."
    ).callout()
    return


if __name__ == "__main__":
    app.run()
