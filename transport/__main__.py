"""``python -m transport`` runs the command-line interface."""

from transport.cli.main import main

if __name__ == "__main__":
    main()
