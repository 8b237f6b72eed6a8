#!/usr/bin/python3
"""Validates EVE JSON lines against Suricata's EVE schema.

Usage: eve_validate.py --schema SCHEMA.json [--extension EXT.json] FILE...

Records made from packets must validate against Suricata's schema as it is.
With --extension, the project's own event types (host events, YARA and
intel matches, link health; common/eve/rampart-eve-extension.json) are
merged into the schema first. Prints each failing record with its reason;
exits 1 if any record is invalid or not JSON, 0 otherwise.
"""
import argparse
import copy
import json
import sys

import jsonschema


def merge(base, ext):
    """Adds the extension's properties to the base schema, recursing into
    objects both define (so "alert" can gain YARA fields while keeping
    Suricata's), and letting the extension add new event types."""
    for key, value in ext.get("properties", {}).items():
        old = base.setdefault("properties", {}).get(key)
        if isinstance(old, dict) and "properties" in old and "properties" in value:
            merge(old, value)
        else:
            base["properties"][key] = value


def load_schema(path, extension):
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    if extension:
        with open(extension, encoding="utf-8") as f:
            ext = json.load(f)
        schema = copy.deepcopy(schema)
        merge(schema, ext)
        schema.setdefault("$defs", {}).update(ext.get("$defs", {}))
    return schema


def check_records(path, validator):
    """Yields (record, problem) for each record of one EVE file: the parsed
    record (None when the line is not JSON) and "FILE:LINE: ..." or None."""
    with open(path, encoding="utf-8", errors="strict") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                yield None, f"{path}:{lineno}: not JSON: {e}"
                continue
            err = jsonschema.exceptions.best_match(validator.iter_errors(rec))
            if err is None:
                yield rec, None
            else:
                where = "/".join(str(p) for p in err.absolute_path) or "(record)"
                yield rec, f"{path}:{lineno}: {where}: {err.message}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--extension")
    ap.add_argument("--max-errors", type=int, default=20, help="stop printing after this many")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    schema = load_schema(args.schema, args.extension)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema)
    records = bad = 0
    by_type = {}
    for path in args.files:
        for rec, problem in check_records(path, validator):
            records += 1
            if rec is not None:
                event_type = rec.get("event_type", "?")
                by_type[event_type] = by_type.get(event_type, 0) + 1
            if problem is not None:
                bad += 1
                if bad <= args.max_errors:
                    print(problem, file=sys.stderr)
    types = ", ".join(f"{k}={v}" for k, v in sorted(by_type.items()))
    print(f"{records} records ({types}), {bad} invalid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
