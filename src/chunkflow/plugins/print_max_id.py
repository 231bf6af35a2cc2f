"""Print the largest object id of a segmentation."""


def execute(seg):
    print(f"maximum object ID: {seg.max()}")
