"""RFC 9457 problem details of the server: the shared implementation in `c11._web.problems`, named here.

Routes raise `Problem`; `install(app)` (in `c11.server.app`) answers every error as a problem.
"""

from __future__ import annotations

from c11._web.problems import (
    PROBLEM_JSON,
    Problem,
    ProblemDocument,
    base64_field,
    install,
    not_found,
    problem_response,
    responses,
    unauthorized,
)

__all__ = [
    "PROBLEM_JSON",
    "Problem",
    "ProblemDocument",
    "base64_field",
    "install",
    "not_found",
    "problem_response",
    "responses",
    "unauthorized",
]
