"""Facts about the nftables state: the loaded ruleset and the elements of one set."""

import json

from pyinfra.api import FactBase


class NftRuleset(FactBase):
    """`nft list ruleset` as text ("" when nft is missing or nothing is loaded)."""

    def requires_command(self):
        return "nft"

    def command(self):
        return "nft list ruleset"

    def process(self, output):
        return "\n".join(output)

    def default(self):
        return ""


def parse_set_elements(text: str) -> list[str]:
    """Addresses from `nft -j list set …` (elements with a timeout come wrapped)."""
    elements = []
    for item in json.loads(text or "{}").get("nftables", []):
        for elem in item.get("set", {}).get("elem", []) or []:
            if isinstance(elem, dict):
                elem = elem.get("elem", {}).get("val", elem)
            if isinstance(elem, dict) and "prefix" in elem:
                elem = f"{elem['prefix']['addr']}/{elem['prefix']['len']}"
            elements.append(str(elem))
    return elements


class NftSetElements(FactBase):
    """Elements of a set, e.g. NftSetElements("inet", "prep", "banned4") → ["192.0.2.7"]."""

    def requires_command(self, family, table, set_name):
        return "nft"

    def command(self, family, table, set_name):
        return f"nft -j list set {family} {table} {set_name} 2>/dev/null || echo '{{}}'"

    def process(self, output):
        return parse_set_elements("\n".join(output))

    def default(self):
        return []
