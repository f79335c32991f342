"""The search index's entries kept between builds (`airoad_book.search_cache`)."""

from __future__ import annotations

from types import SimpleNamespace

import material.plugins.search.plugin as search_plugin
import pytest

from airoad_book import search_cache

HTML = (
    '<h1 id="five">Five</h1><p>Perplexity of the n-gram models.</p>'
    '<h2 id="counts">Counts</h2><p>Every k-gram, counted once.</p>'
)


def _page(content: str) -> SimpleNamespace:
    toc = [SimpleNamespace(id="counts", url="#counts", title="Counts", children=[])]
    return SimpleNamespace(
        content=content, url="part2/05-ngrams/", title="Five", toc=toc, meta={}
    )


def _entries(page) -> list:
    index = search_plugin.SearchIndex()
    index.add_entry_from_context(page)
    return index.entries


class _NoParsing:
    def __init__(self, *args, **kwargs):
        raise AssertionError("the page was parsed again")


def test_kept_entries_are_the_plugins_own_and_an_edit_is_read_again(
    tmp_path, monkeypatch
):
    cls = search_plugin.SearchIndex
    method = cls.add_entry_from_context
    monkeypatch.setattr(
        cls, "add_entry_from_context", getattr(method, "airoad_original", method)
    )
    expected = _entries(_page(HTML))  # the plugin alone
    assert len(expected) == 2  # the page and its one section
    path = tmp_path / search_cache.FILE
    assert search_cache.install(path)
    assert _entries(_page(HTML)) == expected  # read, then kept
    search_cache.save()

    assert search_cache.install(path)  # the next build
    with monkeypatch.context() as m:
        m.setattr(search_plugin, "Parser", _NoParsing)
        assert _entries(_page(HTML)) == expected  # from the kept file, not parsed
        with pytest.raises(AssertionError, match="parsed again"):
            _entries(_page(HTML.replace("once", "twice")))  # an edit is read
    edited = _entries(_page(HTML.replace("once", "twice")))
    assert "twice" in edited[-1]["text"]

    path.write_text('{"material": ')  # damaged: every page is read again
    assert search_cache.install(path)
    assert _entries(_page(HTML)) == expected


def test_a_page_with_nothing_to_rewrite_is_indexed_the_same_and_left_as_it_is(
    tmp_path,
):
    from mkdocs.config import load_config

    (tmp_path / "docs").mkdir()
    material = tmp_path / "material.yml"
    material.write_text("site_name: x\ntheme: material\n")
    config = load_config(config_file=str(material))
    config.plugins.on_startup(command="build", dirty=False)
    search = config.plugins["material/search"]
    search.on_config(config)
    marked = '<p data-search-exclude="true">hidden</p>' + HTML

    def run(content):
        search.search_index = search_plugin.SearchIndex()
        page = _page(content)
        config.plugins.on_page_context({}, page=page, config=config, nav=None)
        return page.content, search.search_index.entries

    before = [run(HTML), run(marked)]  # the plugin alone
    assert before[1][0] == "<p>hidden</p>" + HTML  # the plugin strips the attribute
    assert search_cache.skip_needless_rewrite(config.plugins)
    assert [run(HTML), run(marked)] == before
    assert not search_cache.skip_needless_rewrite(SimpleNamespace(get=lambda _: None))
    plain = tmp_path / "plain.yml"  # MkDocs' own theme and search plugin
    plain.write_text("site_name: x\n")
    mkdocs_own = load_config(config_file=str(plain))
    assert not search_cache.skip_needless_rewrite(mkdocs_own.plugins)
