"""Edge TPU compilability checks (static prediction, real compiler, compiled-model reader)."""
