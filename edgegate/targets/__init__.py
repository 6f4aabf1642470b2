"""Targets: devices and accelerators candidates are checked against (see interface.py)."""
