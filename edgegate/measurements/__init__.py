"""Measurements of one ``.tflite``: size, latency and accuracy, with only NumPy and LiteRT."""
