"""Test suites that packages extending chunkflow can run against their own plug-ins.

:mod:`chunkflow.testing.volume_conformance` is the suite every volume format passes (it needs
pytest, which the ``test`` extra installs).
"""
