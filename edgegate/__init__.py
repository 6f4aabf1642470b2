"""EdgeGate: guard on-device TensorFlow model budgets in pull requests.

The pipeline reads: policy → changed models → recipes → measurements (accuracy, size,
latency, Edge TPU) → verdicts → report → publishers. Nothing here imports TensorFlow;
conversion and training happen in worker processes (see ``edgegate.workers``).
"""

__version__ = "0.1.0"
