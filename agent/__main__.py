"""``python -m agent`` runs the l4agent CLI (used by the tests and by remote agent mode)."""

from agent.cli import main

if __name__ == "__main__":
    main()
