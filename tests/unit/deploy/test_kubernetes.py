"""deploy/k8s: every overlay renders with ``kubectl kustomize`` and validates offline.

Built-in kinds are validated strictly (unknown fields fail) by ``kubernetes-validate`` against its
bundled schemas; the KEDA resources are CRDs it has no schema for, so they are reported as
skipped, by name, and checked here for what matters to AgentHub (the queues they watch exist,
the Deployments they scale exist).
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.32"
SERVICES = ("auth", "agent", "rag")
KUBECTL = shutil.which("kubectl")


def render(overlay: str) -> list[dict]:
    out = subprocess.run(
        [KUBECTL, "kustomize", str(ROOT / "deploy/k8s/overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


RENDERED = {overlay: render(overlay) for overlay in OVERLAYS} if KUBECTL else {}
needs_kubectl = pytest.mark.skipif(not KUBECTL, reason="kubectl is not installed: overlays not rendered")


def _cases():
    if not KUBECTL:
        return [pytest.param(None, None, marks=needs_kubectl, id="no-kubectl")]
    return [
        pytest.param(overlay, doc, id=f"{overlay}-{doc['kind']}-{doc['metadata']['name']}")
        for overlay, docs in RENDERED.items()
        for doc in docs
    ]


@pytest.mark.parametrize(("overlay", "doc"), _cases())
def test_resource_validates(overlay, doc):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    if doc["apiVersion"].startswith("keda.sh/"):
        pytest.skip(
            f"CRD {doc['apiVersion']} {doc['kind']} not validated: no bundled schema "
            "(checked by test_keda_scales_real_queues)"
        )
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployables_from_one_image_with_probes_and_limits(overlay):
    docs = RENDERED[overlay]
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == {*SERVICES, "gateway"}
    images = {c["image"] for d in deployments.values() for c in d["spec"]["template"]["spec"]["containers"]}
    assert len(images) == 1, images
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert {"livenessProbe", "readinessProbe", "startupProbe"} <= set(container), name
        assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        if name in SERVICES:
            assert container["livenessProbe"]["exec"]["command"] == ["agenthub", "probe", name]
            assert container["readinessProbe"]["exec"]["command"][:4] == ["agenthub", "probe", name, "--ready"]
        else:
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert set(by_kind(docs, "PodDisruptionBudget")) == set(deployments)


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_by_reference_and_only_the_gateway_exposed(overlay):
    docs = RENDERED[overlay]
    assert not by_kind(docs, "Secret"), "a Secret is rendered: secrets must be referenced, not shipped"
    assert set(by_kind(docs, "Service")) == {"gateway"}
    assert [
        i["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
        for i in by_kind(docs, "Ingress").values()
    ] == ["gateway"]
    for deployment in by_kind(docs, "Deployment").values():
        for var in deployment["spec"]["template"]["spec"]["containers"][0].get("env", []):
            if any(word in var["name"] for word in ("SECRET", "URI", "DATABASE_URL", "API_KEY", "SQL_URL")):
                assert "secretKeyRef" in var.get("valueFrom", {}), var
    policies = by_kind(docs, "NetworkPolicy")
    ingress_open = [p for p in policies.values() if p["spec"].get("ingress")]
    assert [p["spec"]["podSelector"] for p in ingress_open] == [{"matchLabels": {"app.kubernetes.io/name": "gateway"}}]
    deny = policies["agenthub-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny and "egress" not in deny
    for deployment in by_kind(docs, "Deployment").values():  # every pod is under the default deny
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in deny["podSelector"]["matchLabels"].items()), labels


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_keda_scales_real_queues(overlay):
    with warnings.catch_warnings():  # the rag module imports eventlet, which warns that it is deprecated
        warnings.simplefilter("ignore")
        from services.rag.queue import QUEUE_NAME

    docs = RENDERED[overlay]
    deployments = by_kind(docs, "Deployment")
    scaled = by_kind(docs, "ScaledObject")
    assert set(scaled) == set(SERVICES)
    expected = {"auth": {"rpc-auth"}, "agent": {"rpc-agent"}, "rag": {"rpc-rag", QUEUE_NAME}}
    auth = by_kind(docs, "TriggerAuthentication")
    for name, obj in scaled.items():
        assert obj["spec"]["scaleTargetRef"]["name"] in deployments
        triggers = obj["spec"]["triggers"]
        assert {t["metadata"]["queueName"] for t in triggers} == expected[name]
        for trigger in triggers:
            assert trigger["type"] == "rabbitmq" and trigger["metadata"]["mode"] == "QueueLength"
            assert trigger["authenticationRef"]["name"] in auth
    for ref in next(iter(auth.values()))["spec"]["secretTargetRef"]:
        assert ref["name"] == "agenthub-secrets"
