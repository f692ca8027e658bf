"""Request authentication: bearer API tokens with scopes. Fail closed: no token, no access.

401 means "who are you?" (no token, an unknown, revoked or expired one); 403 means "you may not"
(a valid token without the scope the route needs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.responses import Response

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


async def authorize(services: Services, secret: str | None, scope: Scope) -> ApiToken:
    """The token for this secret if it carries `scope`; 401 (who are you?) or 403 (you may not)."""
    token = await authenticate(services, secret)
    if not token.allows(scope):
        raise HTTPException(
            status_code=403,
            detail=f"This token lacks the '{scope.value}' scope "
            f"(it has: {', '.join(s.value for s in token.scopes)}).",
        )
    return token


SCOPE_ATTRIBUTE = "__opsagent_scope__"


def require(scope: Scope) -> Callable[..., object]:
    """A dependency: the request's token, which must carry `scope`."""

    async def dependency(
        services: ServicesDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> ApiToken:
        return await authorize(services, credentials.credentials if credentials else None, scope)

    # AuthFirstRoute finds the scope here, to check it before FastAPI reads the body.
    setattr(dependency, SCOPE_ATTRIBUTE, scope)
    return dependency


def bearer_secret(request: Request) -> str | None:
    """The `Authorization: Bearer` credentials, as HTTPBearer reads them."""
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    return credentials if scheme.lower() == "bearer" and credentials else None


def required_scopes(dependant: Dependant) -> list[Scope]:
    """The scopes `require()` dependencies anywhere under this route's dependency tree ask for."""
    found: list[Scope] = []
    stack = [dependant]
    while stack:
        current = stack.pop()
        scope = getattr(current.call, SCOPE_ATTRIBUTE, None)
        if isinstance(scope, Scope) and scope not in found:
            found.append(scope)
        stack.extend(current.dependencies)
    return found


class AuthFirstRoute(APIRoute):
    """A route that checks its token before anything reads the request body.

    FastAPI reads and parses a declared body (JSON, a multipart form spooled to temporary files) before it
    runs any dependency, so a bad token with a bad body got a 400 or 422 instead of a 401, and an
    unauthenticated upload was read (up to its size limit) before being refused. This handler runs the
    same checks as the route's `require()` dependency first; the dependency then finds the token cached.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        scopes = required_scopes(self.dependant)

        async def authenticated_handler(request: Request) -> Response:
            services = get_services(request)
            for scope in scopes:
                await authorize(services, bearer_secret(request), scope)
            try:
                return await handler(request)
            except StarletteHTTPException as exc:  # FastAPI's HTTPException is a subclass
                explained = _explained(exc, request)
                if explained is exc:
                    raise
                raise explained from None

        return authenticated_handler


def _explained(exc: StarletteHTTPException, request: Request) -> StarletteHTTPException:
    """Starlette's body limit says only "Content Too Large": say which limit."""
    limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    if exc.status_code != 413 or exc.detail != "Content Too Large" or not isinstance(limit, int):
        return exc
    return HTTPException(
        413, f"The request body is over the {limit}-byte limit of {request.method} {request.url.path}."
    )


ReadToken = Annotated[ApiToken, Depends(require(Scope.READ))]
ChatToken = Annotated[ApiToken, Depends(require(Scope.CHAT))]
IngestToken = Annotated[ApiToken, Depends(require(Scope.INGEST))]
AdminToken = Annotated[ApiToken, Depends(require(Scope.ADMIN))]
