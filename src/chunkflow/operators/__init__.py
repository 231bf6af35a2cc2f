"""The chained operators of ``chunkflow``: one small module each, click options -> a library call.

A module declares its commands in a literal ``COMMANDS`` (help section, extra) that
:mod:`chunkflow.operators.registry` reads without importing the module.
"""
