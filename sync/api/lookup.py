"""``GET /api/v1/lookup?phone=…``: caller ID over every synced record of the tenant."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sync.api.permissions import current_account
from sync.lookup import lookup


class LookupView(APIView):
    """Who has this number: name, company and the record in each app it lives in.
    Token or session auth, throttled, limited to the caller's current account."""

    @extend_schema(
        tags=["lookup"],
        parameters=[OpenApiParameter("phone", str, required=True, description="Any format")],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        account = current_account(request)
        if account is None:
            raise PermissionDenied("You are not a member of any account.")
        phone = (request.query_params.get("phone") or "").strip()
        if not phone:
            return Response({"phone": ["A phone number."]}, status=status.HTTP_400_BAD_REQUEST)
        numbers, people = lookup(account, phone)
        return Response(
            {"phone": phone, "numbers": numbers, "matches": [asdict(p) for p in people]}
        )
