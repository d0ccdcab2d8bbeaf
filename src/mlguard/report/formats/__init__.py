"""Built-in reporters; importing this package registers them."""

from mlguard.report.formats import (
    html,  # noqa: F401
    json_report,  # noqa: F401
    sarif,  # noqa: F401
)
