"""Local lab: booted Debian hosts (systemd-nspawn) for tests and drills.

    from prep_iac.lab import Lab
"""

from prep_iac.lab.lab import Lab, all_labs

__all__ = ["Lab", "all_labs"]
