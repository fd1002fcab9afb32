"""Property-based tests (Hypothesis) of data-layer invariants that must hold on any input:
datasets are immutable, units convert exactly, plausibility checks see wrong units,
labels files round-trip exactly, exports escape whatever text a label holds."""

from __future__ import annotations

import io
import json
import os
import pickle
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from ecg_cluster_widget.data import (  # noqa: E402
    ECGDataset,
    amplitude_problems,
    check_annotation_file,
    clean_stale_temps,
    crop_or_pad,
    from_numpy,
)
from ecg_cluster_widget.data.io_utils import FORMULA_PREFIXES  # noqa: E402
from ecg_cluster_widget.errors import FileFormatError  # noqa: E402
from ecg_cluster_widget.labels import (  # noqa: E402
    attach_labels,
    normalize_labels,
    read_labels_file,
    save_labels,
    write_segments,
)
from ecg_cluster_widget.views.report import script_json  # noqa: E402

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

shapes = st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(2, 64))
finite = st.floats(-50, 50, allow_nan=False, width=32)
signals = shapes.flatmap(lambda s: hnp.arrays(np.float64, s, elements=finite))
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **kw)


def _ecg_like(rng, n, leads, t, ptp):
    """Records whose every lead has exactly the peak-to-peak ``ptp[r, l]`` around 0."""
    x = rng.uniform(-0.5, 0.5, (n, leads, t))
    x[..., 0], x[..., 1] = -0.5, 0.5
    return x * ptp[..., None]


# --- immutability -----------------------------------------------------------------------
@SETTINGS
@given(x=signals, data=st.data())
def test_any_dataset_is_read_only_and_independent_of_its_input(x, data):
    ds = _quiet(ECGDataset, x, fs=100, lead_names=[f"L{i}" for i in range(x.shape[1])])
    before = ds.signals.copy()
    r = data.draw(st.integers(0, x.shape[0] - 1))
    with pytest.raises(ValueError, match="read-only"):
        ds.signals[r] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        ds.signals[r] += 1.0
    x[...] = 7.0  # the caller edits its own array
    np.testing.assert_array_equal(ds.signals, before)
    np.testing.assert_array_equal(ds.signals, before)  # unchanged by the failed edits
    clone = pickle.loads(pickle.dumps(ds))
    with pytest.raises(ValueError, match="read-only"):
        clone.signals[r] = 0.0


@SETTINGS
@given(x=signals, data=st.data())
def test_subset_and_with_signals_keep_content_and_stay_read_only(x, data):
    ds = _quiet(
        ECGDataset,
        x,
        fs=100,
        lead_names=[f"L{i}" for i in range(x.shape[1])],
        labels=np.arange(x.shape[0]),
    )
    idx = data.draw(st.lists(st.integers(0, x.shape[0] - 1), min_size=1, max_size=6))
    sub = ds.subset(idx)
    np.testing.assert_array_equal(sub.signals, ds.signals[idx])
    assert sub.labels[:, 0].tolist() == [float(i) for i in idx]
    assert not sub.signals.flags.writeable and not sub.labels.flags.writeable
    y = ds.signals.copy()
    y[0] = -y[0]
    new = _quiet(ds.with_signals, y)
    np.testing.assert_array_equal(new.signals, y.astype(np.float32))
    np.testing.assert_array_equal(ds.signals, x.astype(np.float32))  # the source is untouched
    assert new.labels is ds.labels and not new.signals.flags.writeable


@SETTINGS
@given(x=signals, n=st.integers(1, 80))
def test_preprocessing_returns_new_read_only_datasets(x, n):
    ds = _quiet(ECGDataset, x, fs=100, lead_names=[f"L{i}" for i in range(x.shape[1])])
    before = ds.signals.copy()
    out = crop_or_pad(ds, n)
    assert out.n_samples == n and not out.signals.flags.writeable
    np.testing.assert_array_equal(ds.signals, before)
    k = min(n, ds.n_samples)
    np.testing.assert_array_equal(out.signals[..., :k], before[..., :k])


# --- units ------------------------------------------------------------------------------
@SETTINGS
@given(x=signals, gain=st.floats(1, 5000), baseline=st.integers(-2048, 2048))
def test_units_conversions_agree(x, gain, baseline):
    leads = [f"L{i}" for i in range(x.shape[1])]
    mv = _quiet(from_numpy, x, fs=100, lead_names=leads, amplitude_check="ignore")
    uv = _quiet(
        from_numpy, x * 1000, fs=100, lead_names=leads, units="uV", amplitude_check="ignore"
    )
    v = _quiet(from_numpy, x / 1000, fs=100, lead_names=leads, units="V", amplitude_check="ignore")
    adc = _quiet(
        from_numpy,
        x * gain + baseline,
        fs=100,
        lead_names=leads,
        units="adc",
        gain=gain,
        baseline=baseline,
        amplitude_check="ignore",
    )
    scale = 1e-4 * (1 + np.abs(x).max())
    for other in (uv, v, adc):
        np.testing.assert_allclose(other.signals, mv.signals, atol=scale, rtol=1e-4)
        assert other.meta["units"] == "mV"


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 5),
    leads=st.integers(3, 12),
    factor=st.floats(200.0, 5000.0),
)
def test_plausibility_check_sees_microvolts(seed, n, leads, factor):
    rng = np.random.default_rng(seed)
    ptp = rng.uniform(0.3, 5.0, (n, leads))  # an ECG in mV
    x = _ecg_like(rng, n, leads, 100, ptp)
    names, ids = [f"L{i}" for i in range(leads)], [f"r{i}" for i in range(n)]
    assert amplitude_problems(x, names, ids) == []
    msgs = amplitude_problems(x * factor, names, ids)
    assert len(msgs) == 1 and msgs[0].startswith("values look like microvolts")
    assert "all records" in msgs[0]


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6), leads=st.integers(2, 12), data=st.data()
)
def test_zero_leads_are_always_named(seed, n, leads, data):
    rng = np.random.default_rng(seed)
    x = _ecg_like(rng, n, leads, 50, rng.uniform(0.3, 5.0, (n, leads)))
    r = data.draw(st.integers(0, n - 1))
    c = data.draw(st.integers(0, leads - 1))
    x[r, c] = 0.0
    names, ids = [f"L{i}" for i in range(leads)], [f"r{i}" for i in range(n)]
    text = " ".join(amplitude_problems(x, names, ids))
    assert f"r{r}/L{c}" in text and "all zeros" in text


