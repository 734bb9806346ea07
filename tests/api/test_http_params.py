"""The shared parameter readers of ``rostra.api.http``: Mastodon booleans, numbers, arrays, ids,
bodies of every method, and offset pagination."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.client import encode_multipart

from rostra.api.http import (
    ApiError,
    as_list,
    body_int,
    body_params,
    flag,
    load_form,
    nested_attributes,
    offset_paginated,
    parse_bool,
    path_id,
    query_and_body_params,
    query_ids,
    query_int,
)
from rostra.core.errors import NotFound

rf = RequestFactory()


@pytest.mark.parametrize("value", [True, 1, "true", "TRUE", "1", "t", "on", "yes", " True "])
def test_parse_bool_true(value):
    assert parse_bool(value, "x") is True


@pytest.mark.parametrize("value", [False, 0, "false", "0", "f", "off", "no", "False"])
def test_parse_bool_false(value):
    assert parse_bool(value, "x") is False


def test_parse_bool_absent_or_empty_is_the_default_and_garbage_is_422():
    assert parse_bool(None, "x") is None and parse_bool("", "x", default=True) is True
    with pytest.raises(ApiError) as e:
        parse_bool("maybe", "locked")
    assert e.value.status == 422 and e.value.message == "Validation failed: locked must be true or false"
    assert flag(rf.get("/?local=1"), "local") is True and flag(rf.get("/"), "local") is False


def test_numbers():
    assert body_int(None, "days") is None and body_int("", "days") is None and body_int(" 7 ", "days") == 7 and body_int(3, "days") == 3
    for bad in ("soon", "1.5", True, 1.5, [1]):
        with pytest.raises(ApiError) as e:
            body_int(bad, "duration", unit="seconds")
        assert e.value.status == 422 and e.value.message == "Validation failed: duration must be a whole number of seconds"
    assert query_int(rf.get("/?offset=50"), "offset", default=0, lo=0, hi=40) == 40
    assert query_int(rf.get("/?offset=-3"), "offset", default=0, lo=0) == 0
    assert query_int(rf.get("/?offset="), "offset", default=5) == 5
    with pytest.raises(ApiError) as e:
        query_int(rf.get("/?limit=ten"), "limit", default=5)
    assert e.value.status == 400 and e.value.message == "limit must be a whole number"


def test_arrays_and_ids():
    assert as_list(None) == [] and as_list("") == [] and as_list("1") == ["1"] and as_list(["1", "2"]) == ["1", "2"]
    assert query_ids(rf.get("/?id[]=3&id[]=x&id[]=3&id=5&id[]=")) == [3, 5]
    with pytest.raises(ApiError) as e:
        query_ids(rf.get("/?id[]=1&id[]=2&id[]=3"), at_most=2)
    assert e.value.status == 422
    assert path_id("12") == 12
    for bad in ("abc", "0", "-1", "1" * 25):
        with pytest.raises(NotFound):
            path_id(bad)


def test_body_params_read_forms_of_every_method():
    for method in ("put", "patch", "delete"):
        r = getattr(rf, method)("/", "title=a&ids[]=1&ids[]=2", content_type="application/x-www-form-urlencoded")
        assert body_params(r) == {"title": "a", "ids": ["1", "2"]}, method
    r = rf.put("/", json.dumps({"title": "b"}), content_type="application/json")
    assert body_params(r) == {"title": "b"}
    with pytest.raises(ApiError) as e:
        body_params(rf.put("/", "[1]", content_type="application/json"))
    assert e.value.status == 400


def test_multipart_patch_keeps_files_and_survives_a_second_parse():
    body = encode_multipart("BoUnDaRy", {"note": "hi", "avatar": SimpleUploadedFile("a.png", b"\x89PNG", "image/png")})
    r = rf.patch("/", body, content_type="multipart/form-data; boundary=BoUnDaRy")
    assert r.POST.get("note") is None  # Django alone: nothing for a PATCH
    assert body_params(r) == {"note": "hi"} and r.FILES["avatar"].read() == b"\x89PNG"
    load_form(r)  # a second parse (another reader of the same request) keeps what was read
    assert body_params(r) == {"note": "hi"} and "avatar" in r.FILES


def test_query_and_body_params_overlay_the_body_on_the_query():
    r = rf.delete("/?account_ids[]=1&x=q", "account_ids[]=2", content_type="application/x-www-form-urlencoded")
    assert query_and_body_params(r) == {"account_ids": ["2"], "x": "q"}


def test_offset_paginated_links(settings):
    response = HttpResponse()
    offset_paginated(rf.get("/api/v1/directory?limit=2&offset=4&order=new"), response, limit=2, offset=4, full=True)
    link = response["Link"]
    assert "offset=6>; rel=\"next\"" in link and "offset=2>; rel=\"prev\"" in link and link.count("order=new") == 2
    response = HttpResponse()
    offset_paginated(rf.get("/x"), response, limit=2, offset=0, full=False)
    assert "Link" not in response


def _nested(body: str, method: str = "put") -> list[dict[str, str]] | None:
    r = getattr(rf, method)("/", body, content_type="application/x-www-form-urlencoded")
    return nested_attributes(r, body_params(r), "k")


def test_nested_attributes_from_forms_and_json():
    assert _nested("k[1][a]=y&k[0][a]=x&k[0][b]=1") == [{"a": "x", "b": "1"}, {"a": "y"}]  # by index
    assert _nested("k[][a]=x&k[][b]=1&k[][a]=y", "post") == [{"a": "x", "b": "1"}, {"a": "y"}]  # a repeat starts the next
    assert _nested("k[][a]=x&k[][a]=y&k[][b]=1&k[][b]=2") == [{"a": "x", "b": "1"}, {"a": "y", "b": "2"}]  # by position
    assert _nested("other[0][a]=x") is None
    r = rf.patch("/", json.dumps({"k": {"1": {"a": "y"}, "0": {"a": "x"}}}), content_type="application/json")
    assert nested_attributes(r, body_params(r), "k") == [{"a": "x"}, {"a": "y"}]
    r = rf.patch("/", json.dumps({"k": "nope"}), content_type="application/json")
    with pytest.raises(ApiError) as e:
        nested_attributes(r, body_params(r), "k")
    assert e.value.status == 422 and e.value.message == "Validation failed: k must be a list of objects"
