"""``python -m engine.cli``: how the daemon starts its ``run-once`` children."""

from engine.cli import main

if __name__ == "__main__":
    main()
