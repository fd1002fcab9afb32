"""Shared helpers for the experiments on real ECGs (PTB-XL subset and LUDB).

Everything an experiment script needs besides its own logic lives here: paths,
command-line options, cached data loading (PTB-XL at 100 Hz, LUDB resampled to
100 Hz with wave masks), cached model training (one checkpoint per training
fraction / seed / task), TLC fitting, the random-forest faithfulness metrics,
landmark-alignment metrics, JSON / Bokeh output and table formatting.

Caches live under ``experiments/cache/`` (gitignored); results (small JSON and
offline Bokeh HTML) under ``experiments/results/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecg_cluster_widget.data.io_utils import to_jsonable
from ecg_cluster_widget.explain.fidelity import summarize  # noqa: F401 (C.summarize)

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "experiments"
SHARED_DATA = Path(os.environ.get("ECG_SHARED_DATA", REPO.parent / "shared" / "data"))
DEFAULT_CACHE = EXPERIMENTS / "cache"
DEFAULT_RESULTS = EXPERIMENTS / "results"
CLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")
WAVES: tuple[str, ...] = ("none", "P", "QRS", "T")
QUALITY_COLUMNS: tuple[str, ...] = (
    "baseline_drift",
    "static_noise",
    "burst_noise",
    "electrodes_problems",
)
FS = 100.0
N_SAMPLES = 1000
#: Sampling rate of the shipped real-ECG model (``--models real``, the default).
REAL_FS = 250.0
#: The model used for the full runs: the package's ResNet1d layout at 100 Hz with half
#: its default widths (32..96 -> 16..48), ~4x cheaper: the machine is 2 shared CPU cores.
FULL_MODEL = dict(filters=(16, 24, 32, 40, 48), seq_lengths=(1000, 500, 250, 125, 25))
#: A tiny model for --quick (CI) runs.
QUICK_MODEL = dict(filters=(8, 12, 16, 16, 16), seq_lengths=(1000, 500, 250, 125, 25))


# ----------------------------------------------------------------------------- CLI
@dataclass
class RunConfig:
    """Options shared by all experiment scripts (see :func:`parse_args`)."""

    quick: bool
    seeds: list[int]
    epochs: int
    n_clusters: int
    cache_dir: Path
    results_dir: Path
    data_dir: Path
    max_records: int | None
    threads: int
    command: str
    engine: str = ""
    models: str = "real"

    @property
    def fs(self) -> float:
        """Sampling rate of the data the experiments feed the model."""
        return REAL_FS if self.models == "real" else FS

    @property
    def model_kwargs(self) -> dict:
        return QUICK_MODEL if self.quick else FULL_MODEL


def build_parser(description: str, script: str) -> argparse.ArgumentParser:
    """Argument parser with the options every experiment understands (``script``: its file)."""
    p = argparse.ArgumentParser(prog=Path(script).name, description=description)
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny data / model / epochs: a smoke test for CI (figures are meaningless)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=None,
        help="random seeds (default 0; the sweep wants 0 1 2)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="max training epochs, early stopping on fold 9 (default 12, quick 1)",
    )
    p.add_argument(
        "--k",
        dest="n_clusters",
        type=int,
        default=None,
        help="number of clusters (default 8, quick 4)",
    )
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS)
    p.add_argument(
        "--data-dir", type=Path, default=SHARED_DATA, help="folder holding ptbxl_subset/ and ludb/"
    )
    p.add_argument(
        "--max-records",
        type=int,
        default=None,
        help="cap on PTB-XL records loaded (default: all; quick: 70)",
    )
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument(
        "--models",
        choices=("real", "trained"),
        default="real",
        help="real: the shipped 250 Hz PTB-XL model (ptbxl250) and its recommended TLC "
        "options, data at 250 Hz; trained: small 100 Hz models trained here per seed "
        "(the first release's setting, needed for the training-size sweep)",
    )
    return p


def parse_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None = None
) -> tuple[argparse.Namespace, RunConfig]:
    """Parse ``argv`` and derive a :class:`RunConfig` (quick-mode defaults applied)."""
    ns = parser.parse_args(argv)
    quick = bool(ns.quick)
    seeds = ns.seeds if ns.seeds is not None else [0]
    epochs = ns.epochs if ns.epochs is not None else (1 if quick else 12)
    max_records = ns.max_records if ns.max_records is not None else (70 if quick else None)
    args = list(sys.argv[1:] if argv is None else argv)
    k = ns.n_clusters if ns.n_clusters is not None else (4 if quick else 8)
    cfg = RunConfig(
        quick=quick,
        seeds=list(seeds),
        epochs=int(epochs),
        n_clusters=int(k),
        cache_dir=Path(ns.cache_dir),
        results_dir=Path(ns.results_dir),
        data_dir=Path(ns.data_dir),
        max_records=max_records,
        threads=int(ns.threads),
        command=" ".join(["python", f"experiments/{parser.prog}", *args]),
        models=str(getattr(ns, "models", "real")),
    )
    import torch

    cfg.engine = engine_fingerprint()
    torch.set_num_threads(max(1, cfg.threads))
    cfg.cache_dir.mkdir(parents=True, exist_ok=True)
    cfg.results_dir.mkdir(parents=True, exist_ok=True)
    return ns, cfg


def engine_fingerprint() -> str:
    """Short hash of the package's compute code (data, model, activations, clustering,
    explain; not the widget / report views) as it is when a run starts.

    Several people edit the engine while experiments run; results made with different
    engine versions are not comparable, and this lets the results document say so.
    """
    h = hashlib.sha1()
    pkg = REPO / "ecg_cluster_widget"
    compute = ("data", "model", "activations", "clustering", "explain")  # not views / cli
    for path in sorted(p for sub in compute for p in (pkg / sub).rglob("*.py")):
        h.update(str(path.relative_to(pkg)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def log(msg: str) -> None:
    """Timestamped progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- data
