"""``python -m edgegate``: the same as the ``edgegate`` command."""

from edgegate.cli.main import main

if __name__ == "__main__":
    main()
