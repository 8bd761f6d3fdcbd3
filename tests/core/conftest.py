import pytest

from c11.keys import Identity


@pytest.fixture(scope="session")
def alice():
    return Identity.generate("alice@example.com")


@pytest.fixture(scope="session")
def bob():
    return Identity.generate("bob@example.com", kem="x25519")


@pytest.fixture(scope="session")
def carol():
    return Identity.generate("carol@example.com")
