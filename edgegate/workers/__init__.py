"""Worker processes: where TensorFlow and the LiteRT interpreter run, never in the parent."""
