"""Request authentication: bearer API tokens with scopes. Fail closed: no token, no access.

401 means "who are you?" (no token, an unknown, revoked or expired one); 403 means "you may not"
(a valid token without the scope the route needs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from opsagent.api.services import Services
from opsagent.api.tokens import ApiToken, Scope

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="An API token: `opsagent token create --scope ...`")


def get_services(request: Request) -> Services:
    """The app's Services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def unauthorized(detail: str) -> HTTPException:
    """A 401 that tells the client how to authenticate."""
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(services: Services, secret: str | None) -> ApiToken:
    """The token for this secret, or a 401."""
    if not secret:
        raise unauthorized("Missing API token: send 'Authorization: Bearer <token>' (opsagent token create).")
    token = services.tokens.cached(secret.strip())
    if token is not None:
        return token
    try:
        token = await run_in_threadpool(services.tokens.authenticate, secret.strip())
    except SQLAlchemyError:
        log.exception("token lookup failed")
        raise HTTPException(
            503, "The token store is unavailable; retry shortly.", headers={"Retry-After": "5"}
        ) from None
    if token is None:
        raise unauthorized("Invalid, revoked or expired API token.")
    return token


def require(scope: Scope) -> Callable[..., object]:
    """A dependency: the request's token, which must carry `scope`."""

    async def dependency(
        services: ServicesDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> ApiToken:
        token = await authenticate(services, credentials.credentials if credentials else None)
        if not token.allows(scope):
            raise HTTPException(
                status_code=403,
                detail=f"This token lacks the '{scope.value}' scope "
                f"(it has: {', '.join(s.value for s in token.scopes)}).",
            )
        return token

    return dependency


ReadToken = Annotated[ApiToken, Depends(require(Scope.READ))]
ChatToken = Annotated[ApiToken, Depends(require(Scope.CHAT))]
IngestToken = Annotated[ApiToken, Depends(require(Scope.INGEST))]
AdminToken = Annotated[ApiToken, Depends(require(Scope.ADMIN))]
