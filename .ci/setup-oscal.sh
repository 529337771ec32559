#!/usr/bin/env bash
# Installs the Python packages that the OSCAL POA&M schema test (tests/poam.rs)
# runs through tests/data/oscal/validate.py: jsonschema validates, and regex
# compiles the schema's \p{L}-style patterns that Python's re rejects. Versions
# are pinned so every CI run validates the same way. The schema file itself is
# committed in tests/data/oscal/ (see its README.md for where it comes from).
set -euo pipefail

if ! command -v python3 >/dev/null 2>&1; then
    echo "python3 not found: tests/poam.rs will skip the schema validation" >&2
    exit 0
fi

python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    'jsonschema==4.26.0' 'regex==2026.5.9'
python3 -c 'from importlib.metadata import version as v; print("jsonschema", v("jsonschema"), "regex", v("regex"))'
