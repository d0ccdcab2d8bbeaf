"""Serve the demo estate from a process of its own, for end-to-end tests and manual exploration.

``python -m mlguard.demo.serve [--regions us-east-1,eu-west-1] [--no-seed] [--manifest FILE]``
starts the loopback moto server with mlguard's moto extension applied *in the serving process*
(an external ``moto_server`` would lack it), seeds the estate, writes one JSON line to stdout
(``endpoint``, ``env``: the variables a client process needs, ``manifest``), and serves until
interrupted (SIGINT/SIGTERM). A test can then run the installed ``mlguard scan`` as a subprocess
with that environment and compare the inventory with the manifest.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from mlguard.demo.aws_estate import DEFAULT_REGIONS
from mlguard.demo.environment import demo_environment


@click.command("serve")
@click.option(
    "--regions",
    default=",".join(DEFAULT_REGIONS),
    show_default=True,
    help="Comma-separated regions to seed; the first gets the account-wide resources.",
)
@click.option("--seed/--no-seed", default=True, show_default=True, help="Seed the demo estate.")
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the manifest (counts, names, flaws) to this JSON file.",
)
def serve(regions: str, seed: bool, manifest_path: Path | None) -> None:
    """Run the seeded demo AWS estate on 127.0.0.1 until interrupted."""
    region_list = [r.strip() for r in regions.split(",") if r.strip()]
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with demo_environment(region_list, seed=seed) as env:
            manifest = env.manifest.model_dump(mode="json")
            if manifest_path is not None:
                manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            click.echo(json.dumps({"endpoint": env.endpoint_url, "env": env.env, "manifest": manifest}))
            stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    serve()
