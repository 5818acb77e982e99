"""JSON-schema checks: ADF documents (official ADF schema) and v3 request bodies (OpenAPI).

Validators are built once per process and shared. The verdict comes from the schema compiled
to Python by fastjsonschema (under the storm the emulator spent over half of its CPU walking
the ADF schema with jsonschema, on cores it shares with the service under test); jsonschema
explains an invalid body (its best-matching error). Both read the schema as draft-04, formats
not checked, defaults never written into the body: tests hold them to the same verdicts.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Callable

import fastjsonschema
from jsonschema import Draft4Validator, ValidationError, validators
from jsonschema.exceptions import best_match

_DIR = Path(__file__).parent / "schemas"


@cache
def adf_validator() -> Draft4Validator:
    # The ADF schema (@atlaskit/adf-schema, Apache-2.0) is draft-04. Every content list is an
    # `anyOf` over ~25 node kinds, and plain jsonschema tries them in order: ~7 ms for a small
    # doc. A node's "type" already rules out all but one or two branches, so `anyOf` first
    # drops the branches whose `type` enum excludes the node's type (they would fail anyway).
    # Same verdicts, ~20x faster.
    schema = json.loads((_DIR / "adf.json").read_text())
    discriminated = validators.extend(Draft4Validator, {"anyOf": _discriminating_any_of(schema)})
    return discriminated(schema)


def _discriminating_any_of(root: dict[str, Any]):
    definitions = root["definitions"]
    branch_types: dict[int, list[frozenset[str] | None]] = {}

    def node_types(schema: Any, depth: int = 0) -> frozenset[str] | None:
        """The `type` values a node must have to match `schema`; None if unconstrained."""
        if not isinstance(schema, dict) or depth > 20:
            return None
        if "$ref" in schema:
            return node_types(definitions.get(schema["$ref"].rsplit("/", 1)[-1]), depth + 1)
        found: frozenset[str] | None = None
        enum = ((schema.get("properties") or {}).get("type") or {}).get("enum")
        if isinstance(enum, list):
            found = frozenset(e for e in enum if isinstance(e, str))
        for part in schema.get("allOf") or ():
            sub = node_types(part, depth + 1)
            if sub is not None:
                found = sub if found is None else found & sub
        if "anyOf" in schema:
            subs = [node_types(part, depth + 1) for part in schema["anyOf"]]
            if all(sub is not None for sub in subs):
                union = frozenset().union(*subs)  # type: ignore[arg-type]
                found = union if found is None else found & union
        return found

    def any_of(validator, any_of, instance, schema):
        types = branch_types.get(id(any_of))
        if types is None:
            types = branch_types[id(any_of)] = [node_types(sub) for sub in any_of]
        kind = instance.get("type") if isinstance(instance, dict) else None
        all_errors = []
        for index, subschema in enumerate(any_of):
            allowed = types[index]
            if isinstance(kind, str) and allowed is not None and kind not in allowed:
                continue
            errs = list(validator.descend(instance, subschema, schema_path=index))
            if not errs:
                return
            all_errors.extend(errs)
        yield ValidationError(f"{instance!r} is not valid under any of the given schemas", context=all_errors)

    return any_of


@cache
def openapi_schemas() -> dict[str, Any]:
    """The component schemas extracted from the Jira Cloud OpenAPI spec (see _extract_schemas)."""
    return json.loads((_DIR / "openapi-subset.json").read_text())


@cache
def component_validator(name: str) -> Draft4Validator:
    # `$ref` into the same document, so the other components resolve. OpenAPI 3.0 schema
    # objects are close to draft-04 (boolean exclusiveMinimum, no `const`).
    root = dict(openapi_schemas())
    root["$ref"] = f"#/components/schemas/{name}"
    return Draft4Validator(root)


ADF = "adf"  # `_verdict`'s name for the ADF schema (the others are OpenAPI component names)


@cache
def _verdict(name: str) -> Callable[[Any], Any]:
    """The schema of `adf_validator()` or `component_validator(name)` compiled to Python."""
    schema = adf_validator().schema if name == ADF else component_validator(name).schema
    # draft-04 as jsonschema reads it: no format checks, and no defaults written into the body
    return fastjsonschema.compile(schema, use_formats=False, use_default=False)


def _valid(name: str, body: Any) -> bool:
    try:
        _verdict(name)(body)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def adf_error(doc: Any) -> str | None:
    """None if `doc` is a valid ADF document, else a short reason."""
    if _valid(ADF, doc):
        return None
    err = best_match(adf_validator().iter_errors(doc))
    where = "/".join(str(p) for p in err.absolute_path) if err else ""
    return f"{err.message} at /{where}" if err else "invalid ADF"


def component_error(name: str, body: Any) -> str | None:
    """None if `body` matches the OpenAPI component schema `name`, else a short reason."""
    if _valid(name, body):
        return None
    err = best_match(component_validator(name).iter_errors(body))
    where = "/".join(str(p) for p in err.absolute_path) if err else ""
    return f"{err.message} at /{where}" if err else "invalid body"


def warm_up() -> None:
    """Build every validator now (so the first request is not the slow one)."""
    _valid(ADF, {"type": "doc", "version": 1, "content": []})
    for name in ("IssueUpdateDetails", "Comment", "SearchAndReconcileRequestBean"):
        _valid(name, {})
