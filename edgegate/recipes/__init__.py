"""Recipes: how a candidate is made from a source model.

A recipe string is training stages then one conversion, then any ``.tflite`` transforms, joined
by '+': ``int8``, ``prune+int8``, ``cluster+qat``. Conversions (declared in ``edgegate.conversions``)
configure the LiteRT converter, which ``conversions.py`` runs; transforms (``edgegate.transforms``)
rewrite the converted ``.tflite``; training stages (``training/``) fine-tune a tf-keras model with
tfmot before conversion.
Everything below this package except ``interface.py`` and ``plan.py`` runs in worker processes.
"""
