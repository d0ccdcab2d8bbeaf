"""What ``mlguard scan --demo`` runs on: local fakes of the platforms mlguard scans, and their estates.

- :mod:`mlguard.demo.environment`: the seeded moto server the AWS collectors scan
  (:func:`~mlguard.demo.environment.demo_environment`); :mod:`mlguard.demo.aws_estate` is its estate.
- :mod:`mlguard.demo.moto_ext`: fills moto's gaps for the services mlguard reads.
- :mod:`mlguard.demo.s3control_host`: the botocore plugin that lets s3control reach a loopback moto.
- :mod:`mlguard.demo.databricks_fake`: the fake Databricks workspace the real databricks-sdk talks to.
- :mod:`mlguard.demo.scan`: collects both for ``scan --demo``; :mod:`mlguard.demo.serve` serves the
  AWS estate from a process of its own.

This package imports nothing itself: the botocore plugin is loaded by every client of a demo
environment (``mlguard`` subprocesses included), and must not drag moto into the scanner.
The scanner never imports it outside ``--demo``.
"""
