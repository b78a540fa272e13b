#!/usr/bin/env bash
# Checks and unit-tests the alerts with promtool. promtool reads plain rule
# groups, so the PrometheusRule's spec is cut out into a temporary file: the
# manifest stays the only copy of the rules, and the tests run against it.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Everything after the top-level "spec:" line, one indentation level less.
sed -n '/^spec:/,$p' prometheusrule.yaml | sed '1d; s/^  //' >"$tmp/rules.yaml"
cp prometheusrule.test.yaml "$tmp/"
promtool check rules "$tmp/rules.yaml"
promtool test rules "$tmp/prometheusrule.test.yaml"
