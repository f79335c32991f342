"""The MkDocs hook's placeholders: results enter pages from runs, never by hand."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError

from airoad_book import site
from airoad_book.results import Result, Table


@pytest.fixture
def state(tmp_path, monkeypatch):
    result = Result(
        metrics={"kn_ppl": 141.234, "nplm_ppl": 150.0},
        tables={
            "test": Table(
                ["model", "ppl"], [["KN", 141.234], ["NPLM", 150.0]], ["", ".1f"]
            )
        },
        text={"verdict": "The mixture wins."},
        experiment="demo",
        budget="quick",
        seconds=1.0,
    )
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(result.to_dict()))
    (tmp_path / "results").mkdir()
    full = {
        **result.to_dict(),
        "budget": "full",
        "seconds": 600.0,
        "provenance": {
            "command": "airoad-book run demo --budget full --record",
            "commit": "abc1234",
            "date": "2026-11-21 06:00 UTC",
            "machine": "2 CPU cores",
        },
    }
    (tmp_path / "results" / "demo-full.json").write_text(json.dumps(full))
    figures = {
        "demo-fig": {
            "light": "x.svg",
            "dark": "x-dark.svg",
            "caption": "A caption.",
            "alt": "Alt text",
            "experiment": "demo",
            "regenerated": False,
        }
    }
    monkeypatch.setattr(
        site,
        "_state",
        {
            "root": tmp_path,
            "figures": figures,
            "result_paths": {"demo": str(path)},
            "results": {},
        },
    )


def render(markdown: str, page_uri: str = "part2/06-bengio.md") -> str:
    page = SimpleNamespace(file=SimpleNamespace(src_uri=page_uri))
    return site.on_page_markdown(markdown, page, None, None)


def test_value_text_and_table_come_from_the_result(state):
    assert render("KN: {{ value demo kn_ppl .1f }}.") == "KN: 141.2."
    assert render("{{ text demo verdict }}") == "The mixture wins."
    table = render("{{ table demo test }}")
    assert "| KN | 141.2 |" in table and "| model | ppl |" in table


def test_figure_links_both_variants_relative_to_the_page(state):
    html = render("{{ figure demo-fig }}", page_uri="part2/06-bengio.md")
    assert "(../figures/demo-fig.svg#only-light)" in html
    assert "(../figures/demo-fig-dark.svg#only-dark)" in html
    assert "A caption." in html
    assert "(figures/demo-fig.svg#only-light)" in render(
        "{{ figure demo-fig }}", page_uri="index.md"
    )


def test_committed_results_show_their_provenance(state):
    assert render("{{ value demo@full kn_ppl .2f }}") == "141.23"
    note = render("{{ provenance demo@full }}")
    assert "abc1234" in note and "airoad-book run demo --budget full --record" in note


def test_placeholders_in_code_are_left_as_typed(state):
    md = "```text\n{{ figure nothing }}\n```\nand `{{ value nothing x }}` inline\n"
    assert render(md) == md


@pytest.mark.parametrize(
    ("markdown", "message"),
    [
        ("{{ value demo no_such_metric }}", "no metric 'no_such_metric'"),
        ("{{ table demo no_such_table }}", "no table"),
        ("{{ figure no-such-figure }}", "no figure"),
        ("{{ value nobody kn_ppl }}", "no results for experiment 'nobody'"),
        ("{{ value demo@huge kn_ppl }}", "airoad-book run demo --budget huge --record"),
        ("{{ chart demo }}", "unknown placeholder kind 'chart'"),
        ("{{ value demo }}", "malformed placeholder"),
    ],
)
def test_a_placeholder_naming_nothing_known_fails_the_build(state, markdown, message):
    with pytest.raises(PluginError, match=message):
        render(markdown)


def test_referenced_experiments_ignore_code(tmp_path):
    (tmp_path / "a.md").write_text(
        "{{ table one t }}\n`{{ value two m }}`\n```text\n{{ text three k }}\n```\n"
        "{{ value four@full m }}\n"
    )
    assert site.referenced_experiments(tmp_path) == {"one"}


def site_config():
    from mkdocs.config import load_config

    config = load_config(str(site.Path(__file__).resolve().parents[1] / "mkdocs.yml"))
    config.plugins._current_plugin = (
        None  # as during a build's event, which File.generated reads
    )
    return config


def test_mathjax_is_served_from_a_package_not_a_cdn():
    from mkdocs.structure.files import Files

    config, files = site_config(), Files([])
    site.add_mathjax(files, config)
    uris = {f.src_uri for f in files}
    assert "javascripts/mathjax/es5/tex-mml-chtml.js" in uris
    assert any(uri.endswith(".woff") for uri in uris)
    assert not any("://" in str(s) for s in config["extra_javascript"]), (
        "math must render offline"
    )


def test_each_lab_is_also_offered_as_an_ipynb_the_same_at_every_build(monkeypatch):
    import json

    from mkdocs.structure.files import File, Files

    from airoad_book.figures import cache
    from airoad_book.memo import DiskMemo

    monkeypatch.setattr(cache, "KEPT_IMPORTS", None)
    config = site_config()
    lab = site.Path(config["docs_dir"]) / "labs" / "06-bengio-lab.py"
    built = []
    for _ in range(2):  # two builds, with nothing kept between them
        monkeypatch.setattr(site, "_state", {})
        monkeypatch.setattr(site, "_memo", lambda _config: DiskMemo(os.devnull))
        files = Files(
            [
                File(
                    "labs/06-bengio-lab.py",
                    config["docs_dir"],
                    config["site_dir"],
                    True,
                )
            ]
        )
        site.add_lab_notebooks(files, config)
        uri = "labs/06-bengio-lab/06-bengio-lab.ipynb"
        built.append({f.src_uri: f for f in files}[uri].content_string)
    notebook = json.loads(built[0])
    assert notebook["cells"] and lab.exists()
    assert notebook["cells"][0]["id"] == "06-bengio-lab-0"
    assert built[0] == built[1]  # no random cell ids


def test_every_module_gets_an_api_page_and_a_place_in_the_nav():
    package = site.Path(__file__).resolve().parents[1] / "airoad_book"
    modules = site.api_modules(package)
    assert modules["airoad_book.models.bengio"] == "api/airoad_book/models/bengio.md"
    assert modules["airoad_book.models"] == "api/airoad_book/models/index.md"
    assert not any(name.endswith("__main__") for name in modules)
    nav = site.api_nav(modules)
    flat = repr(nav)
    assert nav[0] == "api/index.md" and all(uri in flat for uri in modules.values())
    assert "::: airoad_book.models.bengio" in site.api_page("airoad_book.models.bengio")
    assert (
        "[`airoad_book.models.bengio`](airoad_book/models/bengio.md)"
        in site.api_index(modules, package)
    )


def test_a_lab_page_math_goes_to_the_sites_own_mathjax_and_plots_get_their_alt(
    tmp_path,
):
    lab = tmp_path / "lab.py"
    lab.write_text(
        '# %% [markdown]\n# Text\n\n# %% alt="A line chart of loss against step"\nx = 1\n'
    )
    html = (
        '<script src=""> </script><script type="text/x-mathjax-config">init_mathjax()</script>'
        '<div class="jp-Notebook">'
        '<div class="jp-Cell"><div class="jp-RenderedMarkdown"><p>With $n = 5$ and $$\\ln |V|$$, '
        "not <code>$x$</code>; costs 5$.</p></div></div>"
        '<div class="jp-Cell"><div class="jp-OutputArea"><img alt="No description" src="data:,"></div></div>'
        "</div>"
    )
    page = SimpleNamespace(
        file=SimpleNamespace(src_uri="labs/lab.py", abs_src_path=str(lab))
    )
    out = site.on_page_content(html, page, None, None)
    assert '<span class="arithmatex">\\(n = 5\\)</span>' in out
    assert '<div class="arithmatex">\\[\\ln |V|\\]</div>' in out
    assert "<code>$x$</code>" in out and "costs 5$." in out
    assert "x-mathjax-config" not in out and 'src=""' not in out
    assert 'alt="A line chart of loss against step"' in out
    other = SimpleNamespace(file=SimpleNamespace(src_uri="part2/05-ngrams.md"))
    assert (
        site.on_page_content("<p>$5 and $6</p>", other, None, None)
        == "<p>$5 and $6</p>"
    )


def test_a_code_title_links_to_its_whole_file_at_the_build_commit(tmp_path):
    (tmp_path / "airoad_book" / "models").mkdir(parents=True)
    (tmp_path / "airoad_book" / "models" / "bengio.py").write_text("x = 1\n")
    html = (
        '<span class="filename">airoad_book/models/bengio.py</span>'
        '<span class="filename">airoad_book/models/missing.py</span>'
    )
    linked = site.link_code_titles(html, "https://github.com/o/r/", "abc123", tmp_path)
    url = "https://github.com/o/r/blob/abc123/airoad_book/models/bengio.py"
    assert f'<a href="{url}"' in linked
    assert '<span class="filename">airoad_book/models/missing.py</span>' in linked
    assert site.link_code_titles(html, None, "abc123", tmp_path) == html


def test_a_cpp_code_title_links_to_its_file_too(tmp_path):
    (tmp_path / "cpp").mkdir()
    (tmp_path / "cpp" / "mlp_eigen.cpp").write_text("int main() {}\n")
    html = '<span class="filename">cpp/mlp_eigen.cpp</span>'
    linked = site.link_code_titles(html, "https://github.com/o/r", "abc123", tmp_path)
    assert '<a href="https://github.com/o/r/blob/abc123/cpp/mlp_eigen.cpp"' in linked


def test_the_build_commit_is_the_checkouts_head_or_main(tmp_path):
    from pathlib import Path

    commit = site.build_commit(Path(__file__).resolve().parents[1])
    assert commit == "main" or len(commit) == 40
    assert site.build_commit(tmp_path) == "main"  # not a git checkout


def test_a_lab_page_is_kept_by_its_input_and_a_damaged_copy_is_made_again(tmp_path):
    calls = []

    def make():
        calls.append(1)
        return f"<p>page {len(calls)}</p>"

    folder = tmp_path / ".cache" / site.LAB_PAGES
    (tmp_path / ".cache").mkdir()
    first = site._kept(folder, ["<html>", "lab text"], make)
    assert site._kept(folder, ["<html>", "lab text"], make) == first
    assert len(calls) == 1  # the second build read the kept page
    assert site._kept(folder, ["<html>", "lab text, edited"], make) != first
    for kept in folder.glob("*.json"):
        kept.write_text('{"html": ')  # truncated
    again = site._kept(folder, ["<html>", "lab text"], make)
    assert again == "<p>page 3</p>" and len(calls) == 3


SIGNATURES = [
    "def xxx(a, b): pass",
    "def xxx(model: _A, batches: _B, *, evaluate: _C[[_D], _E] | None = None, "
    "desc: _F = 'train', replan: _G[[_H], _I | None] | None = None) -> _J: pass",
    "class xxx(counts: _A | _B, dim: _C, k: _D = 5): pass",
    "def xxx(self, *args: _A, **kwargs: _B) -> _C: pass",
]


@pytest.mark.parametrize("code", SIGNATURES)
def test_api_signatures_read_the_same_formatted_by_black_as_by_ruff(code):
    # at mkdocstrings' width for signatures (60, its default); all 2,917 signatures of
    # the book's API pages compared equal when Black replaced ruff here
    from mkdocstrings_handlers.python._internal import rendering

    ruff = rendering._get_ruff_formatter()
    black = site.black_formatter()
    assert black is not None and ruff is not None
    assert black(code, 60) == ruff(code, 60)