def _pickle_cache(path: Path, build) -> Any:
    """Load a pickled ECGDataset from ``path`` or build and store it."""
    import pickle

    from ecg_cluster_widget.data import atomic_write_bytes

    if path.is_file():
        with open(path, "rb") as fh:
            return pickle.load(fh)
    obj = build()
    atomic_write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    return obj


def load_ptbxl_100(cfg: RunConfig):
    """PTB-XL subset at 100 Hz (decimated from 500 Hz), cached as a pickled ECGDataset.

    Uses the package's :func:`ecg_cluster_widget.data.load_ptbxl`. Returns an
    ``ECGDataset`` with the 5 superclass labels and ``folds``; per-record metadata (age,
    sex, quality columns) come from :func:`meta_frame`.
    """
    root = cfg.data_dir / "ptbxl_subset"
    if cfg.models == "real":
        tag = f"ptbxl_fs250_n{cfg.max_records or 'all'}.pkl"

        def build():
            from ecg_cluster_widget.data import load_ptbxl, resample

            return resample(
                load_ptbxl(root, fs=500, max_records=cfg.max_records, progress=False), REAL_FS
            )

        return _pickle_cache(cfg.cache_dir / "data" / tag, build)
    tag = f"ptbxl_fs100_n{cfg.max_records or 'all'}.pkl"

    def build():
        from ecg_cluster_widget.data import load_ptbxl

        return load_ptbxl(root, fs=100, max_records=cfg.max_records, progress=False)

    return _pickle_cache(cfg.cache_dir / "data" / tag, build)


def load_ludb_100(cfg: RunConfig, lead: str = "II"):
    """LUDB at 100 Hz; ``wave_masks`` (N, 1000) for ``lead`` (codes 0-3, -1 = not annotated).

    Signals are decimated by 5 exactly as PTB-XL's 100 Hz data are; the 500 Hz masks
    are downsampled by taking every 5th sample.
    """
    from dataclasses import replace

    root = cfg.data_dir / "ludb"
    records = [str(i) for i in range(1, 11)] if cfg.quick else None
    if cfg.models == "real":

        def build_real():
            from ecg_cluster_widget.data import load_ludb, resample

            ds = resample(load_ludb(root, records=records, progress=False), REAL_FS)
            return replace(ds, wave_masks=np.asarray(ds.wave_mask_for_lead(lead)).astype(np.int8))

        tag = f"ludb_fs250_{lead}_{'quick' if cfg.quick else 'all'}.pkl"
        return _pickle_cache(cfg.cache_dir / "data" / tag, build_real)

    def build():
        from ecg_cluster_widget.data import load_ludb

        ds500 = load_ludb(root, records=records, progress=False)
        mask500 = np.asarray(ds500.wave_mask_for_lead(lead))
        ds100 = _decimate5(ds500)
        step = int(round(ds500.fs / FS))
        mask = mask500[:, ::step][:, : ds100.n_samples]
        return replace(ds100, wave_masks=mask.astype(np.int8))

    tag = f"ludb_fs100_{lead}_decimate_{'quick' if cfg.quick else 'all'}.pkl"
    return _pickle_cache(cfg.cache_dir / "data" / tag, build)


