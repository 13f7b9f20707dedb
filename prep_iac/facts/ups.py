"""Facts about the UPS as NUT sees it (`upsc`)."""

from pyinfra.api import FactBase


def parse_upsc(lines) -> dict[str, str]:
    values = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            values[key.strip()] = value.strip()
    return values


class UpsVariables(FactBase):
    """`upsc <ups>@localhost` as a dict (`ups.status` is "OL", "OB", "OB LB"…); {} if
    NUT is missing or the UPS does not answer."""

    def requires_command(self, ups="ups"):
        return "upsc"

    def command(self, ups="ups"):
        return f"upsc {ups}@localhost 2>/dev/null || true"

    def process(self, output):
        return parse_upsc(output)

    def default(self):
        return {}
