"""Media on S3-compatible storage (ROSTRA_MEDIA_S3_URL).

The server is moto's standalone S3-compatible HTTP server (``moto[server]``'s ThreadedMotoServer,
from PyPI: no S3-compatible server is packaged in Debian), reached over real HTTP by boto3 exactly
as a MinIO or a cloud bucket would be."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from rostra.accounts.actions import ProfileUpdate, update_profile
from rostra.config.env import ConfigError, load
from rostra.core.errors import ValidationError
from rostra.core.mediastore import S3Store, media_store, parse_s3_url
from rostra.posts.actions import (
    Draft,
    create_post,
    delete_post,
    discard_media,
    discard_orphan_files,
    discard_stale_uploads,
    upload_media,
)
from rostra.posts.models import Media
from rostra.testing.images import png_bytes
from rostra.testing.world import make_account

NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|webp)$")


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server: str, settings, tmp_path) -> Iterator[Any]:
    """A fresh private bucket, configured as this instance's media store (the data dir is this
    test's own, so it is plain that nothing lands on the local disk)."""
    name = f"media-{tmp_path.name.lower().replace('_', '-')[-40:]}".strip("-")
    client = boto3.client(
        "s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="test-key", aws_secret_access_key="test/secret+1"
    )
    client.create_bucket(Bucket=name)
    data = tmp_path / "data"
    (data / "media").mkdir(parents=True)
    url = f"{s3_server.replace('http://', 'http://test-key:test%2Fsecret%2B1@')}/{name}/rostra"
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, data_dir=data, media_s3_url=url)
    client.bucket_name = name
    yield client


def _keys(client: Any) -> set[str]:
    found = client.list_objects_v2(Bucket=client.bucket_name).get("Contents", [])
    return {item["Key"] for item in found}


