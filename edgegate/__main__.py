"""``python -m edgegate``: the same as the ``edgegate`` command."""

from edgegate.cli import main

main()
