"""What a pull request did inside a model: base vs head of one ``.tflite`` (docs/model-diff.md).

``interface.py`` holds the typed diff the results file stores (it imports nothing of EdgeGate, so
reading results imports no reader); ``compare.py`` reads both flatbuffers, bounded, and builds it.
"""
