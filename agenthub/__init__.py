"""AgentHub: the command line, shared settings and process supervision."""

__version__ = "0.1.0"
