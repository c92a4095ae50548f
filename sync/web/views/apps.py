"""Apps: the connector catalogue and the tenant's authorizations (connect, test,
re-authorize, disconnect)."""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Literal

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from connectors.base import AuthError, Connector, ConnectorError, RateLimited
from connectors.registry import VENDORS, all_connectors, connector_class
from sync import tiers
from sync.models import AppAuthorization
from sync.tenancy import get_scoped_or_404, scoped
from sync.vendors import open_connector
from sync.web import describe, services
from sync.web.forms import AuthorizationForm
from sync.web.tenant import require_manager, tenant_required

logger = logging.getLogger(__name__)

BADGE_COLOURS = ["#2563eb", "#7c3aed", "#db2777", "#059669", "#d97706", "#0891b2", "#4f46e5"]


def badge(vendor: str, label: str) -> dict[str, str]:
    """A generated logo: the app's initial on a colour derived from its key."""
    digest = hashlib.sha256(vendor.encode()).digest()
    return {"initial": (label or vendor)[:1].upper(), "colour": BADGE_COLOURS[digest[0] % 7]}


def app_info(vendor: str, cls: type[Connector]) -> dict[str, Any]:
    """What templates show of a connector class (templates would call a class)."""
    return {
        "vendor": vendor,
        "label": cls.label,
        "description": cls.description,
        "auth_kind": cls.auth_kind,
        "oauth_instances": cls.oauth_instances,
        "oauth_too": "oauth" in cls.extra_auth_kinds,  # a sign-in besides the form
    }


def _connector_or_404(vendor: str) -> type[Connector]:
    if vendor not in VENDORS:
        raise Http404("Unknown app")
    return connector_class(vendor)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return ""


def _has_webhooks(vendor: str) -> bool:
    try:
        return bool(connector_class(vendor).capabilities.webhooks)
    except (KeyError, ImportError, AttributeError):
        return False


@tenant_required
def app_list(request: HttpRequest) -> HttpResponse:
    """The catalogue of apps and the account's authorizations with their health."""
    catalogue = []
    for vendor, cls in sorted(all_connectors().items(), key=lambda kv: kv[1].label.lower()):
        capabilities = cls.capabilities
        syncs = [describe.entity_label("contact", plural=True)] + [
            describe.entity_label(e, plural=True) for e in cls.entities if e != "contact"
        ]
        extras = [
            str(name)
            for name, flag in (
                (describe.FIELD_TYPES["tags"], capabilities.tags),
                (describe.FIELD_TYPES["lists"], capabilities.lists),
                (gettext("subscriptions"), capabilities.subscription),
                (gettext("webhooks"), capabilities.webhooks),
            )
            if flag
        ]
        plan_lacks = not tiers.vendor_allowed(request.tenant.account.tier, vendor)
        catalogue.append(
            {
                # Greyed, with the plan that has it, when the account's plan lacks it.
                "needs": tiers.needs_words(tiers.tier_for_vendor(vendor)) if plan_lacks else "",
                "vendor": vendor,
                "cls": app_info(vendor, cls),
                "badge": badge(vendor, cls.label),
                "syncs": syncs,
                "extras": extras,
            }
        )
    authorizations = []
    for auth in scoped(AppAuthorization, request.tenant.account).select_related("owner"):
        authorizations.append(
            {
                "auth": auth,
                "badge": badge(auth.vendor, services.vendor_label(auth.vendor)),
                "vendor_label": services.vendor_label(auth.vendor),
                "used_by": services.connections_using(auth),
                # Vendors that call back: the address to paste into the app (admins only).
                "webhook_url": auth.webhook_url if _has_webhooks(auth.vendor) else "",
            }
        )
    return render(
        request,
        "web/apps.html",
        {"catalogue": catalogue, "authorizations": authorizations, "next": _safe_next(request)},
    )


def _checked(
    form: AuthorizationForm, cls: type[Connector], auth: AppAuthorization, refused: str
) -> ConnectorError | Literal[False] | None:
    """Check ``auth`` against the app before anything is stored. Returns the error to
    keep as the health (None, or a rate limit: the credentials may well be right), or
    False when the form now carries the reason it cannot be saved: refused credentials
    (``refused``, a sentence with the app's name and the error as ``%(app)s`` and
    ``%(error)s``), an app that could not be reached, or a failure nobody foresaw
    (logged; never a 500)."""
    try:
        error = services.run_check(auth)
    except Exception as exc:
        logger.exception("checking a new %s authorization failed", auth.vendor)
        form.add_error(
            None,
            gettext("%(app)s could not be checked with these values: %(error)s")
            % {"app": cls.label, "error": exc},
        )
        return False
    if error is None or isinstance(error, RateLimited):
        return error
    if isinstance(error, AuthError):
        form.add_error(None, refused % {"app": cls.label, "error": error})
    else:
        form.add_error(
            None,
            gettext("%(app)s could not be reached or checked with these values: %(error)s")
            % {"app": cls.label, "error": error},
        )
    return False


