"""YAML source reading that remembers where every value came from (file, line, column)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

PathElem = str | int
FieldPath = tuple[PathElem, ...]


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a source file."""

    line: int
    column: int


FindingKind = Literal["schema", "compliance", "state"]


@dataclass(frozen=True)
class Finding:
    """One problem found in a source file, printed as ``file:line:col: ID message (clause; EV)``.

    ``kind`` says which check found it: ``schema`` (YAML, schema, references, order), ``compliance``
    (what WebTrust and the evidence list require a script to contain) or ``state`` (what the script
    leaves behind: bags, custody, quorums, keys, evidence, acts). ``clause`` names the requirement
    (e.g. ``WebTrust 4.1.5(b)``) and ``evidence`` the evidence ID (``EV-APPROVAL``) it concerns.
    """

    file: str
    position: Position
    rule: str
    message: str
    kind: FindingKind = "schema"
    clause: str | None = None
    evidence: str | None = None

    @property
    def text(self) -> str:
        """The message followed by its clause and evidence ID, as printed."""
        cited = "; ".join(part for part in (self.clause, self.evidence) if part)
        return f"{self.message} ({cited})" if cited else self.message

    def as_json(self) -> dict[str, str | int | None]:
        """The finding as a JSON object (``sealroom lint --format json``)."""
        return {
            "file": self.file,
            "line": self.position.line,
            "column": self.position.column,
            "rule": self.rule,
            "kind": self.kind,
            "message": self.message,
            "clause": self.clause,
            "evidence": self.evidence,
        }

    def __str__(self) -> str:
        return f"{self.file}:{self.position.line}:{self.position.column}: {self.rule} {self.text}"


def format_path(path: FieldPath) -> str:
    """Render a field path the way an operator reads it: ``steps[3].params.key``."""
    text = ""
    for elem in path:
        if isinstance(elem, int):
            text += f"[{elem}]"
        else:
            text += f".{elem}" if text else elem
    return text or "(document)"


class SourceDocument:
    """A parsed YAML document plus the position of each mapping key and value in it."""

    def __init__(self, file: str, text: str, data: Any, marks: dict[FieldPath, Position]) -> None:
        self.file = file
        self.text = text
        self.data = data
        self._marks = marks

    def position(self, path: FieldPath) -> Position:
        """The position of ``path``, or of its nearest ancestor that exists in the source."""
        probe = tuple(path)
        while probe:
            if probe in self._marks:
                return self._marks[probe]
            probe = probe[:-1]
        return self._marks.get((), Position(1, 1))

    def existing_prefix(self, loc: tuple[Any, ...]) -> FieldPath:
        """Map a validator's location (which may contain union tags) onto the data's real path."""
        node: Any = self.data
        path: list[PathElem] = []
        for elem in loc:
            in_map = isinstance(node, dict) and isinstance(elem, str) and elem in node
            in_list = isinstance(node, list) and isinstance(elem, int) and 0 <= elem < len(node)
            if in_map or in_list:
                node = node[elem]
                path.append(elem)
        return tuple(path)

    def has(self, path: FieldPath) -> bool:
        """True if ``path`` exists in the source (a key that is present, or a list item)."""
        return self.existing_prefix(path) == tuple(path)

    def finding(
        self,
        path: FieldPath,
        rule: str,
        message: str,
        *,
        kind: FindingKind = "schema",
        clause: str | None = None,
        evidence: str | None = None,
    ) -> Finding:
        return Finding(self.file, self.position(path), rule, message, kind, clause, evidence)


class _Loader(yaml.SafeLoader):
    """A safe loader that does not turn yes/no/on/off into booleans (the 'Norway problem')."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_BOOL_RE = __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_RE, list("tTfF"))


class SourceFormatError(Exception):
    """The file is not a usable YAML document; carries a ready Finding."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(str(finding))
        self.finding = finding


def read_source(path: Path, display_name: str | None = None) -> SourceDocument:
    """Read a YAML file into plain data with positions; raise SourceFormatError if unusable."""
    name = display_name or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SourceFormatError(
            Finding(name, Position(1, 1), "SR-READ", f"cannot read the file: {reason}")
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceFormatError(
            Finding(name, Position(line, 1), "SR-YAML", "the file is not UTF-8 text")
        ) from exc
    marks: dict[FieldPath, Position] = {}
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise SourceFormatError(
                    Finding(name, Position(1, 1), "SR-YAML", "the file is empty")
                )
            data = _convert(loader, node, (), marks, name)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise SourceFormatError(
            Finding(name, pos, "SR-YAML", f"not valid YAML: {problem}")
        ) from exc
    except yaml.YAMLError as exc:
        raise SourceFormatError(Finding(name, Position(1, 1), "SR-YAML", "not valid YAML")) from exc
    return SourceDocument(name, text, data, marks)


def _convert(
    loader: _Loader,
    node: yaml.Node,
    path: FieldPath,
    marks: dict[FieldPath, Position],
    name: str,
) -> Any:
    marks.setdefault(path, Position(node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_pos = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                raise SourceFormatError(
                    Finding(name, key_pos, "SR-YAML", "mapping keys must be plain words")
                )
            key = str(key_node.value)
            if key in result:
                where = format_path((*path, key))
                raise SourceFormatError(
                    Finding(name, key_pos, "SR-YAML", f"{where}: key given twice")
                )
            marks[(*path, key)] = key_pos
            result[key] = _convert(loader, value_node, (*path, key), marks, name)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(loader, item, (*path, index), marks, name)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