# --- labels files -----------------------------------------------------------------------
label_values = st.one_of(text, st.fixed_dictionaries({}, optional={"name": text, "notes": text}))
labels_st = st.dictionaries(st.integers(0, 10_000), label_values, max_size=8)
fit_st = st.fixed_dictionaries(
    {},
    optional={
        "model_checksum": st.text(min_size=1, max_size=20),
        "data_fingerprint": st.text(min_size=1, max_size=20),
        "n_clusters": st.just(3),
        "cluster_ids": st.just([0, 4, 9]),
    },
)


@SETTINGS
@given(labels=labels_st, fit=fit_st, with_sig=st.booleans())
def test_save_load_round_trips_exactly(tmp_path_factory, labels, fit, with_sig):
    path = tmp_path_factory.mktemp("labels") / "l.json"
    sig = {4: {"centroid": [0.5, -1.0]}} if with_sig and "cluster_ids" in fit else None
    save_labels(path, labels, {"note": "x"}, fit=fit or None, signatures=sig)
    expected = normalize_labels(labels)
    assert read_labels_file(path).labels == expected
    assert normalize_labels(expected) == expected  # idempotent
    lf = read_labels_file(path)
    assert lf.fit == (fit or None) and lf.meta == {"note": "x"}
    if fit:
        assert attach_labels(path, fit)[0] == expected  # its own fit is never refused
    assert [f.name for f in path.parent.iterdir()] == ["l.json"]


@SETTINGS
@given(depth=st.integers(2_000, 300_000), opener=st.sampled_from(["[", '{"a":']))
def test_any_nesting_depth_gives_file_format_error(tmp_path_factory, depth, opener):
    path = tmp_path_factory.mktemp("deep") / "l.json"
    closer = "]" if opener == "[" else "}"
    path.write_text(opener * depth + ("1" if opener != "[" else "") + closer * depth)
    with pytest.raises(FileFormatError):
        read_labels_file(path)


# --- exports ----------------------------------------------------------------------------
@SETTINGS
@given(names=st.lists(text, min_size=1, max_size=6))
def test_csv_cells_never_start_a_formula(tmp_path_factory, names):
    import pandas as pd

    rows = [
        {
            "record_index": 0,
            "record_id": nm,
            "start": 0,
            "end": 1,
            "start_s": 0.0,
            "end_s": 0.01,
            "cluster_id": 1,
            "name": nm,
            "notes": nm,
            "mean_entropy": 0.0,
        }
        for nm in names
    ]
    path = write_segments(tmp_path_factory.mktemp("csv") / "s.csv", rows)
    frame = pd.read_csv(io.StringIO(path.read_text()), keep_default_na=False, dtype=str)
    for col in ("name", "notes", "record_id"):
        for raw, cell in zip(names, frame[col]):
            assert not cell.startswith(FORMULA_PREFIXES[:4])
            if raw.startswith(FORMULA_PREFIXES):
                assert cell.startswith("'")


@SETTINGS
@given(
    obj=st.recursive(
        st.one_of(text, st.integers(), st.booleans(), st.none()),
        lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(text, kids, max_size=4)),
        max_leaves=20,
    )
)
def test_script_json_is_inert_in_html_and_exact(obj):
    out = script_json(obj)
    assert "<" not in out and ">" not in out and "&" not in out
    assert json.loads(out) == obj


# --- files --------------------------------------------------------------------------------
@SETTINGS
@given(body=st.binary(max_size=64))
def test_annotation_check_accepts_exactly_complete_files(tmp_path_factory, body):
    path = tmp_path_factory.mktemp("ann") / "1.i"
    path.write_bytes(body)
    complete = len(body) >= 2 and len(body) % 2 == 0 and body[-2:] == b"\0\0"
    if complete:
        check_annotation_file(path)
    else:
        with pytest.raises(FileFormatError, match="truncated"):
            check_annotation_file(path)


@SETTINGS
@given(
    names=st.lists(
        st.text(st.characters(whitelist_categories=("Ll", "Nd")), min_size=1, max_size=8),
        min_size=1,
        max_size=5,
        unique=True,
    )
)
def test_clean_stale_temps_only_touches_dead_temps_of_its_destination(tmp_path_factory, names):
    folder = tmp_path_factory.mktemp("tmp")
    dest = folder / "target.json"
    dest.write_text("keep")
    keep = [folder / f".{n}.999999999.x.tmp" for n in names] + [folder / f"{n}.tmp" for n in names]
    keep += [folder / f".target.json.{os.getpid()}.live.tmp"]
    dead = folder / ".target.json.999999999.dead.tmp"
    for f in [*keep, dead]:
        f.write_bytes(b"x")
    removed = clean_stale_temps(dest)
    assert removed == [dead] and dest.read_text() == "keep" and all(f.exists() for f in keep)
