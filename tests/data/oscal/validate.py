"""Validate an OSCAL JSON document against an OSCAL JSON schema.

Usage: python3 validate.py SCHEMA DOCUMENT

OSCAL schemas are JSON Schema draft-07 and use ECMAScript Unicode property
classes (\\p{L}, \\p{N}) in their `pattern` keywords, which Python's `re`
cannot compile. The validator therefore checks the `pattern` keyword, and the
`regex` format of the schema's own patterns, with the `regex` package, which
supports those classes. Every other keyword is left to `jsonschema`.

Exit codes: 0 valid, 1 invalid (each error printed with its JSON path),
3 a required package is missing.
"""

import json
import sys
from importlib.metadata import version

try:
    import jsonschema
    import regex
    from jsonschema import ValidationError, validators
except ImportError as error:  # pragma: no cover - depends on the machine
    print(
        f"missing Python package: {error.name}; install it with "
        "`bash .ci/setup-oscal.sh` (python3 -m pip install jsonschema regex)",
        file=sys.stderr,
    )
    sys.exit(3)


def pattern(validator, expected, instance, schema):
    """Check `pattern` with the `regex` package (ECMA-262 semantics: search)."""
    if validator.is_type(instance, "string") and not regex.search(expected, instance):
        yield ValidationError(f"{instance!r} does not match {expected!r}")


def main(schema_path, document_path):
    with open(schema_path, encoding="utf-8") as file:
        schema = json.load(file)
    with open(document_path, encoding="utf-8") as file:
        document = json.load(file)
    formats = jsonschema.FormatChecker()

    @formats.checks("regex", raises=regex.error)
    def is_regex(instance):
        return not isinstance(instance, str) or regex.compile(instance) is not None

    base = validators.validator_for(schema)
    base(base.META_SCHEMA, format_checker=formats).validate(schema)
    checker = validators.extend(base, {"pattern": pattern})
    validator = checker(schema, format_checker=formats)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    for error in errors:
        path = "/".join(str(part) for part in error.absolute_path)
        print(f"/{path}: {error.message}")
    if errors:
        print(f"{len(errors)} schema error(s) in {document_path}", file=sys.stderr)
        return 1
    print(
        f"{document_path}: valid against {schema.get('$id', schema_path)} "
        f"(jsonschema {version('jsonschema')}, regex {version('regex')})"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
