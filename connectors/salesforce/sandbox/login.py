"""Salesforce's login hosts: the OAuth 2.0 web-server flow and the identity URL.

``/services/oauth2/authorize`` (the user "logs in and allows" at once and is redirected
back with a code), ``/services/oauth2/token`` (authorization_code and refresh_token
grants), ``/services/oauth2/revoke`` and ``/id/{org}/{user}``. Production orgs log in at
the root, sandbox orgs under ``/test`` (Salesforce's test.salesforce.com). The flow itself
is connectors/sandbox/oauth.py's; this module says who logs in and what a token answer
holds (../shared/apis 1.1).
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qsl

from connectors.salesforce.sandbox.base import SalesforceBase
from connectors.salesforce.sandbox.schema import CODE_SECONDS
from connectors.sandbox import SandboxRequest, SandboxResponse, route
from connectors.sandbox.oauth import Denied, OAuthAnswers, OAuthEmulator

ANSWERS = OAuthAnswers(
    authorize_unknown_client=(400, "invalid_client_id", "client identifier invalid"),
    bad_response_type=(400, "unsupported_response_type", "response type not supported"),
    token_unknown_client=(400, "invalid_client_id", "client identifier invalid"),
    bad_secret=(400, "invalid_client", "invalid client credentials"),
    bad_code=(400, "invalid_grant", "authentication failure"),
    bad_refresh_token=(400, "invalid_grant", "expired access/refresh token"),
    unsupported_grant=(400, "unsupported_grant_type", "grant type not supported"),
)


def instance_of(request: SandboxRequest) -> str:
    """Which login host a request came to: test.salesforce.com (sandbox orgs) or login."""
    return "sandbox" if request.path.startswith("/test/") else "production"


class LoginHost(OAuthEmulator, SalesforceBase):
    """The OAuth endpoints of login.salesforce.com and test.salesforce.com."""

    answers = ANSWERS
    code_seconds = CODE_SECONDS
    token_params_in_query = True
    refresh_without_secret = True

    @route("GET", "/services/oauth2/authorize")
    def authorize(self, request: SandboxRequest) -> SandboxResponse:
        return self.authorize_flow(request)

    @route("GET", "/test/services/oauth2/authorize")
    def authorize_sandbox(self, request: SandboxRequest) -> SandboxResponse:
        return self.authorize_flow(request)

    @route("POST", "/services/oauth2/token")
    def token(self, request: SandboxRequest) -> SandboxResponse:
        return self.token_flow(request)

    @route("POST", "/test/services/oauth2/token")
    def token_sandbox(self, request: SandboxRequest) -> SandboxResponse:
        return self.token_flow(request)

    @route("POST", "/services/oauth2/revoke")
    def revoke(self, request: SandboxRequest) -> SandboxResponse:
        return self._revoke(request)

    @route("POST", "/test/services/oauth2/revoke")
    def revoke_sandbox(self, request: SandboxRequest) -> SandboxResponse:
        return self._revoke(request)

    def consent(self, request: SandboxRequest, client_id: str) -> dict[str, Any] | Denied:
        org, user = self.browser_user(instance_of(request), request.arg("login_hint"))
        if org is None or user is None:
            return Denied("access_denied", "no such user on this host")
        return {"org": org["orgId"], "user": user["Id"]}

    def exchange_code(self, request: SandboxRequest, grant: dict[str, Any]) -> SandboxResponse:
        org = self.state["orgs"][grant["org"]]
        if org["instance"] != instance_of(request):
            raise self.refusal(self.answers.bad_code)
        refresh = secrets.token_urlsafe(32)
        org["refresh_tokens"][refresh] = grant["user"]
        return self.token_response(request, org, grant["user"], refresh)

    def exchange_refresh(
        self, request: SandboxRequest, form: dict[str, str], client_id: str
    ) -> SandboxResponse:
        for org in self.state["orgs"].values():
            user_id = org["refresh_tokens"].get(form.get("refresh_token", ""))
            if user_id and org["instance"] == instance_of(request):
                return self.token_response(request, org, user_id, None)
        raise self.refusal(self.answers.bad_refresh_token)

    def browser_user(
        self, instance: str, hint: str | None
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Who is logged in at the login page: ``login_hint``, else the user set with the
        ``login`` action, else the newest org's admin, of orgs of this ``instance``."""
        wanted = hint or self.state["browser"]
        orgs = [o for o in self.state["orgs"].values() if o["instance"] == instance]
        for org in reversed(orgs):
            for user in org["records"]["User"].values():
                if wanted and wanted in (user["Username"], user["Id"]):
                    return org, user
        if orgs and not wanted:
            org = orgs[-1]
            return org, org["records"]["User"][org["admin"]]
        return None, None

    def token_response(
        self, request: SandboxRequest, org: dict[str, Any], user_id: str, refresh: str | None
    ) -> SandboxResponse:
        access = f"{org['orgId']}!{secrets.token_urlsafe(32)}"
        org["sessions"][access] = user_id
        issued = str(int(self.now() * 1000))
        body = {
            "access_token": access,
            "instance_url": self.host_url(request),
            "id": f"{self.host_url(request)}/id/{org['orgId']}/{user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": secrets.token_urlsafe(32),
            "scope": "api refresh_token id",
        }
        if refresh:
            body["refresh_token"] = refresh
        return SandboxResponse.json(body)

    def _revoke(self, request: SandboxRequest) -> SandboxResponse:
        token = dict(parse_qsl(request.body.decode("utf-8"))).get("token") or request.arg("token")
        for org in self.state["orgs"].values():
            user_id = org["refresh_tokens"].pop(token or "", None)
            if user_id:
                # Revoking a refresh token ends the sessions it issued as well.
                org["sessions"] = {k: v for k, v in org["sessions"].items() if v != user_id}
                return SandboxResponse.empty(200)
            if org["sessions"].pop(token or "", None):
                return SandboxResponse.empty(200)
        return self.oauth_error("unsupported_token_type", "this token type is not supported")

    @route("GET", "/id/{org_id}/{user_id}")
    def identity(self, request: SandboxRequest, org_id: str, user_id: str) -> SandboxResponse:
        token = request.arg("access_token") or request.header("authorization")[len("Bearer ") :]
        org = self.state["orgs"].get(org_id)
        if org is None or org["sessions"].get(token) != user_id:
            return SandboxResponse(status=403, body=b"Bad_OAuth_Token")
        user = org["records"]["User"][user_id]
        first, _, last = user["Name"].partition(" ")
        return SandboxResponse.json(
            {
                "id": f"{self.host_url(request)}/id/{org_id}/{user_id}",
                "user_id": user_id,
                "organization_id": org_id,
                "username": user["Username"],
                "email": user["Email"],
                "display_name": user["Name"],
                "first_name": first,
                "last_name": last,
                "active": True,
                "user_type": "STANDARD",
            }
        )
