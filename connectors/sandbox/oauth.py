"""The OAuth 2.0 authorization-code flow (RFC 6749 section 4.1) as vendor emulators serve
it: one base class for the login hosts of Salesforce, Google and Mailchimp.

What is the same everywhere lives here: the registered apps (``state["apps"]``:
``{client_id: {"secret"}}``), the one-use codes (``state["codes"]``), checking an
authorize request, sending the browser back to ``redirect_uri`` with the code (or an
error) and ``state``, reading a token request's form and client credentials (form fields
or HTTP Basic), and the ``authorization_code`` / ``refresh_token`` dispatch. What differs
stays with the vendor: who is signed in and what they consent to (``consent``), what a
token answer holds (``exchange_code``, ``exchange_refresh``), and the wording of each
refusal (``answers``, an ``OAuthAnswers``)::

    class AcmeEmulator(OAuthEmulator):
        answers = OAuthAnswers(...)

        @route("GET", "/oauth/authorize")
        def authorize(self, request):
            return self.authorize_flow(request)

        @route("POST", "/oauth/token")
        def token(self, request):
            return self.token_flow(request)

        def consent(self, request, client_id):
            return {"user": ...}  # kept with the code; or "access_denied"

        def exchange_code(self, request, grant):
            return SandboxResponse.json({"access_token": ...})
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

from connectors.sandbox.emulator import Emulator, SandboxHTTPError, SandboxRequest, SandboxResponse

# (HTTP status, OAuth ``error``, ``error_description``; "" leaves the description out).
Refusal = tuple[int, str, str]


@dataclass(frozen=True)
class OAuthAnswers:
    """How a vendor's OAuth endpoints word their refusals."""

    authorize_unknown_client: Refusal
    bad_response_type: Refusal
    token_unknown_client: Refusal
    bad_secret: Refusal
    bad_code: Refusal
    bad_refresh_token: Refusal
    unsupported_grant: Refusal


@dataclass(frozen=True)
class Denied:
    """What ``consent`` returns when the user (or the vendor) refuses: the ``error`` and
    ``error_description`` sent back to ``redirect_uri``."""

    error: str = "access_denied"
    description: str = ""


