"""Progress of long work: plain lines where output is a log or a pipe, one updating line on a
terminal, counts and the item running in both."""

from __future__ import annotations

import io

from diaspora.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_each_item_is_a_plain_line():
    out = io.StringIO()
    progress = Progress("factsheets", 2, stream=out)
    progress.start("TJK")
    progress.done()
    progress.start("KGZ")
    progress.done(announce=False)  # the caller prints its own line for it
    progress.finish()
    lines = out.getvalue().splitlines()
    assert [line.split(" · ")[0] for line in lines] == [
        "factsheets: 0/2",
        "factsheets: 1/2",
        "factsheets: 1/2",
    ]
    assert (
        lines[0].endswith("running TJK")
        and lines[1].endswith("done TJK")
        and lines[2].endswith("running KGZ")
    )
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_on_a_terminal_one_line_updates_in_place_and_ends_with_the_total():
    out = Terminal()
    progress = Progress("run-dags", 3, stream=out)
    for dag in ("a", "b", "c"):
        progress.start(dag)
        progress.done()
    progress.finish()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\x1b[K\n")  # one line, cleared and rewritten
    assert (
        "run-dags: 0/3" in text
        and "running b" in text
        and text.rstrip().split("\r")[-1].startswith("run-dags: 3/3")
    )


def test_without_a_total_items_are_counted_and_disabled_progress_prints_nothing():
    out = io.StringIO()
    counted = Progress("bench", None, stream=out)
    counted.start("duckdb parse")
    counted.done()
    assert out.getvalue().splitlines()[-1].startswith("bench: 1 done")
    silent = io.StringIO()
    quiet = Progress("backfill", 3, stream=silent, enabled=False)
    quiet.start("parse")
    quiet.done()
    quiet.finish()
    assert silent.getvalue() == ""
