"""Local lab: booted Debian hosts (systemd-nspawn) for tests and drills.

    from prep_iac.lab import Lab
"""

__all__ = ["Lab", "all_labs"]


def __getattr__(name: str):
    # Loaded on first use: the deploys import prep_iac.lab.ca alone, not the lab machinery.
    if name in __all__:
        from prep_iac.lab import lab

        return getattr(lab, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
