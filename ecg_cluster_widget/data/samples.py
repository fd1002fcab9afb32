"""The small real-ECG sample shipped inside the package (LUDB and PTB-XL excerpts).

So that a fresh installation with no data still shows real ECGs explained by the real
model (``load_pretrained("ptbxl250")``). Licences and citations:
``ecg_cluster_widget/assets/real_sample/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError, FileFormatError
from .dataset import ECGDataset, _own

__all__ = ["REAL_SAMPLES", "load_real_sample", "real_sample_path"]

#: name -> (file, description)
REAL_SAMPLES: dict[str, tuple[str, str]] = {
    "ludb": ("ludb20.npz", "20 LUDB v1.0.1 records with cardiologists' wave masks (ODC-By 1.0)"),
    "ptbxl": (
        "ptbxl40.npz",
        "40 PTB-XL v1.0.3 test-fold records with superclass labels (CC BY 4.0)",
    ),
}


def real_sample_path(name: str) -> Path:
    """Path of a shipped sample archive.

    Parameters
    ----------
    name : {"ludb", "ptbxl"}

    Returns
    -------
    pathlib.Path
        ``<package>/assets/real_sample/<file>``; the licences lie beside it.

    Examples
    --------
    >>> real_sample_path("ludb").name
    'ludb20.npz'
    """
    if name not in REAL_SAMPLES:
        raise DataError(f"unknown real sample {name!r}; choose one of {', '.join(REAL_SAMPLES)}.")
    return Path(__file__).resolve().parents[1] / "assets" / "real_sample" / REAL_SAMPLES[name][0]


def load_real_sample(name: str = "ptbxl", fs: float | None = None) -> ECGDataset:
    """Load a shipped real-ECG sample as an :class:`ECGDataset` in mV.

    Parameters
    ----------
    name : {"ptbxl", "ludb"}
        ``"ptbxl"``: 40 PTB-XL test-fold records with ``labels`` (NORM, MI, STTC, CD, HYP)
        and ``folds``; ``"ludb"``: 20 LUDB records with per-lead ``wave_masks``.
    fs : float, optional
        Resample to this rate (e.g. ``bundle.fs``); default: the stored 500 Hz.

    Returns
    -------
    ECGDataset

    Examples
    --------
    >>> ds = load_real_sample("ludb", fs=250)
    >>> len(ds), ds.fs, ds.n_samples, ds.wave_masks.shape
    (20, 250.0, 2500, (20, 12, 2500))
    >>> load_real_sample("ptbxl").class_names
    ('NORM', 'MI', 'STTC', 'CD', 'HYP')
    """
    path = real_sample_path(name)
    if not path.is_file():
        raise FileFormatError(
            f"the real-ECG sample {path} is missing from this installation; reinstall the package."
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # zip / npy errors of a damaged file
        raise FileFormatError(f"{path} is not a readable sample archive: {exc}") from exc
    kw: dict = {}
    if "wave_masks" in arrays:
        kw["wave_masks"] = arrays["wave_masks"].astype(np.int8)
    if "labels" in arrays:
        kw["labels"] = arrays["labels"].astype(np.float32)
        kw["class_names"] = tuple(str(c) for c in arrays["class_names"])
        kw["folds"] = arrays["folds"].astype(np.int64)
    meta = {"source": f"shipped real-ECG sample {name!r} ({REAL_SAMPLES[name][1]})", "units": "mV"}
    if "rhythm" in arrays:
        meta["rhythm"] = [str(r) for r in arrays["rhythm"]]
        meta["per_record"] = ["rhythm"]
    ds = ECGDataset(
        _own(arrays["signals_uv"].astype(np.float32) / np.float32(1000.0)),
        fs=float(arrays["fs"]),
        lead_names=tuple(str(x) for x in arrays["lead_names"]),
        record_ids=tuple(str(x) for x in arrays["record_ids"]),
        meta=meta,
        **kw,
    )
    if fs is not None and float(fs) != ds.fs:
        from .preprocess import resample

        ds = resample(ds, float(fs))
    return ds
