"""Where the labelled corpora are: `shared/corpus/<name>` beside the checkout.

The main checkout sits at /work/main and the corpora at /work/shared/corpus; a helper's
worktree sits one level deeper (/work/wt/<name>), so the nearest ancestor holding
`shared/corpus` is used. NEWSFLOW_CORPUS (the folder holding dev/, dev2/ ...) overrides.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def corpus(name: str) -> Path:
    """The corpus folder `name` (dev, dev2); it may not exist (callers skip then)."""
    if os.environ.get("NEWSFLOW_CORPUS"):
        return Path(os.environ["NEWSFLOW_CORPUS"]) / name
    for parent in ROOT.parents:
        if (parent / "shared" / "corpus" / name).is_dir():
            return parent / "shared" / "corpus" / name
    return ROOT.parent / "shared" / "corpus" / name