def _decimate5(ds500):
    """500 Hz -> 100 Hz by ``scipy.signal.decimate(x, 5, zero_phase=True)``: the same
    operation ``load_ptbxl(fs=100)`` applies to PTB-XL's records500 (not ``resample``,
    which uses a polyphase filter and would give LUDB a slightly different input)."""
    from dataclasses import replace

    from scipy.signal import decimate

    sig = decimate(ds500.signals.astype(np.float64), 5, axis=-1, zero_phase=True)
    return replace(ds500, signals=sig.astype(np.float32), fs=FS, wave_masks=None)


def split_ptbxl(
    ds,
    train_folds: Iterable[int] | None = None,
    val_folds: Iterable[int] | None = None,
    test_folds: Iterable[int] | None = None,
):
    """(train, val, test) subsets by ``strat_fold``, via the package's one fold convention
    (``ecg_cluster_widget.data.ptbxl.split_folds``: 1-8 / 9 / 10 unless given)."""
    from ecg_cluster_widget.data import ptbxl

    return ptbxl.split_folds(
        ds,
        ptbxl.TRAIN_FOLDS if train_folds is None else list(train_folds),
        ptbxl.VAL_FOLDS if val_folds is None else list(val_folds),
        ptbxl.TEST_FOLDS if test_folds is None else list(test_folds),
    )


def subsample(ds, fraction: float, seed: int):
    """A random ``fraction`` of the records of ``ds`` (at least 8), reproducible by ``seed``."""
    if fraction >= 1.0:
        return ds
    rng = np.random.default_rng(seed)
    n = max(8, int(round(fraction * len(ds))))
    return ds.subset(np.sort(rng.choice(len(ds), size=n, replace=False)))


def meta_frame(ds, cfg: RunConfig):
    """Rows of ``ptbxl_database.csv`` for the records of ``ds`` (row i = record i).

    Read from the CSV and matched on the ecg_id in each record id (digits of the id), so
    it works whatever metadata layout the loader keeps and after ``subset``.
    """
    import re

    import pandas as pd

    db = pd.read_csv(cfg.data_dir / "ptbxl_subset" / "ptbxl_database.csv", index_col="ecg_id")
    ids = [int(re.findall(r"\d+", str(r))[0]) for r in ds.record_ids]
    missing = [i for i in ids if i not in db.index]
    if missing:
        raise ValueError(f"{len(missing)} record ids not in ptbxl_database.csv, e.g. {missing[:3]}")
    return db.loc[ids].reset_index()


def with_age_labels(ds, cfg: RunConfig):
    """Records with a known age, relabelled with ``labels`` = age in years, shape (n, 1).

    PTB-XL codes ages above 89 as 300 (anonymisation); those become 90.
    """
    from dataclasses import replace

    age = pd_numeric(meta_frame(ds, cfg)["age"])
    keep = np.isfinite(age)
    sub = ds.subset(np.flatnonzero(keep))
    a = np.minimum(age[keep], 90.0).astype(np.float32)[:, None]
    return replace(sub, labels=a, class_names=("age",))


def pd_numeric(col) -> np.ndarray:
    """A metadata column as float64 (non-numbers -> NaN)."""
    import pandas as pd

    return pd.to_numeric(pd.Series(col), errors="coerce").to_numpy(dtype=np.float64)


