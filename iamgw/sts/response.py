"""The XML answers of STS: `<{Action}Response xmlns=STS>` with the request id."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from iamgw.queryapi import xml_response

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"


def answer(request: Request, action: str, result: dict[str, Any]) -> Response:
    request_id = request.scope.get("iamgw.request_id", "")
    return xml_response(action, NAMESPACE, request_id, result)
