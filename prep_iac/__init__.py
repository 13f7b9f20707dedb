"""prep-iac: infrastructure as code for PREP difusores and the Institute's publishers."""

__version__ = "0.1.0"
