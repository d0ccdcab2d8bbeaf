#!/usr/bin/env bash
# Regenerate the sample reports in reports/ from a scan of the embedded demo estate, so a visitor
# can see what mlguard produces without installing it. Offline; about 20 seconds.
#
#   scripts/regenerate-reports.sh            # uses .venv/bin/mlguard (or mlguard on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
mlguard=.venv/bin/mlguard
[ -x "$mlguard" ] || mlguard=mlguard
rm -f reports/results.json reports/results.sarif reports/report.html reports/summary.md reports/junit.xml \
  reports/results.csv reports/compliance-*.html
# --pricing sample: dollar figures from the built-in SAMPLE price file (labelled so in every report)
"$mlguard" -q scan --demo --pricing sample --format json,sarif,html,markdown,junit,csv --output-dir reports \
  --fail-on never
for fw in aws-securityhub-sagemaker aws-ai-security-best-practices databricks-dasf; do
  "$mlguard" -q report reports/results.json --framework "$fw" --format html --output-dir reports
done
ls -la reports
