"""``python -m engine.cli``: how the daemon starts its ``run-once`` children."""

from engine.cli.signals import install_early

install_early()  # the first statement: a SIGTERM from here on never kills a run uncleanly

from engine.cli import main  # noqa: E402 - after the handler on purpose

if __name__ == "__main__":
    main()
