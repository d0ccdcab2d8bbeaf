# mypy: ignore-errors
"""mlguard's own checkov checks, loaded by checkov with ``--external-checks-dir``.

These modules import checkov and run only inside checkov's own process (its separate venv): the
mlguard package never imports them. checkov execs every ``.py`` file here by its file name, so the
files carry an ``mlg_`` prefix to stay clear of other module names.
"""
