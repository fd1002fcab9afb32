"""Tests of the PTB-XL, LUDB and WFDB loaders on the real data in ../shared/data.

Every real-data test uses the conftest fixtures, so it skips when the data are absent.
Corrupt-file tests write their own small files into tmp_path.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from ecg_cluster_widget.data import (
    PTBXL_CLASSES,
    STANDARD_LEADS,
    annotation_to_mask,
    from_numpy,
    load_ludb,
    load_ptbxl,
    load_ptbxl_unlabeled,
    load_wfdb,
    read_ptbxl_database,
)
from ecg_cluster_widget.errors import DataError, FileFormatError

# From shared/data/README.md.
README_CLASS_COUNTS = {"NORM": 381, "MI": 192, "STTC": 255, "CD": 162, "HYP": 96}
README_FOLD_COUNTS = [83, 91, 79, 70, 86, 80, 73, 87, 111, 108]
README_FOLD4 = {"NORM": 36, "MI": 15, "STTC": 18, "CD": 7, "HYP": 4}


# --- PTB-XL ---------------------------------------------------------------------
def test_ptbxl_database_labels_and_folds_match_readme(ptbxl_root):
    db = read_ptbxl_database(ptbxl_root)
    assert len(db) == 868
    for cls, count in README_CLASS_COUNTS.items():
        assert sum(cls in s for s in db.superclasses) == count, cls
    assert (db.superclasses.apply(len) == 0).sum() == 25
    assert (db.superclasses.apply(len) > 1).sum() == 189
    np.testing.assert_array_equal(np.bincount(db.strat_fold, minlength=11)[1:], README_FOLD_COUNTS)


def test_load_ptbxl_fold_100hz(ptbxl_root):
    ds = load_ptbxl(ptbxl_root, fs=100, folds=4, progress=False)
    assert ds.signals.shape == (70, 12, 1000) and ds.fs == 100
    assert ds.class_names == PTBXL_CLASSES and ds.lead_names == STANDARD_LEADS
    assert dict(zip(PTBXL_CLASSES, ds.labels.sum(0).astype(int).tolist())) == README_FOLD4
    assert (ds.folds == 4).all()
    assert np.isfinite(ds.signals).all()
    # Physical units: QRS complexes are a few tenths of a mV to a few mV.
    assert 0.2 < np.median(np.abs(ds.signals).max(axis=2)) < 5
    info = ds.meta["info"]
    assert len(info) == 70 and info.ecg_id.astype(str).tolist() == list(ds.record_ids)
    for col in (
        "age",
        "sex",
        "baseline_drift",
        "static_noise",
        "burst_noise",
        "electrodes_problems",
        "validated_by_human",
        "quality_issue",
    ):
        assert col in info.columns
    # meta["info"] follows subset().
    sub = ds.subset([5, 2])
    assert sub.meta["info"].ecg_id.astype(str).tolist() == [ds.record_ids[5], ds.record_ids[2]]


def test_ptbxl_100hz_is_decimated_500hz_and_close_to_official(ptbxl_root):
    hi = load_ptbxl(ptbxl_root, fs=500, max_records=3, progress=False)
    lo = load_ptbxl(ptbxl_root, fs=100, max_records=3, progress=False)
    official = load_ptbxl(
        ptbxl_root, fs=100, max_records=3, progress=False, resample_from_500=False
    )
    assert hi.signals.shape == (3, 12, 5000) and lo.signals.shape == (3, 12, 1000)
    assert lo.meta["signal_source"].startswith("records500 decimated")
    assert official.meta["signal_source"] == "records100"
    # Same recording: the bulk agrees with the official 100 Hz files to within tens of uV.
    assert np.median(np.abs(lo.signals - official.signals)) < 0.02
    np.testing.assert_allclose(lo.signals[..., 100:900:10], hi.signals[..., 500:4500:50], atol=0.25)


def test_ptbxl_official_100hz_missing_raises(ptbxl_root):
    with pytest.raises(FileFormatError, match="resample_from_500"):
        load_ptbxl(ptbxl_root, fs=100, resample_from_500=False, progress=False)


def test_ptbxl_unlabeled(ptbxl_root):
    ds = load_ptbxl_unlabeled(ptbxl_root, max_records=4, progress=False)
    assert ds.signals.shape == (4, 12, 1000) and ds.labels is None
    assert "myocard" in ds.meta["info"].columns
    db = read_ptbxl_database(ptbxl_root)
    assert not set(map(int, ds.record_ids)) & set(db.index)


def test_ptbxl_bad_arguments(ptbxl_root, tmp_path):
    with pytest.raises(DataError, match="positive sampling rate"):
        load_ptbxl(ptbxl_root, fs=0, progress=False)
    with pytest.raises(DataError, match="folds"):
        load_ptbxl(ptbxl_root, folds=[11], progress=False)
    with pytest.raises(FileFormatError, match="ptbxl_database.csv"):
        load_ptbxl(tmp_path, progress=False)


def test_ptbxl_missing_record_names_file(ptbxl_root, tmp_path):
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        shutil.copy(ptbxl_root / name, tmp_path / name)
    with pytest.raises(FileFormatError, match="00001_hr"):
        load_ptbxl(tmp_path, max_records=2, progress=False)


# --- LUDB -----------------------------------------------------------------------
def test_annotation_to_mask_handles_incomplete_triplets():
    # A wave cut at the start (no onset) is ignored; span starts at the first mark.
    m = annotation_to_mask(np.array([1, 3, 4, 6, 7]), ["N", ")", "(", "t", ")"], 10)
    assert m.tolist() == [-1, 0, 0, 0, 3, 3, 3, 3, -1, -1]
    assert (annotation_to_mask(np.array([], dtype=int), [], 5) == -1).all()


def test_ludb_record1_lead_ii_matches_readme(ludb_root):
    ds = load_ludb(ludb_root, records=[1, 2], progress=False)
    assert ds.signals.shape == (2, 12, 5000) and ds.wave_masks.shape == (2, 12, 5000)
    assert ds.fs == 500 and ds.record_ids == ("1", "2") and ds.lead_names == STANDARD_LEADS
    ii = ds.wave_masks[0, STANDARD_LEADS.index("II")]
    assert (ii[644:683] == 2).all() and ii[643] == -1 and ii[683] == 0  # ( N ) 644 662 682
    assert (ii[776:879] == 3).all()  # ( t ) 776 843 878
    assert (ii[1250:1303] == 1).all()  # ( p ) 1250 1278 1302
    assert set(np.unique(ds.wave_masks)) == {-1, 0, 1, 2, 3}
    # The QRS is where the signal is steepest.
    slope = np.abs(np.diff(ds.signals[0, 1]))
    assert slope[ii[1:] == 2].mean() > 2 * slope[ii[1:] == 0].mean()
    info = ds.meta["info"]
    assert info.Rhythms.tolist()[0] == "Sinus bradycardia" and info.Sex.tolist()[0] == "F"
    assert ds.wave_mask_for_lead("II").shape == (2, 5000)


def test_ludb_bad_input(ludb_root, tmp_path):
    with pytest.raises(FileFormatError, match="not an LUDB folder"):
        load_ludb(tmp_path, progress=False)
    (tmp_path / "data").mkdir()
    for f in ludb_root.joinpath("data").glob("1.*"):
        if f.suffix != ".v6":  # drop one lead's annotation
            shutil.copy(f, tmp_path / "data" / f.name)
    with pytest.raises(FileFormatError, match=r"1\.v6"):
        load_ludb(tmp_path, records=[1], progress=False)
    with pytest.raises(FileFormatError, match="99"):
        load_ludb(ludb_root, records=[99999], progress=False)


# --- WFDB -----------------------------------------------------------------------
def test_load_wfdb_mitdb_record(shared_data):
    ds = load_wfdb(shared_data / "wfdb_samples" / "mitdb" / "100", progress=False)
    assert ds.lead_names == ("II", "V5") and ds.fs == 360  # MLII is lead II's axis
    assert ds.signals.shape == (1, 2, 650000) and ds.record_ids == ("100",)
    assert 0.5 < np.percentile(ds.signals[0, 0], 99.9) - np.median(ds.signals[0, 0]) < 4
    # The extension may be given; n_samples crops.
    short = load_wfdb(shared_data / "wfdb_samples" / "mitdb" / "100.hea", n_samples=3600)
    np.testing.assert_array_equal(short.signals, ds.signals[..., :3600])


def test_load_wfdb_folder(shared_data, tmp_path):
    src = shared_data / "ludb" / "data"
    for name in ("2", "10", "1"):
        for ext in ("hea", "dat"):
            shutil.copy(src / f"{name}.{ext}", tmp_path / f"{name}.{ext}")
    ds = load_wfdb(tmp_path, progress=False, leads=["II", "V1"])
    assert ds.record_ids == ("1", "2", "10")  # natural order
    assert ds.lead_names == ("II", "V1") and ds.signals.shape == (3, 2, 5000)
    one = load_wfdb(tmp_path / "10", progress=False)
    np.testing.assert_array_equal(ds.signals[2, 0], one.signals[0, 1])
    # Mixed sampling rates are refused with a clear message.
    mit = shared_data / "wfdb_samples" / "mitdb"
    for ext in ("hea", "dat"):
        shutil.copy(mit / f"100.{ext}", tmp_path / f"100.{ext}")
    with pytest.raises(DataError, match="Hz"):
        load_wfdb(tmp_path, progress=False)


def test_corrupt_wfdb_files_raise_file_format_error(shared_data, tmp_path):
    src = shared_data / "ludb" / "data"
    shutil.copy(src / "1.hea", tmp_path / "1.hea")
    (tmp_path / "1.dat").write_bytes((src / "1.dat").read_bytes()[:1000])  # truncated
    with pytest.raises(FileFormatError, match="1"):
        load_wfdb(tmp_path / "1", progress=False)
    (tmp_path / "2.hea").write_text("this is not a header\n\x00\x01garbage\n")
    (tmp_path / "2.dat").write_bytes(b"\x00" * 10)
    with pytest.raises(FileFormatError, match="2"):
        load_wfdb(tmp_path / "2", progress=False)
    with pytest.raises(FileFormatError, match="not found"):
        load_wfdb(tmp_path / "missing", progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileFormatError, match="no WFDB headers"):
        load_wfdb(empty, progress=False)


# --- from_numpy -----------------------------------------------------------------
def test_from_numpy_layouts_and_errors(rng):
    x = rng.normal(size=(3, 12, 500))
    ds = from_numpy(x, fs=250)
    np.testing.assert_allclose(ds.signals, x.astype(np.float32))
    ds_t = from_numpy(x.transpose(0, 2, 1), fs=250)  # wfdb / PTB-XL layout
    np.testing.assert_array_equal(ds_t.signals, ds.signals)
    one = from_numpy(x[0, :2], fs=250, lead_names=["II", "v1"], labels=[1.0])
    assert one.lead_names == ("II", "V1") and one.labels.shape == (1, 1)
    bad = x.copy()
    bad[1, 3, 7] = np.nan
    with pytest.raises(DataError, match="NaN"):
        from_numpy(bad, fs=250)
    assert np.isnan(from_numpy(bad, fs=250, allow_nan=True).signals).any()
    with pytest.raises(DataError, match="lead"):
        from_numpy(x, fs=250, lead_names=["I", "II"])
    with pytest.raises(DataError, match="fs"):
        from_numpy(x, fs=0)
    with pytest.raises(DataError):
        from_numpy(np.zeros((2, 3, 4, 5)), fs=100)
    with pytest.raises(DataError, match="numeric"):
        from_numpy([["a", "b"]], fs=100, lead_names=["I"])


# --- issue 9: truncated annotations, units ------------------------------------------
import warnings  # noqa: E402

from ecg_cluster_widget.data import check_annotation_file  # noqa: E402
from ecg_cluster_widget.errors import DataWarning  # noqa: E402


def _copy_ludb_record(ludb_root, tmp_path, name="1"):
    (tmp_path / "data").mkdir(exist_ok=True)
    for f in ludb_root.joinpath("data").glob(f"{name}.*"):
        shutil.copy(f, tmp_path / "data" / f.name)
    return tmp_path


def test_truncated_ludb_annotation_is_detected(ludb_root, tmp_path):
    root = _copy_ludb_record(ludb_root, tmp_path)
    ann = root / "data" / "1.ii"
    full = ann.read_bytes()
    complete = load_ludb(root, records=[1], progress=False)
    # Cut at a word boundary that wfdb.rdann reads without complaint: the old loader
    # returned a mask annotated only up to the cut.
    cut = next(c for c in range(len(full) // 2 & ~1, 0, -2) if full[c - 2 : c] != b"\0\0")
    ann.write_bytes(full[:cut])
    with pytest.raises(FileFormatError, match=r"1\.ii is truncated"):
        load_ludb(root, records=[1], progress=False)
    ann.write_bytes(full[: cut + 1])  # odd length
    with pytest.raises(FileFormatError, match="truncated.*odd"):
        load_ludb(root, records=[1], progress=False)
    ann.write_bytes(b"")
    with pytest.raises(FileFormatError, match="truncated"):
        load_ludb(root, records=[1], progress=False)
    ann.write_bytes(full)  # restored: loads as before
    again = load_ludb(root, records=[1], progress=False)
    np.testing.assert_array_equal(again.wave_masks, complete.wave_masks)


def test_every_ludb_annotation_file_passes_the_check(ludb_root):
    files = [f for f in ludb_root.joinpath("data").iterdir() if f.suffix not in (".hea", ".dat")]
    assert len(files) == 2400
    for f in files:
        check_annotation_file(f)


def test_check_annotation_file_missing(tmp_path):
    with pytest.raises(FileFormatError, match="missing"):
        check_annotation_file(tmp_path / "1.i")


def _no_data_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    msgs = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    return out, msgs


def test_wfdb_header_units_are_converted_to_mv(tmp_path):
    import wfdb

    rng = np.random.default_rng(0)
    mv = rng.normal(0, 0.4, (500, 2))
    wfdb.wrsamp(
        "uvrec",
        fs=250,
        units=["uV", "mV"],
        sig_name=["II", "V1"],
        p_signal=np.column_stack([mv[:, 0] * 1000, mv[:, 1]]),
        fmt=["16", "16"],
        adc_gain=[1.0, 1000.0],
        baseline=[0, 0],
        write_dir=str(tmp_path),
    )
    ds, msgs = _no_data_warnings(lambda: load_wfdb(tmp_path / "uvrec", progress=False))
    assert msgs == []
    np.testing.assert_allclose(ds.signals[0], mv.T, atol=2e-3)
    # An explicit units= overrides the header (here: claims both signals are in uV).
    both_uv, msgs = _no_data_warnings(
        lambda: load_wfdb(tmp_path / "uvrec", units="uV", progress=False)
    )
    np.testing.assert_allclose(both_uv.signals[0, 1], mv[:, 1] / 1000, atol=1e-5)
    with pytest.raises(DataError, match="adc"):
        load_wfdb(tmp_path / "uvrec", units="adc", progress=False)
    wfdb.wrsamp(
        "nu",
        fs=250,
        units=["NU"],
        sig_name=["II"],
        p_signal=mv[:, :1],
        fmt=["16"],
        adc_gain=[1000.0],
        baseline=[0],
        write_dir=str(tmp_path),
    )
    with pytest.raises(FileFormatError, match="not a voltage"):
        load_wfdb(tmp_path / "nu", progress=False)
    assert load_wfdb(tmp_path / "nu", units="mV", progress=False).n_leads == 1


def test_ptbxl_adc_counts_passed_as_mv_warn(ptbxl_root):
    """The issue's case: raw PTB-XL counts (1 uV/LSB) given to from_numpy as mV."""
    import wfdb

    ref = load_ptbxl(ptbxl_root, fs=500, max_records=2, progress=False)
    files = read_ptbxl_database(ptbxl_root).filename_hr.iloc[:2]
    raw = np.stack([wfdb.rdrecord(str(ptbxl_root / f), physical=False).d_signal.T for f in files])
    _, msgs = _no_data_warnings(lambda: from_numpy(raw, fs=500))
    assert (
        len(msgs) == 1
        and "values look like microvolts: divide by 1000 or pass units='uV'" in msgs[0]
    )
    for kw in (dict(units="uV"), dict(units="adc", gain=1000)):
        ds, msgs = _no_data_warnings(lambda kw=kw: from_numpy(raw, fs=500, **kw))
        assert msgs == []
        np.testing.assert_allclose(ds.signals, ref.signals, atol=1e-6)


