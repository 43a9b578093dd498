"""Writes minimal_requests.json: for every charger-initiated action of OCPP 1.6, 2.0.1 and
2.1, the smallest request the official schema accepts (required fields only; the first enum
value; integers and numbers at their minimum, or 1; one item in arrays that must not be
empty). The file is committed; the official schemas are not (CC BY-ND), so this script reads
them from the Python `ocpp` package and checks every request against them.

Run from the repository root:
    .venv/bin/python crates/ampere-ocpp-handlers/tests/data/make_minimal_requests.py

The list of actions is read from the file itself when it exists, so it stays the one list;
`tests/router.rs` checks that it matches `ampere_ocpp::actions` exactly.
"""

import glob
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "minimal_requests.json")
VERSIONS = {"1.6": "v16", "2.0.1": "v201", "2.1": "v21"}


def schema_dir():
    base = os.environ.get("AMPERE_OCPP_SCHEMAS")
    if not base:
        base = glob.glob(".venv/lib/python3*/site-packages/ocpp")[0]
    return base


def resolve(node, root):
    while "$ref" in node:
        path = node["$ref"].lstrip("#/").split("/")
        node = root
        for part in path:
            node = node[part]
    return node


def minimal(node, root):
    node = resolve(node, root)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties", {})
        return {name: minimal(props[name], root) for name in node.get("required", [])}
    if kind == "array":
        return [minimal(node["items"], root) for _ in range(node.get("minItems", 0))]
    if kind == "string":
        fmt = node.get("format")
        if fmt == "date-time":
            return "2026-01-01T00:00:00Z"
        if fmt == "uri":
            return "https://example.com/"
        return "x" * max(node.get("minLength", 1), 1)
    if kind == "integer":
        # Some schemas write integer bounds as floats (`0.0`); chargers send `0`.
        return int(node.get("minimum", 1))
    if kind == "number":
        return node.get("minimum", 1)
    if kind == "boolean":
        return False
    # An untyped value (DataTransfer's `data`) is optional, so it never gets here.
    raise ValueError(f"cannot make a minimal value for {node}")


def main():
    with open(OUT) as f:
        existing = json.load(f)
    base = schema_dir()
    out = {}
    for version, folder in VERSIONS.items():
        out[version] = {}
        for action in sorted(existing[version]):
            path = os.path.join(base, folder, "schemas", f"{action}Request.json")
            if not os.path.exists(path):
                path = os.path.join(base, folder, "schemas", f"{action}.json")
            with open(path) as f:
                schema = json.load(f)
            request = minimal(schema, schema)
            jsonschema.validate(request, schema)
            out[version][action] = request
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
