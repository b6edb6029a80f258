"""Run the command line as ``python -m netplan`` (the same as the ``netplan`` script)."""

from netplan.cli import main

if __name__ == "__main__":
    main()