# ----------------------------------------------------------------------------- models
def cache_key(**parts: Any) -> str:
    """Short stable hash of keyword parts (used in cache file names)."""
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def train_or_load(
    cfg: RunConfig,
    train_ds,
    val_ds,
    *,
    seed: int,
    fraction: float = 1.0,
    task: str = "multilabel",
    tag: str = "ptbxl",
    cached_only: bool = False,
):
    """Train a ResNet1d on ``train_ds`` (or load it from the cache) and return its ModelBundle.

    With ``cached_only=True`` a model that is not in the cache is not trained: ``None``
    is returned instead (used to run a reduced sweep with the models that exist).
    """
    import torch

    from ecg_cluster_widget.model import ResNet1d, load_checkpoint, save_checkpoint, train_model

    if cfg.models == "real" and task == "multilabel" and fraction >= 1.0:
        # The shipped model: trained once by scripts/train_real_model.py on folds 1-8.
        # Seeds then vary the clustering only (stated in docs/results.md).
        from ecg_cluster_widget.model import load_pretrained

        return load_pretrained("ptbxl250")
    if cfg.models == "real":
        return _train_real_recipe(
            cfg,
            train_ds,
            val_ds,
            seed=seed,
            fraction=fraction,
            task=task,
            tag=tag,
            cached_only=cached_only,
        )
    key = cache_key(
        tag=tag,
        task=task,
        seed=seed,
        fraction=fraction,
        epochs=cfg.epochs,
        model=cfg.model_kwargs,
        n=len(train_ds),
        ids=train_ds.record_ids[:3],
    )
    path = (
        cfg.cache_dir
        / "models"
        / f"{tag}_{task}_f{int(fraction * 100)}_s{seed}_e{cfg.epochs}_{key}.pt"
    )
    if path.is_file():
        log(f"loading cached model {path.name}")
        return load_checkpoint(path)
    if cached_only:
        log(f"not cached, skipped: {path.name}")
        return None
    torch.manual_seed(seed)
    net = ResNet1d(n_leads=train_ds.n_leads, n_classes=train_ds.labels.shape[1], **cfg.model_kwargs)
    t0 = time.time()
    log(f"training {path.name} on {len(train_ds)} records for <= {cfg.epochs} epochs")
    bundle = train_model(
        net, train_ds, val_ds, epochs=cfg.epochs, seed=seed, task=task, patience=4, progress=False
    )
    bundle.meta = {**(bundle.meta or {}), "train_seconds": time.time() - t0, "fraction": fraction}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, bundle)
    log(f"trained in {time.time() - t0:.0f} s (best epoch {bundle.meta.get('best_epoch')})")
    return bundle


def _train_real_recipe(
    cfg: RunConfig,
    train_ds,
    val_ds,
    *,
    seed: int,
    fraction: float,
    task: str,
    tag: str,
    cached_only: bool,
):
    """A 250 Hz model with the shipped model's recipe (architecture, filter, augmentation,
    cosine schedule, EMA) on other data: a training fraction or a regression target."""
    import torch

    from ecg_cluster_widget.data.filtering import SignalFilter
    from ecg_cluster_widget.model import (
        PRETRAINED,
        ResNet1d,
        load_checkpoint,
        save_checkpoint,
        train_model,
    )

    spec = PRETRAINED["ptbxl250"]
    recipe = spec["recipe"]
    epochs = 2 if cfg.quick else recipe["epochs"]
    key = cache_key(
        tag=tag,
        task=task,
        seed=seed,
        fraction=fraction,
        epochs=epochs,
        recipe="ptbxl250",
        n=len(train_ds),
        ids=train_ds.record_ids[:3],
    )
    path = cfg.cache_dir / "models" / f"real_{tag}_{task}_f{int(fraction * 100)}_s{seed}_{key}.pt"
    if path.is_file():
        log(f"loading cached model {path.name}")
        return load_checkpoint(path)
    if cached_only:
        return None
    torch.manual_seed(seed)
    widths = (8, 8, 12, 12, 16) if cfg.quick else spec["filters"]
    net = ResNet1d(
        train_ds.n_leads,
        train_ds.labels.shape[1],
        filters=widths,
        seq_lengths=spec["seq_lengths"],
        dropout=recipe["dropout"],
    )
    t0 = time.time()
    log(
        f"training {path.name} ({task}) on {len(train_ds)} records, real-model recipe, {epochs} epochs"
    )
    bundle = train_model(
        net,
        train_ds,
        val_ds,
        epochs=epochs,
        patience=epochs,
        seed=seed,
        task=task,
        batch_size=recipe["batch_size"],
        lr=recipe["lr"],
        weight_decay=recipe["weight_decay"],
        progress=False,
        signal_filter=SignalFilter(bandpass=spec["bandpass"]),
        augment=recipe["augment"],
        lr_schedule=recipe["lr_schedule"],
        ema_decay=recipe["ema_decay"],
        monitor="val_auroc" if task == "multilabel" else "val_loss",
    )
    bundle.meta = {**(bundle.meta or {}), "train_seconds": time.time() - t0, "fraction": fraction}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, bundle)
    log(f"trained in {time.time() - t0:.0f} s")
    return bundle


