"""Every id a waiver may name: the requirements, the suites' checks and the audit's checks."""

from prep_iac.conformance.checkids import suite_check_ids
from prep_iac.conformance.requirements import BY_ID

# Checks the commands themselves add when a host cannot be checked at all.
VERIFY_CHECKS = {"verify::conexion_ssh", "verify::suites"}


def known_ids() -> set[str]:
    from prep_iac.conformance.audit.registry import AUDIT_CHECKS
    from prep_iac.conformance.deadlines import CHECK_IDS

    return set(BY_ID) | suite_check_ids() | VERIFY_CHECKS | CHECK_IDS | set(AUDIT_CHECKS)