def test_mitdb_adc_counts_with_offset_warn(shared_data):
    import wfdb

    stem = shared_data / "wfdb_samples" / "mitdb" / "100"
    ref = load_wfdb(stem, n_samples=36_000, progress=False)
    raw = wfdb.rdrecord(str(stem), physical=False, sampto=36_000).d_signal.T
    _, msgs = _no_data_warnings(lambda: from_numpy(raw, fs=360, lead_names=["MLII", "V5"]))
    assert len(msgs) == 1 and "raw ADC counts" in msgs[0] and "units='adc'" in msgs[0]
    ds, msgs = _no_data_warnings(
        lambda: from_numpy(
            raw, fs=360, lead_names=["MLII", "V5"], units="adc", gain=200, baseline=1024
        )
    )
    assert msgs == []
    np.testing.assert_allclose(ds.signals, ref.signals, atol=1e-6)


@pytest.mark.slow
def test_real_loaders_raise_no_amplitude_warning(ptbxl_root, ludb_root):
    for load in (
        lambda: load_ptbxl(ptbxl_root, fs=100, folds=4, progress=False),
        lambda: load_ludb(ludb_root, records=list(range(1, 21)), progress=False),
    ):
        _, msgs = _no_data_warnings(load)
        assert msgs == []


def test_loader_flat_lead_warning_names_it(tmp_path):
    import wfdb

    sig = np.random.default_rng(1).normal(0, 0.4, (1000, 3))
    sig[:, 2] = 0.0
    wfdb.wrsamp(
        "flat",
        fs=100,
        units=["mV"] * 3,
        sig_name=["I", "II", "V1"],
        p_signal=sig,
        fmt=["16"] * 3,
        adc_gain=[1000.0] * 3,
        baseline=[0] * 3,
        write_dir=str(tmp_path),
    )
    _, msgs = _no_data_warnings(lambda: load_wfdb(tmp_path / "flat", progress=False))
    assert len(msgs) == 1 and "flat/V1" in msgs[0] and "all zeros" in msgs[0]


