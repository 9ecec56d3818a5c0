import pytest

import rods_envs


@pytest.fixture(scope="session")
def suite():
    return rods_envs.load_suite("rods-v1")


@pytest.fixture(scope="module")
def one_torch_thread():
    """Torch on one thread for a test module: on two busy cores, two threads made the tiny
    model's training and token-by-token decoding several times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
