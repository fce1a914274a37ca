"""``python -m l4agent`` runs the l4agent CLI (used by the tests and by remote agent mode)."""

from l4agent.agent.launch import run

if __name__ == "__main__":
    raise SystemExit(run())
