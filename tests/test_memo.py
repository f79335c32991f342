"""Values kept on disk between builds (`airoad_book.memo`): computed once, read back in a
fresh memo, missed when an input changes, pruned when unused, and a file that does not
read back whole counts as empty."""

from __future__ import annotations

import json

from airoad_book.memo import DiskMemo


def counting():
    calls = []

    def make(value):
        def compute():
            calls.append(value)
            return value

        return compute

    return calls, make


def test_a_value_is_computed_once_and_read_back_by_a_fresh_memo(tmp_path):
    calls, make = counting()
    memo = DiskMemo(tmp_path / "memo.json")
    assert memo.get(["a", "1"], make([1, 2])) == [1, 2]
    assert memo.get(["a", "1"], make("again")) == [1, 2]
    memo.save()
    assert DiskMemo(tmp_path / "memo.json").get(["a", "1"], make("again")) == [1, 2]
    assert calls == [[1, 2]]


def test_a_changed_input_misses_and_unused_values_are_pruned(tmp_path):
    calls, make = counting()
    path = tmp_path / "memo.json"
    first = DiskMemo(path)
    first.get(["source", "x = 1"], make("one"))
    first.get(["other", "y"], make("other"))
    first.save()
    second = DiskMemo(path)
    assert second.get(["source", "x = 2"], make("two")) == "two"
    second.save()
    assert len(json.loads(path.read_text())) == 1  # only what the build used
    assert calls == ["one", "other", "two"]
    # inputs are kept apart: ["ab", "c"] is not ["a", "bc"]
    assert (
        second.get(["ab", "c"], make(1)) == 1 and second.get(["a", "bc"], make(2)) == 2
    )


def test_a_file_that_does_not_read_back_whole_counts_as_empty(tmp_path):
    calls, make = counting()
    path = tmp_path / "memo.json"
    memo = DiskMemo(path)
    memo.get(["k"], make("v"))
    memo.save()
    path.write_text(path.read_text()[:-5])  # a build killed mid-write (or worse)
    assert DiskMemo(path).get(["k"], make("v")) == "v"
    path.write_text("[1, 2]")  # JSON, but not a memo
    assert DiskMemo(path).get(["k"], make("v")) == "v"
    assert calls == ["v", "v", "v"]


def test_nothing_is_written_when_nothing_changed(tmp_path):
    path = tmp_path / "memo.json"
    memo = DiskMemo(path)
    memo.get(["k"], lambda: 1)
    memo.save()
    stamp = path.stat().st_mtime_ns
    again = DiskMemo(path)
    again.get(["k"], lambda: 2)
    again.save()
    assert path.stat().st_mtime_ns == stamp
