"""Fixtures every test area may use: ``repo``, a real git repository (tests/gitrepo.py)."""

pytest_plugins = ["tests.gitrepo"]
