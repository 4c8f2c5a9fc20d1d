"""Run the simulator: ``python -m vonosim --port 8001``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from vonosim.app import Settings, Simulator
from vonosim.server import make_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vonosim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    parser.add_argument("--token", default=os.environ.get("VONOSIM_TOKEN", "demo-token"))
    parser.add_argument("--key", default=os.environ.get("VONOSIM_KEY", "demo-key"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--count", type=int, default=2400, help="how many demo recordings")
    parser.add_argument("--verbose", action="store_true", help="log requests (credentials masked)")
    parser.add_argument(
        "--state",
        type=Path,
        default=os.environ.get("VONOSIM_STATE") or None,
        help="a JSON file keeping deletions and added recordings across restarts",
    )
    parser.add_argument(
        "--max-limit",
        type=int,
        default=int(os.environ.get("VONOSIM_MAX_LIMIT") or Settings.max_limit),
        help="cap the list's limit, as a real upstream may (e.g. 50)",
    )
    args = parser.parse_args(argv)

    app = Simulator(
        token=args.token,
        key=args.key,
        seed=args.seed,
        count=args.count,
        state_path=args.state,
        defaults=Settings(max_limit=args.max_limit),
    )
    server = make_server(args.host, args.port, app, verbose=args.verbose)
    host, port = args.host, server.server_port
    print(
        f"vonosim: listening on http://{host}:{port}/api/recording/ "
        f"({len(app.records)} recordings)",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
