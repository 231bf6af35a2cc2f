"""Run chunkflow 1.2.0's CLI on a CPU: its inference asks torch.cuda for a device name."""

import sys

import torch

torch.cuda.get_device_name = lambda *args, **kwargs: "cpu"
from chunkflow.flow.flow import main  # noqa: E402

sys.exit(main())
