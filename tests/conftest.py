"""Shared fixtures: the real data folder (`--shared`, default ../shared/data)."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--shared", default=str(ROOT.parent / "shared" / "data"),
                     help="folder with the real data (../shared/data)")


@pytest.fixture(scope="session")
def shared(request) -> Path:
    path = Path(request.config.getoption("--shared")).resolve()
    if not path.is_dir():
        pytest.fail(f"real data folder {path} not found; pass --shared PATH")
    return path
