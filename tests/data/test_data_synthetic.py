"""Tests of the synthetic ECG generator: determinism, realism and exact wave masks."""

from __future__ import annotations

import numpy as np
import pytest

from ecg_cluster_widget.data import STANDARD_LEADS, SYNTHETIC_CLASSES, make_synthetic
from ecg_cluster_widget.errors import DataError


@pytest.fixture(scope="module")
def clean():
    """Noise-free records, so waveform properties can be checked exactly."""
    return make_synthetic(300, noise=0.0, baseline_wander=0.0, seed=5)


@pytest.fixture(scope="module")
def noisy():
    return make_synthetic(600, seed=0)


def _runs(mask_row: np.ndarray, code: int) -> np.ndarray:
    """Lengths (samples) of the runs of ``code`` that do not touch the record edges."""
    m = np.concatenate([[0], (mask_row == code).astype(int), [0]])
    d = np.diff(m)
    on, off = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    inner = (on > 0) & (off < mask_row.size)
    return (off - on)[inner]


def test_shapes_dtypes_and_metadata(noisy):
    ds = noisy
    assert ds.signals.shape == (600, 12, 1000) and ds.signals.dtype == np.float32
    assert ds.wave_masks.shape == (600, 1000) and ds.wave_masks.dtype == np.int8
    assert set(np.unique(ds.wave_masks)) == {0, 1, 2, 3}
    assert ds.class_names == SYNTHETIC_CLASSES and ds.labels.shape == (600, 5)
    assert ds.lead_names == STANDARD_LEADS and ds.fs == 100.0
    assert np.isfinite(ds.signals).all()
    hr = ds.meta["heart_rate"]
    assert hr.shape == (600,) and 45 < hr.min() and hr.max() < 125
    assert len(ds.meta["beats"]) == 600 and len(set(ds.record_ids)) == 600


def test_deterministic_and_seed_dependent():
    a = make_synthetic(20, seed=3)
    b = make_synthetic(20, seed=3)
    c = make_synthetic(20, seed=4)
    np.testing.assert_array_equal(a.signals, b.signals)
    np.testing.assert_array_equal(a.wave_masks, b.wave_masks)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.allclose(a.signals, c.signals)


def test_class_balance(noisy):
    share = noisy.labels.mean(0)
    assert 0.42 < share[0] < 0.58  # NORM about half
    assert (share[1:] > 0.1).all() and (share[1:] < 0.3).all()
    # NORM is exactly "none of the others".
    np.testing.assert_array_equal(noisy.labels[:, 0] == 1, noisy.labels[:, 1:].sum(1) == 0)
    assert make_synthetic(30, pathology_rate=0.0).labels[:, 0].all()
    assert not make_synthetic(30, pathology_rate=1.0).labels[:, 0].any()


def test_leads_obey_einthoven_and_morphology(clean):
    s = clean.signals
    li = {name: i for i, name in enumerate(STANDARD_LEADS)}
    np.testing.assert_allclose(s[:, li["III"]], s[:, li["II"]] - s[:, li["I"]], atol=1e-5)
    np.testing.assert_allclose(s[:, li["aVR"]], -(s[:, li["I"]] + s[:, li["II"]]) / 2, atol=1e-5)
    norm = clean.labels[:, 0] == 1
    qrs = clean.wave_masks == 2

    def qrs_extreme(lead):
        x = np.where(qrs, s[:, li[lead]], 0.0)
        return x.max(1), x.min(1)

    hi, lo = qrs_extreme("aVR")
    assert np.mean(-lo[norm] > hi[norm]) > 0.9  # aVR mostly negative
    hi, lo = qrs_extreme("V1")
    assert np.mean(-lo[norm] > hi[norm]) > 0.9  # V1: rS
    hi, lo = qrs_extreme("V6")
    assert np.mean(hi[norm] > -lo[norm]) > 0.9  # V6: qR
    hi, _ = qrs_extreme("II")
    assert 0.5 < np.median(hi[norm]) < 2.5  # R in lead II in mV


def test_signal_is_zero_exactly_outside_waves_for_clean_norm(clean):
    norm = np.flatnonzero(clean.labels[:, 0] == 1)
    x = clean.signals[norm]
    m = clean.wave_masks[norm]
    assert np.abs(x[np.broadcast_to(m[:, None] == 0, x.shape)]).max() == 0.0
    # ...and inside each wave lead II is drawn (non-zero away from the edges).
    ii = x[:, 1]
    for code in (1, 2, 3):
        assert np.mean(np.abs(ii[m == code]) > 1e-4) > 0.9


