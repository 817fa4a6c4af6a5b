"""AgentHub's top: the command line and the process supervisor. Nothing else imports this package."""

from core import __version__

__all__ = ["__version__"]
