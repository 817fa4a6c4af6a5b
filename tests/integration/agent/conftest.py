"""The agent fixtures (a scripted model server, agent stacks on their own vhosts, a gateway on a real port):
tests/support/fixtures/agent.py."""

from tests.support.fixtures.agent import (  # noqa: F401 (fixtures, found by pytest by name)
    gateway_url,
    llm,
    openai_rpc,
    openai_stack,
)
