"""Settings of the agent service: the model, the tools, runs and memory.

The model's fields are ``core.llm.LlmSettings``, the ones the rag service reads too,
so one set of ``AGENTHUB_LLM_*`` variables configures the whole system's model.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from core.llm import LlmSettings
from services.common.settings import ServiceSettings


class AgentSettings(ServiceSettings, LlmSettings):
    agent_max_steps: int = Field(8, ge=1, le=50)
    agent_run_timeout: float = Field(180.0, gt=0, description="Seconds before a run fails with a timeout.")
    agent_tool_timeout: float = Field(20.0, gt=0, description="Seconds for one tool call.")
    agent_run_ttl: int = Field(7200, ge=3600, description="Seconds a run's events are kept after its last event.")
    agent_history_tokens: int = Field(2000, ge=0, description="Token budget of the history sent to the model.")
    agent_conversation_ttl: int = Field(30 * 86400, ge=3600, description="Seconds an idle conversation is kept.")
    agent_search_top_k: int = Field(5, ge=1, le=50)
    agent_min_relevance: float = Field(
        0.3,
        ge=-1,
        le=1,
        description="Without a model: cosine similarity below "
        "which a passage is not quoted (as AGENTHUB_RAG_MIN_RELEVANCE for ask).",
    )
    agent_max_runs: int = Field(32, ge=1, description="Runs one agent process executes at once.")
    agent_max_runs_per_user: int = Field(3, ge=1, description="Runs one user may have running at once.")

    agent_database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the agent's own database (conversations, run records, system "
        "prompt); default sqlite:///{data_dir}/agent.db. PostgreSQL: postgresql://user@host/db.",
    )

    sql_url: str | None = Field(None, description="sqlite:///path or postgresql://user@host/db for query_database.")
    sql_tables: list[str] | None = Field(None, description="Tables the agent may read; default: all user tables.")
    sql_timeout: float = Field(5.0, gt=0, le=60)
    sql_row_cap: int = Field(200, ge=1, le=10000)

    def agent_database(self) -> str:
        """The configured agent database URL, or the SQLite file in ``data_dir``."""
        if self.agent_database_url:
            return self.agent_database_url
        return f"sqlite:///{(self.data_dir / 'agent.db').resolve()}"


@lru_cache(maxsize=1)
def get_agent_settings() -> AgentSettings:
    settings = AgentSettings()
    settings.check_secure()
    return settings