@tenant_required
def app_connect(request: HttpRequest, vendor: str) -> HttpResponse:
    """Authorize an app: API key, user + password + host, or OAuth, as it declares."""
    cls = _connector_or_404(vendor)
    require_manager(request)
    next_url = _safe_next(request)
    try:
        tiers.check_vendor(request.tenant.account, vendor, cls.label)
    except tiers.NotInPlan as exc:
        messages.error(request, str(exc))
        return redirect("web:apps")
    if cls.auth_kind == "oauth" or (
        request.GET.get("with") == "oauth" and "oauth" in cls.extra_auth_kinds
    ):
        return _oauth_start(request, vendor, cls, next_url)
    form = AuthorizationForm(request.POST or None, connector=cls)
    if request.method == "POST" and form.is_valid():
        auth = form.apply(
            AppAuthorization(account=request.tenant.account, vendor=vendor, owner=request.user)
        )
        error = _checked(form, cls, auth, gettext("%(app)s refused the connection: %(error)s"))
        if error is not False:
            auth.health = services.health_of(error)
            auth.health_message = str(error) if error else ""
            auth.checked_at = timezone.now()
            auth.save()
            messages.success(
                request,
                gettext("%(app)s is connected as “%(label)s”.")
                % {"app": cls.label, "label": auth.label},
            )
            if getattr(cls, "team_users", False):  # Sellf: which team user is this for?
                return redirect("web:app_team_user", pk=auth.pk)
            return redirect(next_url or "web:apps")
    return render(
        request,
        "web/app_connect.html",
        {
            "cls": app_info(vendor, cls),
            "vendor": vendor,
            "form": form,
            "badge": badge(vendor, cls.label),
            "next": next_url,
            # Apps with one key per team: reuse an authorized key for another user.
            "same_key": scoped(AppAuthorization, request.tenant.account).filter(vendor=vendor)
            if getattr(cls, "team_users", False)
            else [],
        },
        status=400 if request.method == "POST" else 200,
    )


@tenant_required
def app_team_user(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose the team user an authorization stands for (apps whose key serves a whole
    team, e.g. Sellf): its connections read and create only that user's records, or
    everyone's for "all team members". ``?new=1`` (or the form's "another" button) makes
    a further authorization with the same key, so the key is never typed twice. The
    choice is validated against the app's own user list; it is a setting, not a secret."""
    auth: AppAuthorization = get_scoped_or_404(AppAuthorization, request.tenant.account, pk=pk)
    require_manager(request)
    cls = _connector_or_404(auth.vendor)
    if not getattr(cls, "team_users", False):
        raise Http404("This app has no team users to choose from.")
    error = ""
    try:
        with open_connector(auth) as connector:
            users = connector.users()
    except ConnectorError as exc:
        users = []
        error = gettext("%(app)s did not list its users: %(error)s") % {
            "app": cls.label,
            "error": exc,
        }
    another = request.GET.get("new") == "1" or request.POST.get("another") == "1"
    if request.method == "POST" and not error:
        picked = request.POST.get("user_id", "")
        names = {u.id: u.name for u in users} | {"all": gettext("all team members")}
        if picked not in names:
            error = gettext("Choose one of the users listed.")
        else:
            target = auth
            if another:
                target = AppAuthorization(
                    account=auth.account, vendor=auth.vendor, owner=request.user
                )
                target.secrets = dict(auth.secrets)
                target.health, target.checked_at = auth.health, auth.checked_at
            target.settings = {**dict(auth.settings), "user_id": picked}
            target.label = f"{cls.label} — {names[picked]}"
            target.save()
            messages.success(
                request,
                gettext("“%(label)s” is ready to use in connections.") % {"label": target.label},
            )
            return redirect("web:apps")
    return render(
        request,
        "web/app_team_user.html",
        {
            "auth": auth,
            "cls": app_info(auth.vendor, cls),
            "badge": badge(auth.vendor, cls.label),
            "users": users,
            "current": str(auth.settings.get("user_id", "")),
            "another": another,
            "error": error,
        },
        status=400 if error and request.method == "POST" else 200,
    )


def oauth_client_missing(vendor: str) -> list[str]:
    """The environment variables still to set before ``vendor``'s OAuth sign-in can work
    (empty when its client is configured). config/settings.py reads each vendor's OAuth
    client as ``SOCIAL_AUTH_<VENDOR>_KEY`` / ``_SECRET`` from ``<VENDOR>_CLIENT_ID`` /
    ``<VENDOR>_CLIENT_SECRET``; that naming is the one convention relied on here."""
    prefix = vendor.upper()
    wanted = (("KEY", f"{prefix}_CLIENT_ID"), ("SECRET", f"{prefix}_CLIENT_SECRET"))
    return [
        variable
        for suffix, variable in wanted
        if not getattr(settings, f"SOCIAL_AUTH_{prefix}_{suffix}", "")
    ]