class OAuthEmulator(Emulator):
    """An emulator that is also its vendor's OAuth authorization server."""

    answers: ClassVar[OAuthAnswers]
    code_seconds: ClassVar[int] = 600
    # Whether the token endpoint also reads its parameters from the query string
    # (Salesforce does), and whether a refresh may omit the client secret (a public
    # client: Salesforce allows it; Google does not).
    token_params_in_query: ClassVar[bool] = False
    refresh_without_secret: ClassVar[bool] = False
    # Mailchimp has no refresh grant: its tokens never expire.
    refreshes: ClassVar[bool] = True
    # What codes look like (Google's start with "4/"); stripped again on redemption.
    code_prefix: ClassVar[str] = ""

    # --- Vendor hooks.

    def consent(self, request: SandboxRequest, client_id: str) -> dict[str, Any] | Denied:
        """What the browser's user grants ``client_id``: a dict kept with the code (and
        handed to ``exchange_code``), or a refusal sent back to ``redirect_uri``."""
        raise NotImplementedError

    def exchange_code(self, request: SandboxRequest, grant: dict[str, Any]) -> SandboxResponse:
        """The token answer for a redeemed code (``grant``: what ``consent`` returned,
        plus ``client_id`` and ``redirect_uri``)."""
        raise NotImplementedError

    def exchange_refresh(
        self, request: SandboxRequest, form: dict[str, str], client_id: str
    ) -> SandboxResponse:
        """The token answer for a refresh token; ``self.refusal(...bad_refresh_token)``
        when it is unknown or revoked."""
        raise NotImplementedError

    def code_extra(self, grant: dict[str, Any]) -> dict[str, str]:
        """Parameters sent back beside ``code`` (Google: the granted ``scope``)."""
        return {}

    # --- Provided.

    def oauth_error(self, error: str, description: str, status: int = 400) -> SandboxResponse:
        body = {"error": error}
        if description:
            body["error_description"] = description
        return SandboxResponse.json(body, status)

    def refusal(self, which: Refusal) -> SandboxHTTPError:
        """An exception to ``raise``: the vendor's answer ``which``."""
        status, error, description = which
        return SandboxHTTPError(self.oauth_error(error, description, status))

    def authorize_flow(self, request: SandboxRequest) -> SandboxResponse:
        """``GET …/authorize``: an unknown client or a malformed request is refused on the
        spot (the browser never goes back to an unverified ``redirect_uri``); otherwise
        the user's answer goes back to ``redirect_uri`` with ``state``."""
        client_id = request.arg("client_id") or ""
        redirect_uri = request.arg("redirect_uri") or ""
        if client_id not in self.state["apps"]:
            raise self.refusal(self.answers.authorize_unknown_client)
        if request.arg("response_type") != "code" or not redirect_uri:
            raise self.refusal(self.answers.bad_response_type)
        grant = self.consent(request, client_id)
        back: dict[str, str]
        if isinstance(grant, Denied):
            back = {"error": grant.error}
            if grant.description:
                back["error_description"] = grant.description
        else:
            code = secrets.token_urlsafe(24)
            self.state["codes"][code] = {
                **grant,
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "expires": time.time() + self.code_seconds,
            }
            back = {"code": self.code_prefix + code, **self.code_extra(grant)}
        if request.arg("state"):
            back["state"] = request.arg("state") or ""
        separator = "&" if "?" in redirect_uri else "?"
        return SandboxResponse(
            status=302, headers={"Location": redirect_uri + separator + urlencode(back)}
        )

    def token_form(self, request: SandboxRequest) -> dict[str, str]:
        """The token request's parameters (form-encoded body)."""
        form = dict(request.query) if self.token_params_in_query else {}
        if request.body:
            form.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        return form

    def client_credentials(self, form: dict[str, str], request: SandboxRequest) -> tuple[str, str]:
        """The client id and secret, from HTTP Basic or the form (RFC 6749 section 2.3.1)."""
        header = request.header("authorization")
        if header.startswith("Basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return "", ""  # an unknown client, not a sandbox bug
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
        return form.get("client_id", ""), form.get("client_secret", "")

    def token_flow(self, request: SandboxRequest) -> SandboxResponse:
        """``POST …/token``: the client authenticated, then the grant exchanged."""
        form = self.token_form(request)
        client_id, secret = self.client_credentials(form, request)
        app = self.state["apps"].get(client_id)
        if app is None:
            raise self.refusal(self.answers.token_unknown_client)
        grant_type = form.get("grant_type")
        public = grant_type == "refresh_token" and self.refresh_without_secret and not secret
        if not public and secret != app["secret"]:
            raise self.refusal(self.answers.bad_secret)
        if grant_type == "authorization_code":
            found = self.redeem_code(form, client_id)
            if found is None:
                raise self.refusal(self.answers.bad_code)
            return self.exchange_code(request, found)
        if grant_type == "refresh_token" and self.refreshes:
            return self.exchange_refresh(request, form, client_id)
        raise self.refusal(self.answers.unsupported_grant)

    def redeem_code(self, form: dict[str, str], client_id: str) -> dict[str, Any] | None:
        """Take the code of a token request out of ``state["codes"]`` (one use only);
        None unless it was issued to ``client_id`` for the same ``redirect_uri`` and has
        not expired (RFC 6749 section 4.1.3)."""
        code = form.get("code", "").removeprefix(self.code_prefix)
        found: dict[str, Any] | None = self.state["codes"].pop(code, None)
        if (
            found is None
            or found["client_id"] != client_id
            or found["redirect_uri"] != form.get("redirect_uri")
            or found["expires"] < time.time()
        ):
            return None
        return found

    def register_app(self, client_id: str, client_secret: str) -> None:
        """A connected app / OAuth client the login host knows."""
        self.state["apps"][client_id] = {"secret": client_secret}
