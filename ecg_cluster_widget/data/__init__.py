"""Data: the ECGDataset type, loaders, the synthetic generator and preprocessing."""

from .dataset import WAVE_NAMES, ECGDataset
from .io_utils import atomic_write_bytes, atomic_write_json, atomic_write_text, clean_stale_temps
from .leads import STANDARD_LEADS, canonical_lead_name
from .ludb import LUDB_LEAD_EXT, annotation_to_mask, check_annotation_file, load_ludb
from .preprocess import (
    bandpass,
    crop_or_pad,
    interpolate_nan,
    remove_baseline,
    resample,
    select_leads,
)
from .ptbxl import (
    PTBXL_CLASSES,
    load_ptbxl,
    load_ptbxl_unlabeled,
    read_ptbxl_database,
    split_folds,
)
from .samples import REAL_SAMPLES, load_real_sample
from .standardize import Standardizer
from .synthetic import SYNTHETIC_CLASSES, make_synthetic
from .units import UNITS, amplitude_problems, to_millivolts
from .wfdb_io import from_numpy, load_wfdb, read_record

__all__ = [
    "ECGDataset",
    "STANDARD_LEADS",
    "WAVE_NAMES",
    "canonical_lead_name",
    "UNITS",
    "amplitude_problems",
    "to_millivolts",
    "Standardizer",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "clean_stale_temps",
    "SYNTHETIC_CLASSES",
    "make_synthetic",
    "PTBXL_CLASSES",
    "load_ptbxl",
    "load_ptbxl_unlabeled",
    "read_ptbxl_database",
    "split_folds",
    "LUDB_LEAD_EXT",
    "annotation_to_mask",
    "check_annotation_file",
    "load_ludb",
    "from_numpy",
    "load_wfdb",
    "read_record",
    "resample",
    "bandpass",
    "remove_baseline",
    "crop_or_pad",
    "select_leads",
    "interpolate_nan",
    "REAL_SAMPLES",
    "load_real_sample",
]
