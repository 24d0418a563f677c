"""``python -m styletool`` runs the command-line interface."""

from styletool.cli import run

if __name__ == "__main__":
    run()
