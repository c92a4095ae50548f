"""Emulator of Google's OAuth 2.0 endpoints that the Google Contacts connect uses
(mounted at /google; each path is the real one on the host named):

- ``GET /o/oauth2/v2/auth`` (accounts.google.com): the consent screen. The user signed in
  in the browser allows at once and is sent back to ``redirect_uri`` with ``code`` and
  ``state``; after the ``consent`` action they may refuse (``error=access_denied``) or
  untick scopes.
- ``POST /token`` (oauth2.googleapis.com): ``authorization_code`` and ``refresh_token``
  grants; a revoked or unknown refresh token is ``invalid_grant``.
- ``GET /v1/userinfo`` (openidconnect.googleapis.com): ``sub``, ``email``,
  ``email_verified``; ``GET /tokeninfo`` (oauth2.googleapis.com): what a token grants.

The authorization-code flow is connectors/sandbox/oauth.py's (shared with Salesforce's and
Mailchimp's emulators); this module says who is signed in, what they consent to, and how
Google words its answers.

- ``/carddav/…`` (www.googleapis.com/carddav): Google's CardDAV host, as a bearer-token
  front of a real CardDAV server (``carddav_upstream``: Radicale, started by bin/run in
  development and by the tests' ``radicale`` fixture). A request whose token this emulator
  issued with the contacts scope, still live, is passed on with the upstream's Basic
  credentials; anything else is 401, which is what makes the connector refresh. Radicale is
  told the mount (``X-Script-Name``), so the hrefs it answers stay under this host. Every
  Google account of the emulator reads the same upstream user's address books; the paths
  are Radicale's below ``/google/carddav`` (``/google/carddav/<user>/<book>/``), not
  Google's ``/carddav/v1/principals/<email>/lists/default/``.

Followed from Google's web-server flow guide
(https://developers.google.com/identity/protocols/oauth2/web-server): the parameters,
``access_denied`` on refusal, a refresh token only with ``access_type=offline``, errors as
``{"error", "error_description"}``, access tokens living 3599 s, a refresh answer without a
new refresh token. UNCONFIRMED choices, once:

- a refresh token is issued on every consent asked with ``prompt=consent`` (observed
  widely, not promised), and without it only on the first grant to the client;
- an unknown ``client_id`` at the consent screen answers 401 ``invalid_client`` here;
  Google shows an error page and never redirects;
- the ``error_description`` texts, userinfo's 401 body, and tokeninfo's fields for an
  access token (as observed);
- no ``id_token`` in the token answer (Google sends one for ``openid``; nothing reads it).

State is plain JSON: ``{"apps", "users", "browser", "consent", "grants", "codes",
"refresh", "access"}``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import requests

from connectors.sandbox import SandboxRequest, SandboxResponse, route
from connectors.sandbox.oauth import Denied, OAuthAnswers, OAuthEmulator

MOUNT = "/google"
CARDDAV_SCOPE = "https://www.googleapis.com/auth/carddav"
ACCESS_SECONDS = 3599
CODE_SECONDS = 600
ANSWERS = OAuthAnswers(
    authorize_unknown_client=(401, "invalid_client", "The OAuth client was not found."),
    bad_response_type=(400, "invalid_request", "Missing response_type or redirect_uri."),
    token_unknown_client=(401, "invalid_client", "The OAuth client was not found."),
    bad_secret=(401, "invalid_client", "Unauthorized"),
    bad_code=(400, "invalid_grant", "Bad Request"),
    bad_refresh_token=(400, "invalid_grant", "Token has been expired or revoked."),
    unsupported_grant=(400, "unsupported_grant_type", "Invalid grant_type"),
)
# What the user does at the consent screen until the ``consent`` action changes it.
ALLOW_ALL: dict[str, Any] = {"approve": True, "scopes": None, "refresh_token": True}


# The OAuth client `make run` configures in development (config/settings.py), known to the
# emulator from its start (demo). Not a secret: it opens nothing but this emulator.
DEMO_CLIENT = {
    "client_id": "sandbox-demo.apps.googleusercontent.com",
    "client_secret": "sandbox-demo-secret",
}


# Google's CardDAV host, below the mount; what a CardDAV client sends that is passed on.
CARDDAV_PREFIX = "/carddav"
_PASSED_REQUEST_HEADERS = ("depth", "if-match", "if-none-match", "content-type", "accept")
_PASSED_RESPONSE_HEADERS = ("ETag", "Content-Type", "Location", "DAV")
UPSTREAM_TIMEOUT = 30.0


@dataclass(frozen=True)
class CardDavUpstream:
    """The CardDAV server behind ``/carddav``: its base URL and one user's credentials.
    Kept out of ``state``: neither saved in the state file nor shown by the control API."""

    url: str
    username: str
    password: str


class GoogleEmulator(OAuthEmulator):
    """Google accounts, OAuth clients and the tokens they were granted, and Google's
    CardDAV host in front of ``carddav_upstream``."""

    vendor = "google"
    answers = ANSWERS
    code_seconds = CODE_SECONDS
    code_prefix = "4/sandbox-"

    def __init__(self) -> None:
        # Not reset with the state: it is where the server's CardDAV book is, not a vendor's.
        self.carddav_upstream: CardDavUpstream | None = None
        self._upstream_session = requests.Session()
        super().__init__()

    def reset(self) -> None:
        self.state = {
            "seq": 0,
            "apps": {},
            "users": {},
            "browser": None,
            "consent": dict(ALLOW_ALL),
            "grants": [],
            "codes": {},
            "refresh": {},
            "access": {},
        }

    # --- Helpers.

    def now(self) -> float:
        return round(time.time(), 3)

    def error(self, status: int, message: str, **extra: Any) -> SandboxResponse:
        code = extra.pop("code", None) or (
            "server_error" if status >= 500 else "rate_limit_exceeded" if status == 429 else ""
        )
        return self.oauth_error(code or "invalid_request", message, status)

    def access(self, request: SandboxRequest, token: str | None = None) -> dict[str, Any] | None:
        """The live grant of an access token (the Bearer header unless given)."""
        header = request.header("authorization")
        token = token if token is not None else header.removeprefix("Bearer ")
        grant = self.state["access"].get(token or "")
        if grant is None or grant["expires"] <= self.now():
            return None
        return dict(grant)

    def issue(self, client_id: str, email: str, scope: str, refresh: bool) -> dict[str, Any]:
        access = f"ya29.sandbox-{secrets.token_urlsafe(24)}"
        self.state["access"][access] = {
            "client_id": client_id,
            "email": email,
            "scope": scope,
            "expires": self.now() + ACCESS_SECONDS,
        }
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": ACCESS_SECONDS,
            "scope": scope,
            "token_type": "Bearer",
        }
        if refresh:
            token = f"1//sandbox-{secrets.token_urlsafe(32)}"
            self.state["refresh"][token] = {"client_id": client_id, "email": email, "scope": scope}
            body["refresh_token"] = token
        return body

    # --- OAuth (connectors/sandbox/oauth.py runs the flow; these are Google's answers).

    # https://developers.google.com/identity/protocols/oauth2/web-server#creatingclient
    @route("GET", "/o/oauth2/v2/auth")
    def authorize(self, request: SandboxRequest) -> SandboxResponse:
        return self.authorize_flow(request)

    # https://developers.google.com/identity/protocols/oauth2/web-server#exchange-authorization-code
    # https://developers.google.com/identity/protocols/oauth2/web-server#offline
    @route("POST", "/token")
    def token(self, request: SandboxRequest) -> SandboxResponse:
        return self.token_flow(request)

    def consent(self, request: SandboxRequest, client_id: str) -> dict[str, Any] | Denied:
        asked = (request.arg("scope") or "").split()
        consent = self.state["consent"]
        email = self.state["browser"] or next(reversed(self.state["users"]), None)
        if not asked:
            return Denied("invalid_scope")
        if email is None or email not in self.state["users"] or not consent["approve"]:
            return Denied("access_denied")
        allowed = consent["scopes"]
        scope = " ".join(s for s in asked if allowed is None or s in allowed)
        prompt = (request.arg("prompt") or "").split()
        first = f"{client_id} {email}" not in self.state["grants"]
        offline = request.arg("access_type") == "offline" and ("consent" in prompt or first)
        if first:
            self.state["grants"].append(f"{client_id} {email}")
        return {"email": email, "scope": scope, "refresh": offline and consent["refresh_token"]}

    def code_extra(self, grant: dict[str, Any]) -> dict[str, str]:
        return {"scope": grant["scope"]}

    def exchange_code(self, request: SandboxRequest, grant: dict[str, Any]) -> SandboxResponse:
        body = self.issue(grant["client_id"], grant["email"], grant["scope"], grant["refresh"])
        return SandboxResponse.json(body)

    def exchange_refresh(
        self, request: SandboxRequest, form: dict[str, str], client_id: str
    ) -> SandboxResponse:
        held = self.state["refresh"].get(form.get("refresh_token", ""))
        if held is None or held["client_id"] != client_id:
            raise self.refusal(self.answers.bad_refresh_token)
        body = self.issue(client_id, held["email"], held["scope"], refresh=False)
        return SandboxResponse.json(body)

    # https://developers.google.com/identity/openid-connect/openid-connect#obtainuserinfo
    @route("GET", "/v1/userinfo")
    def userinfo(self, request: SandboxRequest) -> SandboxResponse:
        grant = self.access(request)
        if grant is None:
            return self.oauth_error("invalid_token", "Invalid Credentials", 401)
        user = self.state["users"][grant["email"]]
        body: dict[str, Any] = {"sub": user["sub"]}
        if "email" in grant["scope"].split():
            body.update(email=grant["email"], email_verified=True)
        return SandboxResponse.json(body)

    # https://oauth2.googleapis.com/tokeninfo?access_token=… (what a token grants)
    @route("GET", "/tokeninfo")
    def tokeninfo(self, request: SandboxRequest) -> SandboxResponse:
        grant = self.access(request, request.arg("access_token") or "")
        if grant is None:
            return self.oauth_error("invalid_token", "Invalid Value")
        return SandboxResponse.json(
            {
                "aud": grant["client_id"],
                "scope": grant["scope"],
                "email": grant["email"],
                "expires_in": str(int(grant["expires"] - self.now())),
            }
        )

    # --- CardDAV (www.googleapis.com/carddav), passed on to the upstream.

    def is_carddav(self, request: SandboxRequest) -> bool:
        return request.path == CARDDAV_PREFIX or request.path.startswith(CARDDAV_PREFIX + "/")

    def endpoint(self, request: SandboxRequest) -> str:
        if self.is_carddav(request):
            return f"{request.method} {CARDDAV_PREFIX}/*"
        return super().endpoint(request)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """CardDAV requests are checked under the lock and passed on outside it (the
        upstream may take its time); every other path is the OAuth emulator's."""
        if not self.is_carddav(request):
            return super().handle(request)
        with self.lock:
            grant = self.access(request) if request.header("authorization") else None
            upstream = self.carddav_upstream
        if grant is None or CARDDAV_SCOPE not in grant["scope"].split():
            # https://developers.google.com/people/carddav: OAuth 2.0 bearer tokens only.
            return SandboxResponse(
                status=401,
                body=b"Request had invalid authentication credentials.",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        if upstream is None:
            return self.error(
                503,
                "No address book behind the sandbox's Google CardDAV host: `make run` starts "
                "one (Radicale), tests the google_carddav fixture.",
            )
        return self.pass_on(request, upstream)

    def pass_on(self, request: SandboxRequest, upstream: CardDavUpstream) -> SandboxResponse:
        """One CardDAV request to the upstream, below the mount, as its user."""
        mount = f"/{self.vendor}{CARDDAV_PREFIX}"
        path = request.path[len(CARDDAV_PREFIX) :] or "/"
        headers = {
            name: request.headers[name]
            for name in _PASSED_REQUEST_HEADERS
            if name in request.headers
        }
        headers["X-Script-Name"] = mount  # Radicale answers hrefs under the mount
        try:
            answer = self._upstream_session.request(
                request.method,
                upstream.url + path,
                params=request.query,
                data=request.body,
                headers=headers,
                auth=(upstream.username, upstream.password),
                allow_redirects=False,
                timeout=UPSTREAM_TIMEOUT,
            )
        except requests.RequestException as exc:
            return self.error(502, f"the CardDAV book behind the sandbox is unreachable: {exc}")
        return SandboxResponse(
            status=answer.status_code,
            body=answer.content,
            headers={k: answer.headers[k] for k in _PASSED_RESPONSE_HEADERS if k in answer.headers},
        )

    def action_carddav(self, url: str, username: str, password: str) -> dict[str, Any]:
        """Put the CardDAV server at ``url`` (as ``username``) behind ``/carddav``."""
        self.carddav_upstream = CardDavUpstream(url.rstrip("/"), username, password)
        return {"carddav": f"/{self.vendor}{CARDDAV_PREFIX}/", "upstream": url}

    # --- Control API.

    def create_account(
        self,
        email: str = "alice@gmail.com",
        name: str = "",
        client_id: str | None = None,
        client_secret: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """A Google account (signed in in the browser from now on) and an OAuth client."""
        self.state["seq"] += 1
        sub = f"1{self.state['seq']:020d}"
        self.state["users"][email] = {"sub": sub, "name": name or email.split("@")[0]}
        self.state["browser"] = email
        client_id = client_id or f"sandbox-{secrets.token_hex(8)}.apps.googleusercontent.com"
        client_secret = client_secret or f"GOCSPX-{secrets.token_hex(12)}"
        self.register_app(client_id, client_secret)
        return {
            "account_id": email,
            "email": email,
            "sub": sub,
            "client_id": client_id,
            "client_secret": client_secret,
            "path": MOUNT,
        }

    def demo(self) -> None:
        """A demo Google account signed in in the browser, with the development OAuth
        client (DEMO_CLIENT, which config/settings.py uses in development)."""
        if DEMO_CLIENT["client_id"] in self.state["apps"]:
            return
        self.create_account(email="demo@gmail.example.com", name="Demo", **DEMO_CLIENT)

    def seed(self, account: str, count: int, seed: int = 0, **options: Any) -> dict[str, Any]:
        raise ValueError("the Google emulator has no contacts; CardDAV tests use Radicale")

    def view(self, account: str | None = None) -> dict[str, Any]:
        if account is None:
            return self.state
        return {
            "user": self.state["users"].get(account),
            "refresh_tokens": sum(g["email"] == account for g in self.state["refresh"].values()),
            "access_tokens": sum(g["email"] == account for g in self.state["access"].values()),
        }

    def action_login(self, email: str | None = None) -> dict[str, Any]:
        """Who is signed in in the browser (None: the newest account)."""
        self.state["browser"] = email
        return {"browser": email}

    def action_consent(
        self, approve: bool = True, scopes: list[str] | None = None, refresh_token: bool = True
    ) -> dict[str, Any]:
        """What the user does at the next consent screens: refuse, allow only ``scopes``,
        or (``refresh_token=False``) get no refresh token, as for an online-only grant."""
        self.state["consent"] = {
            "approve": bool(approve),
            "scopes": scopes,
            "refresh_token": bool(refresh_token),
        }
        return dict(self.state["consent"])

    def action_expire_tokens(self, account: str) -> dict[str, Any]:
        """Every access token of the account has expired (they live an hour)."""
        expired = 0
        for grant in self.state["access"].values():
            if grant["email"] == account:
                grant["expires"] = 0
                expired += 1
        return {"expired": expired}

    def action_revoke(self, account: str) -> dict[str, Any]:
        """The user removes the app under "Third-party apps" in their Google Account."""
        kept = {t: g for t, g in self.state["refresh"].items() if g["email"] != account}
        revoked = len(self.state["refresh"]) - len(kept)
        self.state["refresh"] = kept
        self.state["access"] = {
            t: g for t, g in self.state["access"].items() if g["email"] != account
        }
        self.state["grants"] = [g for g in self.state["grants"] if not g.endswith(f" {account}")]
        return {"revoked": revoked}


EMULATOR = GoogleEmulator
