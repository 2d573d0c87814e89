"""Load-test accounts written straight into a database, with their tokens in a cache file.

`chatserver loadtest` registers its accounts over HTTP, and every registration is an
argon2 hash (deliberately slow: 2,000 accounts took 15 minutes on a busy 2-core machine).
For benchmarks that measure something else, this writes the same accounts — the load
tester's names, `lt-<prefix>-<n>` — directly, each with a session token, and writes the
`{username: token}` file that `chatserver loadtest --token-cache` reads, so the load
tester finds every account ready and registers none. The accounts have no usable
password. Run it before starting the server, on a migrated database:

    .venv/bin/chatserver migrate --database-url sqlite+aiosqlite:////tmp/bench/chat.db
    .venv/bin/python benchmarks/seed_accounts.py \
        --database-url sqlite+aiosqlite:////tmp/bench/chat.db \
        --prefix bench --count 2000 --token-cache /tmp/bench/tokens.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from pathlib import Path

from chatserver.services.accounts import hash_token
from chatserver.store import accounts as account_store
from chatserver.store.engine import Database


async def seed(database_url: str, prefix: str, count: int) -> dict[str, str]:
    db = Database(database_url)
    tokens: dict[str, str] = {}
    now = int(time.time() * 1000)
    try:
        async with db.write() as conn:
            for index in range(count):
                name = f"lt-{prefix}-{index}"
                user = await account_store.create_user(
                    conn,
                    username=name,
                    display_name=name,
                    password_hash="!",  # no password verifies against this
                    role="student",
                    now=now,
                )
                token = secrets.token_urlsafe(32)
                await account_store.add_token(
                    conn, user.id, hash_token(token), now, now + 30 * 86_400_000
                )
                tokens[name] = token
    finally:
        await db.close()
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--token-cache", type=Path, required=True)
    args = parser.parse_args()
    tokens = asyncio.run(seed(args.database_url, args.prefix, args.count))
    cache = json.loads(args.token_cache.read_text()) if args.token_cache.exists() else {}
    cache.update(tokens)
    args.token_cache.parent.mkdir(parents=True, exist_ok=True)
    args.token_cache.write_text(json.dumps(cache))
    last = f"lt-{args.prefix}-{args.count - 1}"
    print(f"{len(tokens)} accounts lt-{args.prefix}-0..{last}; tokens in {args.token_cache}")


if __name__ == "__main__":
    main()
