"""The jobs layer: planning, staging, local process pools, Dask, queue submission, job manifests.

Jobs import the library (segmentation, inference, postprocess, volumes, queues) and the core; they
never import click or the commands layer.
"""
