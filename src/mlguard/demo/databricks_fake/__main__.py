"""``python -m mlguard.demo.databricks_fake --seed demo --port 8765``: serve until interrupted."""

from __future__ import annotations

import argparse
import sys

from mlguard.demo.databricks_fake import Behaviour, FakeWorkspaceServer, load_state
from mlguard.errors import MlguardError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlguard.demo.databricks_fake")
    parser.add_argument("--seed", default="demo", help="demo, empty, bulk:N or a WorkspaceState .json")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--token", default="dapi-fake-token")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--throttle-every", type=int, default=0, help="answer 429 on every Nth request")
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument("--deny", action="append", default=[], help="route name or path regex -> 403")
    args = parser.parse_args(argv)
    try:
        state = load_state(args.seed)
    except MlguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    behaviour = Behaviour(
        page_size=args.page_size,
        throttle_every=args.throttle_every,
        retry_after=args.retry_after,
        deny=set(args.deny),
    )
    server = FakeWorkspaceServer(state, token=args.token, behaviour=behaviour, port=args.port)
    print(f"DATABRICKS_HOST={server.host}\nDATABRICKS_TOKEN={server.token}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
