"""``$filter`` evaluation: the ``odata-query`` parser's AST compiled into Python closures.

BC translates filters into AL filters (docs/bc/3-odata-queries.md §3): comparisons ``eq ne gt ge lt le``,
``and``/``or``/``not``, parentheses, ``in`` lists, the functions ``contains``,
``startswith``, ``endswith``, ``substring``, ``tolower``, ``toupper``; string comparisons
are case-sensitive; lambda operators (``any``/``all``) are silently ignored; ``or`` across
distinct fields is rejected (setting ``reject_or_across_fields``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from odata_query import ast
from odata_query.exceptions import ODataException
from odata_query.grammar import ODataLexer, ODataParser

from bcbridge.emulator.errors import BCError

__all__ = ["check_schema_version", "compile_filter", "equality_values", "parse_filter",
           "time_bounds"]

Getter = Callable[[dict], Any]

_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}

#: Error of an ``or`` across distinct fields (https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/odata-known-limitations);
#: the code is UNVERIFIED.
OR_ERROR = ("BadRequest_NotSupported",
            "The 'OR' operator is not supported on distinct fields on an OData filter.")


def parse_filter(text: str) -> ast._Node:
    """Parse ``$filter`` text with odata-query's grammar.

    Raises:
        BCError: 400 ``BadRequest_NotFound`` "Bad Request - Error in query syntax." (the code
            and message BC's error table gives for query syntax errors, docs/bc/8-errors.md §8).
    """
    try:
        return ODataParser().parse(ODataLexer().tokenize(text))
    except (ODataException, ValueError, TypeError, IndexError) as error:
        raise BCError(400, "BadRequest_NotFound", "Bad Request - Error in query syntax.") \
            from error


def _fields_in(node: ast._Node) -> set[str]:
    if isinstance(node, ast.Identifier):
        return {node.name}
    found: set[str] = set()
    for value in vars(node).values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, ast._Node):
                found |= _fields_in(item)
    return found


def _check_or(node: ast._Node) -> None:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(_fields_in(node)) > 1:
        raise BCError(400, *OR_ERROR)
    for value in vars(node).values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, ast._Node):
                _check_or(item)


def _needs_schema_21(node: ast._Node) -> str | None:
    """What in ``node`` needs ``$schemaversion=2.1``: ``in`` or a nested function call."""
    if isinstance(node, ast.Compare) and isinstance(node.comparator, ast.In):
        return "The 'in' operator"
    if isinstance(node, ast.Call) and any(isinstance(a, ast.Call) for a in node.args):
        return "A nested function call"
    for value in vars(node).values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, ast._Node):
                found = _needs_schema_21(item)
                if found:
                    return found
    return None


def check_schema_version(node: ast._Node, schema_version: str | None) -> None:
    """Reject ``in`` and nested function calls unless ``$schemaversion=2.1`` (DOCS
    ``webservices/use-filter-expressions-in-odata-uris.md``, ``odata-known-limitations.md``;
    docs/bc/3-odata-queries.md §3). The error code and message are UNVERIFIED.

    Raises:
        BCError: 400 ``BadRequest_NotSupported``.
    """
    if schema_version is not None and schema_version.strip() in ("2.1", "2.1.0"):
        return
    found = _needs_schema_21(node)
    if found:
        raise BCError(400, "BadRequest_NotSupported",
                      f"{found} in $filter is supported only with $schemaversion=2.1.")


def _as_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value)
    if len(text) == 10:
        text += "T00:00:00Z"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _coerce(value: Any, type_: str) -> Any:
    """Bring a record value or literal to the comparable form of field type ``type_``."""
    if value is None:
        return None
    if type_ == "datetime":
        return _as_datetime(value)
    if type_ == "date":
        return str(value)[:10] if not isinstance(value, date) else value.isoformat()[:10]
    if type_ == "GUID":
        return str(value).lower()
    if type_ in ("decimal", "integer", "int64"):
        return float(value)
    if type_ == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return str(value) if not isinstance(value, str) else value


def _literal(node: ast._Literal) -> Any:
    if isinstance(node, ast.List):
        return [_literal(v) for v in node.val]
    if isinstance(node, (ast.Date, ast.DateTime, ast.GUID)):
        return node.val
    return node.py_val


class _Compiler:
    def __init__(self, types: Mapping[str, str], entity_type: str) -> None:
        self.types = types
        self.entity_type = entity_type

    def type_of(self, node: ast._Node) -> str | None:
        if isinstance(node, ast.Identifier):
            return self.types.get(node.name)
        if isinstance(node, ast.Call) and node.func.name in ("tolower", "toupper", "substring"):
            return "string"
        return None

    def value(self, node: ast._Node, as_type: str | None = None) -> Getter:
        if isinstance(node, ast.Identifier):
            name = node.name
            type_ = self.types.get(name)
            if type_ is None:
                raise BCError(400, "BadRequest_NotFound", f"Could not find a property named "
                              f"'{name}' on type '{self.entity_type}'.")
            return lambda record: _coerce(record.get(name), type_)
        if isinstance(node, ast._Literal):
            constant = _literal(node)
            if as_type and not isinstance(constant, list):
                constant = _coerce(constant, as_type)
            elif as_type:
                constant = [_coerce(c, as_type) for c in constant]
            return lambda record: constant
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.CollectionLambda)):
            return self.predicate(node)
        raise BCError(400, "BadRequest_NotSupported",
                      f"The expression '{type(node).__name__}' is not supported on an OData "
                      "filter.")

    def call(self, node: ast.Call) -> Getter:
        name = node.func.name
        args = [self.value(a, "string") for a in node.args]
        text = _text
        if name == "tolower" and len(args) == 1:
            return lambda r: text(args[0](r)).lower()
        if name == "toupper" and len(args) == 1:
            return lambda r: text(args[0](r)).upper()
        if name == "contains" and len(args) == 2:
            return lambda r: text(args[1](r)) in text(args[0](r))
        if name == "startswith" and len(args) == 2:
            return lambda r: text(args[0](r)).startswith(text(args[1](r)))
        if name == "endswith" and len(args) == 2:
            return lambda r: text(args[0](r)).endswith(text(args[1](r)))
        if name == "substring" and len(args) in (2, 3):
            start = self.value(node.args[1])
            if len(args) == 2:
                return lambda r: text(args[0](r))[int(start(r)):]
            length = self.value(node.args[2])
            return lambda r: text(args[0](r))[int(start(r)):int(start(r)) + int(length(r))]
        raise BCError(400, "BadRequest_NotSupported",
                      f"The function '{name}' is not supported on an OData filter.")

    def predicate(self, node: ast._Node) -> Getter:
        if isinstance(node, ast.BoolOp):
            left, right = self.predicate(node.left), self.predicate(node.right)
            if isinstance(node.op, ast.And):
                return lambda r: left(r) and right(r)
            return lambda r: left(r) or right(r)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.predicate(node.operand)
            return lambda r: not inner(r)
        if isinstance(node, ast.CollectionLambda):  # any/all: ignored by BC (docs/bc/3-odata-queries.md §3)
            return lambda r: True
        if isinstance(node, ast.Compare):
            return self.compare(node)
        getter = self.value(node)
        return lambda r: bool(getter(r))

    def compare(self, node: ast.Compare) -> Getter:
        type_ = self.type_of(node.left) or self.type_of(node.right)
        _check_operands(node, type_)
        left, right = self.value(node.left, type_), self.value(node.right, type_)
        if isinstance(node.comparator, ast.In):
            return lambda r: left(r) in right(r)
        op = _COMPARE[type(node.comparator)]

        def test(record: dict) -> bool:
            a, b = left(record), right(record)
            if a is None or b is None:
                return op in (operator.eq, operator.ne) and op(a, b)
            try:
                return bool(op(a, b))
            except TypeError:
                return False

        return test


# Edm names of the types a quoted string literal cannot be compared with (OData v4.01 part 2
# §5.1.1.1: date and dateTimeOffset literals are unquoted, e.g. 2019-08-18T20:05:51.603Z)
_UNQUOTED_TYPES = {"datetime": "Edm.DateTimeOffset", "date": "Edm.Date"}
_OPERATOR_KINDS = {
    ast.Eq: "Equal", ast.NotEq: "NotEqual", ast.Gt: "GreaterThan", ast.GtE: "GreaterThanOrEqual",
    ast.Lt: "LessThan", ast.LtE: "LessThanOrEqual",
}


def _check_operands(node: ast.Compare, type_: str | None) -> None:
    """Reject ``dateField gt '2026-01-01T00:00:00Z'``: BC's OData layer (Microsoft.OData.Core)
    does not convert a string to a date. The message is Microsoft.OData.Core's; the BC error
    code wrapping it is not documented (UNVERIFIED: ``BadRequest``)."""
    edm = _UNQUOTED_TYPES.get(type_ or "")
    if edm is None or not isinstance(node.left, ast.String | ast.Identifier):
        return
    if not (isinstance(node.left, ast.String) or isinstance(node.right, ast.String)):
        return
    kind = _OPERATOR_KINDS.get(type(node.comparator), type(node.comparator).__name__)
    left, right = ("Edm.String", edm) if isinstance(node.left, ast.String) else (edm, "Edm.String")
    raise BCError(400, "BadRequest", "A binary operator with incompatible types was detected. Found operand "
                  f"types '{left}' and '{right}' for operator kind '{kind}'.")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def compile_filter(node: ast._Node, types: Mapping[str, str], *, entity_type: str = "entity",
                   reject_or_across_fields: bool = True) -> Callable[[dict], bool]:
    """Compile a parsed ``$filter`` into ``predicate(record) -> bool``.

    Args:
        node: AST from :func:`parse_filter`.
        types: Field name -> entities.json type (``GUID``, ``string``, ``date``, ...).
        entity_type: Qualified type name for error messages (``Microsoft.NAV.item``).
        reject_or_across_fields: BC's limitation on ``or`` (docs/bc/3-odata-queries.md §3).

    Raises:
        BCError: 400 for unknown properties, unsupported functions, or an ``or`` across
            distinct fields.
    """
    if reject_or_across_fields:
        _check_or(node)
    predicate = _Compiler(types, entity_type).predicate(node)
    return lambda record: bool(predicate(record))


def time_bounds(node: ast._Node | None, field: str) -> list[tuple[str, float]]:
    """``(operator, unix ms)`` of top-level ``field <op> <datetime literal>`` conjuncts.

    Used to skip generated records by timestamp before building them; the full filter still
    runs on every record that is built.
    """
    if node is None:
        return []
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return time_bounds(node.left, field) + time_bounds(node.right, field)
    names = {ast.Gt: "gt", ast.GtE: "ge", ast.Lt: "lt", ast.LtE: "le", ast.Eq: "eq"}
    flipped = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge", "eq": "eq"}
    if isinstance(node, ast.Compare) and type(node.comparator) in names:
        op = names[type(node.comparator)]
        left, right = node.left, node.right
        if isinstance(right, ast.Identifier):
            left, right, op = right, left, flipped[op]
        if isinstance(left, ast.Identifier) and left.name == field and \
                isinstance(right, (ast.DateTime, ast.Date)):
            moment = _as_datetime(right.val)
            if moment is not None:
                return [(op, moment.timestamp() * 1000)]
    return []


def equality_values(node: ast._Node | None, field: str) -> list[str]:
    """Values ``v`` of top-level ``field eq v`` conjuncts (used for the lines' documentId rule)."""
    if node is None:
        return []
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        return equality_values(node.left, field) + equality_values(node.right, field)
    if isinstance(node, ast.Compare) and isinstance(node.comparator, ast.Eq):
        for a, b in ((node.left, node.right), (node.right, node.left)):
            if isinstance(a, ast.Identifier) and a.name == field and isinstance(b, ast._Literal):
                return [str(_literal(b))]
    return []
