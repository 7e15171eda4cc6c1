"""Deployment files are valid and agree with the code: compose, Kubernetes, Prometheus, Grafana, Dockerfile.

Nothing here needs a Docker engine or a cluster: `docker compose config` only parses, Kubernetes objects
are checked against the official OpenAPI-derived JSON schemas (kubeconform when installed, else the
`kubernetes-validate` package's bundled schemas), KEDA objects structurally.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from pipeline.observability.metrics import Metrics, exported_names
from pipeline.topics import STAGE_INPUTS

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
K8S = ROOT / "infra" / "k8s"
WORKER_STAGES = {"ocr", "extract", "normalize", "gate", "review-intake"}  # StageSpec workers
CONSUMERS = WORKER_STAGES | {"erp-sql"}  # everything KEDA scales on consumer lag
COMMANDS = {"erp-sql": ["erp", "sql"]}  # consumers that are not `docpipe worker STAGE`
ALLOWED_COMMANDS = {("worker", s) for s in WORKER_STAGES} | {("topics", "create"), ("review", "serve"),
                                                               ("review", "relay"), ("erp", "sql"),
                                                               ("extract-worker",)}
# Scaled Deployments that serve another stage's consumer group: name -> (stage, command)
GPU_WORKERS = {"worker-extract-gpu": ("extract", ["extract-worker"])}
METRIC_NAMES = exported_names(Metrics(CollectorRegistry()))


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def docpipe_services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in doc["services"].items() if "docpipe" in str(s.get("image", ""))}


# ---------------------------------------------------------------- docker compose
def _compose_cli() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


@pytest.mark.parametrize("profile", [None, "gpu"])
def test_docker_compose_config_parses(profile: str | None) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("docker compose plugin not installed (docker CLI without the compose plugin)")
    profiles = ["--profile", profile] if profile else []
    args = [*cli, "-f", str(COMPOSE), *profiles, "config", "--format", "json"]
    res = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 0, res.stderr
    services = json.loads(res.stdout)["services"]
    assert ("worker-extract-gpu" in services) == (profile == "gpu")
    for name, svc in services.items():
        if name.startswith("worker-"):
            assert svc["deploy"]["replicas"] >= 1


def test_every_docpipe_command_is_a_real_subcommand() -> None:
    services = docpipe_services(compose())
    commands = {tuple(s["command"][:2]) for s in services.values()}
    assert commands <= ALLOWED_COMMANDS, commands - ALLOWED_COMMANDS
    # every worker stage of the brief is deployed, and each consumes a catalogue topic
    assert {c[1] for c in commands if c[0] == "worker"} == WORKER_STAGES
    assert ("erp", "sql") in commands
    assert not CONSUMERS - set(STAGE_INPUTS)
    from pipeline.stages import STAGE_BUILDERS

    assert not WORKER_STAGES - set(STAGE_BUILDERS)  # `docpipe worker X` resolves X


def test_commands_exist_in_the_cli_where_registered() -> None:
    """Where the CLI already registers a command group, the compose invocation must resolve in it."""
    import typer.main

    from pipeline.cli import app

    root = typer.main.get_command(app)
    groups = getattr(root, "commands", {})
    for name, *sub in sorted({tuple(s["command"][:2]) for s in docpipe_services(compose()).values()}):
        assert name in groups, f"docpipe has no command {name}"
        cmd = groups[name]
        if hasattr(cmd, "commands"):
            assert sub and sub[0] in cmd.commands, f"docpipe {name} has no subcommand {sub}"


def test_compose_wiring() -> None:
    doc = compose()
    svcs = doc["services"]
    assert svcs["kafka"]["image"].startswith("apache/kafka:")
    assert "broker,controller" in svcs["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert svcs["topics-init"]["command"] == ["topics", "create"]
    assert svcs["postgres"]["image"].startswith("postgres:")
    for name, svc in docpipe_services(doc).items():
        if name == "topics-init":
            assert svc["depends_on"]["kafka"]["condition"] == "service_healthy"
            continue
        assert svc["depends_on"]["topics-init"]["condition"] == "service_completed_successfully", name
        assert svc["environment"]["DOCPIPE_METRICS_PORT"] == "9100"
    gpu = svcs["worker-extract-gpu"]
    assert gpu["profiles"] == ["gpu"] and gpu["build"]["target"] == "gpu"
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert gpu["environment"]["DOCPIPE_INFERENCE__PROVIDER"] == "tensorrt"
    assert gpu["command"] == ["extract-worker"]  # the batching worker honours DOCPIPE_INFERENCE__*
    assert svcs["review"]["command"][-4:] == ["--host", "0.0.0.0", "--port", "8000"]
    assert svcs["review"]["ports"] == ["8000:8000"]
    assert any("trt" in v for v in gpu["volumes"])
    for name in ("prometheus", "grafana"):
        assert name in svcs


def test_prometheus_scrapes_every_docpipe_service() -> None:
    prom = yaml.safe_load((ROOT / "infra/prometheus/prometheus.yml").read_text())
    names = {n for job in prom["scrape_configs"] for sd in job.get("dns_sd_configs", []) for n in sd["names"]}
    exporting = {n for n, s in docpipe_services(compose()).items() if n != "topics-init"}
    assert {"worker-erp-sql", "review", "review-relay", "worker-extract-gpu"} <= exporting
    assert exporting <= names


def test_prometheus_k8s_config_keeps_annotated_pods() -> None:
    prom = yaml.safe_load((ROOT / "infra/prometheus/prometheus-k8s.yml").read_text())
    (job,) = [j for j in prom["scrape_configs"] if j["job_name"] == "docpipe"]
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["docpipe"]
    deployments = [d for _, d in k8s_docs() if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} >= {"worker-erp-sql", "review", "review-relay"}
    for dep in deployments:  # every long-running process exports now
        ann = dep["spec"]["template"]["metadata"]["annotations"]
        assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == "9100"


# ---------------------------------------------------------------- metric names in dashboards and alerts
def _metric_refs(expr: str) -> set[str]:
    return set(re.findall(r"\bdocpipe_[a-z0-9_]+\b", expr))


def test_grafana_dashboard_parses_and_uses_only_defined_metrics() -> None:
    dash = json.loads((ROOT / "infra/grafana/dashboards/docpipe.json").read_text())
    panels = [p for p in dash["panels"] if p["type"] != "row"]
    assert len(panels) >= 12
    used: set[str] = set()
    for p in panels:
        assert p["targets"], p["title"]
        for t in p["targets"]:
            refs = _metric_refs(t["expr"])
            assert refs, f"{p['title']}: no docpipe metric in {t['expr']}"
            assert refs <= METRIC_NAMES, f"{p['title']}: undefined {refs - METRIC_NAMES}"
            used |= refs
    for var in dash["templating"]["list"]:
        assert _metric_refs(json.dumps(var)) <= METRIC_NAMES
    # the families all have a panel
    for family in ("documents_in", "documents_out", "errors", "dlq", "stage_latency_seconds", "consumer_lag",
                   "batch_size", "field_confidence", "decisions", "straight_through_ratio",
                   "sink_delivered", "sink_latency_seconds", "sink_retries", "review_open_items",
                   "review_actions", "http_request_duration_seconds", "outbox_pending", "relay_published"):
        assert any(f"docpipe_{family}" in u for u in used), family


def test_dashboard_json_is_generated_from_code() -> None:
    res = subprocess.run([sys.executable, str(ROOT / "infra/grafana/build_dashboard.py"), "--check"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_grafana_provisioning_points_at_the_dashboard() -> None:
    ds = yaml.safe_load((ROOT / "infra/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert ds["datasources"][0]["url"] == "http://prometheus:9090"
    prov = yaml.safe_load((ROOT / "infra/grafana/provisioning/dashboards/docpipe.yml").read_text())
    mounts = compose()["services"]["grafana"]["volumes"]
    target = prov["providers"][0]["options"]["path"]
    assert any(m.startswith("./infra/grafana/dashboards:" + target) for m in mounts)


def test_alert_rules_use_only_defined_metrics() -> None:
    rules = yaml.safe_load((ROOT / "infra/prometheus/alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    assert exprs
    for e in exprs:
        assert _metric_refs(e) and _metric_refs(e) <= METRIC_NAMES, e


# ---------------------------------------------------------------- Kubernetes
def k8s_docs() -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        out += [(path, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return out


def test_k8s_manifests_are_generated_from_code() -> None:
    res = subprocess.run([sys.executable, str(K8S / "generate.py"), "--check"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr


def _kubeconform() -> str | None:
    found = shutil.which("kubeconform")
    home = Path.home() / "go" / "bin" / "kubeconform"
    return found or (str(home) if home.exists() else None)


def _self_contained_schemas(dest: Path, kinds: set[str]) -> Path:
    """kubernetes-validate's strict schemas with the shared definitions inlined (kubeconform resolves no
    absolute refs offline)."""
    import kubernetes_validate

    src = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    version = sorted((p for p in src.glob("v*-local-strict")), key=lambda p: [int(x) for x in
                     re.findall(r"\d+", p.name)])[-1]
    fix = '"/api/_definitions.json#/', '"#/'
    defs = json.loads((version / "_definitions.json").read_text().replace(*fix))["$defs"]
    for kind in kinds:
        schema = json.loads((version / f"{kind}.json").read_text().replace(*fix))
        schema["$defs"] = _reachable(schema, defs)
        (dest / f"{kind}.json").write_text(json.dumps(schema))
    return dest


def _reachable(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Only the definitions a kind refers to, transitively (keeps kubeconform's compile fast)."""
    ref = re.compile(r'"\$ref": "#/\$defs/([^"]+)"')
    todo, seen = set(ref.findall(json.dumps(schema))), set()
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        todo |= set(ref.findall(json.dumps(defs[name])))
    return {n: defs[n] for n in seen}


