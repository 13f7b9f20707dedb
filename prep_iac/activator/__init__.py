"""The difusor's activator: a single stdlib script (prep_activator.py) copied onto difusores."""

from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "prep_activator.py"