def _oauth_start(
    request: HttpRequest, vendor: str, cls: type[Connector], next_url: str
) -> HttpResponse:
    """Hand over to the vendor's OAuth backend (social-auth), which stores the tokens
    in a new authorization of the current account when it completes. Without a client
    id and secret on this server the page says so, and nothing is handed over."""
    try:
        begin = reverse("social:begin", args=[vendor])
    except NoReverseMatch:
        begin = ""
    missing = oauth_client_missing(vendor)
    if missing:
        begin = ""
    if request.method == "POST" and begin:
        instance = request.POST.get("instance")
        request.session["oauth_pending"] = {
            "account_id": request.tenant.account.pk,
            "vendor": vendor,
            "next": next_url,
            # Production or the vendor's sandbox/test instance; the backend reads it.
            "instance": instance if instance in ("production", "sandbox") else "production",
        }
        # social-auth's begin view accepts only a (CSRF-protected) POST, so the browser
        # is handed a form that posts itself there; without JavaScript it is one click.
        return render(
            request,
            "web/oauth_begin.html",
            {"begin": begin, "label": cls.label, "instance": instance or ""},
        )
    return render(
        request,
        "web/app_connect.html",
        {
            "cls": app_info(vendor, cls),
            "vendor": vendor,
            "oauth": True,
            "oauth_ready": bool(begin),
            "oauth_missing": missing,
            "badge": badge(vendor, cls.label),
            "next": next_url,
        },
    )


@tenant_required
@require_POST
def app_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Call the connector's check() and store the health."""
    auth: AppAuthorization = get_scoped_or_404(AppAuthorization, request.tenant.account, pk=pk)
    require_manager(request)
    error = services.check_authorization(auth)
    if error is None:
        messages.success(request, gettext("“%(label)s” works.") % {"label": auth.label})
    else:
        messages.error(
            request,
            gettext("“%(label)s”: %(health)s — %(error)s")
            % {"label": auth.label, "health": auth.get_health_display(), "error": error},
        )
    return redirect("web:apps")


@tenant_required
def app_reauthorize(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace an authorization's secrets; its connections keep working with the new ones."""
    auth: AppAuthorization = get_scoped_or_404(AppAuthorization, request.tenant.account, pk=pk)
    require_manager(request)
    cls = _connector_or_404(auth.vendor)
    if cls.auth_kind == "oauth":
        # Signing in again at the vendor replaces the tokens of the same vendor user.
        return _oauth_start(request, auth.vendor, cls, _safe_next(request))
    form = AuthorizationForm(request.POST or None, connector=cls, authorization=auth)
    if request.method == "POST" and form.is_valid():
        candidate = form.apply(
            AppAuthorization(account=auth.account, vendor=auth.vendor, settings=dict(auth.settings))
        )
        error = _checked(
            form, cls, candidate, gettext("%(app)s refused the new credentials: %(error)s")
        )
        if error is not False:
            form.apply(auth)
            auth.health = services.health_of(error)
            auth.health_message = str(error) if error else ""
            auth.checked_at = timezone.now()
            auth.save()
            messages.success(
                request, gettext("“%(label)s” is re-authorized.") % {"label": auth.label}
            )
            return redirect("web:apps")
    return render(
        request,
        "web/app_connect.html",
        {
            "cls": app_info(auth.vendor, cls),
            "vendor": auth.vendor,
            "form": form,
            "auth": auth,
            "badge": badge(auth.vendor, cls.label),
        },
        status=400 if request.method == "POST" else 200,
    )


@tenant_required
def app_disconnect(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an authorization after a confirmation page that says what happens (GET, or
    a POST without ``confirm``); refused while a connection uses it."""
    auth: AppAuthorization = get_scoped_or_404(AppAuthorization, request.tenant.account, pk=pk)
    require_manager(request)
    users = services.connections_using(auth)
    if users and request.method == "POST":
        names = ", ".join(f"“{c.name}”" for c in users)
        messages.error(
            request,
            gettext(
                "“%(label)s” is used by %(connections)s. Delete those connections or switch "
                "them to another authorization first; nothing was disconnected."
            )
            % {"label": auth.label, "connections": names},
        )
        return redirect("web:apps")
    if request.method != "POST" or not request.POST.get("confirm"):
        return render(
            request,
            "web/app_disconnect.html",
            {
                "auth": auth,
                "vendor_label": services.vendor_label(auth.vendor),
                "used_by": [(c, c.links.count()) for c in users],
            },
        )
    auth.delete()
    messages.success(
        request,
        gettext("“%(label)s” is disconnected; its secrets are deleted.") % {"label": auth.label},
    )
    return redirect("web:apps")
