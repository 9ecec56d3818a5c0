import pytest

import rods_envs


@pytest.fixture(scope="session")
def suite():
    return rods_envs.load_suite("rods-v1")
