"""Where a run's result goes besides the results file: the PR comment, the job summary,
workflow annotations and step outputs. Each is a ``Publisher`` (see ``interface``)."""
