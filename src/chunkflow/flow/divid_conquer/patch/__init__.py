"""chunkflow 1.2.0's package ``chunkflow.flow.divid_conquer.patch`` (its patch mask)."""
