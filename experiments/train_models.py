"""Pre-train and cache every model the experiments use (so the scripts only load them).

Models are keyed by task / training fraction / seed / epochs / architecture under
``experiments/cache/models/``; each experiment script calls the same
:func:`common.train_or_load`, so running this first is optional (it only moves the
training time to one place and lets several models train before the analyses start).

Run:  python experiments/train_models.py [--quick] [--fractions 1.0 0.5 0.25] [--seeds 0 1 2] [--age]
"""

from __future__ import annotations

from collections.abc import Sequence

try:
    from . import common as C
except ImportError:  # run as a script
    import common as C  # type: ignore[no-redef]


def main(argv: Sequence[str] | None = None) -> None:
    parser = C.build_parser(__doc__.split("\n")[0], __file__)
    parser.add_argument("--fractions", type=float, nargs="+", default=[1.0])
    parser.add_argument("--age", action="store_true", help="also train the age regressor (seed 0)")
    parser.add_argument("--age-only", action="store_true", help="only the age regressor")
    ns, cfg = C.parse_args(parser, argv)
    ds = C.load_ptbxl_100(cfg)
    train, val, _ = C.split_ptbxl(ds)
    C.log(f"PTB-XL {ds}; train {len(train)}, val {len(val)}")
    if not ns.age_only:
        for seed in cfg.seeds:
            for fraction in ns.fractions:
                C.train_or_load(
                    cfg, C.subsample(train, fraction, seed), val, seed=seed, fraction=fraction
                )
    if ns.age or ns.age_only:
        atrain, aval, _ = C.split_ptbxl(C.with_age_labels(ds, cfg))
        C.train_or_load(cfg, atrain, aval, seed=cfg.seeds[0], task="regression", tag="ptbxl_age")


if __name__ == "__main__":
    main()
