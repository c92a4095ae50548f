"""Team (members, roles, invitations), the account switcher, and API tokens."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from sync.api.authentication import BearerTokenAuthentication
from sync.models import ApiToken, AppAuthorization, Invitation, Role, TeamUser, hash_token
from sync.tenancy import get_scoped_or_404, scoped
from sync.web.forms import AcceptInvitationForm, ApiTokenForm, InvitationForm, RoleForm
from sync.web.tenant import SESSION_KEY, require_manager, tenant_required

# An invitation link works for this long.
INVITATION_DAYS = 14


@tenant_required
def team(request: HttpRequest) -> HttpResponse:
    """Members with their roles and the authorizations each owns; invitations."""
    account = request.tenant.account
    members = list(scoped(TeamUser, account).select_related("user").order_by("user__username"))
    owned: dict[int, list[AppAuthorization]] = {}
    for auth in scoped(AppAuthorization, account).exclude(owner=None):
        owned.setdefault(auth.owner_id, []).append(auth)  # type: ignore[arg-type]
    for m in members:
        m.owned = owned.get(m.user_id, [])  # type: ignore[attr-defined]
    invitations = scoped(Invitation, account).filter(accepted_at=None).order_by("-created_at")
    form = InvitationForm(request.POST or None)
    if request.method == "POST":
        require_manager(request)
        if form.is_valid():
            _invite(request, form.cleaned_data["email"], form.cleaned_data["role"])
            return redirect("web:team")
    return render(
        request,
        "web/team.html",
        {
            "members": members,
            "invitations": invitations,
            "form": form,
            "roles": Role.choices,
        },
        status=400 if request.method == "POST" else 200,
    )


def _invite(request: HttpRequest, email: str, role: str) -> None:
    """Store an invitation (only the token's hash) and mail the one-time link."""
    account = request.tenant.account
    refusal = invitation_refusal(account, email, request.user)
    if refusal:
        messages.error(request, refusal)
        return
    if role == Role.OWNER and request.tenant.membership.role != Role.OWNER:
        messages.error(request, gettext("Only owners can invite owners."))
        return
    raw = secrets.token_urlsafe(32)
    Invitation.objects.create(
        account=account, email=email, role=role, token_hash=hash_token(raw), invited_by=request.user
    )
    link = request.build_absolute_uri(reverse("web:invitation_accept", args=[raw]))
    values = {
        "inviter": request.user.get_username(),
        "account": account.name,
        "role": Role(role).label.lower(),
        "days": INVITATION_DAYS,
        "link": link,
    }
    body = ngettext(
        "%(inviter)s invites you to join %(account)s as %(role)s.\n\n"
        "Accept within %(days)d day: %(link)s\n",
        "%(inviter)s invites you to join %(account)s as %(role)s.\n\n"
        "Accept within %(days)d days: %(link)s\n",
        INVITATION_DAYS,
    )
    send_mail(gettext("You are invited to %(account)s") % values, body % values, None, [email])
    messages.success(request, gettext("An invitation was sent to %(email)s.") % {"email": email})


def open_invitations(account: Any, email: str) -> Any:
    """The account's invitations of ``email`` not accepted yet (emails match in any case)."""
    return Invitation.objects.filter(account=account, email__iexact=email, accepted_at=None)


def invitation_refusal(account: Any, email: str, inviter: Any) -> str:
    """Why ``email`` cannot be invited to ``account`` now ("" when it can): yourself, a
    member already, or an invitation of the same email still open."""
    if email.strip().lower() == (inviter.email or "").strip().lower():
        return gettext("That is your own email: you are a member already.")
    if TeamUser.objects.filter(account=account, user__email__iexact=email).exists():
        return gettext("%(email)s is a member of %(account)s already.") % {
            "email": email,
            "account": account.name,
        }
    if open_invitations(account, email).exists():
        return gettext(
            "%(email)s is invited already; withdraw that invitation first to send a new one."
        ) % {"email": email}
    return ""


@tenant_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation: Invitation = get_scoped_or_404(
        Invitation, request.tenant.account, pk=pk, accepted_at=None
    )
    require_manager(request)
    invitation.delete()
    messages.success(
        request,
        gettext("The invitation of %(email)s is withdrawn.") % {"email": invitation.email},
    )
    return redirect("web:team")


def _owners(account_id: int) -> int:
    return TeamUser.objects.filter(account_id=account_id, role=Role.OWNER).count()


@tenant_required
@require_POST
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a member's role; only owners grant or take the owner role, and the last
    owner stays an owner."""
    member: TeamUser = get_scoped_or_404(TeamUser, request.tenant.account, pk=pk)
    require_manager(request)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose a role."))
        return redirect("web:team")
    role = form.cleaned_data["role"]
    is_owner = request.tenant.membership.role == Role.OWNER
    if Role.OWNER in (role, member.role) and not is_owner:
        messages.error(request, gettext("Only owners can grant or take the owner role."))
    elif member.role == Role.OWNER and role != Role.OWNER and _owners(member.account_id) == 1:
        messages.error(request, gettext("An account keeps at least one owner."))
    else:
        member.role = role
        member.save(update_fields=["role"])
        messages.success(
            request,
            gettext("%(user)s is now %(role)s.")
            % {"user": member.user.get_username(), "role": member.get_role_display().lower()},
        )
    return redirect("web:team")


@tenant_required
@require_POST
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    member: TeamUser = get_scoped_or_404(TeamUser, request.tenant.account, pk=pk)
    require_manager(request)
    if member.role == Role.OWNER and request.tenant.membership.role != Role.OWNER:
        messages.error(request, gettext("Only owners can remove an owner."))
    elif member.role == Role.OWNER and _owners(member.account_id) == 1:
        messages.error(request, gettext("An account keeps at least one owner."))
    else:
        member.delete()
        messages.success(
            request,
            gettext("%(user)s is removed from the team.") % {"user": member.user.get_username()},
        )
    return redirect("web:team")


def _render_invitation(request: HttpRequest, invitation: Invitation, form: Any) -> HttpResponse:
    return render(
        request, "web/invitation.html", {"invitation": invitation, "form": form}, status=400
    )


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time invitation link: a signed-in user joins; a visitor creates a user
    with the invited email (the password passing Django's validators), then joins. A
    used or expired link says so and offers sign-in; joining closes every other open
    invitation of the same email to the account."""
    invitation = (
        Invitation.objects.select_related("account").filter(token_hash=hash_token(token)).first()
    )
    if invitation is None:
        raise Http404("This invitation link is not valid.")
    expired = (timezone.now() - invitation.created_at).days >= INVITATION_DAYS
    if invitation.accepted_at is not None or expired:
        return render(
            request,
            "web/invitation_used.html",
            {"invitation": invitation, "expired": invitation.accepted_at is None},
            status=410,
        )
    form = None if request.user.is_authenticated else AcceptInvitationForm(request.POST or None)
    if request.method == "POST":
        user = request.user
        if form is not None:
            if not form.is_valid():
                return _render_invitation(request, invitation, form)
            user_model = get_user_model()
            if user_model.objects.filter(username=form.cleaned_data["username"]).exists():
                form.add_error(
                    "username", gettext("This user name is taken; sign in first if it is yours.")
                )
                return _render_invitation(request, invitation, form)
            candidate = user_model(username=form.cleaned_data["username"], email=invitation.email)
            try:
                validate_password(form.cleaned_data["password"], candidate)
            except ValidationError as exc:
                form.add_error("password", exc)
                return _render_invitation(request, invitation, form)
            user = user_model.objects.create_user(
                username=form.cleaned_data["username"],
                email=invitation.email,
                password=form.cleaned_data["password"],
            )
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        with transaction.atomic():
            TeamUser.objects.get_or_create(
                account=invitation.account, user=user, defaults={"role": invitation.role}
            )
            now = timezone.now()
            invitation.accepted_at = now
            invitation.save(update_fields=["accepted_at"])
            # The same person's other open invitations to this account are answered too.
            emails = {invitation.email, getattr(user, "email", "") or ""} - {""}
            for email in emails:
                open_invitations(invitation.account, email).update(accepted_at=now)
        request.session[SESSION_KEY] = invitation.account_id
        messages.success(
            request, gettext("Welcome to %(account)s.") % {"account": invitation.account.name}
        )
        return redirect("web:home")
    return render(request, "web/invitation.html", {"invitation": invitation, "form": form})


@tenant_required
@require_POST
def account_switch(request: HttpRequest) -> HttpResponse:
    """Make another of the user's accounts the current one."""
    wanted = request.POST.get("account", "")
    membership = next((m for m in request.tenant.memberships if str(m.account_id) == wanted), None)
    if membership is None:
        raise Http404("Not found")
    request.session[SESSION_KEY] = membership.account_id
    messages.success(
        request,
        gettext("You are now working in %(account)s.") % {"account": membership.account.name},
    )
    return redirect("web:home")


@tenant_required
def tokens(request: HttpRequest) -> HttpResponse:
    """The user's API tokens in this account (owners and admins see everyone's). A new
    token's raw value is shown once, in the response to its creation."""
    account = request.tenant.account
    listed = scoped(ApiToken, account).select_related("user").order_by("-created_at")
    if not request.tenant.can_manage:
        listed = listed.filter(user=request.user)
    form = ApiTokenForm(request.POST or None)
    raw = ""
    if request.method == "POST" and form.is_valid():
        _token, raw = ApiToken.issue(request.user, account, form.cleaned_data["name"])
        form = ApiTokenForm()
    response = render(
        request,
        "web/tokens.html",
        {
            "tokens": listed,
            "form": form,
            "raw": raw,
            # What the API accepts, from the authentication class itself.
            "keyword": BearerTokenAuthentication.keyword,
            "api_url": request.build_absolute_uri(reverse("api:connection-list")),
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )
    if raw:
        # The raw token is on this page only; never cache it anywhere.
        response["Cache-Control"] = "no-store"
    return response


@tenant_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token: ApiToken = get_scoped_or_404(ApiToken, request.tenant.account, pk=pk)
    if token.user_id != request.user.pk:
        require_manager(request)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    messages.success(request, gettext("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("web:tokens")
