"""``python -m styletool`` runs the command-line interface."""

from styletool.cli import main

if __name__ == "__main__":
    main()
