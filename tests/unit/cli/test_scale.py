"""``--scale`` parsing, the embedded-store refusal, and ``agenthub probe``'s process check."""

from __future__ import annotations

import os
import socket

import pytest

from agenthub.probe import ProbeFailed, check_consumer
from agenthub.scale import ScaleError, check_scale, parse_scale, shared_socket


def test_parse_scale_defaults_to_one_of_each():
    assert parse_scale(None) == {"auth": 1, "agent": 1, "rag": 1, "gateway": 1}
    assert parse_scale(" auth=2, gateway=3 ,") == {"auth": 2, "agent": 1, "rag": 1, "gateway": 3}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("web=2", "NAME one of auth, agent, rag, gateway"),
        ("auth", "expected NAME=COUNT"),
        ("auth=two", "whole number"),
        ("auth=0", "between 1 and 16"),
        ("agent=17", "between 1 and 16"),
    ],
)
def test_parse_scale_names_the_bad_item(text, says):
    with pytest.raises(ScaleError, match=says):
        parse_scale(text)


def test_rag_above_one_needs_elasticsearch():
    with pytest.raises(ScaleError, match="AGENTHUB_DOCUMENT_STORE=elasticsearch"):
        check_scale(parse_scale("rag=2"), "embedded")
    check_scale(parse_scale("rag=2"), "elasticsearch")
    check_scale(parse_scale("auth=4,agent=3,gateway=2"), "embedded")


def test_shared_socket_lets_two_listeners_bind_one_port():
    first = shared_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = shared_socket("127.0.0.1", port)
    try:
        first.listen()
        second.listen()
        with pytest.raises(OSError):  # an ordinary socket still cannot take the port
            socket.create_server(("127.0.0.1", port))
    finally:
        first.close()
        second.close()


def _fake_proc(root, cmdline: bytes, inode: str, state: str, remote_port: int):
    pid = root / "4242"
    (pid / "fd").mkdir(parents=True)
    (pid / "cmdline").write_bytes(cmdline)
    os.symlink(f"socket:[{inode}]", pid / "fd" / "7")
    (root / "net").mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    row = (
        f"   0: 0100007F:A1B2 0100007F:{remote_port:04X} {state} 00000000:00000000 00:00000000 00000000  "
        f"1000 0 {inode}\n"
    )
    (root / "net" / "tcp").write_text(header + row)
    (root / "net" / "tcp6").write_text(header)


def test_probe_sees_an_established_broker_connection(tmp_path):
    _fake_proc(tmp_path, b"nameko\0run\0services.auth.service\0", "991", "01", 5672)
    assert "connected" in check_consumer("auth", "amqp://u:p@rabbitmq:5672/", proc=tmp_path)


@pytest.mark.parametrize(
    ("cmdline", "state", "port", "says"),
    [
        (b"nameko\0run\0services.agent.service\0", "01", 5672, "no running auth process"),
        (b"nameko\0run\0services.auth.service\0", "0A", 5672, "no established connection"),  # LISTEN, not connected
        (b"nameko\0run\0services.auth.service\0", "01", 6379, "no established connection"),  # Redis, not the broker
    ],
)
def test_probe_fails_without_a_broker_connection(tmp_path, cmdline, state, port, says):
    _fake_proc(tmp_path, cmdline, "991", state, port)
    with pytest.raises(ProbeFailed, match=says):
        check_consumer("auth", "amqp://u:p@rabbitmq/", proc=tmp_path)


def test_supervisor_children_are_named_instances_and_gateways_share_the_port():
    from agenthub.supervisor import build_children

    children = build_children("127.0.0.1", 8123, parse_scale("auth=2,gateway=2"))
    assert [c.name for c in children] == ["auth-1", "auth-2", "agent", "rag", "gateway-1", "gateway-2"]
    assert [c.env["AGENTHUB_INSTANCE"] for c in children] == [c.name for c in children]
    assert all("--reuse-port" in c.argv for c in children if c.name.startswith("gateway"))
    assert children[0].argv[-1] == "services.auth.service"
    single = build_children("127.0.0.1", 8123)
    assert [c.name for c in single] == ["auth", "agent", "rag", "gateway"]
    assert "--reuse-port" not in single[-1].argv
