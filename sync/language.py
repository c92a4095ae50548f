"""The language of the pages (issue 19): the browser's Accept-Language by default
(Django's LocaleMiddleware), the header's switcher (Django's ``set_language``, which
sets the language cookie), and, for a signed-in person, the choice remembered on the
user (``UserPreference``). The REST API always answers in English for integrators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation

from sync.models import UserPreference

# Paths whose answers are for programs, not people: English whatever the headers say.
ENGLISH_ONLY_PREFIXES = ("/api/",)


def supported(code: str | None) -> str | None:
    """``code`` if it is one of the product's languages, else None."""
    return code if code in dict(settings.LANGUAGES) else None


def remembered_language(user: Any) -> str | None:
    """The language ``user`` chose last, if signed in and they ever chose one."""
    if not getattr(user, "is_authenticated", False):
        return None
    code = UserPreference.objects.filter(user_id=user.pk).values_list("language", flat=True)
    return supported(code.first())


def remember_language(user: Any, code: str) -> None:
    """Keep ``code`` as ``user``'s language for every later sign-in."""
    UserPreference.objects.update_or_create(user_id=user.pk, defaults={"language": code})


class UserLanguage:
    """After AuthenticationMiddleware: English on the API; a signed-in user's remembered
    language over the cookie and Accept-Language; a choice made through the switcher
    while signed in remembered on the user; and, on the request that signs someone in,
    their language put in the cookie, so the pages after they sign out keep it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(ENGLISH_ONLY_PREFIXES):
            self._activate(request, settings.LANGUAGE_CODE)
            return self.get_response(request)
        signed_in_before = request.user.is_authenticated
        remembered = remembered_language(request.user) if signed_in_before else None
        if remembered:
            self._activate(request, remembered)
        response = self.get_response(request)
        user = request.user  # the view may have signed someone in, or out
        if not user.is_authenticated:
            return response
        if request.method == "POST" and request.path_info == reverse("set_language"):
            cookie = response.cookies.get(settings.LANGUAGE_COOKIE_NAME)
            chosen = supported(cookie.value if cookie is not None else None)
            if chosen:
                remember_language(user, chosen)
        elif not signed_in_before:
            language = remembered_language(user)
            if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
                set_language_cookie(response, language)
        return response

    @staticmethod
    def _activate(request: HttpRequest, code: str) -> None:
        translation.activate(code)
        request.LANGUAGE_CODE = translation.get_language()


def set_language_cookie(response: HttpResponse, code: str) -> None:
    """The language cookie as Django's set_language view writes it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
