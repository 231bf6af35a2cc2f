"""chunkflow 1.2.0's package ``chunkflow.lib.aws``."""
