"""The web console in a real headless Chromium against a started stack with a scripted model.

One stack (auth, rag, an agent whose model is tests/support/scripted_llm.py, a gateway process) and
one browser page for the module; the tests run in order, as one user would: register, upload,
ask, run the agent (and reload mid-run), API keys, sign out; then an admin changes that user's
role and finds it in the audit log. Every request leaving 127.0.0.1 is blocked and recorded.
Screenshots of each page go to var/screenshots/ (CI artefacts, not committed).
"""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest

from core.settings import CommonSettings
from core.tokens import TokenCodec
from tests.support.accounts import PASSPHRASE, create_admin
from tests.support.browser import local_page
from tests.support.gateway import GatewayProcess
from tests.support.samples import docx, pdf
from tests.support.scripted_llm import Text, ToolCalls
from tests.support.stack import ROOT, Isolation, ServiceProcess, stop_all

pytestmark = pytest.mark.browser

SHOTS = ROOT / "var" / "screenshots"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
expect = sync_api.expect

USER = f"ada-{uuid.uuid4().hex[:6]}"
PASSWORD = "a long console passphrase"
ADMIN = f"root-{uuid.uuid4().hex[:6]}"
PIECES = [f"word{i} " for i in range(24)]  # streamed 0.25 s apart: about 6 s, time to reload mid-run


@pytest.fixture(scope="module")
def console_stack(tmp_path_factory, llm):
    isolation = Isolation(data_dir=tmp_path_factory.mktemp("console")).create()
    short = dict(AGENTHUB_ACCESS_TOKEN_TTL="30")  # the shortest allowed: the console must rotate it
    agent_env = dict(
        AGENTHUB_LLM_BACKEND="openai",
        AGENTHUB_LLM_BASE_URL=llm.base_url,
        AGENTHUB_LLM_MODEL="scripted",
        AGENTHUB_LLM_TIMEOUT="10",
        AGENTHUB_AGENT_MAX_STEPS="4",
        AGENTHUB_AGENT_RUN_TIMEOUT="60",
        AGENTHUB_AGENT_TOOL_TIMEOUT="10",
    )
    processes = [
        ServiceProcess(isolation, "services.auth.service", "auth", **short),
        ServiceProcess(isolation, "services.rag.service", "rag", **short),  # no model: extractive answers
        ServiceProcess(isolation, "services.agent.service", "agent", **agent_env, **short),
    ]
    gateway = None
    try:
        for process in processes:
            process.wait_until_consuming(timeout=240)
        create_admin(isolation, ADMIN)
        gateway = GatewayProcess(isolation, **short).wait_ready(timeout=240)
        yield gateway
    finally:
        if gateway is not None:
            gateway.stop()
        stop_all(processes)
        isolation.destroy()


@pytest.fixture(scope="module")
def page(console_stack):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with local_page(viewport={"width": 1100, "height": 800}) as page:
        page.base = console_stack.url
        yield page
        assert page.outside == [], f"requests left the machine: {page.outside}"


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"console-{name}.png"))


def go(page, where: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=where).click()
    expect(page.get_by_role("heading", level=1, name=where)).to_be_visible()


def sign_in(page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_register_and_sign_in(page):
    page.goto(page.base + "/")
    expect(page.get_by_role("heading", name="Sign in to AgentHub")).to_be_visible()
    timing = page.evaluate("""() => ({
        rendered_ms: window.__consoleRendered,
        first_contentful_paint_ms: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
        dom_content_loaded_ms: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd })""")
    (SHOTS / "console-timing.json").write_text(json.dumps(timing, indent=2))
    shot(page, "sign-in")
    page.get_by_role("button", name="Register").click()
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("alert")).to_contain_text("Check your input")  # BAD_USER_INPUT, by field
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_label("Signed in as")).to_contain_text(USER)


