"""What an invite is: its code, its limits, and when it still lets someone in."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from chatserver.domain.errors import Expired

InviteRole = Literal["student", "guest"]

CODE_BYTES = 24
"""192 random bits, 32 URL-safe characters: well past the 128 bits a guess must beat."""
MAX_USES = 10_000
MIN_EXPIRY_S = 60
MAX_EXPIRY_S = 30 * 86_400
DEFAULT_EXPIRY_S = 7 * 86_400


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def code_hash(code: str) -> str:
    """Invites are found by the SHA-256 of their code, like tokens: the code is random, so
    no salt or slow hash is needed, and no lookup ever compares the secret itself."""
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Invite:
    id: int
    code: str
    room_id: int
    role: InviteRole
    max_uses: int | None
    uses: int
    expires_at_ms: int
    revoked: bool
    created_by: int | None
    created_at_ms: int

    def refusal(self, now: int) -> Expired | None:
        """Why the invite lets nobody in any more, or None while it still does."""
        if self.revoked:
            return Expired("this invite was revoked")
        if self.expires_at_ms <= now:
            return Expired("this invite has expired")
        if self.max_uses is not None and self.uses >= self.max_uses:
            return Expired("this invite is used up")
        return None

    def check_usable(self, now: int) -> None:
        refusal = self.refusal(now)
        if refusal is not None:
            raise refusal
