"""Error answers are well-formed UTF-8 XML whatever text they echo (a key, a parameter,
a claim): control characters and lone surrogates are replaced, never a failure."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from iamgw.errors import InvalidBucketName, ValidationError, xml_text
from iamgw.queryapi import xml_element


@pytest.mark.parametrize("text", ["\ud800", "a\x00b", "\x1b[31m", "\ufffe", "<&>", "ok ü"])
def test_error_xml_is_well_formed_utf8(text: str) -> None:
    for error, api in (
        (InvalidBucketName(text, resource=text), "s3"),
        (ValidationError(text), "iam"),
    ):
        body = error.to_xml(api, "REQ").encode("utf-8")  # strict: raised on a surrogate before
        root = ET.fromstring(body)
        message = next(e.text for e in root.iter() if e.tag.endswith("Message"))
        assert message == xml_text(text).replace("&lt;", "<").replace("&gt;", ">").replace(
            "&amp;", "&"
        )


def test_query_results_are_well_formed_too() -> None:
    body = xml_element("UserName", "x\ud800\x01y").encode("utf-8")
    assert ET.fromstring(body).text == "x\ufffd\ufffdy"
