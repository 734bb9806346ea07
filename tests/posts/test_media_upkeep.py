"""The media store's upkeep: files that no row names are deleted once they are an hour old.

An upload killed between writing its files and committing its row (tests/security F1) leaves
such files; so would a crash inside an avatar change. Nobody can reach them (media is served only
through its row), but deletion must delete, and a disk must not fill with them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.db import transaction

from rostra.accounts import actions as accounts
from rostra.posts import actions as posts
from rostra.testing.images import png_bytes


def _age(path: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_files_no_row_names_go_after_an_hour_and_named_ones_stay(world, media_dir, django_capture_on_commit_callbacks):
    kept = posts.upload_media(world.alice, png_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        accounts.update_profile(world.bob, accounts.ProfileUpdate(avatar=png_bytes((64, 64))))
    world.bob.refresh_from_db()
    named = [kept.file, kept.thumbnail, world.bob.avatar]
    stray_old = media_dir / "0123456789abcdef0123456789abcdef.webp"
    stray_new = media_dir / "fedcba9876543210fedcba9876543210.webp"
    for p in (stray_old, stray_new):
        p.write_bytes(b"left by a killed upload")
    for name in named:
        _age(media_dir / name, 5)
    _age(stray_old, 2)
    with transaction.atomic():
        deleted = posts.discard_orphan_files()
    assert deleted == 1
    assert not stray_old.exists()
    assert stray_new.exists()  # an upload may still be committing its row
    assert all((media_dir / name).exists() for name in named)


def test_many_files_are_swept_in_batches(world, media_dir):
    strays = []
    for i in range(25):
        p = media_dir / f"{i:032x}.png"
        p.write_bytes(b"x")
        _age(p, 3)
        strays.append(p)
    keep = posts.upload_media(world.alice, png_bytes())
    _age(media_dir / keep.file, 3)
    assert posts.discard_orphan_files(batch=7) == 25
    assert not any(p.exists() for p in strays) and (media_dir / keep.file).exists()


def test_no_media_store_yet_is_nothing_to_do(settings, tmp_path, db):
    import dataclasses

    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, data_dir=tmp_path / "nowhere")
    assert posts.discard_orphan_files() == 0
