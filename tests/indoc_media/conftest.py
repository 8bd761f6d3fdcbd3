"""Fixtures for the PDF, image and structured-text handlers: identities and a corpus of inputs."""

from __future__ import annotations

import pytest
from media_corpus import handmade_pdf, libreoffice_pdf, objstreams_pdf, reportlab_pdf

from c11.keys import Identity


@pytest.fixture(scope="session")
def alice():
    return Identity.generate("alice@example.com")  # post-quantum hybrid, the default


@pytest.fixture(scope="session")
def bob():
    return Identity.generate("bob@example.com", kem="x25519")


@pytest.fixture(scope="session")
def carol():
    return Identity.generate("carol@example.com", kem="x25519")


@pytest.fixture(scope="session")
def mallory():
    return Identity.generate("mallory@example.com", kem="x25519")


@pytest.fixture(scope="session")
def pdf_corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pdf")
    corpus = {"reportlab": reportlab_pdf(), "handmade": handmade_pdf()}
    corpus["objstreams"] = objstreams_pdf(corpus["reportlab"])
    lo = libreoffice_pdf(tmp)
    if lo:
        corpus["libreoffice"] = lo
    return corpus
