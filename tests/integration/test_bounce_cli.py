"""`mailgate bounce classify` over the real corpus, scored against Sisimai's labels
the way issue 6's "done means" states it: recipients, statuses (where the label
is not a pseudo status) and hard/soft."""
import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import REPO, run

# The corpus lives beside the repository (../shared/corpus), not in it; a clone
# elsewhere names it with MAILGATE_CORPUS.
CORPUS = Path(os.environ.get("MAILGATE_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.mark.skipif(not (CORPUS / "bounces").is_dir(), reason=f"no bounce corpus at {CORPUS} (set MAILGATE_CORPUS)")
def test_classify_agrees_with_the_reference_labels():
    files = sorted((CORPUS / "bounces").glob("*.eml"))
    assert len(files) >= 300
    result = run("bounce", "classify", *map(str, files), timeout=300)
    assert result.returncode == 0, result.stderr
    ours = defaultdict(dict)
    for line in result.stdout.splitlines():
        row = json.loads(line)
        assert list(row) == ["file", "is_bounce", "recipient", "status", "action", "kind", "reason", "diagnostic"]
        name = row["file"].rsplit("/", 1)[-1]
        if row["recipient"]:
            ours[name][row["recipient"].lower()] = row
        else:
            ours.setdefault(name, {})
    assert {f.name for f in files} == set(ours)

    found = statuses = status_total = kinds = kind_total = labels = 0
    for line in (CORPUS / "bounces-labels.jsonl").read_text().splitlines():
        label = json.loads(line)
        if not label["recipient"]:
            continue
        labels += 1
        mine = ours.get(label["file"], {}).get(label["recipient"].lower())
        if mine is None:
            continue
        found += 1
        if label["status"] and not label["status_pseudo"]:
            status_total += 1
            statuses += mine["status"] == label["status"]
        if label["kind"] in ("hard", "soft"):
            kind_total += 1
            kinds += mine["kind"] == label["kind"]
    print(f"recipients {found}/{labels}, statuses {statuses}/{status_total}, hard/soft {kinds}/{kind_total}")
    assert found / labels >= 0.95
    assert statuses / status_total >= 0.90
    assert kinds / kind_total >= 0.90