def test_qrs_has_the_steepest_slope(noisy):
    slope = np.abs(np.diff(noisy.signals, axis=2)).mean(1)  # (n, T-1)
    m = noisy.wave_masks[:, 1:]
    means = {code: slope[m == code].mean() for code in (0, 1, 2, 3)}
    assert means[2] > 2 * max(means[0], means[1], means[3])


def test_af_has_no_p_waves_and_irregular_rr(noisy):
    af = noisy.labels[:, 4] == 1
    norm = noisy.labels[:, 0] == 1
    assert not (noisy.wave_masks[af] == 1).any()
    assert (noisy.wave_masks[~af] == 1).any(1).all()

    def rr_cv(i):
        rr = np.diff(noisy.meta["beats"][i])
        return rr.std() / rr.mean()

    cv_af = np.median([rr_cv(i) for i in np.flatnonzero(af)])
    cv_norm = np.median([rr_cv(i) for i in np.flatnonzero(norm)])
    assert cv_af > 3 * cv_norm


def test_cd_widens_qrs(noisy):
    cd = noisy.labels[:, 3] == 1
    norm = noisy.labels[:, 0] == 1
    width_ms = np.array([np.median(_runs(row, 2)) for row in noisy.wave_masks]) * 10
    assert np.median(width_ms[cd]) >= 120 and width_ms[cd].min() >= 110
    assert np.median(width_ms[norm]) <= 100 and width_ms[norm].max() < 115


def test_mi_has_pathological_q_in_its_territory(clean):
    li = {name: i for i, name in enumerate(STANDARD_LEADS)}
    terr = clean.meta["mi_territory"]
    lead = {"inferior": "aVF", "anterior": "V2", "lateral": "I"}
    fs = clean.fs
    checked = 0
    for i in np.flatnonzero(clean.labels[:, 1] == 1):
        x = clean.signals[i, li[lead[terr[i]]]]
        onsets = np.flatnonzero(np.diff((clean.wave_masks[i] == 2).astype(int)) == 1) + 1
        # The first 30 ms of the QRS go negative, deeper than 0.1 mV: a Q wave.
        q = [x[o : o + int(0.03 * fs) + 1].min() for o in onsets]
        assert np.median(q) < -0.1, (i, terr[i])
        checked += 1
    assert checked > 20
    norm = np.flatnonzero(clean.labels[:, 0] == 1)
    onsets0 = [
        np.flatnonzero(np.diff((clean.wave_masks[i] == 2).astype(int)) == 1)[0] + 1 for i in norm
    ]
    q_norm = [clean.signals[i, li["aVF"], o : o + 4].min() for i, o in zip(norm, onsets0)]
    assert np.median(q_norm) > -0.1


def test_sttc_t_inversion(clean):
    li = STANDARD_LEADS.index("V5")
    t_area = np.array(
        [clean.signals[i, li][clean.wave_masks[i] == 3].mean() for i in range(len(clean))]
    )
    inv = np.char.find(clean.meta["sttc_type"].astype(str), "T inversion") >= 0
    norm = clean.labels[:, 0] == 1
    assert inv.sum() > 5
    assert np.mean(t_area[inv] < 0) > 0.8
    assert np.mean(t_area[norm] > 0) > 0.9


def test_beats_lie_in_qrs_and_match_heart_rate(noisy):
    for i in range(0, 600, 37):
        b = noisy.meta["beats"][i]
        assert (noisy.wave_masks[i, b] == 2).all()
        assert abs(60 * noisy.fs / np.diff(b).mean() - noisy.meta["heart_rate"][i]) < 1e-3


def test_fs500_and_few_leads():
    ds = make_synthetic(12, fs=500, seed=2)
    assert ds.signals.shape == (12, 12, 5000)
    lo = make_synthetic(12, fs=100, seed=2)
    # Same seed -> same physiology; QRS durations agree across sampling rates.
    w500 = np.median(np.concatenate([_runs(r, 2) for r in ds.wave_masks])) / 500
    w100 = np.median(np.concatenate([_runs(r, 2) for r in lo.wave_masks])) / 100
    assert abs(w500 - w100) < 0.012
    one = make_synthetic(3, n_leads=1)
    assert one.lead_names == ("II",) and one.signals.shape == (3, 1, 1000)
    assert make_synthetic(3, n_leads=3, duration=5).signals.shape == (3, 3, 500)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_records=0),
        dict(n_records=-2),
        dict(fs=0),
        dict(fs=-100.0),
        dict(n_leads=0),
        dict(n_leads=13),
        dict(duration=0),
        dict(noise=-1.0),
        dict(pathology_rate=1.5),
        dict(n_records=2.5),
    ],
)
def test_bad_arguments_raise_data_error(kwargs):
    with pytest.raises(DataError):
        make_synthetic(**{"n_records": 3, **kwargs})
