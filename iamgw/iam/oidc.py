"""OpenID Connect providers as IAM objects: CreateOpenIDConnectProvider,
GetOpenIDConnectProvider, ListOpenIDConnectProviders, DeleteOpenIDConnectProvider
(IAM API Reference). They stand beside the `[[oidc]]` entries of the configuration;
the ARN is `arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH` (the URL without scheme)."""

from __future__ import annotations

from typing import Any

from iamgw.errors import ValidationError

from . import shapes
from .call import Call
from .errors import InvalidInput, LimitExceeded
from .params import THUMBPRINT, paginate
from .registry import action, tag_context

MAX_CLIENT_IDS, MAX_THUMBPRINTS = 100, 5


def _url_of(call: Call, arn: str) -> str:
    prefix = f"arn:aws:iam::{call.account}:oidc-provider/"
    if not arn.startswith(prefix) or len(arn) == len(prefix):
        raise InvalidInput(f"Invalid OpenIDConnectProviderArn: {arn}")
    return arn[len(prefix) :]


def _thumbprints(call: Call) -> list[str]:
    thumbprints = call.params.members("ThumbprintList")
    if len(thumbprints) > MAX_THUMBPRINTS:
        raise InvalidInput(
            f"Thumbprint list must contain fewer than {MAX_THUMBPRINTS + 1} entries."
        )
    for thumbprint in thumbprints:
        if not THUMBPRINT.fullmatch(thumbprint):
            raise ValidationError(f"Thumbprint {thumbprint} must be 40 hexadecimal characters.")
    return thumbprints


@action("CreateOpenIDConnectProvider")
def create_provider(call: Call) -> dict[str, Any]:
    p = call.params
    url = p.text("Url", "url", required=True, max_len=255) or ""
    if not url.lower().startswith("https://") or len(url) <= len("https://"):
        raise ValidationError("Invalid URL: the provider URL must begin with https://")
    client_ids = p.members("ClientIDList")
    thumbprints = _thumbprints(call)
    if len(client_ids) > MAX_CLIENT_IDS:
        raise LimitExceeded(
            f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
        )
    for client_id in client_ids:
        if not 1 <= len(client_id) <= 255:
            raise ValidationError("Client IDs must be between 1 and 255 characters long.")
    tags = p.tags()
    key = url[len("https://") :].rstrip("/")
    arn = call.repo.oidc_provider_arn(key)
    call.authorize(arn, tag_context(tags))
    call.repo.create_oidc_provider(key, client_ids, thumbprints, tags)
    return {"OpenIDConnectProviderArn": arn, "Tags": shapes.tag_list(tags) or None}


@action("GetOpenIDConnectProvider")
def get_provider(call: Call) -> dict[str, Any]:
    arn = call.params.arn("OpenIDConnectProviderArn", "openIDConnectProviderArn")
    call.authorize(arn)
    row = call.repo.get_oidc_provider(_url_of(call, arn))
    return {
        "Url": row.url,
        "ClientIDList": list(row.client_ids),
        "ThumbprintList": list(row.thumbprints),
        "CreateDate": shapes.when(row.created),
        "Tags": shapes.tag_list(row.tags) or None,
    }


@action("ListOpenIDConnectProviders")
def list_providers(call: Call) -> dict[str, Any]:
    call.authorize("*")
    rows = call.repo.list_oidc_providers()
    return {
        "OpenIDConnectProviderList": [{"Arn": call.repo.oidc_provider_arn(r.url)} for r in rows]
    }


@action("DeleteOpenIDConnectProvider")
def delete_provider(call: Call) -> None:
    arn = call.params.arn("OpenIDConnectProviderArn", "openIDConnectProviderArn")
    call.authorize(arn)
    call.repo.delete_oidc_provider(_url_of(call, arn))


def _provider(call: Call) -> tuple[str, str]:
    arn = call.params.arn("OpenIDConnectProviderArn", "openIDConnectProviderArn")
    return arn, _url_of(call, arn)


@action("AddClientIDToOpenIDConnectProvider")
def add_client_id(call: Call) -> None:
    arn, url = _provider(call)
    client_id = call.params.text("ClientID", "clientID", required=True, max_len=255) or ""
    call.authorize(arn)

    def edit(row: Any) -> None:
        if client_id not in row.client_ids:
            if len(row.client_ids) >= MAX_CLIENT_IDS:
                raise LimitExceeded(
                    f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
                )
            row.client_ids.append(client_id)

    call.repo.edit_oidc_provider(url, edit)


@action("RemoveClientIDFromOpenIDConnectProvider")
def remove_client_id(call: Call) -> None:
    arn, url = _provider(call)
    client_id = call.params.text("ClientID", "clientID", required=True, max_len=255) or ""
    call.authorize(arn)

    def edit(row: Any) -> None:
        if client_id in row.client_ids:
            row.client_ids.remove(client_id)

    call.repo.edit_oidc_provider(url, edit)


@action("UpdateOpenIDConnectProviderThumbprint")
def update_thumbprint(call: Call) -> None:
    arn, url = _provider(call)
    thumbprints = _thumbprints(call)
    call.authorize(arn)

    def edit(row: Any) -> None:
        row.thumbprints[:] = thumbprints

    call.repo.edit_oidc_provider(url, edit)


@action("TagOpenIDConnectProvider")
def tag_provider(call: Call) -> None:
    arn, url = _provider(call)
    tags = call.params.tags()
    call.authorize(arn, tag_context(tags))

    def edit(row: Any) -> None:
        row.tags.update(tags)
        if len(row.tags) > 50:
            raise LimitExceeded("Cannot exceed quota for TagsPerOpenIdConnectProvider: 50.")

    call.repo.edit_oidc_provider(url, edit)


@action("UntagOpenIDConnectProvider")
def untag_provider(call: Call) -> None:
    arn, url = _provider(call)
    keys = call.params.tag_keys()
    call.authorize(arn, {"aws:TagKeys": keys or None})

    def edit(row: Any) -> None:
        for key in keys:
            row.tags.pop(key, None)

    call.repo.edit_oidc_provider(url, edit)


@action("ListOpenIDConnectProviderTags")
def list_provider_tags(call: Call) -> dict[str, Any]:
    arn, url = _provider(call)
    call.authorize(arn)
    tags = shapes.tag_list(call.repo.get_oidc_provider(url).tags)
    return paginate(tags, call.params, lambda t: t["Key"], "Tags", lambda t: t)