def _schema_name(doc: dict[str, Any]) -> str:
    group, _, version = doc["apiVersion"].rpartition("/")
    return "-".join(p for p in (doc["kind"].lower(), group.split(".")[0], version) if p)


def test_k8s_core_objects_validate_against_kubernetes_schemas(tmp_path: Path) -> None:
    pytest.importorskip("kubernetes_validate")
    docs = [(p, d) for p, d in k8s_docs() if not d["apiVersion"].startswith("keda.sh/")]
    kinds = {_schema_name(d) for _, d in docs}
    assert {"deployment-apps-v1", "poddisruptionbudget-policy-v1",
            "horizontalpodautoscaler-autoscaling-v2"} <= kinds
    tool = _kubeconform()
    if tool:
        schemas = _self_contained_schemas(tmp_path, kinds)
        template = f"{schemas}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"
        res = subprocess.run([tool, "-strict", "-summary", "-output", "json",
                              "-skip", "Kustomization,ScaledObject,TriggerAuthentication",
                              "-schema-location", template,
                              str(K8S)], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        summary = json.loads(res.stdout)["summary"]
        assert summary["valid"] == len(docs) and summary["invalid"] == 0 and summary["errors"] == 0
    else:
        import kubernetes_validate

        for _, doc in docs:
            kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_k8s_workers_scaled_on_their_consumer_lag() -> None:
    docs = k8s_docs()
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for _, d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    deployments, scaled = by_kind["Deployment"], by_kind["ScaledObject"]
    assert set(scaled) == {f"worker-{s}" for s in CONSUMERS} | set(GPU_WORKERS)
    for name, so in scaled.items():
        stage, command = GPU_WORKERS.get(name, (name.removeprefix("worker-"), None))
        spec = so["spec"]
        target = spec["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        container = deployments[target["name"]]["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == (command or COMMANDS.get(stage, ["worker", stage]))
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert meta["consumerGroup"] == f"docpipe.{stage}"
        assert meta["topic"] == STAGE_INPUTS[stage]
        assert int(meta["lagThreshold"]) > 0
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= 6  # partitions per topic
        assert spec["fallback"]["replicas"] >= 1
        assert trigger["authenticationRef"]["name"] in by_kind["TriggerAuthentication"]
    # HPA fallback covers the same CPU workers; every Deployment has a disruption budget
    assert set(by_kind["HorizontalPodAutoscaler"]) == set(scaled) - set(GPU_WORKERS)
    pdb_selectors = [p["spec"]["selector"]["matchLabels"] for p in by_kind["PodDisruptionBudget"].values()]
    for name, dep in deployments.items():
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert any(all(labels.get(k) == v for k, v in sel.items()) for sel in pdb_selectors), name
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        c = pod["containers"][0]
        assert any(p["containerPort"] == 9100 and p["name"] == "metrics" for p in c["ports"]), name
        if name == "review":  # the app answers /healthz itself; its metrics are on the side port
            assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        else:
            assert c["startupProbe"]["httpGet"]["path"] == "/metrics", name


def test_gpu_extraction_worker() -> None:
    """One GPU per pod, on GPU nodes only, the GPU image and provider, a per-node TensorRT engine cache."""
    docs = {(d["kind"], d["metadata"]["name"]): d for p, d in k8s_docs() if p.parent.name == "gpu"}
    dep = docs[("Deployment", "worker-extract-gpu")]
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["args"] == ["extract-worker"] and "docpipe-gpu" in c["image"]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["DOCPIPE_INFERENCE__PROVIDER"] == "tensorrt"
    (mount,) = [m for m in c["volumeMounts"] if m["name"] == "trt-engine-cache"]
    assert mount["mountPath"] == env["DOCPIPE_INFERENCE__TRT_ENGINE_CACHE_DIR"]
    assert mount["subPathExpr"] == "$(NODE_NAME)" and "NODE_NAME" in env
    (vol,) = [v for v in pod["volumes"] if v["name"] == "trt-engine-cache"]
    assert ("PersistentVolumeClaim", vol["persistentVolumeClaim"]["claimName"]) in docs
    # the settings the worker reads exist in InferenceSettings (a typo would be ignored silently)
    from pipeline.config import InferenceSettings

    fields = set(InferenceSettings.model_fields)
    for key in env:
        if key.startswith("DOCPIPE_INFERENCE__"):
            assert key.removeprefix("DOCPIPE_INFERENCE__").lower() in fields, key
    (trigger,) = docs[("ScaledObject", "worker-extract-gpu")]["spec"]["triggers"]
    assert trigger["metadata"]["consumerGroup"] == "docpipe.extract"
    assert trigger["metadata"]["topic"] == STAGE_INPUTS["extract"]


def _kustomize(overlay: str) -> list[dict[str, Any]]:
    res = subprocess.run(["kubectl", "kustomize", str(K8S / overlay)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    return [d for d in yaml.safe_load_all(res.stdout) if d]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) not installed")
def test_overlays_build_and_gpu_overlay_replaces_cpu_extraction() -> None:
    built = {o: {(d["kind"], d["metadata"]["name"]) for d in _kustomize(o)} for o in ("keda", "hpa", "gpu")}
    cpu = {("Deployment", "worker-extract"), ("PodDisruptionBudget", "worker-extract"),
           ("ScaledObject", "worker-extract")}
    gpu = {("Deployment", "worker-extract-gpu"), ("ScaledObject", "worker-extract-gpu"),
           ("PodDisruptionBudget", "worker-extract-gpu"),
           ("PersistentVolumeClaim", "docpipe-trt-cache")}
    assert cpu <= built["keda"] and not gpu & built["keda"]
    assert gpu <= built["gpu"] and not cpu & built["gpu"]
    assert built["gpu"] - gpu == built["keda"] - cpu  # everything else is the keda overlay unchanged


# ---------------------------------------------------------------- Dockerfile and scripts
def test_dockerfile_runs_as_non_root_and_enters_docpipe() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("# syntax=")
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    named = {s.split()[2] if " AS " in s.split("\n")[0] else f"final{i}": s for i, s in enumerate(stages)}
    for name in ("runtime", "gpu"):
        body = named[name]
        assert re.search(r"^USER 10001", body, re.M), name
        assert 'ENTRYPOINT ["tini", "--", "docpipe"]' in body
    assert "onnxruntime-gpu" in subprocess.run(
        [sys.executable, str(ROOT / "infra/docker/requirements.py"), "--only", "gpu"],
        capture_output=True, text=True, check=True).stdout


def test_kafka_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(ROOT / "infra/kafka/kafka.sh")], check=True)
