"""Bearer tokens: the admin token, and signed (JWT) staff and system tokens.

Every service verifies tokens on its own, without a network call. A staff token whose staff
member is a named admin (`admin: true` in the directory version the service holds) verifies as
an admin principal whose subject is that staff id; the bootstrap admin token's subject is `admin`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

Kind = Literal["admin", "staff", "system"]
ALGORITHM = "HS256"
ISSUER = "louzhang"


@dataclass(frozen=True)
class Principal:
    kind: Kind
    subject: str
    # An admin who is a staff member (a named admin: their own staff token, `admin: true` in the
    # directory); `subject` is their staff id. False for the bootstrap admin token.
    named: bool = False

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    @property
    def staff_id(self) -> str | None:
        """The staff member behind the token: a staff token's, or a named admin's; else None."""
        return self.subject if self.kind == "staff" or self.named else None

    @property
    def recorded_kind(self) -> Kind:
        """The kind written with what the caller records (`submitted_by`, `recorded_by`): a named
        admin's records are a staff member's, and stay theirs once the flag is dropped."""
        return "staff" if self.named else self.kind


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Issued:
    """A signed token and what it says of itself."""

    token: str
    jti: str
    kind: Literal["staff", "system"]
    subject: str
    issued_at: datetime | None
    expires_at: datetime | None


# Sightings kept before the oldest are forgotten (and, seen again, reported again).
SIGHTINGS_REMEMBERED = 100_000


def _nobody(staff_id: str) -> bool:
    return False


class Tokens:
    """Issues and verifies tokens. `revoked` (the jtis routing has revoked) is kept current by
    `chassis.revocations`; each signed token verified for the first time in this process is
    queued in `unreported` so that routing can list it, however old it is. `admins` says whether
    a staff id is a named admin in the directory version the service holds now (the service sets
    it; asked at every verification, so a dropped flag counts as soon as the version is held)."""

    def __init__(self, admin_token: str, jwt_secret: str, admins: Callable[[str], bool] = _nobody) -> None:
        self._admin = admin_token.encode()
        self._secret = jwt_secret
        self.admins = admins
        self.revoked: frozenset[str] = frozenset()
        self.unreported: dict[str, Issued] = {}
        self._reported: dict[str, None] = {}

    def mint(self, kind: Literal["staff", "system"], subject: str, ttl: timedelta | None = None) -> Issued:
        """A new token; staff tokens always expire (`ttl`, else a week), system tokens only given a `ttl`."""
        now = datetime.now(UTC).replace(microsecond=0)
        if kind == "staff" and ttl is None:
            ttl = timedelta(days=7)
        jti = uuid.uuid4().hex
        claims: dict[str, object] = {"sub": subject, "kind": kind, "jti": jti, "iat": now, "iss": ISSUER}
        expires_at = now + ttl if ttl is not None else None
        if expires_at is not None:
            claims["exp"] = expires_at
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        self._reported[jti] = None  # recorded by routing as it issues it
        return Issued(token, jti, kind, subject, now, expires_at)

    def issue(self, kind: Literal["staff", "system"], subject: str, ttl: timedelta | None = None) -> str:
        return self.mint(kind, subject, ttl).token

    def reported(self, jtis: list[str]) -> None:
        """Routing has been told of these sightings."""
        for jti in jtis:
            self.unreported.pop(jti, None)
            self._reported[jti] = None
        while len(self._reported) > SIGHTINGS_REMEMBERED:
            del self._reported[next(iter(self._reported))]

    def _sighted(self, claims: dict[str, object]) -> None:
        jti = str(claims["jti"])
        if jti in self._reported or jti in self.unreported or len(self.unreported) >= SIGHTINGS_REMEMBERED:
            return
        kind: Literal["staff", "system"] = "staff" if claims["kind"] == "staff" else "system"
        self.unreported[jti] = Issued(
            "", jti, kind, str(claims["sub"]), _time(claims.get("iat")), _time(claims.get("exp"))
        )

    def verify(self, token: str) -> Principal:
        if hmac.compare_digest(token.encode(), self._admin):
            return Principal("admin", "admin")
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["sub", "jti", "iss"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("invalid token") from exc
        kind = claims.get("kind")
        if kind not in ("staff", "system") or (kind == "staff" and "exp" not in claims):
            raise InvalidToken("invalid token")
        if str(claims["jti"]) in self.revoked:
            raise InvalidToken("token revoked")
        self._sighted(claims)
        subject = str(claims["sub"])
        return self.staff(subject) if kind == "staff" else Principal(kind, subject)

    def staff(self, staff_id: str) -> Principal:
        """The principal a staff member acts as: an admin (named) while the directory held flags them."""
        if self.admins(staff_id):
            return Principal("admin", staff_id, named=True)
        return Principal("staff", staff_id)

    def issue_ticket(self, staff_id: str, ttl: timedelta = timedelta(minutes=1)) -> str:
        """A short-lived ticket to one staff member's inbox stream, for browsers (no headers in EventSource)."""
        now = datetime.now(UTC)
        claims = {"sub": staff_id, "kind": "ticket", "iat": now, "exp": now + ttl, "iss": ISSUER}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify_ticket(self, ticket: str) -> str:
        """The staff id whose inbox the ticket opens."""
        try:
            claims = jwt.decode(
                ticket, self._secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("ticket expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("invalid ticket") from exc
        if claims.get("kind") != "ticket":
            raise InvalidToken("invalid ticket")
        return str(claims["sub"])

    def signing_secret(self, client: str) -> str:
        """The secret that signs a system client's callbacks, derived so that any service can compute it."""
        return hmac.new(self._secret.encode(), f"callback:{client}".encode(), hashlib.sha256).hexdigest()

    def follow_token(self, issue_id: str) -> str:
        """The reporter's capability for one issue (docs/reporter-page.md): the issue id and a
        192-bit HMAC of it under a key derived from the JWT secret, as one opaque base64url string.
        Any service can compute it, so nothing is stored and a replay gives the same link."""
        mac = hmac.new(self._secret.encode(), f"follow:{issue_id}".encode(), hashlib.sha256).digest()
        raw = mac[:FOLLOW_MAC_BYTES] + issue_id.encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def followed_issue(self, token: str) -> str | None:
        """The issue a follow token opens, or None for a forged, cut or malformed one."""
        if not 0 < len(token) <= 200:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            issue_id = raw[FOLLOW_MAC_BYTES:].decode()
        except (ValueError, UnicodeDecodeError):
            return None
        if not issue_id or not hmac.compare_digest(self.follow_token(issue_id), token):
            return None
        return issue_id


# Bytes of HMAC in a follow token: 192 bits, well above the 128 the contract asks for.
FOLLOW_MAC_BYTES = 24


def _time(value: object) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


def generate_secret() -> str:
    return secrets.token_urlsafe(32)


_bearer = HTTPBearer(auto_error=False, description="Admin token, or a staff or system token from POST /v1/tokens")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


# A service whose pages have sessions (reporting's workbench) sets `app.state.session_principal`: an
# async callable from the request to the signed-in staff member's Principal, or None. It is asked
# only for reads without a bearer token: a cookie alone never changes anything through the API.
SAFE_METHODS = ("GET", "HEAD")


async def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None and request.method in SAFE_METHODS:
        by_session = getattr(request.app.state, "session_principal", None)
        who = await by_session(request) if by_session is not None else None
        if who is not None:
            return who  # type: ignore[no-any-return]
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token")
    tokens: Tokens = request.app.state.tokens
    try:
        return tokens.verify(credentials.credentials)
    except InvalidToken as exc:
        raise _unauthorized(str(exc)) from exc


def require(*kinds: Kind):  # type: ignore[no-untyped-def]
    """A dependency that lets only the given kinds of token through (403 for the others)."""

    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.kind not in kinds:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{who.kind} tokens may not do this")
        return who

    return check


Caller = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(require("admin"))]
