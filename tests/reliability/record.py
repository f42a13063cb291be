#!/usr/bin/python3
"""record.py - the reliability record (docs/reliability.md) and the tests
that produce it.

  record.py check RESULTS_DIR DOC [KIND]
                                    fail unless DOC's table holds, verbatim,
                                    every row the tests wrote to RESULTS_DIR
                                    in this run, and no row for a test that
                                    does not exist; with KIND (fuzz or
                                    integration) only that kind's rows, those
                                    of the tests the check runs after (rows
                                    the other kind left from an older build
                                    are not this check's business)
  record.py write RESULTS_DIR DOC   rewrite DOC's table from RESULTS_DIR
                                    (run the whole suite first)

A row is (fault or bad input, how it was tried, outcome, test id). Each test
writes its rows only once its assertions passed (test_reliability.py
RelCase.record, run_fuzz.sh), so the table says only what the tests do.
"""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN, END = "<!-- record:begin -->", "<!-- record:end -->"
HEAD = ["| fault or bad input | tried | outcome | test |", "|---|---|---|---|"]


def known_ids():
    """Test ids that exist: record() calls in the driver, fuzz targets."""
    with open(os.path.join(HERE, "test_reliability.py")) as f:
        ids = re.findall(r'self\.record\(\s*"(\w+)"', f.read())
    with open(os.path.join(HERE, "run_fuzz.sh")) as f:
        ids += re.findall(r'"(fuzz_\w+)":', f.read())
    return ids


def load_results(results):
    rows, figures = {}, {}
    for path in sorted(glob.glob(os.path.join(results, "*.json"))):
        # Writers replace their file whole (os.replace), but a test that
        # starts again removes its old one first: one gone between the
        # glob and the open is a row not produced in this run, not an error.
        try:
            with open(path) as f:
                data = json.load(f)
        except FileNotFoundError:
            continue
        for r in data["rows"]:
            if r["id"] in rows:
                sys.exit("record.py: row %s written twice" % r["id"])
            rows[r["id"]] = r
        figures.update(data.get("figures", {}))
    return rows, figures


def line(r):
    cells = [r["fault"], r["tried"], r["outcome"], "`%s`" % r["id"]]
    for c in cells:
        if "|" in c or "\n" in c:
            sys.exit("record.py: row %s has a '|' or a newline" % r["id"])
    return "| " + " | ".join(cells) + " |"


def split_doc(doc):
    with open(doc) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        sys.exit("record.py: %s has no %s ... %s table" % (doc, BEGIN, END))
    head, rest = text.split(BEGIN, 1)
    table, tail = rest.split(END, 1)
    return head, table, tail


def doc_rows(table):
    rows = {}
    for l in table.strip().splitlines():
        if l in HEAD:
            continue
        m = re.search(r"\| `(\w+)` \|$", l)
        if not m:
            sys.exit("record.py: not a record row: %r" % l)
        if m.group(1) in rows:
            sys.exit("record.py: row %s appears twice" % m.group(1))
        rows[m.group(1)] = l
    return rows


def kind_of(id_):
    return "fuzz" if id_.startswith("fuzz_") else "integration"


def check(results, doc, kind=None):
    produced, figures = load_results(results)
    if kind:
        produced = {i: r for i, r in produced.items() if kind_of(i) == kind}
        figures = {n: f for n, f in figures.items() if kind_of(n) == kind}
    _, table, _ = split_doc(doc)
    committed = doc_rows(table)
    known = known_ids()
    bad = []
    for id_, r in produced.items():
        if committed.get(id_) != line(r):
            bad.append("row %s: the tests say\n  %s\nthe record says\n  %s"
                       % (id_, line(r), committed.get(id_, "(nothing)")))
    for id_ in committed:
        if id_ not in known:
            bad.append("row %s: no test produces it" % id_)
    for name, fig in sorted(figures.items()):
        print("%s: %s" % (name, ", ".join("%s %s" % kv for kv in sorted(fig.items()))))
    if bad:
        print("docs/reliability.md is not what the tests did (tests/reliability/record.py "
              "write RESULTS_DIR DOC regenerates it after a full run):\n" + "\n".join(bad))
        return 1
    print("record: %d rows checked against this run, %d in the table"
          % (len(produced), len(committed)))
    return 0


def write(results, doc):
    produced, _ = load_results(results)
    order = known_ids()
    missing = [i for i in order if i not in produced]
    if missing:
        sys.exit("record.py: no result for %s: run the whole suite first" % ", ".join(missing))
    head, _, tail = split_doc(doc)
    body = "\n".join(HEAD + [line(produced[i]) for i in order])
    with open(doc, "w") as f:
        f.write(head + BEGIN + "\n" + body + "\n" + END + tail)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["check"] and len(sys.argv) in (4, 5) and \
            sys.argv[4:] in ([], ["fuzz"], ["integration"]):
        sys.exit(check(*sys.argv[2:]))
    if sys.argv[1:2] == ["write"] and len(sys.argv) == 4:
        sys.exit(write(sys.argv[2], sys.argv[3]))
    sys.exit(__doc__)
