"""Test-only helpers, shared by the tests and the benchmarks (``bench/`` puts the repository root on
``sys.path``): a headless browser (selenium), a socket guard, SARIF checks, a synthetic results
factory, the fault proxy, and the harness that runs the Databricks collector against the fake.

Nothing under ``src/mlguard`` imports from here (``tests/test_layering.py``). The fakes that
``mlguard scan --demo`` runs on live in :mod:`mlguard.demo`; the golden-test kit for your own
policies is :mod:`mlguard.testing`.
"""
