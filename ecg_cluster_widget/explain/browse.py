"""Answers to "show me record i at K" for a browsing front end (the widget).

:class:`Browser` resolves a request (index, record id, next of a class, a ranking step,
K, Grad-CAM class) against one fitted explainer and dataset and returns everything a
view of that record draws. All derived data is cached per fit through
:class:`~ecg_cluster_widget.explain.fit_view.FitView`, and the explainer's own K is
never changed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..clustering.identity import check_n_clusters
from ..data.dataset import ECGDataset
from ..errors import DataError
from . import context as _ctx
from .explanation import ECGExplanation
from .fit_view import FitView
from .ranking import RANK_TITLES, RANKS, rank_order
from .snippets import cluster_cards
from .uncertainty import cluster_stats


def _int(value: Any, what: str, lo: int, hi: int) -> int:
    try:
        ok = not isinstance(value, bool) and float(value) == int(value)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or not lo <= int(value) <= hi:
        raise DataError(f"{what} must be an integer in {lo}..{hi}, got {value!r}.")
    return int(value)


def percentile_ranks(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Rank (0-1) of each value among the 101 ``quantiles`` (0th ... 100th percentile),
    interpolated between them; the same rule as ``percentileRanks`` in js/bands.js.

    Parameters
    ----------
    values : ndarray
        Normalised entropies.
    quantiles : ndarray of shape (101,)
        The dataset's entropy percentiles, sorted (``Browser.uncertainty_scale``).

    Returns
    -------
    ndarray
        Same shape as ``values``, in [0, 1]; a run of equal quantiles (many zeros on
        normal ECGs) gives the middle of its ranks; 0.5 everywhere without quantiles.

    Examples
    --------
    >>> q = np.linspace(0, 1, 101) ** 2
    >>> percentile_ranks(np.array([0.0, 0.25, 1.0]), q).round(2).tolist()
    [0.0, 0.5, 1.0]
    """
    q = np.asarray(quantiles, dtype=np.float64)
    if q.size < 2:
        return np.full(np.shape(values), 0.5)
    # Ties (many equal quantiles near 0) take the middle of their run of ranks.
    lo = np.searchsorted(q, values, side="left")
    hi = np.searchsorted(q, values, side="right")
    mid = np.interp(values, q, np.linspace(0, 1, q.size))
    tied = hi > lo
    return np.where(tied, (lo + hi - 1) / 2 / (q.size - 1), mid)


#: Share of a dataset's time steps under which a cluster counts as absent from it
#: (the effective K counts the others).
PRESENT_SHARE = 0.005


@dataclass(frozen=True)
class RecordView:
    """The answer to one view request.

    Attributes
    ----------
    expl : ECGExplanation
        The record's explanation at the K asked for.
    cam : ndarray or None
        Its Grad-CAM curve, when one was asked for and a model bundle is known.
    traits : dict
        The widget's trait values, by trait name: ``index``, ``n_clusters``,
        ``gradcam_class``, ``gradcam_label``, ``record`` (JSON facts), ``signal``,
        ``seg_ids``, ``entropy``, ``gradcam``, ``clusters``, ``prototypes``,
        ``example_snips``.

    Examples
    --------
    >>> view = Browser(tlc, ds, bundle).view({"k": 4}, 8, 0, (2, 12))  # doctest: +SKIP
    >>> view.expl.cluster_ids, view.traits["n_clusters"]  # doctest: +SKIP
    (array([0, 1, 2, 3]), 4)
    """

    expl: ECGExplanation
    cam: np.ndarray | None
    traits: dict[str, Any]


