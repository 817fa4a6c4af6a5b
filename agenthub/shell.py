"""``agenthub shell``: Nameko's interactive shell on the services' config, without its noise.

Same ``n`` helper as ``nameko shell --config services/config.yaml`` (``n.rpc.auth.health()``), but
the banner shows the broker URL without its password and the import-time deprecation warnings of
eventlet and pkg_resources are filtered.
"""

from __future__ import annotations

import sys
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
warnings.filterwarnings("ignore", message="DSA is deprecated")  # dnspython (via eventlet) on new cryptography
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(eventlet|nameko|kombu)(\.|$)")


def main(config_path: str, interface: str | None = None) -> int:
    import yaml
    from nameko.cli.main import setup_yaml_parser
    from nameko.cli.shell import ShellRunner, make_nameko_helper
    from nameko.constants import AMQP_URI_CONFIG_KEY

    from core.logs import redact_url
    from services.common.container import with_broker_tls

    setup_yaml_parser()  # ${AGENTHUB_…:default} substitution, as `nameko run` does
    with open(config_path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config.pop("LOGGING", None)  # the shell's own output stays plain
    with_broker_tls(config)
    banner = (
        f"AgentHub shell (Nameko, Python {sys.version.split()[0]})\n"
        f"Broker: {redact_url(str(config[AMQP_URI_CONFIG_KEY]))}\n"
        "Try: n.rpc.auth.health()"
    )
    helper = make_nameko_helper(config)
    try:
        ShellRunner(banner, {"n": helper}).start_shell(name=interface)
    finally:
        helper.disconnect()
    return 0
