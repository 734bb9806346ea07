"""The settings pages for export and import, through the browser's door."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rostra.accounts.models import Block
from rostra.portability.models import Export, Import, JobState


@pytest.fixture(autouse=True)
def _domain(settings):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, domain="testserver", https=False)


def test_the_settings_navigation_links_both_pages(world, client_for):
    page = client_for(world.alice).get("/settings/profile").content.decode()
    assert 'href="/settings/export"' in page and 'href="/settings/import"' in page


def test_d4_account_purge_offers_the_export_first(world, client_for):
    page = client_for(world.alice).get("/settings/delete").content.decode()
    assert 'href="/settings/export"' in page and "Download your archive first" in page


def test_asking_for_an_archive_shows_progress_then_a_download(busy, media_dir, client_for, run_tasks):
    c = client_for(busy.alice)
    assert c.get("/settings/export").status_code == 200
    response = c.post("/settings/export")
    assert response.status_code == 302 and response["Location"] == "/settings/export"
    export = Export.objects.get(account=busy.alice)
    page = c.get("/settings/export").content.decode()
    assert f'hx-get="/settings/export/{export.pk}/status"' in page and 'hx-trigger="every 2s"' in page
    assert '<a href="/settings/export">Refresh</a>' in page and "<script" not in page.split("</head>")[1]
    run_tasks()
    status = c.get(f"/settings/export/{export.pk}/status", HTTP_HX_REQUEST="true")
    assert status.status_code == 200 and "hx-trigger" not in status.content.decode()
    assert f"/settings/export/{export.pk}/download" in status.content.decode()
    download = c.get(f"/settings/export/{export.pk}/download")
    assert download.status_code == 200
    assert (
        download["Content-Disposition"].startswith("attachment;") and "rostra-archive-alice-" in download["Content-Disposition"]
    )
    assert download["Cache-Control"] == "private, no-store"
    body = b"".join(download.streaming_content)
    assert "outbox.json" in zipfile.ZipFile(io.BytesIO(body)).namelist()


def test_a_second_archive_the_same_day_is_refused_with_a_message(busy, media_dir, client_for, run_tasks):
    c = client_for(busy.alice)
    c.post("/settings/export")
    response = c.post("/settings/export")
    assert response.status_code == 429
    assert "one archive a day" in response.content.decode()
    assert Export.objects.filter(account=busy.alice).count() == 1


def test_another_person_cannot_download_your_archive(busy, media_dir, client_for, run_tasks, world):
    client_for(busy.alice).post("/settings/export")
    run_tasks()
    export = Export.objects.get(account=busy.alice)
    bob = client_for(world.bob)
    for path in (f"/settings/export/{export.pk}/download", f"/settings/export/{export.pk}/status"):
        assert bob.get(path).status_code == 404
    assert bob.get("/settings/export/123/download").status_code == 404
    assert bob.get("/settings/export/not-an-id/download").status_code == 404
    anonymous = client_for(None).get(f"/settings/export/{export.pk}/download")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login")


def test_an_expired_archive_is_gone(busy, media_dir, client_for, run_tasks):
    c = client_for(busy.alice)
    c.post("/settings/export")
    run_tasks()
    export = Export.objects.get(account=busy.alice)
    Export.objects.filter(pk=export.pk).update(expires_at=export.created_at)
    assert c.get(f"/settings/export/{export.pk}/download").status_code == 404


@pytest.mark.parametrize("kind", ["following_accounts", "blocked_accounts", "muted_accounts", "lists", "bookmarks"])
def test_each_csv_downloads_on_its_own(busy, client_for, kind):
    response = client_for(busy.alice).get(f"/settings/export/{kind}.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{kind}.csv"'
    assert b"".join(response.streaming_content).strip()


def test_an_unknown_csv_is_a_404(world, client_for):
    assert client_for(world.alice).get("/settings/export/passwords.csv").status_code == 404


def _upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_an_import_through_the_page(world, client_for):
    c = client_for(world.bob)
    response = c.post(
        "/settings/import",
        {"kind": "blocks", "mode": "merge", "file": _upload("blocked_accounts.csv", b"eve\nzed@far.example\n")},
    )
    assert response.status_code == 302
    assert Block.objects.filter(account=world.bob, target=world.eve).exists()
    page = c.get("/settings/import").content.decode()
    assert "Applied: 1" in page and "zed@far.example" in page and "federation is not available yet" in page
    job = Import.objects.get(account=world.bob)
    assert job.state == JobState.READY
    assert c.get(f"/settings/import/{job.pk}/status").status_code == 200
    assert client_for(world.alice).get(f"/settings/import/{job.pk}/status").status_code == 404


def test_a_bad_import_shows_each_bad_line_and_writes_nothing(world, client_for):
    c = client_for(world.bob)
    response = c.post("/settings/import", {"kind": "mutes", "mode": "merge", "file": _upload("x.csv", b"eve\n!!!\nalice\n???\n")})
    assert response.status_code == 400
    page = response.content.decode()
    assert "2 lines of the file cannot be read; nothing was imported." in page
    assert "line 2: not an account address" in page and "line 4: not an account address" in page
    assert not Import.objects.exists()


def test_an_import_without_a_file_or_too_large_is_refused(world, client_for):
    c = client_for(world.bob)
    assert "Choose a CSV file" in c.post("/settings/import", {"kind": "blocks", "mode": "merge"}).content.decode()
    big = c.post("/settings/import", {"kind": "blocks", "mode": "merge", "file": _upload("b.csv", b"x" * (1024 * 1024 + 1))})
    assert big.status_code == 400 and "too large" in big.content.decode()
    assert not Import.objects.exists()
