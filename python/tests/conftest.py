import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))


@pytest.fixture
def shared():
    return SHARED


@pytest.fixture
def tracks():
    return SHARED / "tracks"