def _env(tmp_path: Any, url: str) -> dict[str, str]:
    return {"ROSTRA_DATA_DIR": str(tmp_path), "ROSTRA_SECRET_KEY": "x" * 40, "ROSTRA_MEDIA_S3_URL": url}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://k:s@s3.example.com/bucket", "must start with https://"),
        ("https://s3.example.com/bucket", "needs the access key and the secret"),
        ("https://k:s@s3.example.com/", "names no bucket"),
        ("https://k:s@s3.example.com/Not_A_Bucket", "not a valid bucket name"),
        ("http://k:s@s3.example.com/bucket", "plain http:// is only for an endpoint on this machine"),
        ("https://k:s@s3.example.com/bucket?acl=public-read", "unknown option"),
        ("https://k:s@s3.example.com/bucket/../up", "key prefix"),
    ],
)
def test_a_bad_s3_url_is_refused_with_a_clear_message_and_no_secret(tmp_path, url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load(_env(tmp_path, url))
    assert "ROSTRA_MEDIA_S3_URL" in str(caught.value)
    assert ":s@" not in str(caught.value)


def test_the_s3_url_is_read_into_endpoint_bucket_prefix_and_region() -> None:
    loc = parse_s3_url("https://AK%2B1:se%2Fcret@s3.example.com:9000/media/rostra/prod?region=eu-west-1")
    assert (loc.endpoint, loc.bucket, loc.prefix, loc.region) == (
        "https://s3.example.com:9000",
        "media",
        "rostra/prod/",
        "eu-west-1",
    )
    assert (loc.access_key, loc.secret_key) == ("AK+1", "se/cret")
    assert "se/cret" not in repr(loc)


def test_uploads_go_to_the_bucket_and_are_served_through_the_door(db, bucket, client_for, settings) -> None:
    alice, bob = make_account("alice"), make_account("bob")
    media = upload_media(alice, png_bytes((64, 48)), description="a red square")
    assert NAME.match(media.file) and NAME.match(media.thumbnail)
    assert _keys(bucket) == {f"rostra/{media.file}", f"rostra/{media.thumbnail}"}
    assert list(settings.ROSTRA.media_dir.iterdir()) == []  # nothing on the local disk
    # Before it is attached, only the uploader may fetch it; the bytes come from the bucket.
    own = client_for(alice).get(f"/media/{media.file}")
    assert own.status_code == 200
    assert (
        b"".join(own.streaming_content) == bucket.get_object(Bucket=bucket.bucket_name, Key=f"rostra/{media.file}")["Body"].read()
    )
    assert own["Content-Type"] == "image/png" and own["X-Content-Type-Options"] == "nosniff"
    assert client_for(bob).get(f"/media/{media.file}").status_code == 404
    assert client_for(None).get(f"/media/{media.file}").status_code == 404
    # Once attached to a followers-only post: the same door as for a file on disk.
    create_post(alice, Draft(text="My square", visibility="private", media_ids=[media.pk]))
    assert client_for(None).get(f"/media/{media.file}").status_code == 404
    assert client_for(alice).get(f"/media/{media.thumbnail}").status_code == 200


def test_deleting_really_deletes_the_objects(db, bucket, run_tasks, django_capture_on_commit_callbacks) -> None:
    alice = make_account("alice")
    abandoned = upload_media(alice, png_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        assert discard_media(alice, [abandoned.pk]) == 1
    assert _keys(bucket) == set()
    store = media_store()
    assert isinstance(store, S3Store) and not store.exists(abandoned.file)
    attached = upload_media(alice, png_bytes((20, 20)))
    post = create_post(alice, Draft(text="soon gone", media_ids=[attached.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        delete_post(alice, post.pk)
    run_tasks()
    with django_capture_on_commit_callbacks(execute=True):
        discard_stale_uploads(older_than=timedelta(0))
    assert not Media.objects.filter(pk=attached.pk).exists()
    assert _keys(bucket) == set()


def test_avatars_and_headers_live_in_the_bucket_and_replacing_one_deletes_the_old(
    db, bucket, client_for, django_capture_on_commit_callbacks
) -> None:
    alice = make_account("alice")
    with django_capture_on_commit_callbacks(execute=True):
        alice = update_profile(alice, ProfileUpdate(avatar=png_bytes((400, 400)), header=png_bytes((1500, 500))))
    assert _keys(bucket) == {f"rostra/{alice.avatar}", f"rostra/{alice.header}"}
    assert client_for(None).get(f"/media/{alice.avatar}").status_code == 200  # avatars are public
    old = alice.avatar
    with django_capture_on_commit_callbacks(execute=True):
        alice = update_profile(alice, ProfileUpdate(avatar=png_bytes((300, 300), color=(0, 0, 255))))
    assert f"rostra/{old}" not in _keys(bucket) and f"rostra/{alice.avatar}" in _keys(bucket)


def test_the_orphan_sweep_deletes_objects_no_row_names(db, bucket) -> None:
    alice = make_account("alice")
    kept = upload_media(alice, png_bytes())
    stray = "0123456789abcdef0123456789abcdef.png"
    bucket.put_object(Bucket=bucket.bucket_name, Key=f"rostra/{stray}", Body=b"left behind by a killed upload")
    bucket.put_object(Bucket=bucket.bucket_name, Key="not-rostra/elsewhere.png", Body=b"another prefix: not ours")
    bucket.put_object(Bucket=bucket.bucket_name, Key="rostra/holiday.png", Body=b"under our prefix, not named as Rostra names")
    assert discard_orphan_files() == 0  # younger than the grace period (an hour)
    assert discard_orphan_files(older_than=timedelta(seconds=-60)) == 1  # as if an hour had passed
    assert _keys(bucket) == {f"rostra/{kept.file}", f"rostra/{kept.thumbnail}", "not-rostra/elsewhere.png", "rostra/holiday.png"}


def test_deleting_on_a_versioned_bucket_removes_every_version(db, bucket, django_capture_on_commit_callbacks) -> None:
    bucket.put_bucket_versioning(Bucket=bucket.bucket_name, VersioningConfiguration={"Status": "Enabled"})
    alice = make_account("alice")
    abandoned = upload_media(alice, png_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        assert discard_media(alice, [abandoned.pk]) == 1
    left = bucket.list_object_versions(Bucket=bucket.bucket_name)
    assert not left.get("Versions") and not left.get("DeleteMarkers")  # no copy, no marker over a copy


def test_an_export_reads_its_images_from_the_bucket(db, bucket, tmp_path) -> None:
    from rostra.portability.actions import write_archive

    alice = make_account("alice")
    media = upload_media(alice, png_bytes((30, 30)))
    create_post(alice, Draft(text="in the archive", media_ids=[media.pk]))
    path = tmp_path / "archive.zip"
    write_archive(alice, path, lambda **_: None)
    with zipfile.ZipFile(path) as zf:
        inside = {n: zf.read(n) for n in zf.namelist() if n.endswith(media.file)}
    assert list(inside.values()) == [bucket.get_object(Bucket=bucket.bucket_name, Key=f"rostra/{media.file}")["Body"].read()]


def test_a_bucket_out_of_reach_refuses_the_upload_and_writes_nothing(db, settings, tmp_path) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, data_dir=tmp_path, media_s3_url="http://k:s@127.0.0.1:1/media")
    alice = make_account("alice")
    with pytest.raises(ValidationError, match="could not store the file"):
        upload_media(alice, png_bytes())
    assert not Media.objects.filter(owner=alice).exists()


def test_the_remote_media_cache_lives_in_the_bucket_and_is_dropped_from_it(
    db, bucket, django_capture_on_commit_callbacks
) -> None:
    from rostra.accounts.models import Account
    from rostra.posts import remote_media
    from rostra.testing.world import make_post

    zoe = make_account("zoe")
    post = make_post(zoe, "A heron by the pond")
    Account.objects.filter(pk=zoe.pk).update(domain="remote.example")  # now another server's account
    row = Media.objects.create(owner=zoe, post=post, file=remote_media._placeholder(), content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        cached = remote_media.store_remote_file(row.pk, png_bytes((50, 40)))
    assert cached is not None
    assert _keys(bucket) == {f"rostra/{cached.file}", f"rostra/{cached.thumbnail}"}
    with django_capture_on_commit_callbacks(execute=True):
        assert remote_media.drop_remote_files([row.pk]) == 1
    assert _keys(bucket) == set()
