"""A package, so that this folder's conftest is imported as ``tests.conftest`` and does not replace
tests/conftest.py as the top-level module ``conftest`` that the host's tests import helpers from."""