def test_upload_a_docx_and_a_pdf_and_watch_both_reach_done(page, tmp_path):
    go(page, "Documents")
    files = {
        "tides.docx": docx("The lunar tide at Port Vell rises twice a day, about 40 centimetres."),
        "orchards.pdf": pdf("The orchards of Vallmoll grow apricots that ripen in late June."),
        "program.exe": bytes(range(256)) * 4,
    }  # not a document: refused, with its reason
    paths = []
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        paths.append(tmp_path / name)
    page.get_by_label("Choose files to upload").set_input_files(paths)
    for name in ("tides.docx", "orchards.pdf"):
        expect(page.locator(f'.uploads li[data-file="{name}"]')).to_have_attribute(
            "data-phase", "DONE", timeout=120_000
        )
        expect(page.get_by_label(f"{name} progress")).to_have_attribute("value", "1")
    refused = page.locator('.uploads li[data-file="program.exe"]')
    expect(refused).to_have_attribute("data-phase", "refused")
    expect(refused.locator(".detail")).to_contain_text("not text")  # with its reason
    expect(page.locator('tr[data-document="tides.docx"]')).to_contain_text("READY")
    expect(page.locator('tr[data-document="orchards.pdf"]')).to_contain_text("READY")
    shot(page, "documents")


def test_ask_and_open_a_citation(page):
    go(page, "Ask")
    page.get_by_label("Question").fill("When do the apricots of Vallmoll ripen?")
    page.get_by_role("button", name="Ask").click()
    answer = page.get_by_role("article", name="Answer")
    expect(answer.locator(".badge")).to_have_attribute("data-mode", "EXTRACTIVE")
    expect(answer.get_by_role("list", name="Citations")).to_contain_text("orchards.pdf")
    answer.get_by_role("link", name="citation 1").first.click()
    assert page.evaluate("document.activeElement.id") == "ask-cite-1"
    shot(page, "ask")


def test_agent_streams_shows_a_tool_step_and_resumes_after_a_reload(page, llm):
    marker = f"apricot-{uuid.uuid4().hex[:6]}"
    llm.script(marker, [ToolCalls([("search_documents", {"query": "apricots Vallmoll"})]), Text(PIECES, delay=0.25)])
    go(page, "Agent")
    page.get_by_label("Message to the agent").fill(f"When do apricots ripen? {marker}")
    page.get_by_role("button", name="Send").click()
    run = page.get_by_role("article", name="Current run")
    expect(run.locator('.steps li[data-tool="search_documents"]')).not_to_contain_text("running…")
    answer = run.get_by_test_id("answer")
    expect(answer).to_contain_text("word3")  # tokens arrive while the run goes on
    assert run.get_attribute("data-status") == "RUNNING"
    before = answer.inner_text()
    assert "word23" not in before
    shot(page, "agent")
    page.reload()
    run = page.get_by_role("article", name="Current run")
    expect(run).to_have_attribute("data-status", "FINISHED", timeout=60_000)
    text = run.get_by_test_id("answer").locator(".answer").inner_text()
    assert text.strip() == "".join(PIECES).strip()  # nothing lost, nothing twice
    expect(run.locator('.steps li[data-tool="search_documents"]')).to_be_visible()


def test_a_dropped_socket_mid_run_follows_the_same_run(page, llm):
    """graphql-ws would subscribe agentRun again after a reconnect, starting a second run: the
    console instead follows the run it has with agentRunEvents after the last seq."""
    marker = f"drop-{uuid.uuid4().hex[:6]}"
    llm.script(marker, [Text(PIECES, delay=0.25)])
    sockets = []

    def through(route):  # every new socket passes through this page-side proxy
        sockets.append((route, route.connect_to_server()))

    page.route_web_socket("**/graphql", through)  # stays: it only passes messages on
    go(page, "Agent")
    page.get_by_role("button", name="New conversation").click()
    page.get_by_label("Message to the agent").fill(f"Tell me about orchards {marker}")
    page.get_by_role("button", name="Send").click()
    run = page.get_by_role("article", name="Current run")
    expect(run.get_by_test_id("answer")).to_contain_text("word3")
    route, server = sockets[0]  # the run's own socket: the only one opened since the route
    route.close(code=4000, reason="dropped by the test")
    server.close()
    before = run.get_by_test_id("answer").locator(".answer").inner_text()
    assert "word23" not in before and run.get_attribute("data-status") == "RUNNING"
    expect(run).to_have_attribute("data-status", "FINISHED", timeout=60_000)
    # The rest came over another socket (this one is closed and never retried), each token once:
    assert run.get_by_test_id("answer").locator(".answer").inner_text().strip() == "".join(PIECES).strip()
    assert len(llm.requests_for(marker)) == 1  # and started no second run


