"""The error model: every error class answers, on each API it can be answered on, a code
and status that API defines (botocore's models, AWS's Common Errors), one class per code,
in XML that botocore reads back as the same error."""

from __future__ import annotations

import importlib
import pkgutil
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import botocore.loaders
import botocore.parsers
import pytest

import iamgw
from iamgw import store
from iamgw.errors import API, NAMESPACES, AWSError
from iamgw.iam.errors import LimitExceeded, NoSuchEntity, ServiceFailure, from_policy, from_store
from iamgw.policy import PolicySizeExceeded

# The Query APIs' common errors: https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
# (RequestEntityTooLargeException: AWS's general list, e.g.
# https://docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html).
QUERY_COMMON = {
    ("AccessDeniedException", 403),
    ("ExpiredTokenException", 403),
    ("IncompleteSignature", 400),
    ("InternalFailure", 500),
    ("InvalidAction", 400),
    ("InvalidClientTokenId", 403),
    ("InvalidParameterCombination", 400),
    ("InvalidParameterValue", 400),
    ("InvalidQueryParameter", 400),
    ("MalformedQueryString", 404),
    ("MissingAction", 400),
    ("MissingAuthenticationToken", 403),
    ("MissingParameter", 400),
    ("NotAuthorized", 400),
    ("OptInRequired", 403),
    ("RequestEntityTooLargeException", 413),
    ("RequestExpired", 400),
    ("ServiceUnavailable", 503),
    ("ThrottlingException", 400),
    ("ValidationError", 400),
}
# What IAM and STS answer that neither their models nor the Common Errors list:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html
# (HTTP 403 SignatureDoesNotMatch, also "Signature expired") and
# https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
# ("An error occurred (AccessDenied) when calling the AssumeRole operation").
# And botocore's retry rules (data/_retry.json, "throttling"): STS's and IAM's
# `Throttling` ("Rate exceeded"), HTTP 400.
QUERY_DOCUMENTED = {("SignatureDoesNotMatch", 403), ("AccessDenied", 403), ("Throttling", 400)}
# S3 codes of https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html that
# botocore's list (the s3 model's Error.Code documentation) lacks.
S3_DOCUMENTED = {
    ("AuthorizationQueryParametersError", 400),
    ("MalformedPolicy", 400),
    ("RequestHeaderSectionTooLarge", 400),
    ("XAmzContentSHA256Mismatch", 400),
}
# iamgw's own: S3 stores any key, iamgw refuses one a node would read as another
# (iamgw.s3.keys); the code is the one S3-compatible stores answer (Ceph RGW).
S3_OWN = {("InvalidObjectName", 400)}


def _model(service: str) -> dict:
    return botocore.loaders.create_loader().load_service_model(service, "service-2")


def _query_model_errors(service: str) -> set[tuple[str, int]]:
    shapes = _model(service)["shapes"].values()
    return {
        (s["error"]["code"], s["error"]["httpStatusCode"])
        for s in shapes
        if s.get("exception") and "code" in s.get("error", {})
    }


def _s3_model_errors() -> set[tuple[str, int]]:
    shapes = _model("s3")["shapes"]
    entries = shapes["Error"]["members"]["Code"]["documentation"].split("<i>Code:</i>")[1:]
    found = (re.match(r"\s*(\w+).*?<i>HTTP Status Code:</i>\s*(\d+)", e, re.S) for e in entries)
    listed = [m.groups() for m in found if m]  # one entry has no status ("N/A")
    modelled = {
        (name, s["error"]["httpStatusCode"])
        for name, s in shapes.items()
        if s.get("exception") and "httpStatusCode" in s.get("error", {})
    }
    return {(code, int(status)) for code, status in listed} | modelled


ALLOWED = {
    API.S3: _s3_model_errors() | S3_DOCUMENTED | S3_OWN,
    API.IAM: _query_model_errors("iam") | QUERY_COMMON | QUERY_DOCUMENTED,
    API.STS: _query_model_errors("sts") | QUERY_COMMON | QUERY_DOCUMENTED,
}


def _subclasses(cls: type[AWSError]) -> Iterator[type[AWSError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _error_classes() -> list[type[AWSError]]:
    for module in pkgutil.walk_packages(iamgw.__path__, "iamgw."):
        importlib.import_module(module.name)  # error classes live in several modules
    # A base (AWSError, S3Error, QueryError, IAMError, STSError) declares no code.
    return sorted((c for c in _subclasses(AWSError) if "code" in vars(c)), key=str)


ERRORS = _error_classes()


def test_every_error_is_found() -> None:
    names = {c.__name__ for c in ERRORS}
    assert {"AccessDenied", "NoSuchEntity", "InvalidIdentityToken", "KeyTooLong"} <= names


def test_one_class_per_code() -> None:
    codes = [c.code for c in ERRORS]
    assert sorted(codes) == sorted(set(codes))


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_codes_and_statuses_are_aws_ones(cls: type[AWSError]) -> None:
    assert cls.apis, cls
    for api in cls.apis:
        wire = cls("m").wire(api)
        assert wire.api is api
        assert (wire.code, wire.status) in ALLOWED[api], (api, wire)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_xml_is_what_botocore_reads_on_every_api(cls: type[AWSError]) -> None:
    error = cls("a <message> & more", resource="/bucket/key")
    for api in API:
        wire = error.wire(api)
        body = error.to_xml(api, "REQ1").encode("utf-8")
        root = ET.fromstring(body)
        if wire.api is API.S3:
            assert root.tag == "Error"
            parser: botocore.parsers.ResponseParser = botocore.parsers.RestXMLParser()
        else:
            assert root.tag == f"{{{NAMESPACES[wire.api]}}}ErrorResponse"
            kind = root.findtext(f"{{{NAMESPACES[wire.api]}}}Error/{{{NAMESPACES[wire.api]}}}Type")
            assert kind == ("Sender" if wire.status < 500 else "Receiver")
            parser = botocore.parsers.QueryParser()
        parsed = parser.parse({"body": body, "headers": {}, "status_code": wire.status}, None)
        assert parsed["Error"]["Code"] == wire.code
        assert parsed["Error"]["Message"] == wire.message
        assert "REQ1" in body.decode()


@pytest.mark.parametrize(
    ("api", "answered"),
    [("s3", API.S3), ("ops", API.S3), ("console", API.S3), ("iam", API.IAM), ("sts", API.STS)],
)
def test_a_route_answers_in_its_api_form(api: str, answered: API) -> None:
    from iamgw.errors import InvalidAccessKeyId, ValidationError

    assert InvalidAccessKeyId().wire(api).api is answered
    # A Query call refused while its parameters are read (before its Version is known)
    # answers as STS, even on the route that would have been S3.
    assert ValidationError("x").wire(api).api is (API.STS if answered is API.S3 else answered)


def test_store_errors_map_by_type() -> None:
    assert type(from_store(store.NoSuchEntity("no user"))) is NoSuchEntity
    assert from_store(store.NoSuchEntity("no user")).message == "no user"
    assert type(from_store(store.StoreError("?"))) is ServiceFailure


def test_a_policy_over_its_quota_is_limit_exceeded() -> None:
    assert type(from_policy(PolicySizeExceeded("Cannot exceed quota"))) is LimitExceeded
