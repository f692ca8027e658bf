"""API tokens: random secrets with scopes, stored only as SHA-256 hashes.

A token is `opsa_` + 32 random bytes (URL-safe base64). It is shown once, at creation; the database
keeps its hash, a short prefix to recognise it in listings, its scopes and its life cycle. `admin`
implies every other scope.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Iterable
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Engine, insert, or_, select, update

from opsagent.errors import OpsagentError
from opsagent.incidents.db import begin_write, read_only
from opsagent.incidents.tables import api_tokens

TOKEN_PREFIX = "opsa_"
# last_used_at is a convenience, not an audit log: writing it on every webhook would turn each read
# into a write, so it is refreshed at most once a minute per token.
LAST_USED_RESOLUTION_SECONDS = 60.0
MAX_CACHED_TOKENS = 10_000


class Scope(StrEnum):
    """What a token may do."""

    READ = "read"  # incidents, search, metrics
    CHAT = "chat"
    INGEST = "ingest"  # upload knowledge
    WEBHOOK = "webhook"  # deliver alerts (Alertmanager bearer, Opsgenie token header)
    APPROVE = "approve"  # approve remediation actions
    ADMIN = "admin"  # everything


class TokenError(OpsagentError):
    """A token command that cannot be carried out."""


class ApiToken(BaseModel):
    """A token as listed (never the secret)."""

    id: int
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None

    def allows(self, scope: Scope) -> bool:
        """Whether this token carries `scope` (admin carries all)."""
        return Scope.ADMIN in self.scopes or scope in self.scopes


def hash_token(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Scopes from user input (`read,chat` or repeated options), with a clear error for unknown ones."""
    scopes: list[Scope] = []
    for value in values:
        for part in value.replace(",", " ").split():
            try:
                scope = Scope(part.strip().lower())
            except ValueError:
                known = ", ".join(s.value for s in Scope)
                raise TokenError(f"Unknown scope {part!r}; scopes are: {known}.") from None
            if scope not in scopes:
                scopes.append(scope)
    if not scopes:
        raise TokenError("A token needs at least one scope (e.g. --scope read).")
    return scopes


class TokenStore:
    """Create, authenticate, list and revoke API tokens."""

    def __init__(
        self, engine: Engine, clock: Callable[[], float] = time.time, *, cache_seconds: float = 5.0
    ) -> None:
        self.engine = engine
        self.clock = clock
        # A verified token is trusted for a few seconds without a query: webhooks arrive in bursts and
        # the lookup was a tenth of a request's cost. Revocation here clears it at once; other replicas
        # see it within cache_seconds.
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[ApiToken, float]] = {}

    def create(
        self, name: str, scopes: list[Scope], *, expires_in_seconds: float | None = None
    ) -> tuple[str, ApiToken]:
        """A new token: (the secret, shown once; its record)."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        with begin_write(self.engine) as connection:
            token_id = connection.execute(
                insert(api_tokens)
                .values(
                    name=name[:200] or "token",
                    token_hash=hash_token(secret),
                    prefix=secret[: len(TOKEN_PREFIX) + 6],
                    scopes=" ".join(s.value for s in scopes),
                    created_at=now,
                    expires_at=now + expires_in_seconds if expires_in_seconds else None,
                )
                .returning(api_tokens.c.id)
            ).scalar_one()
        return secret, self.get(int(token_id))

    def authenticate(self, secret: str) -> ApiToken | None:
        """The live token with this secret, or None (unknown, revoked or expired)."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        digest = hash_token(secret)
        now = self.clock()
        hit = self._from_cache(digest, now)
        if hit is not None:
            return hit
        token = self._lookup(digest)
        if token is not None:
            if len(self._cache) >= MAX_CACHED_TOKENS:
                self._cache.clear()
            self._cache[digest] = (token, now + self.cache_seconds)
        else:
            self._cache.pop(digest, None)
        return token

    def cached(self, secret: str) -> ApiToken | None:
        """The token if this process verified it within the last `cache_seconds`, without touching the
        database (so the event loop can skip a thread hop on the hot path); None means "look it up"."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        return self._from_cache(hash_token(secret), self.clock())

    def _from_cache(self, digest: str, now: float) -> ApiToken | None:
        cached = self._cache.get(digest)
        if cached is None or cached[1] <= now:
            return None
        token = cached[0]
        return token if token.expires_at is None or token.expires_at > now else None

    def _lookup(self, digest: str) -> ApiToken | None:
        with read_only(self.engine) as connection:
            row = (
                connection.execute(select(api_tokens).where(api_tokens.c.token_hash == digest))
                .mappings()
                .first()
            )
        if row is None:
            return None
        token = _token(row)
        now = self.clock()
        if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
            return None
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION_SECONDS:
            with begin_write(self.engine) as connection:
                connection.execute(
                    update(api_tokens).where(api_tokens.c.id == token.id).values(last_used_at=now)
                )
        return token

    def get(self, token_id: int) -> ApiToken:
        """One token by id."""
        with read_only(self.engine) as connection:
            row = connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).mappings().first()
        if row is None:
            raise TokenError(f"No token with id {token_id}; `opsagent token list` shows them.")
        return _token(row)

    def list(self) -> list[ApiToken]:
        """Every token, newest first."""
        with read_only(self.engine) as connection:
            rows = connection.execute(select(api_tokens).order_by(api_tokens.c.id.desc())).mappings().all()
        return [_token(row) for row in rows]

    def revoke(self, id_or_prefix: str) -> ApiToken:
        """Revoke a token by id or by its listed prefix."""
        condition = api_tokens.c.prefix == id_or_prefix
        if id_or_prefix.isdigit():
            condition = or_(condition, api_tokens.c.id == int(id_or_prefix))
        with begin_write(self.engine) as connection:
            rows = connection.execute(select(api_tokens.c.id).where(condition)).all()
            if len(rows) != 1:
                problem = "No token matches" if not rows else "Several tokens match"
                raise TokenError(f"{problem} {id_or_prefix!r}; use the id from `opsagent token list`.")
            connection.execute(
                update(api_tokens).where(api_tokens.c.id == rows[0].id).values(revoked_at=self.clock())
            )
        self._cache.clear()
        return self.get(int(rows[0].id))


def _token(row: object) -> ApiToken:
    data = dict(row)  # type: ignore[call-overload]
    data["scopes"] = [Scope(s) for s in str(data["scopes"]).split()]
    return ApiToken.model_validate(data)
