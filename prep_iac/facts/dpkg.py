"""Facts about what dpkg knows of a configuration file: which package ships it, the checksum
it shipped, whether it is diverted, and what the file holds now."""

import shlex

from pyinfra.api import FactBase


def conffile_command(path: str) -> str:
    p = shlex.quote(path)
    return (
        f"pkg=$(dpkg-query -S {p} 2>/dev/null | grep -v diversion | head -n1 | cut -d: -f1); "
        '[ -n "$pkg" ] || exit 0; '
        "shipped=$(dpkg-query -W -f='${Conffiles}\\n' \"$pkg\" | "
        f"awk -v p={p} '$1 == p {{print $2}}'); "
        f"true=$(dpkg-divert --truename {p}); "
        f"now=$(md5sum < {p} 2>/dev/null | cut -d' ' -f1); "
        f'echo {p} "$pkg ${{shipped:--}} $true ${{now:--}}"')


def parse_conffile(output: list[str]) -> dict | None:
    """`path package shipped-md5 truename md5-now` ('-' when empty) -> a dict; None when
    no package owns the path (nothing printed)."""
    fields = " ".join(output).split()
    if len(fields) != 5:
        return None
    path, package, shipped, truename, now = fields
    return {"package": package, "shipped": None if shipped == "-" else shipped,
            "diverted_to": None if truename == path else truename,
            "md5": None if now == "-" else now}


class Conffile(FactBase):
    """A package's conffile: {"package", "shipped" (md5 dpkg recorded), "diverted_to" (None
    when not diverted), "md5" (of the file at `path` now, None if absent)}; None when no
    installed package ships `path`."""

    def requires_command(self, path):
        return "dpkg-query"

    def command(self, path):
        return conffile_command(path)

    def process(self, output):
        return parse_conffile(output)

    def default(self):
        return None
