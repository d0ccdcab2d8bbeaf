"""Built-in reporters; importing this package registers them."""

from mlguard.report.formats import (
    asff,  # noqa: F401
    csv_report,  # noqa: F401
    html,  # noqa: F401
    json_report,  # noqa: F401
    junit,  # noqa: F401
    markdown,  # noqa: F401
    ocsf,  # noqa: F401
    sarif,  # noqa: F401
)