def test_create_an_api_key_shown_once_then_revoke_it(page):
    go(page, "Account")
    page.get_by_label("Key name").fill("ci-key")
    page.get_by_role("checkbox", name="READ_RAG").check()
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_test_id("new-key")
    expect(key).to_contain_text("ah_")
    shot(page, "account")
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("new-key")).to_have_count(0)  # shown once
    row = page.locator('tr[data-key="ci-key"]')
    expect(row).to_contain_text("active")
    page.get_by_role("button", name="Revoke key ci-key").click()
    expect(row).to_contain_text("revoked")


def test_the_access_token_is_rotated_before_it_expires(page):
    """Tokens live 30 s here; the console trades the refresh token at 80 % of that, unasked."""
    with page.expect_request(lambda r: "mutation Refresh" in (r.post_data or ""), timeout=40_000):
        pass
    go(page, "Account")  # still signed in, with the new pair
    expect(page.locator("tr", has_text="(this one)")).to_have_count(1)


def test_an_expired_access_token_is_refreshed_and_the_call_retried(page):
    """The console's next call carries its access token as it is once expired: the same claims, signed
    with the stack's key, issued two TTLs ago (waiting out the 30 s token and the server's 5 s leeway
    took 37 s). The server's own check answers UNAUTHENTICATED reason expired; the console refreshes
    and retries. The page's clock is stopped so its rotation timer cannot refresh first."""
    codec = TokenCodec(CommonSettings(env="development"))
    expired: list[str] = []
    refreshed_after: list[int] = []  # how many calls were forged before each refresh (the reload's own: 0)

    def expire_the_next_call(route) -> None:
        request = route.request
        bearer = request.headers.get("authorization", "")
        if "mutation Refresh" in (request.post_data or ""):
            refreshed_after.append(len(expired))
            route.continue_()
            return
        if expired or not bearer.startswith("Bearer "):
            route.continue_()
            return
        claims = jwt.decode(bearer.removeprefix("Bearer "), options={"verify_signature": False})
        token = codec.issue(
            subject=claims["sub"],
            role=claims["role"],
            username=claims["name"],
            session_id=claims["sid"],
            version=claims["ver"],
            ttl=30,
            now=time.time() - 60,
        ).token
        expired.append(token)
        route.continue_(headers={**request.headers, "authorization": f"Bearer {token}"})

    page.clock.install()
    page.reload()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.route("**/graphql", expire_the_next_call)
    try:
        page.clock.pause_at(page.evaluate("Date.now()") + 100)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Documents").click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
        for _ in range(100):  # effects run after a frame or a 100 ms timeout, both on the stopped clock
            page.clock.run_for(150)
            if page.locator("tr", has_text="(this one)").count():
                break
            page.wait_for_timeout(200)
        expect(page.locator("tr", has_text="(this one)")).to_have_count(1)
        expect(page.get_by_role("alert")).to_have_count(0)
        assert len(expired) == 1 and refreshed_after.count(1) == 1, (expired, refreshed_after)
    finally:
        page.unroute("**/graphql", expire_the_next_call)
        page.clock.resume()


def test_sign_out_and_protected_pages_refuse(page):
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to AgentHub")).to_be_visible()
    for where in ("#/account", "#/admin", "#/documents"):
        page.goto(page.base + "/" + where)
        expect(page.get_by_role("heading", name="Sign in to AgentHub")).to_be_visible()
        expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('agenthub.refresh')") is None


def test_admin_changes_a_role_and_sees_the_audit_entry(page):
    sign_in(page, ADMIN, PASSPHRASE)
    go(page, "Admin")
    expect(page.locator("[data-health]")).to_have_attribute("data-health", "UP")
    page.get_by_label("Search users").fill(USER)
    page.get_by_role("button", name="Search").click()
    page.get_by_label(f"Role of {USER}").select_option("GUEST")
    expect(page.get_by_label(f"Role of {USER}")).to_have_value("GUEST")
    page.get_by_label("Filter by action").fill("user.role")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator('tr[data-action="user.role"]').first).to_contain_text('"to":"guest"')
    shot(page, "admin")


def test_readable_at_360_px(page):
    page.set_viewport_size({"width": 360, "height": 740})
    for where in ("Documents", "Agent", "Admin"):
        go(page, where)
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => (!e.closest('.table-wrap') || getComputedStyle(e).position === 'absolute')
                         && e.getBoundingClientRect().right > 361)
            .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`).slice(0, 8)""")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"{where} scrolls sideways: {wide}"
    shot(page, "narrow")
