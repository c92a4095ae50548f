"""Request hygiene before any view runs."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse, JsonResponse


class RefuseUnstorableInput:
    """A NUL character in the path or the query string can never name anything we store
    (PostgreSQL refuses it in any text), so such a request is a 400 here instead of a
    database error inside a view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "\x00" in unquote(raw):
            return JsonResponse({"detail": "The address contains a NUL character."}, status=400)
        return self.get_response(request)
