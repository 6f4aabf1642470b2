"""The GitHub Actions commands: ``edgegate ci``, ``edgegate publish`` and ``edgegate merge``.

``commands`` holds them as plain functions returning exit codes; ``edgegate.cli`` wires them
into the command line.
"""
