import pytest
import torch

# CI machines have 2 cores; one thread per test process avoids oversubscription.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def openhead_cache(tmp_path_factory):
    """A private cache folder so tests build OpenHead from scratch, never reusing a user's."""
    path = tmp_path_factory.mktemp("stylemm-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STYLEMM_CACHE", str(path))
        yield path


@pytest.fixture(scope="session")
def openhead(openhead_cache):
    from stylemm.facemodel import load

    return load("openhead")
