"""``python -m ecg_cluster_widget`` runs the command line."""

import sys

from .cli import main

sys.exit(main())