class Browser:
    """Record views of ``ds`` through the fitted explainer ``tlc``.

    Parameters
    ----------
    tlc : TLCExplainer
    ds : ECGDataset
    model : ModelBundle, optional
        Enables predictions, Grad-CAM and "next of a predicted class".
    n_examples : int
        Nearest examples per cluster card.

    Examples
    --------
    >>> b = Browser(tlc, ds, bundle)
    >>> b.view({"k": 8, "rank": "uncertain", "rank_step": 1}, 8, 0, (2, 12)).traits["index"]  # doctest: +SKIP
    """

    def __init__(self, tlc: Any, ds: ECGDataset, model: Any = None, n_examples: int = 3) -> None:
        self.fit = FitView(tlc, ds)
        self.ds = ds
        self.bundle = model if _ctx.multilabel_bundle(model) else None
        self.class_names = _ctx.class_names(model, ds)
        self.n_examples = int(n_examples)
        self._gradcam_engine = None

    # ------------------------------------------------------------------ cached parts
    def gradcam(self, i: int, cls: int) -> np.ndarray:
        """Grad-CAM of record ``i`` for class position ``cls`` (cached)."""
        from .gradcam import GradCAM

        def compute() -> np.ndarray:
            if self._gradcam_engine is None:
                self._gradcam_engine = GradCAM(self.bundle)
            return self._gradcam_engine.attribute(self.ds.subset([i]), target=cls)[0]

        return self.fit.cached("cam", (i, cls), compute, limit=64)

    def predictions(self) -> np.ndarray | None:
        """Class probabilities of every record (cached; ``None`` without a bundle)."""
        return self.fit.cached("proba", None, lambda: _ctx.predictions(self.bundle, self.ds))

    def cards(self, k: int) -> dict:
        """Cluster cards at K: ``clusters``, ``prototypes``, ``example_snips`` (cached)."""

        def compute() -> dict:
            self.fit.explain_all(k)  # once, before the threads below share it
            # The names and the uncertainty scale on a second thread while the cards'
            # statistics and prototypes are computed (NumPy releases the GIL): a K change
            # then costs the longer of the two, not their sum.
            with ThreadPoolExecutor(max_workers=1) as pool:
                names_job = pool.submit(self.proposed_names, k)
                scale_job = pool.submit(self.uncertainty_scale, k)
                infos = self.fit.cluster_summary(k, n_examples=self.n_examples)
                cards = cluster_cards(infos, self.fit.summary_ds, self.n_examples)
                names, scale = names_job.result(), scale_job.result()
            ancestors = self.fit.tlc.cluster_ancestors(k)
            for c in cards.clusters:
                c.update(scale["clusters"].get(int(c["id"]), {}))
                # A suggestion for the expert, kept apart from the expert's own names
                # (cluster_labels): the view shows it until a name is accepted or typed.
                c["proposed_name"] = names.get(int(c["id"]), "")
                # Its ancestors in the cluster tree (K-1, K-2, ... 2): an ancestor's name is
                # shown on a cluster that has none of its own.
                c["ancestors"] = ancestors.get(int(c["id"]), [])
                for ex in c["examples"]:  # positions in the browsed dataset
                    ex["record_index"] = int(self.fit.summary_rows[ex["record_index"]])
            return {
                "clusters": cards.clusters,
                "prototypes": cards.prototypes,
                "example_snips": cards.snippets,
            }

        return self.fit.cached("cards", int(k), compute)

    def wave_masks(self) -> np.ndarray | None:
        """Wave codes of the summary records (:attr:`FitView.summary_ds`): annotations, else
        rule-based delineation of lead II (cached; ``None`` when no lead can be delineated)."""

        def compute() -> np.ndarray | None:
            from .delineation import delineate

            ds = self.fit.summary_ds
            names = list(ds.lead_names)
            lead = "II" if "II" in names else names[0]
            masks = ds.wave_mask_for_lead(lead)
            if masks is None:
                try:
                    masks = delineate(ds, lead=lead)
                except DataError:
                    return None
            return np.asarray(masks).astype(np.int64)

        return self.fit.cached("wave_masks", None, compute)

    def proposed_names(self, k: int) -> dict[int, str]:
        """Proposed wave name per stable cluster id at K (``propose_wave_names``, the rule
        the command line and the labeling notebook use); ``{}`` when no wave is known.

        Examples
        --------
        >>> Browser(tlc, ds).proposed_names(3)  # doctest: +SKIP
        {0: 'TP baseline', 1: 'QRS complex', 2: 'T wave'}
        """

        def compute() -> dict[int, str]:
            from .landmarks import interval_masks, propose_wave_names

            masks = self.wave_masks()
            es = self.fit.explain_all(k)
            lab = np.asarray(es.labels)
            if masks is None or masks.shape != lab.shape:
                return {}
            intervals = None
            if lab.min() < 0:
                # Padding (label -1) carries no cluster: leave it out of the counts.
                masks, lab = np.where(lab < 0, -1, masks), np.maximum(lab, 0)
            else:
                # The intervals do not depend on K: split once per fit (0.1 s at 1,000 ECGs).
                intervals = self.fit.cached("intervals", None, lambda: interval_masks(masks))
            try:
                out = propose_wave_names(
                    lab,
                    masks,
                    n_clusters=es.n_clusters,
                    cluster_ids=es.cluster_ids,
                    intervals=intervals,
                )
            except DataError:
                return {}
            return {int(c["cluster_id"]): c["proposed_name"] or "" for c in out["clusters"]}

        return self.fit.cached("names", int(k), compute)

    def uncertainty_scale(self, k: int) -> dict:
        """Where uncertainty stands in this dataset at K (cached).

        On normal ECGs the normalised entropy sits near 0 almost everywhere, so an absolute
        0-1 scale shows thin spikes only; a scale of percentiles of the dataset's own
        entropies shows which time steps are more or less certain than usual.

        Returns
        -------
        dict
            ``quantiles``: the 0th, 1st, ..., 100th percentiles of the entropy over every
            valid time step (101 floats); ``clusters``: per stable id ``pct_hist`` (share
            of its time steps per tenth of the percentile scale), ``mean_pct`` (mean
            percentile rank, 0-1) and ``confidence``: ``"confident"`` when its time steps
            are more certain than the dataset's median on average, else ``"unsure"``.

        Examples
        --------
        >>> Browser(tlc, ds).uncertainty_scale(3)["clusters"][0]["confidence"]  # doctest: +SKIP
        'confident'
        """

        def compute() -> dict:
            es = self.fit.explain_all(k)
            lab = np.asarray(es.labels)
            ent = np.asarray(es.entropy, dtype=np.float64)
            ok = lab >= 0
            if not ok.any():
                return {"quantiles": [], "clusters": {}}
            vals, lab_ok = ent[ok], lab[ok]
            # Percentiles and per-cluster histograms from at most ~200k time steps (a strided
            # sample gives the same 1 %-resolution picture; 2M cost 0.4 s of a K change
            # at 1,000 ECGs).
            step = max(1, vals.size // 200_000)
            vals, lab_ok = vals[::step], lab_ok[::step]
            q = np.quantile(vals, np.linspace(0, 1, 101))
            ranks = percentile_ranks(vals, q)
            count, mean_rank, hists = cluster_stats(lab_ok, ranks, len(es.cluster_ids), 10)
            out = {}
            for pos, cid in enumerate(es.cluster_ids):
                hist = hists[pos] / max(1, count[pos])
                mean = float(mean_rank[pos]) if count[pos] else 0.5
                out[int(cid)] = {
                    "pct_hist": [round(float(h), 4) for h in hist],
                    "mean_pct": round(mean, 4),
                    "confidence": "confident" if mean < 0.5 else "unsure",
                }
            return {"quantiles": [float(v) for v in q], "clusters": out}

        return self.fit.cached("uscale", int(k), compute)

    def ranking(self, k: int, rank: str) -> np.ndarray:
        """Record order of ``rank`` at K (cached)."""
        return self.fit.cached(
            "rank", (int(k), rank), lambda: rank_order(self.fit.explain_all(k, every=True), rank)
        )

    # ------------------------------------------------------------------ requests
    def resolve(self, req: dict, k_now: int, index_now: int, k_range: tuple[int, int]):
        """(K, index, Grad-CAM class) a request asks for; DataError when it is invalid."""
        k = check_n_clusters(req.get("k", k_now), k_range=k_range, what="K")
        index = req.get("index", index_now)
        if req.get("record_id") not in (None, ""):
            index = self.ds.index_of(str(req["record_id"]))
        index = _int(index, "ECG index", 0, len(self.ds) - 1)
        if req.get("class"):
            hits = _ctx.records_of_class(self.ds, str(req["class"]), self.bundle, None)
            if not hits.size:
                raise DataError(f"no ECG of class {req['class']!r} in this dataset.")
            after = hits[hits > index]
            index = int(after[0] if after.size else hits[0])
        cam = str(req.get("gradcam_class") or "")
        if cam and cam not in self.class_names:
            names = ", ".join(self.class_names) or "none"
            raise DataError(f"unknown Grad-CAM class {cam!r}; classes: {names}.")
        return k, index, cam

    def rank_step(self, req: dict, k: int) -> tuple[int, str, dict]:
        """Record, info text and cursor of a ranking request."""
        rank = req["rank"]
        if rank not in RANKS:
            raise DataError(f"rank must be one of {RANKS}, got {rank!r}.")
        order = self.ranking(k, rank)
        if req.get("rank_pos") is not None:
            # The browser keeps its own cursor (it starts at #1 for the user, whatever
            # the notebook did with show(rank=...)).
            pos = _int(req["rank_pos"], "rank_pos", -(10**9), 10**9) % len(order)
        else:
            step = int(req.get("rank_step", 1))
            cursor = self.fit.cached("rank_pos", None, dict)
            pos = (cursor.get(rank, -1) + step if step else 0) % len(order)
            cursor[rank] = pos
        info = f"{RANK_TITLES[rank]} #{pos + 1} of {len(order)} (K={k})"
        source = "ui" if req.get("rank_source") == "ui" else "python"
        return int(order[pos]), info, {"key": rank, "pos": pos, "n": len(order), "source": source}

    def view(self, req: dict, k_now: int, index_now: int, k_range: tuple[int, int]) -> RecordView:
        """Everything the view of the record a request asks for draws (:class:`RecordView`)."""
        self.fit.refresh()
        k, index, cam_cls = self.resolve(req, k_now, index_now, k_range)
        info, rank_rec = "", None
        if req.get("rank"):
            index, info, rank_rec = self.rank_step(req, k)
        expl = self.fit.explain(index, k)
        proba = self.predictions()
        ctx = _ctx.record_context(
            self.bundle,
            self.ds,
            index,
            cam_cls,
            proba=None if proba is None else proba[index],
            gradcam=self.gradcam,
        )
        ds = self.ds
        record = {
            "index": index,
            "record_id": ds.record_ids[index],
            "fs": float(ds.fs),
            "n_leads": ds.n_leads,
            "n_samples": ds.n_samples,
            "lead_names": list(ds.lead_names),
            "true_classes": ctx.true_classes,
            "prediction": ctx.prediction,
            "mean_entropy": float(expl.mean_entropy),
            "rank_info": info,
            "rank": rank_rec,
            "k": k,
            "cluster_ids": [int(c) for c in expl.cluster_ids],
            "fit_id": self.fit.token_text(),
            "entropy_quantiles": self.uncertainty_scale(k)["quantiles"],
        }
        cards = self.cards(k)
        # Clusters this dataset hardly uses are reported, not hidden: the effective K.
        record["effective_k"] = sum(c["share"] >= PRESENT_SHARE for c in cards["clusters"])
        # Cards, names and the uncertainty scale describe these records (all, or a sample).
        record["summary_records"] = len(self.fit.summary_ds)
        traits = {
            "index": index,
            "n_clusters": k,
            "gradcam_class": cam_cls,
            "gradcam_label": ctx.gradcam_class,
            "record": record,
            "signal": ds.signals[index],
            "seg_ids": np.asarray(expl.cluster_ids)[np.asarray(expl.labels)],
            "entropy": expl.entropy,
            "gradcam": np.zeros(0) if ctx.gradcam is None else ctx.gradcam,
            **cards,
        }
        return RecordView(expl, ctx.gradcam, traits)
