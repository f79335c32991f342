"""The gettext bitext of `airoad_book.data.messages`: parsing, cleaning, splitting,
sizes."""

from __future__ import annotations

import pytest

from airoad_book.data.messages import (
    FIRST_SOURCES,
    Message,
    catalogue_paths,
    clean_pairs,
    clean_text,
    message_pairs,
    messages_task,
    read_catalogue,
    split_pairs,
)

PO = r"""msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"POT-Creation-Date: YEAR-MO-DA HO:MI+ZONE\n"

msgid "Delete this item"
msgstr "Supprimer cet élément"

#, fuzzy
msgid "Draft message"
msgstr "Brouillon"

msgid "Not yet translated"
msgstr ""

#. Default: "Add a \"comment\""
msgid "label_add_comment"
msgstr "Ajouter un « commentaire »"

msgid "label_without_default"
msgstr "Étiquette"

msgid "%(count)s item"
msgid_plural "%(count)s items"
msgstr[0] "%(count)s élément"
msgstr[1] "%(count)s éléments"

#~ msgid "Old message"
#~ msgstr "Ancien message"
"""


@pytest.fixture()
def catalogue(tmp_path):
    path = tmp_path / "test.po"
    path.write_text(PO, encoding="utf-8")
    return read_catalogue(path)


def test_reading_keeps_translated_entries_and_drops_fuzzy_untranslated_obsolete(
    catalogue,
):
    sources = [m.source for m in catalogue]
    assert sources == [
        "Delete this item",
        'Add a "comment"',
        "%(count)s item",
        "%(count)s items",
    ]
    assert (
        catalogue[1].target == "Ajouter un « commentaire »"
    )  # the label's Default: comment
    assert catalogue[3].target == "%(count)s éléments"  # the plural form too


def test_cleaning_removes_placeholders_and_markup_and_lower_cases():
    assert (
        clean_text("Delete ${title}  <b>now</b>, %(n)d items {0}")
        == "delete now , items"
    )
    assert clean_text("Hello&nbsp;World\u00a0!") == "hello world !"


def test_clean_pairs_drops_placeholder_only_copied_and_repeated_sources():
    messages = [
        Message("${name}", "${name}", "x"),
        Message("Plone", "Plone", "x"),
        Message("Delete", "Supprimer", "x"),
        Message("delete", "Effacer", "x"),
        Message("Remove", "Supprimer", "x"),
    ]
    assert clean_pairs(messages) == [("delete", "supprimer"), ("remove", "supprimer")]


def test_pairs_sharing_a_french_sentence_go_to_the_same_split():
    pairs = [(f"s{i}", f"t{i // 2}") for i in range(40)]  # every French sentence twice
    train, valid, test = split_pairs(pairs, 5, 6, seed=3)
    assert sorted(train + valid + test) == sorted(pairs)
    for a, b in ((train, valid), (train, test), (valid, test)):
        assert not {t for _, t in a} & {t for _, t in b}
    assert len(test) >= 6 and len(valid) >= 5


def test_split_rejects_repeated_sources_and_too_few_pairs():
    with pytest.raises(ValueError, match="repeated source"):
        split_pairs([("a", "x"), ("a", "y"), ("b", "z")], 1, 1)
    with pytest.raises(ValueError, match="held-out"):
        split_pairs([("a", "x"), ("b", "y")], 1, 1)
    with pytest.raises(ValueError, match="n_test"):
        split_pairs([("a", "x"), ("b", "y")], 1, 0)


def test_unknown_package_is_a_clear_error():
    with pytest.raises(ValueError, match="plone.app.locales"):
        catalogue_paths("numpy")


def test_the_four_packages_ship_french_catalogues():
    assert len(catalogue_paths("plone.app.locales")) >= 5
    assert len(catalogue_paths("django")) >= 10
    assert len(catalogue_paths("wagtail")) >= 10
    assert [p.name for p in catalogue_paths("sphinx")] == ["sphinx.po"]


def test_the_real_split_has_the_sizes_the_book_states_and_shares_no_sentence():
    pairs = message_pairs()
    assert len(pairs) >= 6000
    assert len({s for s, _ in pairs}) == len(pairs)
    m = messages_task("bpe")
    train, valid, test = m.texts["train"], m.texts["valid"], m.texts["test"]
    # a group of pairs sharing a French sentence may carry test a few pairs past 500
    assert len(train) >= 5000 and 500 <= len(test) < 510 and len(valid) >= 150
    for a, b in ((train, valid), (train, test), (valid, test)):
        assert not {s for s, _ in a} & {s for s, _ in b}
        assert not {t for _, t in a} & {t for _, t in b}
    assert [m.detokenize(p.target) for p in m.task.test] == [t for _, t in test]


def test_sources_choose_the_packages_and_chapters_9_10_keep_plone_and_django():
    first = message_pairs(FIRST_SOURCES)
    assert 3600 <= len(first) < len(message_pairs())
    assert message_pairs()[: len(first)] == first  # Plone and Django come first
    sphinx = {s for s, _ in message_pairs(("sphinx",))}
    assert sphinx <= {s for s, _ in message_pairs()}
    m = messages_task("bpe", sources=FIRST_SOURCES)
    assert len(m.texts["train"]) >= 3000 and len(m.texts["test"]) == 500
    for bad in ((), ("numpy",), ("django", "django")):
        with pytest.raises(ValueError, match="sources|unknown package"):
            messages_task("word", sources=bad)


def test_word_units_read_unseen_words_as_unk_and_bpe_units_almost_never():
    words, bpe = messages_task("word"), messages_task("bpe")
    unk = words.task.source_vocab.stoi["<unk>"]
    ids = [
        i
        for p in words.task.test
        for i in words.task.source_vocab.encode(p.source).tolist()
    ]
    assert 0.01 < ids.count(unk) / len(ids) < 0.2
    assert len(bpe.task.source_vocab) < len(words.task.source_vocab)
    with pytest.raises(ValueError, match="unit"):
        messages_task("chars")
