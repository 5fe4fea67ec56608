#!/usr/bin/env bash
# An agent exports a call's applications with curl (docs/api.md). Environment: ESSOR_URL,
# ESSOR_TOKEN (a personal access token with the `export` scope, created at /compte/jetons),
# ESSOR_CALL (the call's id), OUT (the file to write, default applications.csv).
set -euo pipefail
: "${ESSOR_URL:?ESSOR_URL manque}" "${ESSOR_TOKEN:?ESSOR_TOKEN manque}" "${ESSOR_CALL:?ESSOR_CALL manque}"
out="${OUT:-applications.csv}"
# CSV for Excel in French (`;`, decimal comma, BOM); also format=xlsx, json or scdl.
curl -fsS -H "Authorization: Bearer $ESSOR_TOKEN" -o "$out" \
  "$ESSOR_URL/api/v1/calls/$ESSOR_CALL/export?format=csv&dialect=excel-fr"
echo "Export écrit dans $out"
