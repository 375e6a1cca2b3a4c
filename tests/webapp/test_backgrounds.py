"""webapp/blueprints/backgrounds.py: the admin's folder checked at start-up, listed, served; the header's organisation."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from webapp import create_app
from webapp.blueprints.backgrounds import name_in_words
from webapp.config import IMMUTABLE_MAX_AGE_S, TestConfig
from webapp.security import SECURITY_HEADERS

# The first bytes of a WebM file: EBML magic, then a DocType of "webm" (enough for the start-up check).
WEBM_HEAD = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"


def picture_bytes(fmt: str = "PNG", size=(64, 36), colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((size[1], size[0], 3), colour, np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def backgrounds_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "backgrounds"
    folder.mkdir()
    (folder / "company-lobby.png").write_bytes(picture_bytes())
    (folder / "roof_garden.jpg").write_bytes(picture_bytes("JPEG"))
    (folder / "sea.webp").write_bytes(picture_bytes("WEBP"))
    (folder / "waves.webm").write_bytes(WEBM_HEAD + bytes(200))
    (folder / "notes.png").write_text("not a picture at all")
    (folder / "cut.png").write_bytes(picture_bytes()[:-20])  # truncated: no IEND
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden files are not the admin's backgrounds
    return folder


def make_app(models_dir: Path, tmp_path: Path, **overrides):
    config = TestConfig(model="tiny", models_dir=models_dir, instance_dir=tmp_path / "instance", **overrides)
    return create_app(config)


@pytest.fixture
def admin_app(models_dir, tmp_path, backgrounds_dir, capsys):
    logo = tmp_path / "logo.png"
    logo.write_bytes(picture_bytes(size=(40, 40), colour=(0, 80, 160)))
    app = make_app(models_dir, tmp_path, backgrounds_dir=backgrounds_dir, default_background="company-lobby",
                   org_name="ACME Schools", org_logo=logo)
    app.startup_report = capsys.readouterr().err
    return app


def listing(app) -> dict:
    response = app.test_client().get("/api/backgrounds")
    assert response.status_code == 200
    return response.get_json()


def test_good_files_are_listed_with_names_kinds_and_the_default(admin_app):
    body = listing(admin_app)
    entries = {entry["id"]: entry for entry in body["backgrounds"]}
    assert sorted(entries) == ["company-lobby", "roof_garden", "sea", "waves"]
    assert entries["company-lobby"]["name"] == "Company lobby"
    assert entries["roof_garden"]["name"] == "Roof garden"
    assert {id_: e["kind"] for id_, e in entries.items()} == {
        "company-lobby": "picture", "roof_garden": "picture", "sea": "picture", "waves": "video"}
    assert [id_ for id_, e in entries.items() if e["default"]] == ["company-lobby"]
    assert body["organisation"]["name"] == "ACME Schools"
    assert body["organisation"]["logoUrl"].startswith("/org/logo/")


def test_bad_files_are_named_on_stderr_and_skipped(admin_app):
    report = admin_app.startup_report
    assert "notes.png" in report and "not a PNG, JPEG or WebP picture" in report
    assert "cut.png" in report and "truncated PNG" in report
    assert ".DS_Store" not in report
    ids = {entry["id"] for entry in listing(admin_app)["backgrounds"]}
    assert not ids & {"notes", "cut"}


@pytest.mark.parametrize("entry_id, mimetype", [
    ("company-lobby", "image/png"), ("roof_garden", "image/jpeg"), ("sea", "image/webp"), ("waves", "video/webm")])
def test_files_are_served_with_their_type_our_headers_and_a_year_of_cache(admin_app, backgrounds_dir, entry_id, mimetype):
    entry = next(e for e in listing(admin_app)["backgrounds"] if e["id"] == entry_id)
    response = admin_app.test_client().get(entry["url"])
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.data == next(backgrounds_dir.glob(f"{entry_id}.*")).read_bytes()
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.cache_control.max_age == IMMUTABLE_MAX_AGE_S and response.cache_control.immutable


def test_a_video_answers_range_requests(admin_app):
    entry = next(e for e in listing(admin_app)["backgrounds"] if e["kind"] == "video")
    response = admin_app.test_client().get(entry["url"], headers={"Range": "bytes=0-3"})
    assert response.status_code == 206
    assert response.data == WEBM_HEAD[:4]


def test_the_listing_revalidates(admin_app):
    response = admin_app.test_client().get("/api/backgrounds")
    assert response.cache_control.no_cache
    assert response.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]


def test_only_checked_files_are_served(admin_app, backgrounds_dir, tmp_path):
    (tmp_path / "secret.png").write_bytes(picture_bytes())
    good = next(e for e in listing(admin_app)["backgrounds"] if e["id"] == "company-lobby")
    digest = good["url"].split("/")[2]
    client = admin_app.test_client()
    for url in (
        f"/backgrounds/{digest}/notes.png",  # in the folder, failed the check
        f"/backgrounds/{digest}/..%2Fsecret.png",  # traversal, encoded
        f"/backgrounds/{digest}/../secret.png",
        f"/backgrounds/{digest}/%2E%2E/secret.png",
        "/backgrounds/0000000000000000/company-lobby.png",  # right file, wrong digest
        f"/backgrounds/{digest}/company-lobby.PNG",
        "/org/logo/0000000000000000/logo.png",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"\x89PNG" not in response.data


def test_the_header_shows_the_organisation(admin_app):
    page = admin_app.test_client().get("/").get_data(as_text=True)
    header = page[page.index("<header"):page.index("</header>")]
    assert "ACME Schools" in header
    logo_url = listing(admin_app)["organisation"]["logoUrl"]
    assert f'src="{logo_url}"' in header
    assert admin_app.test_client().get(logo_url).mimetype == "image/png"


def test_no_organisation_no_header_element(app):
    page = app.test_client().get("/").get_data(as_text=True)
    assert 'class="org"' not in page


def test_without_a_folder_the_listing_is_empty_and_nothing_is_reported(models_dir, tmp_path, capsys):
    app = make_app(models_dir, tmp_path)
    assert capsys.readouterr().err == ""
    assert listing(app) == {"backgrounds": [], "organisation": {"name": "", "logoUrl": None}}


def test_a_missing_folder_is_reported_and_the_server_still_starts(models_dir, tmp_path, capsys):
    app = make_app(models_dir, tmp_path, backgrounds_dir=tmp_path / "nowhere", default_background="lobby")
    report = capsys.readouterr().err
    assert f"the backgrounds folder {tmp_path / 'nowhere'} does not exist" in report
    assert "the default background 'lobby' is not among the usable files" in report
    assert listing(app)["backgrounds"] == []
    assert app.test_client().get("/").status_code == 200


def test_an_empty_folder_is_reported(models_dir, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    app = make_app(models_dir, tmp_path, backgrounds_dir=empty)
    assert f"the backgrounds folder {empty} is empty" in capsys.readouterr().err
    assert listing(app)["backgrounds"] == []


def test_a_default_that_failed_the_check_is_not_the_default(models_dir, tmp_path, backgrounds_dir, capsys):
    app = make_app(models_dir, tmp_path, backgrounds_dir=backgrounds_dir, default_background="notes")
    assert "the default background 'notes' is not among the usable files" in capsys.readouterr().err
    assert not any(entry["default"] for entry in listing(app)["backgrounds"])


def test_two_files_with_one_stem_keep_the_first(models_dir, tmp_path, capsys):
    folder = tmp_path / "twins"
    folder.mkdir()
    (folder / "lobby.jpg").write_bytes(picture_bytes("JPEG"))
    (folder / "lobby.png").write_bytes(picture_bytes())
    app = make_app(models_dir, tmp_path, backgrounds_dir=folder)
    assert "skipped" in capsys.readouterr().err
    assert [e["url"].rsplit("/", 1)[1] for e in listing(app)["backgrounds"]] == ["lobby.jpg"]


def test_a_bad_logo_is_reported_and_left_out(models_dir, tmp_path, capsys):
    logo = tmp_path / "logo.png"
    logo.write_text("<svg/>")
    app = make_app(models_dir, tmp_path, org_name="ACME", org_logo=logo)
    assert "logo.png" in capsys.readouterr().err
    assert listing(app)["organisation"] == {"name": "ACME", "logoUrl": None}


@pytest.mark.parametrize("stem, words", [
    ("company-lobby", "Company lobby"), ("roof_garden_2", "Roof garden 2"), ("ACME HQ", "ACME HQ"), ("a..b", "A b")])
def test_names_come_from_the_file_stem(stem, words):
    assert name_in_words(stem) == words
