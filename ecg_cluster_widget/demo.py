"""The built-in demo: synthetic ECGs, the shipped model and a fitted explainer.

What the demo command and the notebooks share: data, fitted explainer, summary, demo
folder. Everything here runs offline in well under a minute on two CPU cores: the data
come from the synthetic generator with the settings the shipped model was
trained on (``DEMO_DATA_KWARGS``), so no download is needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError


def demo_dataset(n_records: int | None = None, seed: int | None = None):
    """Synthetic records matching the shipped demo model.

    Parameters
    ----------
    n_records : int, optional
        Number of records; default from ``DEMO_DATA_KWARGS`` (or 300 when the
        environment variable ``ECW_FAST=1`` is set, as in the notebook tests).
    seed : int, optional
        Seed of the generator; default ``DEMO_TRAIN_SEED + 1``, i.e. records the
        shipped model never saw in training.

    Returns
    -------
    ECGDataset

    Examples
    --------
    >>> ds = demo_dataset(n_records=4)
    >>> len(ds), ds.fs
    (4, 100.0)
    """
    from .data.synthetic import make_synthetic
    from .model.pretrained import DEMO_DATA_KWARGS, DEMO_TRAIN_SEED

    kwargs: dict[str, Any] = dict(DEMO_DATA_KWARGS)
    kwargs["seed"] = DEMO_TRAIN_SEED + 1
    if n_records is None and os.environ.get("ECW_FAST") == "1":
        n_records = min(int(kwargs.get("n_records", 300)), 300)
    if n_records is not None:  # make_synthetic refuses a count below 1
        kwargs["n_records"] = int(n_records)
    if seed is not None:
        kwargs["seed"] = int(seed)
    kwargs.setdefault("progress", False)
    return make_synthetic(**kwargs)


def demo_explainer(
    n_clusters: int = 6,
    n_records: int | None = 400,
    *,
    seed: int | None = None,
    progress: bool = False,
    data: str = "synthetic",
):
    """Build the demo: data + a shipped model + a fitted ``TLCExplainer``.

    Parameters
    ----------
    n_clusters : int
        Number of clusters K (at least 2).
    n_records : int, optional
        Records to generate and fit on (``None``: the ``DEMO_DATA_KWARGS`` default).
        Ignored for ``data="real"``.
    seed : int, optional
        Data seed; the explainer always uses ``random_state=0``.
    progress : bool
        Show tqdm progress bars.
    data : {"synthetic", "real"}
        ``"synthetic"``: generated ECGs and the demo model. ``"real"``: the real-ECG model
        ``ptbxl250`` with its recommended options, fitted on the 40 shipped PTB-XL
        test-fold ECGs; the returned dataset is the 20 shipped LUDB ECGs (with the
        cardiologists' wave masks), which the clusters never saw.

    Returns
    -------
    tuple
        ``(tlc, dataset, bundle)``: the fitted explainer, the data and the model bundle.

    Examples
    --------
    >>> tlc, ds, bundle = demo_explainer(n_clusters=4, n_records=60)
    >>> tlc.n_clusters, len(ds)
    (4, 60)
    """
    from .data.dataset import check_choice
    from .explain import TLCExplainer
    from .model.pretrained import load_demo_model

    if check_choice(data, ("synthetic", "real"), "demo data") == "real":
        from .data.samples import load_real_sample
        from .model.pretrained import load_pretrained

        bundle = load_pretrained("ptbxl250")
        fit_ds = load_real_sample("ptbxl", fs=bundle.fs)
        shown = load_real_sample("ludb", fs=bundle.fs)
        tlc = TLCExplainer.for_model(
            bundle, n_clusters=n_clusters, random_state=0, progress=progress
        )
        return tlc.fit(fit_ds), shown, bundle
    ds = demo_dataset(n_records=n_records, seed=seed)
    bundle = load_demo_model()
    tlc = TLCExplainer(bundle, n_clusters=n_clusters, random_state=0, progress=progress)
    tlc.fit(ds)
    return tlc, ds, bundle


def propose_cluster_names(tlc, dataset, labels=None, lead: str = "II") -> dict[str, Any]:
    """A wave name per cluster, from the landmark alignment of the fit.

    Each cluster is named after the wave it is most enriched in, read off the contingency
    table of :func:`~ecg_cluster_widget.explain.landmarks.landmark_alignment`: the share of
    its time steps in a wave divided by that wave's share of all time steps (as
    :func:`summarize` ranks classes; by plain majority the TP baseline, which fills most
    of an ECG, would name nearly every cluster). The waves are the annotations of
    ``dataset`` when it has them (``wave_masks``, e.g. synthetic or LUDB records), else
    the rule-based :func:`~ecg_cluster_widget.explain.landmarks.delineate`, as
    ``evaluate`` does. A proposal for an expert to confirm, not a diagnosis.

    Parameters
    ----------
    tlc : TLCExplainer
        A fitted explainer.
    dataset : ECGDataset
        The records whose cluster labels are aligned.
    labels : int array (N, T), optional
        Cluster positions (``tlc.explain_all(dataset).labels``); computed when omitted.
    lead : str
        Lead whose annotations (or delineation) are used; the first lead when absent.

    Returns
    -------
    dict
        ``source`` (where the waves came from), ``nmi`` and ``clusters``: one dict per
        cluster position with ``cluster_id``, ``wave`` (the proposed wave or ``None``),
        ``purity`` (share of its time steps in that wave), ``enrichment`` (that share over
        the wave's overall share), ``majority_wave`` and ``proposed_name``.

    Examples
    --------
    >>> tlc, ds, _ = demo_explainer(n_clusters=6, n_records=60)
    >>> names = propose_cluster_names(tlc, ds)
    >>> names["source"], len(names["clusters"])
    ('annotations (lead II)', 6)
    >>> sorted(set(c["proposed_name"] for c in names["clusters"]))
    ['P wave', 'PR segment', 'QRS complex', 'ST segment', 'T wave', 'TP baseline']
    """
    from .explain.delineation import delineate
    from .explain.landmarks import landmark_alignment, propose_wave_names

    if labels is None:
        labels = tlc.explain_all(dataset).labels
    lead_used = lead if lead in dataset.lead_names else dataset.lead_names[0]
    masks = dataset.wave_mask_for_lead(lead_used)
    if masks is not None:
        source = f"annotations (lead {lead_used})"
    else:
        masks = delineate(dataset, lead=lead_used)
        source = f"rule-based delineation of lead {lead_used}"
    ids = [int(c) for c in tlc.cluster_ids_]
    lab = np.asarray(labels).astype(np.int64)
    wav = np.asarray(masks).astype(np.int64)
    keys = ("cluster_id", "wave", "purity", "enrichment", "majority_wave", "proposed_name")
    try:
        align = landmark_alignment(lab, wav, len(ids))
        # One naming rule for the package: PR / ST / TP split, share x enrichment.
        proposals = propose_wave_names(lab, wav, n_clusters=len(ids), cluster_ids=ids)
    except DataError as exc:  # e.g. no annotated time step at all
        empty = [dict(dict.fromkeys(keys), cluster_id=c, purity=0.0) for c in ids]
        return {"source": f"{source}: {exc}", "nmi": None, "clusters": empty}
    clusters = [{k: c[k] for k in keys} for c in proposals["clusters"]]
    for c in clusters:
        c["cluster_id"], c["purity"] = int(c["cluster_id"]), float(c["purity"])
    return {"source": source, "nmi": float(align["nmi"]), "clusters": clusters}


def summarize(tlc, dataset, bundle=None, *, names: bool = True) -> dict[str, Any]:
    """A JSON-friendly summary of a fitted explainer on a dataset.

    Returns per-cluster share of time, mean entropy, the proposed wave name (see
    :func:`propose_cluster_names`) and the class each cluster is
    most over-represented in (largest ratio of ``class_mix`` to the class prevalence),
    the mean entropy over records and, given a bundle,
    the model's per-label accuracy on the dataset's labels (when the class names match).

    Parameters
    ----------
    tlc : TLCExplainer
        A fitted explainer.
    dataset : ECGDataset
        Records to summarise (labels are used when present).
    bundle : ModelBundle, optional
        The explained model; adds ``model_accuracy``.
    names : bool
        Propose a wave name per cluster (adds ``waves_source``).

    Returns
    -------
    dict
        ``n_records``, ``n_clusters``, ``fs``, ``mean_entropy``, ``clusters`` (one dict per
        cluster: ``cluster_id`` (stable id), ``number`` (the display number, 1..K),
        ``share``, ``mean_entropy``, ``top_class`` and, with
        ``names``, ``proposed_name``, ``wave``, ``wave_purity``, ``wave_enrichment``),
        with ``names`` also
        ``waves_source``, ``options`` (where the configuration came from, in words:
        :func:`~ecg_cluster_widget.explain.options.describe_options`) and, with a
        bundle, ``model_accuracy``.

    Examples
    --------
    >>> tlc, ds, bundle = demo_explainer(n_clusters=3, n_records=40)
    >>> s = summarize(tlc, ds, bundle)
    >>> len(s["clusters"]), round(sum(c["share"] for c in s["clusters"]), 6)
    (3, 1.0)
    >>> all(c["proposed_name"] for c in s["clusters"]), s["waves_source"]
    (True, 'annotations (lead II)')
    """
    from .explain.context import multilabel_bundle
    from .explain.options import describe_options

    infos = tlc.cluster_summary(dataset)
    eset = tlc.explain_all(dataset)
    prevalence: dict[str, float] = {}
    if dataset.labels is not None and dataset.class_names is not None:
        prevalence = dict(zip(dataset.class_names, dataset.labels.mean(axis=0).tolist()))
    proposals = propose_cluster_names(tlc, dataset, eset.labels) if names else None
    clusters = []
    for pos, info in enumerate(infos):
        mix = dict(info.class_mix or {})
        # Rank classes by enrichment over their prevalence, else NORM (the most common
        # class) would top every cluster.
        lift = {c: v / prevalence[c] for c, v in mix.items() if prevalence.get(c, 0) > 0}
        entry = {
            "cluster_id": int(info.cluster_id),
            "number": pos + 1,  # the number the widget and the report show (1..K)
            "share": float(info.share),
            "mean_entropy": float(info.mean_entropy),
            "top_class": max(lift, key=lift.get) if lift else None,
        }
        if proposals is not None:
            prop = proposals["clusters"][pos]
            entry.update(
                proposed_name=prop["proposed_name"],
                wave=prop["wave"],
                wave_purity=prop["purity"],
                wave_enrichment=prop["enrichment"],
            )
        clusters.append(entry)
    out: dict[str, Any] = {
        "n_records": len(dataset),
        "n_clusters": int(tlc.n_clusters_),
        "fs": float(dataset.fs),
        "mean_entropy": float(np.mean(eset.mean_entropy)),
        "clusters": clusters,
        "options": describe_options(tlc.options_, tlc.layers_),
    }
    if proposals is not None:
        out["waves_source"] = proposals["source"]
    if (
        multilabel_bundle(bundle)
        and dataset.labels is not None
        and tuple(dataset.class_names or ()) == tuple(bundle.class_names)
    ):
        pred = np.asarray(bundle.predict_proba(dataset)) > 0.5
        out["model_accuracy"] = float(np.mean(pred == (dataset.labels > 0.5)))
    return out


def format_summary(summary: dict[str, Any]) -> str:
    """Plain-text table of :func:`summarize` output.

    Parameters
    ----------
    summary : dict
        Output of :func:`summarize`.

    Returns
    -------
    str
        A header line, then one line per cluster: id, share of time, mean entropy,
        proposed wave name (with the share of its time steps in that wave) and top class;
        then where the waves came from.

    Examples
    --------
    >>> print(format_summary({"n_records": 2, "n_clusters": 1, "fs": 100.0, "mean_entropy": 0.1,
    ...     "clusters": [{"cluster_id": 0, "share": 1.0, "mean_entropy": 0.1, "top_class": "MI",
    ...                   "proposed_name": "QRS complex", "wave_purity": 0.8}],
    ...     "waves_source": "annotations (lead II)"}))
    2 records at 100 Hz, K = 1, mean entropy 0.100
    cluster  share  entropy  proposed name        top class
          1 100.0%    0.100  QRS complex (80%)    MI
    proposed name: the wave each cluster is most enriched in (% = share of its time steps in that wave), waves from annotations (lead II)
    """
    lines = [
        f"{summary['n_records']} records at {summary['fs']:g} Hz, K = {summary['n_clusters']}, "
        f"mean entropy {summary['mean_entropy']:.3f}"
    ]
    if "model_accuracy" in summary:
        lines[0] += f", model accuracy {summary['model_accuracy']:.3f}"
    if summary.get("options"):
        lines.append(f"clusters from {summary['options']}")
    lines.append("cluster  share  entropy  proposed name        top class")
    # The widget's numbers (1..K), not the stable ids: one numbering wherever people read.
    from .views.palette import display_numbers

    num = display_numbers(c["cluster_id"] for c in summary["clusters"])
    for c in summary["clusters"]:
        name = c.get("proposed_name")
        name = f"{name} ({100 * c.get('wave_purity', 0.0):.0f}%)" if name else "-"
        lines.append(
            f"{num[int(c['cluster_id'])]:>7} {100 * c['share']:5.1f}%  {c['mean_entropy']:7.3f}  "
            f"{name:<20} {c['top_class'] or '-'}"
        )
    if summary.get("waves_source"):
        lines.append(
            "proposed name: the wave each cluster is most enriched in (% = share of its "
            f"time steps in that wave), waves from {summary['waves_source']}"
        )
    return "\n".join(lines)


def run_demo(
    report: str | os.PathLike | None = "ecg_cluster_demo.html",
    n_clusters: int = 8,
    n_records: int | None = 400,
    *,
    progress: bool = False,
    data: str = "real",
    workdir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Build the demo explainer, optionally write its HTML report, return the summary.

    Parameters
    ----------
    report : path-like or None
        Where to write the standalone Bokeh report; ``None`` skips it.
    n_clusters, n_records : int
        As in :func:`demo_explainer`.
    progress : bool
        Show progress bars.
    data : {"real", "synthetic"}
        As in :func:`demo_explainer`; the default is the shipped real sample explained by
        the shipped real-ECG model.
    workdir : path-like, optional
        The demo folder (``ecg-cluster-widget demo``): a relative ``report`` goes into
        it, and a report inside the source checkout is refused before any work.

    Returns
    -------
    dict
        :func:`summarize` output plus ``"report"`` (the path written, or ``None``).

    Examples
    --------
    >>> s = run_demo(report=None, n_clusters=3, n_records=40, data="synthetic")
    >>> s["n_clusters"], s["report"]
    (3, None)
    """
    from .views.report import make_report

    if report is not None and workdir is not None:
        report = Path(workdir).expanduser() / Path(report).expanduser()  # absolute: as is
        _refuse_inside_checkout(report, "--report")
    tlc, ds, bundle = demo_explainer(n_clusters, n_records, progress=progress, data=data)
    summary = summarize(tlc, ds, bundle)
    path = None
    if report is not None:
        title = "ecg-cluster-widget demo: time-localized clusters"
        path = make_report(
            tlc, ds, report, indices=_example_indices(ds), bundle=bundle, title=title
        )
    summary["report"] = None if path is None else str(Path(path))
    return summary


#: Environment variable naming the demo folder (default ``~/ecg-cluster-widget-demo``).
DEMO_DIR_ENV = "ECW_DEMO_DIR"
#: The notebook the demo opens.
QUICKSTART = "quickstart.ipynb"


def default_demo_dir() -> Path:
    """Where ``ecg-cluster-widget demo`` works: ``$ECW_DEMO_DIR`` or ``~/ecg-cluster-widget-demo``.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> default_demo_dir().name in ("ecg-cluster-widget-demo", os.environ.get(DEMO_DIR_ENV, "x"))
    True
    """
    return Path(os.environ.get(DEMO_DIR_ENV) or "~/ecg-cluster-widget-demo").expanduser()


def source_checkout() -> Path | None:
    """The git checkout this package is imported from (an editable install), else ``None``.

    Returns
    -------
    pathlib.Path or None

    Examples
    --------
    >>> root = source_checkout()
    >>> root is None or (root / "pyproject.toml").is_file()
    True
    """
    root = Path(__file__).resolve().parent.parent
    return root if (root / ".git").exists() and (root / "pyproject.toml").is_file() else None


def prepare_demo_dir(workdir: str | os.PathLike | None = None) -> tuple[Path, bool]:
    """Create the demo folder and copy the packaged quickstart notebook into it.

    The demo never works inside the source checkout (JupyterLab autosaves outputs
    into the notebook it opens, and the notebook writes ``quickstart_report.html``
    next to itself), so a folder inside the checkout is refused. An existing
    ``quickstart.ipynb`` (the user's edits) is kept as it is.

    Parameters
    ----------
    workdir : path-like, optional
        The folder; default :func:`default_demo_dir`.

    Returns
    -------
    (pathlib.Path, bool)
        The notebook's path and whether it was copied just now.

    Raises
    ------
    DataError
        If ``workdir`` lies inside the source checkout.
    FileFormatError
        If the packaged notebook is missing (a broken install).

    Examples
    --------
    >>> import tempfile
    >>> nb, copied = prepare_demo_dir(tempfile.mkdtemp())
    >>> nb.name, copied
    ('quickstart.ipynb', True)
    """
    import shutil

    from .errors import FileFormatError

    folder = (Path(workdir).expanduser() if workdir is not None else default_demo_dir()).resolve()
    _refuse_inside_checkout(folder, "the demo folder")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / QUICKSTART
    if target.exists():
        return target, False
    src = Path(__file__).resolve().parent / "assets" / QUICKSTART
    if not src.is_file():
        raise FileFormatError(f"the packaged notebook {src} is missing; reinstall the package.")
    shutil.copyfile(src, target)
    return target, True


def _refuse_inside_checkout(path: Path, what: str) -> None:
    repo = source_checkout()
    if repo is not None and path.resolve().is_relative_to(repo):
        raise DataError(
            f"{what} {str(path)!r} is inside the source checkout {str(repo)!r}; the demo "
            f"writes there, so pick a place outside it (--workdir DIR or ${DEMO_DIR_ENV})."
        )


def _example_indices(ds, n: int = 3) -> list[int]:
    """One record per class where possible, so the report shows contrasting cases."""
    if ds.labels is None:
        return list(range(min(n, len(ds))))
    picks: list[int] = []
    for c in range(ds.labels.shape[1]):
        hits = [int(i) for i in np.flatnonzero(ds.labels[:, c] > 0.5) if int(i) not in picks]
        if hits:
            picks.append(hits[0])
        if len(picks) == n:
            break
    return picks or list(range(min(n, len(ds))))
