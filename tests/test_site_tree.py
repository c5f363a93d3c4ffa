"""A static-site export (one folder per article, repeated file names) builds, rebuilds and serves whole."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from askoleus.api.app import create_app
from askoleus.config import Settings
from askoleus.index import load_current
from askoleus.pipeline import build_index
from conftest import FIXTURES, FakeEmbedder

SITE_IDS = ["a-post", "distutils/extending", "faq/extending", "other"]


def site_settings(tmp_path: Path) -> Settings:
    shutil.copytree(FIXTURES / "site", tmp_path / "site")
    return Settings(corpus_dir=tmp_path / "site", index_dir=tmp_path / "index", reload_poll_seconds=0)


def test_every_page_of_a_folder_per_article_export_is_indexed(tmp_path: Path) -> None:
    settings = site_settings(tmp_path)
    report = build_index(settings, FakeEmbedder())
    assert (report.articles, report.skipped) == (4, [])
    assert sorted(load_current(settings.index_dir, FakeEmbedder.name, FakeEmbedder.dim).articles) == SITE_IDS


def test_a_rebuild_of_an_unchanged_export_embeds_nothing(tmp_path: Path) -> None:
    settings = site_settings(tmp_path)
    build_index(settings, FakeEmbedder())
    (settings.corpus_dir / "faq" / "extending.html").touch()
    again = FakeEmbedder()
    report = build_index(settings, again)
    assert (report.unchanged, report.embedded, again.calls) == (True, 0, 0)


def test_article_pages_serve_path_like_ids(tmp_path: Path) -> None:
    settings = site_settings(tmp_path)
    build_index(settings, FakeEmbedder())
    app = create_app(settings.model_copy(update={"db_path": tmp_path / "q.sqlite3"}), embedder=FakeEmbedder())
    with TestClient(app) as client:
        page = client.get("/articles/faq/extending")
        assert page.status_code == 200
        assert "How fast can I increase my mileage?" in page.text
        assert "Fuelling longer runs" in client.get("/articles/distutils/extending").text
        assert client.get("/articles/faq/nope").status_code == 404
