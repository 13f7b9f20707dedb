"""Read an inventory's YAML keeping where each value stands, so errors can name a line.

PyYAML silently keeps the last of two equal keys; an inventory with a host written twice
must be an error instead, so duplicates are found here, on the node tree.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from prep_iac.errors import PrepError

Loc = tuple[str | int, ...]


@dataclass
class YamlDocument:
    path: Path
    data: object
    lines: dict[Loc, int] = field(default_factory=dict)
    duplicates: list[tuple[Loc, int, int]] = field(default_factory=list)  # (loc, line, first line)

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest parent that has one."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return None


def read_yaml(path: Path) -> YamlDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PrepError(f"{path}: no such inventory file",
                        "give the path of a YAML inventory, e.g. -i inventories/example-difusor.yml")
    except (OSError, UnicodeDecodeError) as exc:
        raise PrepError(f"{path}: cannot read it: {exc}", "check its permissions and that it is UTF-8 text")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise PrepError(f"{where}: not valid YAML: {exc.problem}",
                        "check the indentation and quoting around that line")
    except yaml.YAMLError as exc:
        raise PrepError(f"{path}: not valid YAML: {exc}", "check the file's syntax")
    doc = YamlDocument(path=path, data=data)
    if node is not None:
        _walk(node, (), doc)
    return doc


def _forget(doc: YamlDocument, loc: Loc) -> None:
    for known in [k for k in doc.lines if k[:len(loc)] == loc]:
        del doc.lines[known]


def _walk(node, loc: Loc, doc: YamlDocument) -> None:
    doc.lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:  # YAML keeps the last one: report it, point at the first
                doc.duplicates.append((loc + (key,), line, seen[key]))
                _forget(doc, loc + (key,))
            seen[key] = line
            doc.lines[loc + (key,)] = line
            _walk(value_node, loc + (key,), doc)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, loc + (index,), doc)
