"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, a live `c11 serve` on PostgreSQL.

The app under test is web/dist, (re)built first as `python3 dev.py` does when its sources changed. Every page
keeps the server's CSP: axe-core is evaluated through the DevTools protocol (CDP Runtime.evaluate, exempt from
CSP as DevTools are), never with `bypass_csp`. A page that logs a CSP violation or throws fails its test.
Screenshots go to a temporary folder ($C11_WEB_SHOTS if set), never into the repository.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import accountkit
import pytest
from srvkit import PASSWORD, RunningServer, run_cli, server_config, start_server

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
NARROW = {"width": 375, "height": 740}  # the smallest phone width the app must be usable at
KEY_PASSPHRASE = "a passphrase for the key"  # of the key files of `people`
NO_SAVE_PICKER = "delete window.showSaveFilePicker;"


def _ensure_built() -> None:
    """Build web/dist when its sources changed (dev.py's stamps; one xdist worker at a time)."""
    spec = importlib.util.spec_from_file_location("c11_dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    lock = ROOT / ".venv" / ".web-build.lock"
    lock.parent.mkdir(exist_ok=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        dev.ensure_npm()
    if not (WEB / "dist" / "index.html").is_file():
        pytest.fail("the web app is not built: npm is not installed (python3 dev.py setup builds web/dist)")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (it never downloads a browser of its own)."""
    if not CHROMIUM.exists():
        pytest.fail("chromium is not installed (deps/apt.txt; python3 dev.py setup installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """web/dist, built from the current sources."""
    _ensure_built()
    return WEB / "dist"


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory, pg_schemas: Any, web_dist: Path) -> Iterator[RunningServer]:
    """A live `c11 serve` app (uvicorn on loopback) on a fresh PostgreSQL schema, serving web/dist at /."""
    tmp = tmp_path_factory.mktemp("web-server")
    running = start_server(server_config(tmp / "data", pg_schemas.new()), "postgresql")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    """Where screenshots go: $C11_WEB_SHOTS, else a fresh temporary folder (outside the repository)."""
    folder = Path(os.environ.get("C11_WEB_SHOTS") or tempfile.mkdtemp(prefix="c11-web-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    assert not folder.resolve().is_relative_to(ROOT), "screenshots stay out of the repository"
    return folder


class PageProblems:
    """What a page logged that a test must not ignore: CSP violations, uncaught errors, console errors."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda e: self.items.append(f"uncaught: {e}"))
        page.on(
            "console",
            lambda m: (
                self.items.append(f"console.{m.type}: {m.text}")
                if m.type == "error" and not _expected_console_error(m.text)
                else None
            ),
        )


def _expected_console_error(text: str) -> bool:
    """The browser's own log line for an HTTP error answer the app handles (a 4xx problem is a result)."""
    return "Failed to load resource: the server responded with a status of 4" in text


@pytest.fixture
def new_page(chromium: Any, web_server: RunningServer) -> Iterator[Callable[..., Any]]:
    """A factory of pages at the live server, each in a context of its own (a person's browser); after the
    test, no page may have logged a CSP violation, an uncaught error or a console error."""
    contexts: list[Any] = []
    problems = PageProblems()

    def make(**context_options: Any) -> Any:
        context = chromium.new_context(base_url=web_server.url, accept_downloads=True, **context_options)
        # headless Chromium's "Save as" picker aborts at once: pages save through the streamed download (the
        # service worker) unless a test installs a picker (test_app_stream.py, docs/web.md "Large files")
        context.add_init_script(NO_SAVE_PICKER)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems.items, "\n".join(problems.items)


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """One page at the live server (1280x800)."""
    return new_page()


@pytest.fixture
def axe() -> Callable[[Any], list[dict[str, Any]]]:
    """Run axe-core on a page (CSP stays on: injected through CDP) and fail on serious or critical violations;
    returns every violation found."""
    source = AXE.read_text(encoding="utf-8")

    def check(page: Any) -> list[dict[str, Any]]:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            cdp = page.context.new_cdp_session(page)
            try:
                answer = cdp.send("Runtime.evaluate", {"expression": source})
            finally:
                cdp.detach()
            assert "exceptionDetails" not in answer, answer
        found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
            .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                   nodes: v.nodes.map(n => n.target.join(' '))}))""")
        bad = [v for v in found if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe-core: {bad}"
        return found

    return check


@pytest.fixture
def screenshot(shots_dir: Path, request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """Save a full-page screenshot named after the test and `name`; returns its path (to look at)."""

    def shoot(page: Any, name: str) -> Path:
        path = shots_dir / f"{request.node.name}-{name}.png".replace("/", "_")
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot


@pytest.fixture
def narrow(screenshot: Callable[[Any, str], Path]) -> Callable[[Any, str], Path]:
    """Check the page at 375 px: nothing wider than the screen (no sideways scrolling); screenshot it."""

    def check(page: Any, name: str) -> Path:
        before = page.viewport_size
        page.set_viewport_size(NARROW)
        try:
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= NARROW["width"], f"{name}: {width} px wide at {NARROW['width']} px"
            return screenshot(page, f"{name}-375")
        finally:
            if before:
                page.set_viewport_size(before)

    return check


class Person:
    """A verified account whose CLI login made and published a key (its config dir holds the key file)."""

    def __init__(self, server: RunningServer, tag: str, root: Path) -> None:
        self.email = accountkit.signup(server, tag).email
        self.cfg = root / tag
        self.env = {"C11_PASSWORD": PASSWORD, "C11_PASSPHRASE": KEY_PASSPHRASE}
        r = self.cli("login", "--server", server.url, "--email", self.email)
        assert r.returncode == 0, r.stderr
        keys = sorted((self.cfg / "keys").glob("*.key"))
        assert len(keys) == 1, keys
        self.key = keys[0]

    def cli(self, *args: str, input: str | None = None) -> Any:
        return run_cli(list(args), self.cfg, self.env, input=input)


@pytest.fixture(scope="module")
def people(web_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Person]:
    """alice, bob and mallory, each registered with a published key (per test module)."""
    root = tmp_path_factory.mktemp("people")
    return {tag: Person(web_server, tag, root) for tag in ("alice", "bob", "mallory")}


@pytest.fixture
def log_in() -> Callable[[Any, str], None]:
    """Log a page in through the app's login page (the `people` and accountkit password)."""

    def login(page: Any, email: str) -> None:
        page.goto("/login")
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_text(f"Logged in as {email}").or_(page.get_by_role("alert")).wait_for(timeout=30_000)
        assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()

    return login