# --- a user's own recordings: fs= and leads= on load, lead aliases, quiet wfdb ----------
def test_load_wfdb_resamples_and_selects_leads_by_alias(shared_data):
    stem = shared_data / "wfdb_samples" / "mitdb" / "100"
    full = load_wfdb(stem, n_samples=3600, progress=False)  # 10 s at 360 Hz
    ds = load_wfdb(stem, fs=250, leads=["mlii"], n_samples=2500, progress=False)
    assert ds.fs == 250 and ds.lead_names == ("II",) and ds.signals.shape == (1, 1, 2500)
    # The same 10 s: the resampled trace follows the original (R peaks keep their time).
    t360, t250 = np.arange(3600) / 360, np.arange(2500) / 250
    np.testing.assert_allclose(
        ds.signals[0, 0, 50:-50], np.interp(t250, t360, full.signals[0, 0])[50:-50], atol=0.08
    )
    both = load_wfdb(stem, leads=["V 5", "ML2"], n_samples=100, progress=False)
    assert both.lead_names == ("V5", "II")


def test_lead_name_aliases():
    from ecg_cluster_widget.data import canonical_lead_name

    pairs = {"MLII": "II", "ml2": "II", "V 1": "V1", "v-5": "V5", "AVF": "aVF", "CM5": "CM5"}
    assert {k: canonical_lead_name(k) for k in pairs} == pairs


def test_ludb_loads_quietly_with_fs_and_leads(ludb_root):
    # wfdb 4.3 under pandas 3.1 warned once per annotation file; our loaders hide it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_ludb(ludb_root, records=[1], progress=False, fs=250, leads=["II", "v1"])
    noisy = [w for w in caught if issubclass(w.category, (DeprecationWarning, FutureWarning))]
    assert not noisy, [str(w.message) for w in noisy]
    assert ds.fs == 250 and ds.lead_names == ("II", "V1")
    assert ds.signals.shape == (1, 2, 2500) and ds.wave_masks.shape == (1, 2, 2500)


def test_ptbxl_other_rates_resample_from_500(ptbxl_root):
    ds = load_ptbxl(ptbxl_root, fs=250, max_records=2, progress=False, leads=["II"])
    assert ds.fs == 250 and ds.signals.shape == (2, 1, 2500) and ds.lead_names == ("II",)
