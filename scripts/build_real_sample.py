"""Build the small real-ECG sample shipped inside the package (``assets/real_sample/``).

One command, from the shared data folder (nothing is downloaded)::

    python scripts/build_real_sample.py --data-dir ../shared/data

It writes two compressed archives of exact original samples (WFDB int16 at 1 uV per LSB,
500 Hz, 10 s, 12 leads) plus their licence notices:

* ``ludb20.npz``: 20 LUDB v1.0.1 records (ids 5, 15, ..., 195: every tenth, both halves
  of the tune / report split) with the cardiologists' per-lead wave masks (ODC-By 1.0);
* ``ptbxl40.npz``: the first 40 PTB-XL v1.0.3 records of strat_fold 10 (the test fold;
  never trained on) with their superclass labels (CC BY 4.0).

``ecg_cluster_widget.data.load_real_sample()`` reads them.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "ecg_cluster_widget" / "assets" / "real_sample"
LUDB_IDS = [str(i) for i in range(5, 200, 10)]
N_PTBXL = 40


def _pack(ds, extra: dict) -> bytes:
    # int16 microvolts round-trips the WFDB originals exactly (gain 1000 / mV).
    uv = np.round(ds.signals.astype(np.float64) * 1000.0)
    if np.abs(uv).max() > 32767:
        raise SystemExit("a sample exceeds the int16 range; refusing to clip")
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        signals_uv=uv.astype(np.int16),
        fs=np.float64(ds.fs),
        lead_names=np.array(ds.lead_names),
        record_ids=np.array(ds.record_ids),
        **extra,
    )
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    from ecg_cluster_widget.data import atomic_write_bytes, atomic_write_text, load_ludb, load_ptbxl

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("ECG_SHARED_DATA", REPO.parent / "shared" / "data")),
    )
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    ludb = load_ludb(args.data_dir / "ludb", records=LUDB_IDS, progress=False)
    info = ludb.meta.get("info")
    rhythm = (
        [str(x) for x in info["Rhythms"]]
        if info is not None and "Rhythms" in info
        else [""] * len(ludb)
    )
    atomic_write_bytes(
        OUT / "ludb20.npz",
        _pack(ludb, {"wave_masks": ludb.wave_masks.astype(np.int8), "rhythm": np.array(rhythm)}),
    )
    ptb = load_ptbxl(
        args.data_dir / "ptbxl_subset", fs=500, folds=[10], max_records=N_PTBXL, progress=False
    )
    atomic_write_bytes(
        OUT / "ptbxl40.npz",
        _pack(
            ptb,
            {
                "labels": ptb.labels.astype(np.int8),
                "class_names": np.array(ptb.class_names),
                "folds": np.asarray(ptb.folds, dtype=np.int8),
            },
        ),
    )
    for name, src in (
        ("LICENSE-LUDB.txt", args.data_dir / "ludb" / "LICENSE.txt"),
        ("LICENSE-PTBXL.txt", args.data_dir / "ptbxl_subset" / "LICENSE.txt"),
    ):
        atomic_write_text(OUT / name, src.read_text(encoding="utf-8", errors="replace"))
    for p in OUT.iterdir():
        p.chmod(0o644)
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.2f} MB" for p in sorted(OUT.iterdir()))
    print(f"wrote {OUT}: {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
