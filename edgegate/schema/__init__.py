"""Data only: the policy's JSON Schema for editors (written by ``policy/jsonschema.py``).

A package so setuptools ships its ``*.json`` as package data rather than as a namespace folder.
"""
