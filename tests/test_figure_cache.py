"""The figure cache: a clean build draws everything, a warm build nothing, and an edit
to one model file redraws exactly the figures whose experiments import it."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import pytest

from airoad_book.experiments import EXPERIMENTS
from airoad_book.figures import build as fb
from airoad_book.figures import cache, registry
from airoad_book.figures.registry import FigureSpec
from airoad_book.results import Result, Table


def fake_run(name: str) -> Result:
    return Result(
        metrics={"x": 1.0},
        tables={"t": Table(["a"], [[1]])},
        experiment=name,
        budget="quick",
    )


class Recorder:
    """Stands in for drawing: records which figures a build draws and writes their
    files."""

    def __init__(self):
        self.drawn: list[str] = []

    def __call__(self, item: fb.Planned, store: fb.ResultStore) -> None:
        store.get(item.spec.experiment)
        self.drawn.append(item.spec.name)
        for path in (item.light, item.dark):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                f'<svg xmlns="http://www.w3.org/2000/svg"><title>{item.spec.name}</title></svg>'
            )


def build_once(tmp_path, sources, runs=None):
    recorder = Recorder()

    def run(name):
        if runs is not None:
            runs.append(name)
        return fake_run(name)

    manifest = fb.build(
        tmp_path, sorted(EXPERIMENTS)[:1], sources=sources, run=run, draw=recorder
    )
    return recorder.drawn, manifest


def edited(sources: dict[str, str], module: str) -> dict[str, str]:
    return {**sources, module: sources[module] + "\n# an edit\n"}


def importers(module: str, sources) -> set[str]:
    """The figures whose drawing or experiment code imports `module`, directly or
    not."""
    specs = registry()
    return {
        name
        for name, spec in specs.items()
        if module in cache.closure([spec.module, EXPERIMENTS[spec.experiment]], sources)
    }


def test_clean_build_draws_every_figure_and_warm_build_none(tmp_path):
    sources = cache.read_sources()
    runs: list[str] = []
    drawn, manifest = build_once(tmp_path, sources, runs)
    assert sorted(drawn) == sorted(registry()) and drawn, (
        "a clean build must draw every figure"
    )
    assert all(fig["regenerated"] for fig in manifest["figures"].values())
    ran = len(runs)
    drawn, manifest = build_once(tmp_path, sources, runs)
    assert drawn == [], "a warm build must draw nothing"
    assert not any(fig["regenerated"] for fig in manifest["figures"].values())
    assert len(runs) == ran, "a warm build must not rerun experiments"


@pytest.mark.parametrize(
    "model", ["airoad_book.models.bengio", "airoad_book.models.ngram"]
)
def test_editing_one_model_file_redraws_only_the_figures_that_depend_on_it(
    tmp_path, model
):
    sources = cache.read_sources()
    build_once(tmp_path, sources)
    expected = importers(model, sources)
    assert expected, f"no figure depends on {model}; the test would prove nothing"
    drawn, _ = build_once(tmp_path, edited(sources, model))
    assert sorted(drawn) == sorted(expected)


def test_an_edit_to_the_bengio_model_leaves_chapter_5_figures_alone(tmp_path):
    sources = cache.read_sources()
    build_once(tmp_path, sources)
    drawn, _ = build_once(tmp_path, edited(sources, "airoad_book.models.bengio"))
    chapter5 = {
        name for name, spec in registry().items() if spec.module.endswith("ch05")
    }
    assert chapter5 and not (set(drawn) & chapter5)


def test_adding_an_experiment_to_the_registry_invalidates_nothing(tmp_path):
    sources = cache.read_sources()
    build_once(tmp_path, sources)
    drawn, _ = build_once(tmp_path, edited(sources, "airoad_book.experiments"))
    assert drawn == []


def test_old_cache_files_are_pruned(tmp_path):
    sources = cache.read_sources()
    build_once(tmp_path, sources)
    before = len(list((tmp_path / "figures").iterdir()))
    build_once(tmp_path, edited(sources, "airoad_book.models.ngram"))
    assert len(list((tmp_path / "figures").iterdir())) == before


def test_imports_are_found_relative_absolute_and_lazy():
    sources = {
        "pkg": "",
        "pkg.a": "from . import b\nfrom .c import thing\n",
        "pkg.b": "def f():\n    import pkg.d\n",
        "pkg.c": "thing = 1\n",
        "pkg.d": "from pkg import e\n",
        "pkg.e": "",
        "pkg.unused": "",
    }
    assert cache.closure(["pkg.a"], sources) == {
        "pkg.a",
        "pkg.b",
        "pkg.c",
        "pkg.d",
        "pkg.e",
    }


def test_a_package_init_counts_only_when_a_name_is_taken_from_it():
    sources = {
        "pkg": "REGISTRY = {}\n",
        "pkg.sub": "",
        "pkg.user": "from pkg import sub\n",
        "pkg.reader": "from pkg import REGISTRY, sub\n",
    }
    assert cache.closure(["pkg.user"], sources) == {"pkg.user", "pkg.sub"}
    assert cache.closure(["pkg.reader"], sources) == {"pkg.reader", "pkg.sub", "pkg"}


def test_render_gives_distinct_light_and_dark_svgs():
    def draw(result):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [result.metrics["x"], 2.0], label="a line")
        ax.legend()
        return fig

    spec = FigureSpec("demo", "x", "caption", "alt", draw, __name__)
    light, dark = (
        fb.render(spec, fake_run("x"), "light"),
        fb.render(spec, fake_run("x"), "dark"),
    )
    assert light.startswith(b"<?xml") and dark.startswith(b"<?xml") and light != dark
    assert light == fb.render(spec, fake_run("x"), "light"), (
        "the same figure must give the same bytes"
    )


def test_results_cache_round_trips(tmp_path):
    store = fb.ResultStore(tmp_path, cache.read_sources(), run=fake_run)
    name = next(iter(EXPERIMENTS))
    first = store.get(name)
    again = fb.ResultStore(
        tmp_path, cache.read_sources(), run=lambda n: pytest.fail("ran twice")
    ).get(name)
    assert again.to_dict() == first.to_dict()
    assert json.loads(store.path(name).read_text())["metrics"] == {"x": 1.0}


def test_imports_kept_on_disk_are_read_back_and_an_edit_is_parsed_again(
    tmp_path, monkeypatch
):
    from airoad_book.memo import DiskMemo

    sources = {
        "pkg": "",
        "pkg.a": "from pkg import b\nREADS = ('data/x.txt',)\n",
        "pkg.b": "x = 1\n",
    }
    monkeypatch.setattr(cache, "_IMPORTS", {})
    monkeypatch.setattr(cache, "KEPT_IMPORTS", DiskMemo(tmp_path / "memo.json"))
    assert cache.imports_of("pkg.a", sources) == {"pkg.b"}
    assert cache.reads_of("pkg.a", sources) == ("data/x.txt",)
    cache.KEPT_IMPORTS.save()

    def no_parsing(*args):
        raise AssertionError("parsed again")

    monkeypatch.setattr(cache, "_IMPORTS", {})  # a new process, the same file
    monkeypatch.setattr(cache, "KEPT_IMPORTS", DiskMemo(tmp_path / "memo.json"))
    monkeypatch.setattr(cache, "_parse_imports", no_parsing)
    assert cache.imports_of("pkg.a", sources) == {"pkg.b"}
    assert cache.reads_of("pkg.a", sources) == ("data/x.txt",)
    edited = {**sources, "pkg.a": "import pkg.b\n"}
    with pytest.raises(AssertionError, match="parsed again"):
        cache.imports_of("pkg.a", edited)
