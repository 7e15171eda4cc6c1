"""Kubernetes manifests as code: writes infra/k8s/{base,keda,hpa}/ from the stage catalogue.

    python infra/k8s/generate.py           (re)write the YAML files
    python infra/k8s/generate.py --check   exit 1 if a committed file is stale

Topics and consumer groups come from pipeline/topics.py (group `docpipe.<stage>`, as the Kafka worker
uses), so KEDA always watches the lag of the group that actually consumes.
Layout: `base/` (namespace, config, storage, topics job, one Deployment + PDB per worker, review app,
outbox relay); `keda/` = base + ScaledObjects on consumer lag (preferred); `hpa/` = base + CPU HPAs
for clusters without KEDA; `gpu/` = keda with extraction moved to NVIDIA GPU nodes (the CPU
extraction Deployment, its PDB and ScaledObject are deleted by patches, the GPU worker joins the same
consumer group). Apply one overlay: `kubectl apply -k infra/k8s/keda`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parents[1]))

from pipeline.topics import STAGE_INPUTS  # noqa: E402

NS = "docpipe"
IMAGE = "ghcr.io/docpipe/docpipe:0.1.0"
GPU_IMAGE = "ghcr.io/docpipe/docpipe-gpu:0.1.0"  # Dockerfile target `gpu`: onnxruntime-gpu + TensorRT
METRICS_PORT = 9100
KAFKA = "kafka-bootstrap.kafka.svc:9092"
LABELS = {"app.kubernetes.io/part-of": "docpipe"}


@dataclass(frozen=True)
class Worker:
    stage: str
    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str
    lag_threshold: int  # messages of backlog one replica is expected to absorb
    min_replicas: int = 1
    max_replicas: int = 6  # = partitions: more consumers than partitions would sit idle
    args: tuple[str, ...] = ()  # default: ("worker", stage)
    metrics: bool = True  # serves /metrics (used for probes and scraping)

    @property
    def command(self) -> list[str]:
        return list(self.args) if self.args else ["worker", self.stage]


WORKERS = [
    Worker("ocr", "1", "1Gi", "2", "2Gi", lag_threshold=10),
    Worker("extract", "1", "1536Mi", "2", "3Gi", lag_threshold=20),
    Worker("normalize", "250m", "256Mi", "1", "512Mi", lag_threshold=200),
    Worker("gate", "250m", "384Mi", "1", "768Mi", lag_threshold=200),
    Worker("review-intake", "100m", "256Mi", "500m", "512Mi", lag_threshold=200),
    # the ERP SQL sink is a plain consumer (group docpipe.erp-sql), not a StageSpec worker
    Worker("erp-sql", "100m", "256Mi", "500m", "512Mi", lag_threshold=500, args=("erp", "sql")),
]
# The batching extraction worker on a GPU: same consumer group (docpipe.extract) and topic as the CPU
# worker it replaces in the gpu overlay. One GPU per pod; a GPU absorbs a far larger backlog.
GPU_EXTRACT = Worker("extract-gpu", "2", "4Gi", "4", "8Gi", lag_threshold=200, max_replicas=6,
                     args=("extract-worker",))
GPU_STAGE = "extract"  # whose group and input topic the GPU worker serves
GPU_ENV = {  # read by InferenceSettings (pipeline/config.py); provider order TensorRT -> CUDA -> CPU
    "DOCPIPE_INFERENCE__PROVIDER": "tensorrt",
    "DOCPIPE_INFERENCE__DEVICE_ID": "0",
    "DOCPIPE_INFERENCE__FP16": "true",
    "DOCPIPE_INFERENCE__IO_BINDING": "true",
    "DOCPIPE_INFERENCE__MAX_BATCH_SIZE": "32",
    "DOCPIPE_INFERENCE__TRT_ENGINE_CACHE_DIR": "/var/cache/docpipe/trt",
    "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
}


def meta(name: str, component: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NS, "labels": {**LABELS, "app.kubernetes.io/name": name,
                                                       "app.kubernetes.io/component": component}, **extra}


def container(name: str, args: list[str], resources: dict[str, Any], ports: list[dict[str, Any]],
              probes: bool = True) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": name,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "envFrom": [{"configMapRef": {"name": "docpipe-config"}}],
        "env": [
            {"name": "DOCPIPE_INSTANCE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "DOCPIPE_DATABASE_URL",
             "valueFrom": {"secretKeyRef": {"name": "docpipe-db", "key": "url"}}},
        ],
        "ports": ports,
        "resources": resources,
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/docpipe"},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "kafka-credentials", "mountPath": "/var/run/secrets/docpipe/kafka", "readOnly": True},
        ],
    }
    if probes:
        c["startupProbe"] = {"httpGet": {"path": "/metrics", "port": "metrics"}, "periodSeconds": 5,
                             "failureThreshold": 60}
        c["livenessProbe"] = {"httpGet": {"path": "/metrics", "port": "metrics"}, "periodSeconds": 20,
                              "timeoutSeconds": 5, "failureThreshold": 3}
    return c


def pod_spec(containers: list[dict[str, Any]], grace: int = 60) -> dict[str, Any]:
    return {
        "serviceAccountName": "docpipe",
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": grace,  # a worker finishes and commits its batch on SIGTERM
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": containers,
        "volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "docpipe-data"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
            {"name": "kafka-credentials", "secret": {"secretName": "docpipe-kafka", "optional": True,
                                                     "items": [{"key": "password", "path": "password"},
                                                               {"key": "ca.crt", "path": "ca.crt"}]}},
        ],
    }


def deployment(name: str, component: str, args: list[str], resources: dict[str, Any], replicas: int,
               ports: list[dict[str, Any]], probes: bool = True) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, component),
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": {**LABELS, **selector, "app.kubernetes.io/component": component},
                    "annotations": {"prometheus.io/scrape": str(probes).lower(),
                                    "prometheus.io/port": str(METRICS_PORT), "prometheus.io/path": "/metrics"},
                },
                "spec": pod_spec([container(name, args, resources, ports, probes)]),
            },
        },
    }


def pdb(name: str, component: str, **budget: Any) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(name, component),
            "spec": {**budget, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}}}


METRICS = [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}]


def worker_docs(w: Worker) -> list[dict[str, Any]]:
    name = f"worker-{w.stage}"
    res = {"requests": {"cpu": w.cpu, "memory": w.memory},
           "limits": {"cpu": w.cpu_limit, "memory": w.memory_limit}}
    return [deployment(name, "worker", w.command, res, w.min_replicas, METRICS if w.metrics else [],
                       probes=w.metrics),
            pdb(name, "worker", maxUnavailable=1)]


def gpu_worker_docs(w: Worker = GPU_EXTRACT) -> list[dict[str, Any]]:
    """The GPU extraction Deployment: one nvidia.com/gpu per pod, GPU nodes only, TensorRT engine cache.

    Engines are specific to the GPU model and TensorRT version, so the cache is a per-node directory
    (`subPathExpr` on the node name) of one shared volume: built once per node, reused by every restart
    and replica there, and never read by a node with another GPU.
    """
    docs = worker_docs(w)
    dep = docs[0]
    dep["spec"]["template"]["metadata"]["labels"]["docpipe.io/accelerator"] = "nvidia-gpu"
    pod = dep["spec"]["template"]["spec"]
    pod["terminationGracePeriodSeconds"] = 120  # in-flight batches finish and commit
    pod["nodeSelector"] = {"nvidia.com/gpu.present": "true"}  # label set by NVIDIA's GPU feature discovery
    pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    pod["volumes"].append({"name": "trt-engine-cache", "persistentVolumeClaim": {"claimName": "docpipe-trt-cache"}})
    c = pod["containers"][0]
    c["image"] = GPU_IMAGE
    c["resources"]["limits"]["nvidia.com/gpu"] = 1  # extended resource: request = limit
    c["env"] += [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
    c["env"] += [{"name": k, "value": v} for k, v in GPU_ENV.items()]
    c["volumeMounts"].append({"name": "trt-engine-cache",
                              "mountPath": GPU_ENV["DOCPIPE_INFERENCE__TRT_ENGINE_CACHE_DIR"],
                              "subPathExpr": "$(NODE_NAME)"})
    # first start builds TensorRT engines (minutes): the startup probe allows 15 min before liveness applies
    c["startupProbe"]["failureThreshold"] = 180
    cache = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("docpipe-trt-cache", "storage"),
             "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "20Gi"}}}}
    return [*docs, cache]


def base_docs() -> dict[str, list[dict[str, Any]]]:
    files: dict[str, list[dict[str, Any]]] = {}
    files["namespace.yaml"] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {
            **LABELS, "pod-security.kubernetes.io/enforce": "restricted"}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("docpipe", "identity"),
         "automountServiceAccountToken": False},
    ]
    files["configmap.yaml"] = [{
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("docpipe-config", "config"),
        "data": {
            "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            "DOCPIPE_TOPIC_PREFIX": "",
            "DOCPIPE_PARTITIONS": "6",
            "DOCPIPE_HOME": "/var/lib/docpipe",
            "DOCPIPE_BLOB_URI": "file:///var/lib/docpipe/blobs",
            "DOCPIPE_METRICS_PORT": str(METRICS_PORT),
            "HF_HUB_OFFLINE": "1",
            # Kafka security (see docs/operations.md); the password file is the docpipe-kafka secret.
            "DOCPIPE_KAFKA_SECURITY__PROTOCOL": "PLAINTEXT",
            "DOCPIPE_KAFKA_SECURITY__SASL_PASSWORD_FILE": "/var/run/secrets/docpipe/kafka/password",
        },
    }]
    files["storage.yaml"] = [{
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("docpipe-data", "storage"),
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "50Gi"}}},
    }]
    files["topics-job.yaml"] = [{
        "apiVersion": "batch/v1", "kind": "Job", "metadata": meta("docpipe-topics", "setup"),
        "spec": {"backoffLimit": 10, "ttlSecondsAfterFinished": 86400,
                 "template": {"metadata": {"labels": {**LABELS, "app.kubernetes.io/name": "docpipe-topics"}},
                              "spec": {**pod_spec([container(
                                  "docpipe-topics", ["topics", "create"],
                                  {"requests": {"cpu": "50m", "memory": "128Mi"},
                                   "limits": {"cpu": "500m", "memory": "256Mi"}}, [], probes=False)]),
                                  "restartPolicy": "OnFailure"}}},
    }]
    for w in WORKERS:
        files[f"worker-{w.stage}.yaml"] = worker_docs(w)
    review_res = {"requests": {"cpu": "250m", "memory": "384Mi"}, "limits": {"cpu": "1", "memory": "768Mi"}}
    review = deployment("review", "review", ["review", "serve", "--host", "0.0.0.0", "--port", "8000"],
                        review_res, 2, [{"name": "http", "containerPort": 8000, "protocol": "TCP"}, *METRICS])
    review_c = review["spec"]["template"]["spec"]["containers"][0]
    review_c["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    review_c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 20,
                                 "timeoutSeconds": 5, "failureThreshold": 3}
    files["review.yaml"] = [
        review,
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("review", "review"),
         "spec": {"selector": {"app.kubernetes.io/name": "review"},
                  "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}},
        pdb("review", "review", minAvailable=1),
    ]
    relay_res = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
    files["review-relay.yaml"] = [
        deployment("review-relay", "relay", ["review", "relay"], relay_res, 1, METRICS),
        pdb("review-relay", "relay", maxUnavailable=1)]
    return files


def scaled_object(w: Worker, stage: str | None = None) -> dict[str, Any]:
    """`stage`: whose consumer group and input topic the worker serves (default: its own)."""
    name = f"worker-{w.stage}"
    stage = stage or w.stage
    return {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": meta(name, "autoscaling"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            "minReplicaCount": w.min_replicas,  # stay warm: model loading takes longer than a burst
            "maxReplicaCount": w.max_replicas,
            "fallback": {"failureThreshold": 3, "replicas": max(2, w.min_replicas)},
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0,
                            "policies": [{"type": "Pods", "value": 2, "periodSeconds": 30}]},
                "scaleDown": {"stabilizationWindowSeconds": 300,
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}}},
            "triggers": [{
                "type": "kafka",
                "authenticationRef": {"name": "docpipe-kafka"},
                "metadata": {
                    "bootstrapServers": KAFKA,
                    "consumerGroup": f"docpipe.{stage}",
                    "topic": STAGE_INPUTS[stage],
                    "lagThreshold": str(w.lag_threshold),
                    "activationLagThreshold": "0",
                    "offsetResetPolicy": "earliest",
                    "allowIdleConsumers": "false",
                    "limitToPartitionsWithLag": "false",
                    "excludePersistentLag": "false",
                },
            }],
        },
    }


def keda_docs() -> dict[str, list[dict[str, Any]]]:
    auth = {
        "apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
        "metadata": meta("docpipe-kafka", "autoscaling"),
        "spec": {"secretTargetRef": [
            {"parameter": "sasl", "name": "docpipe-kafka", "key": "sasl"},
            {"parameter": "username", "name": "docpipe-kafka", "key": "username"},
            {"parameter": "password", "name": "docpipe-kafka", "key": "password"},
            {"parameter": "tls", "name": "docpipe-kafka", "key": "tls"},
            {"parameter": "ca", "name": "docpipe-kafka", "key": "ca.crt"},
        ]},
    }
    return {"trigger-auth.yaml": [auth], "scaledobjects.yaml": [scaled_object(w) for w in WORKERS]}


def gpu_docs() -> dict[str, list[dict[str, Any]]]:
    return {"worker-extract-gpu.yaml": gpu_worker_docs(),
            "scaledobject-extract-gpu.yaml": [scaled_object(GPU_EXTRACT, GPU_STAGE)]}


def delete_patch(api_version: str, kind: str, name: str) -> dict[str, Any]:
    """A strategic-merge patch that removes one resource of the parent overlay."""
    return {"target": {"kind": kind, "name": name},
            "patch": yaml.safe_dump({"$patch": "delete", "apiVersion": api_version, "kind": kind,
                                     "metadata": {"name": name, "namespace": NS}}, sort_keys=False)}


GPU_REPLACES = [("apps/v1", "Deployment"), ("policy/v1", "PodDisruptionBudget"), ("keda.sh/v1alpha1", "ScaledObject")]


def hpa_docs() -> dict[str, list[dict[str, Any]]]:
    return {"hpa.yaml": [{
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": meta(f"worker-{w.stage}", "autoscaling"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"worker-{w.stage}"},
            "minReplicas": w.min_replicas, "maxReplicas": w.max_replicas,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    } for w in WORKERS]}


def kustomization(resources: list[str]) -> dict[str, Any]:
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}


def render() -> dict[Path, str]:
    header = ("# Generated by infra/k8s/generate.py from pipeline/topics.py; "
              "edit the generator, not this file.\n")
    out: dict[Path, str] = {}
    trees = {"base": base_docs(), "keda": keda_docs(), "hpa": hpa_docs(), "gpu": gpu_docs()}
    parents = {"keda": "../base", "hpa": "../base", "gpu": "../keda"}
    for folder, files in trees.items():
        for fname, docs in files.items():
            out[ROOT / folder / fname] = header + yaml.safe_dump_all(docs, sort_keys=False, width=110)
        extra = [parents[folder]] if folder in parents else []
        kust = kustomization(extra + sorted(files))
        if folder == "gpu":
            kust["patches"] = [delete_patch(api, kind, f"worker-{GPU_STAGE}") for api, kind in GPU_REPLACES]
        out[ROOT / folder / "kustomization.yaml"] = header + yaml.safe_dump(kust, sort_keys=False)
    out[ROOT / "secrets.example.yaml"] = (
        "# Create these two secrets before applying an overlay (never commit real values):\n"
        "#   kubectl -n docpipe apply -f my-secrets.yaml\n"
        + yaml.safe_dump_all(secret_examples(), sort_keys=False))
    return out


def secret_examples() -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("docpipe-db", "config"), "type": "Opaque",
         "stringData": {"url": "postgresql+psycopg://docpipe:CHANGE-ME@postgres.db.svc:5432/docpipe"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("docpipe-kafka", "config"), "type": "Opaque",
         "stringData": {
             # KEDA's Kafka scaler: sasl = none | plaintext | scram_sha256 | scram_sha512 | oauthbearer
             "sasl": "none", "tls": "disable", "username": "docpipe", "password": "CHANGE-ME",
             "ca.crt": "-----BEGIN CERTIFICATE-----\n(cluster CA, PEM)\n-----END CERTIFICATE-----\n"}},
    ]


def main(argv: list[str]) -> int:
    rendered = render()
    if "--check" in argv:
        stale = [str(p) for p, text in rendered.items() if not p.exists() or p.read_text() != text]
        if stale:
            print("stale (run python infra/k8s/generate.py): " + ", ".join(stale), file=sys.stderr)
            return 1
        return 0
    for path, text in rendered.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(rendered)} files under {ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
