"""Write a chunk to an NRRD file (a single leading channel is dropped): file_name, or <bbox>.nrrd,
or <file_name>_<bbox>.nrrd where it does not end in .nrrd."""

import nrrd
import numpy as np


def execute(chk, file_name=None):
    array = chk.array[0] if chk.array.shape[0] == 1 else chk.array
    if file_name is None:
        file_name = f"{chk.bbox.string}.nrrd"
    elif not file_name.endswith(".nrrd"):
        file_name += f"_{chk.bbox.string}.nrrd"
    nrrd.write(file_name, np.ascontiguousarray(array))
