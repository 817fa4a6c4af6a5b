"""GraphiQL in a real headless Chromium with no internet: it renders, runs a query and a subscription.

Chromium is the system's (``apt-get install chromium``; ``.ci/run`` installs it), driven by
Playwright for Python; every request that leaves 127.0.0.1 is blocked and recorded, so a CDN
reference would fail the test instead of being silently fetched.
"""

from __future__ import annotations

import pytest

from tests.support.browser import local_page
from tests.support.gateway import GatewayProcess

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")


@pytest.fixture(scope="module")
def gateway(isolation, stack):
    process = GatewayProcess(isolation).wait_ready(timeout=240)
    yield process
    process.stop()


@pytest.fixture
def page(gateway):
    with local_page() as page:
        page.sockets = []
        page.on("websocket", lambda socket: page.sockets.append(socket.url))
        yield page


def run_in_graphiql(page, url: str, operation: str) -> None:
    page.goto(f"{url}/graphql")
    editor = page.locator(".graphiql-query-editor .CodeMirror").first
    editor.wait_for(state="visible")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(operation)
    typed = page.evaluate("document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()")
    assert " ".join(typed.split()) == operation  # the editor's auto-closed brackets did not add any
    # GraphiQL parses the edited document in a debounced handler, which also calls the page's
    # onEditQuery (it puts the query in the URL). Run before that and it sends the previous document.
    page.wait_for_function("typed => new URLSearchParams(location.search).get('q') === typed", arg=typed)
    page.locator(".graphiql-execute-button").click()


def wait_for_response(page, needle: str) -> None:
    """Until GraphiQL's result pane shows ``needle``; on timeout, fail with what it shows instead."""
    try:
        page.wait_for_function(
            "needle => (document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() || '')"
            ".includes(needle)",
            arg=needle,
        )
    except sync_api.TimeoutError:
        pytest.fail(
            f"GraphiQL never showed {needle!r}; it shows {response_text(page)!r}; console: {page.console[-10:]}"
        )


def response_text(page) -> str:
    return page.evaluate("document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue()")


def test_graphiql_runs_a_query_offline(gateway, page):
    run_in_graphiql(page, gateway.url, "{ health { status } }")
    wait_for_response(page, '"status": "UP"')
    assert '"health"' in response_text(page)
    assert page.outside == []


def test_graphiql_runs_a_subscription_over_the_websocket(gateway, page):
    run_in_graphiql(page, gateway.url, "subscription { health(intervalSeconds: 1) { status } }")
    wait_for_response(page, '"status": "UP"')
    assert page.sockets == [gateway.url.replace("http://", "ws://") + "/graphql"]
    assert page.outside == []


def test_an_edit_while_graphiql_re_renders_is_kept(gateway, page):
    """The page once fed each edit back to GraphiQL as its ``query`` prop: a re-render that landed
    after the next keystrokes set the editor back to the older text (CI lost a typed query that way,
    on a busy machine). Here the next keystroke lands exactly there: in the page's edit handler,
    which ends by putting the query in the URL, before React re-renders."""
    page.goto(f"{gateway.url}/graphql")
    page.locator(".graphiql-query-editor .CodeMirror").first.wait_for(state="visible")
    page.evaluate(
        """() => {
            const editor = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
            const replaceState = history.replaceState.bind(history);
            let typed = false;
            history.replaceState = (...args) => {
                replaceState(...args);
                if (!typed) {
                    typed = true;
                    editor.replaceRange('\\n# typed meanwhile', { line: editor.lineCount() });
                }
            };
            editor.setValue('{ health { status } }');
        }"""
    )
    value = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()"
    # settled: the page's handler has seen the editor's last text (it puts it in the URL)
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('q') === {value}")
    assert page.evaluate(value) == "{ health { status } }\n# typed meanwhile"