def fit_tlc(
    bundle,
    fit_ds,
    n_clusters: int,
    seed: int,
    max_fit_points: int = 60_000,
    layers: Sequence[str] | None = None,
):
    """A fitted :class:`TLCExplainer` (clusters fitted on ``fit_ds``'s activations).

    ``layers=None`` hooks the model's recommended layers (default: the last three blocks).
    """
    from ecg_cluster_widget.explain.explainer import TLCExplainer

    # for_model: the options recommended for this model (the shipped real model carries
    # those picked by experiments/real_alignment.py on LUDB 1-100); explicit layers win.
    extra = {} if layers is None else {"layers": list(layers)}
    return TLCExplainer.for_model(
        bundle,
        n_clusters=n_clusters,
        random_state=seed,
        max_fit_points=max_fit_points,
        progress=False,
        **extra,
    ).fit(fit_ds)


# ----------------------------------------------------------------------------- metrics
def rf_faithfulness(
    props_train: np.ndarray,
    cnn_prob_train: np.ndarray,
    props_test: np.ndarray,
    cnn_prob_test: np.ndarray,
    y_test: np.ndarray,
    seed: int,
    class_names: Sequence[str] = CLASSES,
    n_estimators: int = 300,
    min_positives: int = 10,
) -> dict:
    """Random forest on cluster proportions trained to reproduce the CNN's thresholded labels.

    Thin wrapper over the package's :func:`ecg_cluster_widget.explain.faithfulness.faithfulness`
    (one multi-output forest, seeded by ``seed``; fidelity = per-label agreement with the CNN
    on the test set; accuracy = mean per-label accuracy on the true labels; AUROC / F1 macro
    over classes). Also returns the honest-faithfulness keys: ``majority_floor`` (majority CNN
    label of the training records applied to test), macro ``kappa`` / ``mcc`` /
    ``auroc_vs_cnn`` over the classes with at least ``min_positives`` CNN positives (and
    negatives) in the test set, the others listed in ``excluded_classes``.
    Works for any per-record features, e.g. the CNN-agnostic raw-window k-means proportions.
    """
    from ecg_cluster_widget.explain.faithfulness import faithfulness

    return faithfulness(
        props_train,
        cnn_prob_train,
        props_test,
        cnn_prob_test,
        y_test=y_test,
        cnn_proba_test=cnn_prob_test,
        n_estimators=n_estimators,
        random_state=seed,
        class_names=list(class_names),
        min_positives=min_positives,
    )


def mean_sd(values: Iterable[float], pct: bool = False, digits: int = 1) -> str:
    """``"mean ± sd"`` (sd over seeds, ddof=1; ``"mean"`` alone for one value)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "n/a"
    s = 100.0 if pct else 1.0
    if v.size == 1:
        return f"{v[0] * s:.{digits}f}"
    return f"{v.mean() * s:.{digits}f} ± {v.std(ddof=1) * s:.{digits}f}"


# ----------------------------------------------------------------------------- output
def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table."""

    def cell(x: Any) -> str:
        if isinstance(x, float):
            return f"{x:.3f}"
        return str(x)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def write_result(cfg: RunConfig, name: str, payload: dict, started: float) -> Path:
    """Write ``results_dir/<name>.json`` with provenance (command, time, versions)."""
    import sklearn
    import torch

    from ecg_cluster_widget.data import atomic_write_json

    payload = {
        "experiment": name,
        "command": cfg.command,
        "quick": cfg.quick,
        "seeds": cfg.seeds,
        "epochs": cfg.epochs,
        "model": "ptbxl250 (shipped real-ECG model)" if cfg.models == "real" else cfg.model_kwargs,
        "models": cfg.models,
        "runtime_s": round(time.time() - started, 1),
        "engine_fingerprint": cfg.engine,
        "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
        },
        **payload,
    }
    path = cfg.results_dir / f"{name}{'_quick' if cfg.quick else ''}.json"
    atomic_write_json(path, to_jsonable(payload))
    log(f"wrote {path}")
    return path


