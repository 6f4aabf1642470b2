"""The ``edgegate`` command line.

``main`` is the typer app: each command parses its flags and calls the function of the same
name in its own module (``check``, ``init``, ``edgetpu``, ``ci``, ``publish``, ``merge``,
``report``), which returns the exit code. ``errors`` is the one place exceptions become exit
codes and messages, and holds the exit-code rule for a finished run. Nothing here imports the
machinery until a command runs, so ``edgegate --help`` stays fast and never loads TensorFlow.
"""
