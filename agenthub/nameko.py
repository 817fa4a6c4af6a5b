"""``python -m agenthub.nameko run …``: Nameko's command line without its import-time noise.

Nameko 2.14 imports ``pkg_resources`` and eventlet, and both print deprecation
warnings at every start that say nothing about AgentHub; they are filtered
here, before the import, and nothing else is changed.
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
warnings.filterwarnings("ignore", message="DSA is deprecated")  # dnspython (via eventlet) on new cryptography

from nameko.cli.main import main  # noqa: E402

if __name__ == "__main__":
    main()