def save_html(cfg: RunConfig, name: str, layout, title: str) -> Path:
    """Save a Bokeh layout as HTML that loads one shared, local copy of BokehJS.

    Inlining BokehJS made every page 1.3 MB, 98.6 % of it the same library. Instead the
    BokehJS files the page needs are copied once from the installed bokeh package into
    ``<results>/bokehjs/<bokeh version>/js/`` and referenced by a relative path, so the
    pages still open offline (no CDN), the folder can be moved as a whole, and a page
    keeps the BokehJS version it was written with after bokeh is upgraded. The pages are
    not committed (see .gitignore); ``python experiments/<name>.py`` writes them.

    Parameters
    ----------
    cfg : RunConfig
        The run's options (``results_dir``, and ``quick`` for the ``_quick`` suffix).
    name : str
        File stem, e.g. ``"uncertainty"``.
    layout : bokeh.models.LayoutDOM
        What to save.
    title : str
        The page title.

    Returns
    -------
    pathlib.Path
        The HTML file written.
    """
    import shutil

    import bokeh
    from bokeh.embed import file_html
    from bokeh.embed.bundle import bundle_for_objs_and_resources
    from bokeh.resources import Resources
    from bokeh.settings import settings

    from ecg_cluster_widget.data import atomic_write_text

    results = Path(cfg.results_dir)
    shared = results / "bokehjs" / bokeh.__version__
    resources = Resources(mode="relative", root_dir=results, base_dir=shared)
    # The bundle is what file_html links: only the components this layout uses
    # (widgets, tables, gl, mathjax are separate files).
    for rel in bundle_for_objs_and_resources([layout], resources).js_files:
        target = results / str(rel)
        if not target.is_file():
            source = settings.bokehjs_path() / target.relative_to(shared)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    path = results / f"{name}{'_quick' if cfg.quick else ''}.html"
    atomic_write_text(path, file_html(layout, resources, title))
    log(f"wrote {path}")
    return path


def bar_figure(
    title: str,
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    y_label: str = "",
    width: int = 700,
    height: int = 320,
):
    """Grouped bar chart (one group per category, one bar per series)."""
    from bokeh.models import ColumnDataSource, FactorRange
    from bokeh.plotting import figure

    from ecg_cluster_widget.views.palette import PALETTE

    cats = [str(c) for c in categories]
    x = [(c, s) for c in cats for s in series]
    vals = [float(series[s][i]) for i, _ in enumerate(cats) for s in series]
    colors = [PALETTE[j % len(PALETTE)] for _ in cats for j, _ in enumerate(series)]
    src = ColumnDataSource(dict(x=x, top=vals, color=colors))
    fig = figure(
        x_range=FactorRange(*x),
        title=title,
        width=width,
        height=height,
        toolbar_location=None,
        tools="hover",
        tooltips=[("", "@x"), ("value", "@top{0.000}")],
    )
    fig.vbar(x="x", top="top", width=0.9, color="color", source=src)
    fig.yaxis.axis_label = y_label
    fig.xaxis.major_label_orientation = 0.9
    return fig


def line_figure(
    title: str,
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    x_label: str = "",
    y_label: str = "",
    width: int = 600,
    height: int = 320,
):
    """Line plot with markers, one line per series."""
    from bokeh.plotting import figure

    from ecg_cluster_widget.views.palette import PALETTE

    fig = figure(title=title, width=width, height=height, toolbar_location="right")
    for j, (name, ys) in enumerate(series.items()):
        col = PALETTE[j % len(PALETTE)]
        fig.line(list(x), list(ys), legend_label=name, color=col, line_width=2)
        fig.scatter(list(x), list(ys), color=col, size=6, legend_label=name)
    fig.xaxis.axis_label = x_label
    fig.yaxis.axis_label = y_label
    fig.legend.location = "top_left"
    return fig


def heatmap_figure(
    title: str,
    matrix: np.ndarray,
    row_names: Sequence[str],
    col_names: Sequence[str],
    width: int = 500,
    height: int = 380,
):
    """Heatmap of a small matrix (rows top to bottom), values shown on hover."""
    from bokeh.models import ColumnDataSource, LinearColorMapper
    from bokeh.palettes import Viridis256
    from bokeh.plotting import figure

    m = np.asarray(matrix, dtype=float)
    rows = [str(r) for r in row_names]
    cols = [str(c) for c in col_names]
    xs, ys, vs = [], [], []
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            xs.append(c)
            ys.append(r)
            vs.append(m[i, j])
    mapper = LinearColorMapper(
        palette=Viridis256, low=float(np.nanmin(m)), high=float(np.nanmax(m))
    )
    fig = figure(
        title=title,
        x_range=cols,
        y_range=list(reversed(rows)),
        width=width,
        height=height,
        toolbar_location=None,
        tools="hover",
        tooltips=[("row", "@y"), ("col", "@x"), ("value", "@v{0.000}")],
    )
    fig.rect(
        "x",
        "y",
        1,
        1,
        source=ColumnDataSource(dict(x=xs, y=ys, v=vs)),
        fill_color={"field": "v", "transform": mapper},
        line_color=None,
    )
    return fig
