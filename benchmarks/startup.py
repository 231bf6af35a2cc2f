"""Start-up cost of the ``chunkflow`` command; prints JSON lines.

``chunkflow --help`` and a one-operator chain against ``python -c "import numpy, click"`` (the floor
for any numpy + click tool), median of 7 whole-process runs each; target: help <= 1.5x the floor.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import BIN, emit, median_process  # noqa: E402


def main() -> None:
    floor = median_process([sys.executable, "-c", "import numpy, click"], repeat=7)
    help_ = median_process([str(BIN / "chunkflow"), "--help"], repeat=7)
    chain = median_process(
        [str(BIN / "chunkflow"), "create-chunk", "-s", "8", "64", "64", "threshold", "-t", "0.5"], repeat=7
    )
    emit(
        bench="startup",
        floor_s=floor["wall_s"],
        help_s=help_["wall_s"],
        chain_s=chain["wall_s"],
        help_over_floor=help_["wall_s"] / floor["wall_s"],
        chain_over_floor=chain["wall_s"] / floor["wall_s"],
    )


if __name__ == "__main__":
    main()
