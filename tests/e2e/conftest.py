import pytest

from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture(scope="module")
def llm():
    """A scripted OpenAI-compatible model server for the module's stack."""
    server = ScriptedLLM().start()
    yield server
    server.stop()
