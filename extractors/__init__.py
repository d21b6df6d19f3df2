"""Pure-Python extraction: mail archives and git repositories into the raw warehouse tables.

Nothing here imports Dagster; the orchestration layer calls these functions.

Importing it limits numpy's OpenBLAS to one thread (unless the environment sets
OPENBLAS_NUM_THREADS): numpy, which pyarrow imports, would start one per core at import, and they
spin a while, about 0.06 s of CPU in every extraction process, for linear algebra it never does.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
