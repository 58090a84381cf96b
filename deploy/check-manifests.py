#!/usr/bin/env python3
"""Project rules for one rendered overlay, and the split that schema
validation needs. Run by .ci/deploy-check (with the deploy-tools venv's
python, which has PyYAML):

    check-manifests.py RENDERED.yaml OUT_DIR

Writes OUT_DIR/core.yaml (kinds of Kubernetes itself, for
kubernetes-validate) and OUT_DIR/custom.yaml (custom resources:
CloudNativePG, Prometheus operator; kubernetes-validate ships no schema for
them, so they get the structural checks below instead). Exits 1 naming every
rule broken.

The rules are the ones the manifests' comments promise:
- no Secret with a value (secrets are created per environment, never committed);
- ACADEMY_AUTH_DISABLED is never set to anything but false;
- replicas never migrate (ACADEMY_MIGRATE=off); every migration Job runs
  `<binary> migrate`;
- the gRPC port, ACADEMY_LISTEN and the native gRPC probes agree; startup
  and liveness ask for the `liveness` health name (independent of the
  database), readiness does not;
- migration Jobs carry the Argo CD hook and Flux force annotations, so a
  re-apply never blocks on an immutable Job;
- terminationGracePeriodSeconds > preStop sleep + ACADEMY_DRAIN_TIMEOUT_SECS;
- pods run non-root, read-only, without privilege escalation or capabilities,
  with RuntimeDefault seccomp, no service-account token, and /tmp writable;
- the connection budget holds at the HPA maxima (pools vs the pooler's
  max_client_conn, pooler server connections vs max_connections);
- custom resources carry the fields the operators need; monitors and rules
  carry the `release` label; the PrometheusRule has every alert of issue #20,
  each naming its playbook (and is written to OUT_DIR/rules.yaml for
  promtool).
"""

import sys
from pathlib import Path

import yaml

CORE_GROUPS = {
    "v1",
    "apps/v1",
    "batch/v1",
    "autoscaling/v2",
    "policy/v1",
    "networking.k8s.io/v1",
}
SERVICE_BINARIES = {"academy-course", "academy-learner", "academy-reporting"}
# The alerts issue #20 asks for (feed lag and stop, error ratio, latency,
# credential and certificate expiry, pool saturation, database down).
REQUIRED_ALERTS = {
    "AcademyFeedLagHigh",
    "AcademyFeedStopped",
    "AcademyFeedDisconnected",
    "AcademyErrorRatioHigh",
    "AcademyLatencyHigh",
    "AcademyCredentialExpiring",
    "AcademyCertificateExpiring",
    "AcademyPoolSaturated",
    "AcademyDatabaseDown",
}
# Annotations that keep an immutable migration Job from blocking a re-apply.
JOB_REAPPLY = {
    "argocd.argoproj.io/hook": "PreSync",
    "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
    "kustomize.toolkit.fluxcd.io/force": "enabled",
}


def main() -> int:
    rendered, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    docs = [d for d in yaml.safe_load_all(rendered.read_text()) if d]
    errors: list[str] = []

    def fail(obj: dict, message: str) -> None:
        errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {message}")

    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}

    for doc in docs:
        kind = doc["kind"]
        if kind == "Secret" and (doc.get("data") or doc.get("stringData")):
            fail(doc, "a Secret with values is rendered; secrets are created per environment")
        if kind == "ConfigMap":
            value = (doc.get("data") or {}).get("ACADEMY_AUTH_DISABLED")
            if value is not None and str(value).lower() != "false":
                fail(doc, f"ACADEMY_AUTH_DISABLED={value}")
        if kind in ("Deployment", "Job"):
            check_workload(doc, configmaps, fail)

    for doc in docs:
        if doc["kind"] == "Service" and doc["spec"].get("clusterIP") != "None":
            fail(doc, "gRPC Services are headless (clusterIP: None) for client-side balancing")

    check_connection_budget(docs, configmaps, errors)

    services = [d for d in docs if d["kind"] == "Service"]
    custom = [d for d in docs if d["apiVersion"] not in CORE_GROUPS]
    for doc in custom:
        check_custom(doc, services, fail)

    out_dir.mkdir(parents=True, exist_ok=True)
    core = [d for d in docs if d["apiVersion"] in CORE_GROUPS]
    (out_dir / "core.yaml").write_text(yaml.safe_dump_all(core, sort_keys=False))
    (out_dir / "custom.yaml").write_text(yaml.safe_dump_all(custom, sort_keys=False))
    # The alert rules as a plain Prometheus rule file, for promtool.
    groups = [g for d in custom if d["kind"] == "PrometheusRule" for g in d["spec"].get("groups", [])]
    if groups:
        (out_dir / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    print(
        f"check-manifests: {rendered}: {len(docs)} objects, {len(core)} core, "
        f"{len(custom)} custom ({', '.join(sorted({d['kind'] for d in custom})) or 'none'})"
    )
    for error in errors:
        print(f"check-manifests: {rendered}: {error}", file=sys.stderr)
    return 1 if errors else 0


def check_connection_budget(docs: list, configmaps: dict, errors: list) -> None:
    """Issue #20, item 2: at the autoscalers' maxima, the services' pools fit
    the pooler's client limit, and the pooler's server connections fit
    PostgreSQL's max_connections (with a tenth kept for the operator and
    replication). Without a pooler, the pools must fit max_connections."""
    clusters = [d for d in docs if d["kind"] == "Cluster"]
    if not clusters:
        return
    max_connections = int(clusters[0]["spec"]["postgresql"]["parameters"]["max_connections"])
    hpa_max = {d["spec"]["scaleTargetRef"]["name"]: d["spec"]["maxReplicas"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    clients = 0
    for doc in docs:
        if doc["kind"] != "Deployment":
            continue
        env = env_of(doc["spec"]["template"]["spec"]["containers"][0], configmaps)
        pool = int(env.get("ACADEMY_DB_POOL_SIZE", 16))
        clients += hpa_max.get(doc["metadata"]["name"], 1) * pool
    poolers = [d for d in docs if d["kind"] == "Pooler"]
    databases = len([d for d in docs if d["kind"] == "Database"]) or 1
    where = "connection budget"
    if not poolers:
        if clients > max_connections * 0.9:
            errors.append(f"{where}: {clients} pooled connections at the HPA maxima > 90% of max_connections {max_connections}")
        return
    server = 0
    for pooler in poolers:
        params = pooler["spec"].get("pgbouncer", {}).get("parameters", {})
        if clients > int(params.get("max_client_conn", 100)):
            errors.append(f"{where}: {clients} client connections > max_client_conn of {pooler['metadata']['name']}")
        server += pooler["spec"].get("instances", 1) * databases * int(params.get("default_pool_size", 20))
    if server > max_connections * 0.9:
        errors.append(f"{where}: the poolers open {server} server connections > 90% of max_connections {max_connections}")
    print(f"check-manifests: connection budget: {clients} client connections at the HPA maxima, {server} server connections, max_connections {max_connections}")


def env_of(container: dict, configmaps: dict) -> dict:
    """The container's environment: ConfigMaps from envFrom, then env."""
    env: dict = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps.get(source["configMapRef"]["name"], {}))
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", "<from " + ",".join(item.get("valueFrom", {})) + ">")
    return env


def check_workload(doc: dict, configmaps: dict, fail) -> None:
    pod = doc["spec"]["template"]["spec"]
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True:
        fail(doc, "pod securityContext.runAsNonRoot is not true")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        fail(doc, "pod seccompProfile is not RuntimeDefault")
    if pod.get("automountServiceAccountToken") is not False:
        fail(doc, "automountServiceAccountToken is not false")
    tmp_volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    for c in pod["containers"]:
        where = f"container {c['name']}"
        sc = c.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True:
            fail(doc, f"{where}: readOnlyRootFilesystem is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(doc, f"{where}: allowPrivilegeEscalation is not false")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            fail(doc, f"{where}: capabilities do not drop ALL")
        if not any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in c.get("volumeMounts", [])):
            fail(doc, f"{where}: no emptyDir on /tmp")
        for part in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(c.get("resources", {}).get(part, {})):
                fail(doc, f"{where}: resources.{part} needs cpu and memory")
        command = c.get("command", [])
        binary = command[0].rsplit("/", 1)[-1] if command else ""
        if binary not in SERVICE_BINARIES:
            fail(doc, f"{where}: command {command} is not one of {sorted(SERVICE_BINARIES)}")
        env = env_of(c, configmaps)
        if "ACADEMY_AUTH_DISABLED" in env and str(env["ACADEMY_AUTH_DISABLED"]).lower() != "false":
            fail(doc, f"{where}: ACADEMY_AUTH_DISABLED={env['ACADEMY_AUTH_DISABLED']}")
        if "ACADEMY_DATABASE_URL" not in env or not env["ACADEMY_DATABASE_URL"].startswith("<from secretKeyRef"):
            fail(doc, f"{where}: ACADEMY_DATABASE_URL must come from a Secret")

        if doc["kind"] == "Job":
            notes = doc["metadata"].get("annotations") or {}
            for key, value in JOB_REAPPLY.items():
                if notes.get(key) != value:
                    fail(doc, f"migration Job needs annotation {key}: {value} (re-apply must not block)")
            if c.get("args") != ["migrate"]:
                fail(doc, f"{where}: a migration Job runs `<binary> migrate`, not {c.get('args')}")
            if pod.get("restartPolicy") not in ("Never", "OnFailure"):
                fail(doc, "Job restartPolicy must be Never or OnFailure")
            continue

        # A serving replica.
        if env.get("ACADEMY_MIGRATE") != "off":
            fail(doc, f"{where}: replicas run with ACADEMY_MIGRATE=off (the Job migrates)")
        grpc_ports = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == "grpc"]
        if len(grpc_ports) != 1:
            fail(doc, f"{where}: needs exactly one port named grpc")
            continue
        port = grpc_ports[0]
        listen = str(env.get("ACADEMY_LISTEN", ""))
        if listen != f"0.0.0.0:{port}":
            fail(doc, f"{where}: ACADEMY_LISTEN={listen!r}, expected 0.0.0.0:{port}")
        # With TLS on the gRPC port, probes go to the plaintext health port.
        probe_port = port
        if env.get("ACADEMY_TLS_CERT_FILE"):
            health = str(env.get("ACADEMY_HEALTH_LISTEN", ""))
            health_ports = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == "health"]
            if not health_ports or health != f"0.0.0.0:{health_ports[0]}":
                fail(doc, f"{where}: TLS on needs ACADEMY_HEALTH_LISTEN on a port named health")
            else:
                probe_port = health_ports[0]
            if str(env.get("ACADEMY_TLS_CLIENT_CA_FILE", "")) == "":
                fail(doc, f"{where}: TLS without ACADEMY_TLS_CLIENT_CA_FILE is not mutual")
            for key in ("ACADEMY_COURSE_ENDPOINT", "ACADEMY_LEARNER_ENDPOINT"):
                if key in env and not str(env[key]).startswith("https://"):
                    fail(doc, f"{where}: {key} must be https:// when TLS is on")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if c.get(probe, {}).get("grpc", {}).get("port") != probe_port:
                fail(doc, f"{where}: {probe} is not a native gRPC probe on {probe_port}")
        # Restarts must not follow the database; readiness must.
        for probe in ("startupProbe", "livenessProbe"):
            if c.get(probe, {}).get("grpc", {}).get("service") != "liveness":
                fail(doc, f"{where}: {probe} must ask for the `liveness` health name")
        if c.get("readinessProbe", {}).get("grpc", {}).get("service") == "liveness":
            fail(doc, f"{where}: readinessProbe must follow the database, not `liveness`")
        metrics = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == "metrics"]
        if metrics and env.get("ACADEMY_METRICS_LISTEN") != f"0.0.0.0:{metrics[0]}":
            fail(doc, f"{where}: ACADEMY_METRICS_LISTEN does not match the metrics port")
        drain = int(env.get("ACADEMY_DRAIN_TIMEOUT_SECS", 20))
        pause = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if not grace > pause + drain:
            fail(doc, f"terminationGracePeriodSeconds {grace} <= preStop {pause} + drain {drain}")
    if doc["kind"] == "Deployment" and not pod.get("topologySpreadConstraints"):
        fail(doc, "no topologySpreadConstraints")


def check_custom(doc: dict, services: list, fail) -> None:
    spec = doc.get("spec") or {}
    kind = doc["kind"]
    if doc["apiVersion"] == "postgresql.cnpg.io/v1" and kind == "Cluster":
        if not isinstance(spec.get("instances"), int) or spec["instances"] < 1:
            fail(doc, "spec.instances must be a positive integer")
        if not spec.get("storage", {}).get("size"):
            fail(doc, "spec.storage.size is required")
        initdb = spec.get("bootstrap", {}).get("initdb", {})
        if initdb and not initdb.get("secret", {}).get("name"):
            fail(doc, "bootstrap.initdb.secret.name: the owner's password must come from a Secret")
        for role in spec.get("managed", {}).get("roles", []):
            if role.get("login") and not role.get("passwordSecret", {}).get("name"):
                fail(doc, f"managed role {role.get('name')}: passwordSecret.name is required")
    elif doc["apiVersion"] == "postgresql.cnpg.io/v1" and kind == "Database":
        for field in ("name", "owner"):
            if not spec.get(field):
                fail(doc, f"spec.{field} is required")
        if not spec.get("cluster", {}).get("name"):
            fail(doc, "spec.cluster.name is required")
    elif doc["apiVersion"] == "monitoring.coreos.com/v1" and kind == "ServiceMonitor":
        if not spec.get("selector", {}).get("matchLabels"):
            fail(doc, "spec.selector.matchLabels is required")
        endpoints = spec.get("endpoints") or []
        if not endpoints or any(not e.get("port") for e in endpoints):
            fail(doc, "every endpoint needs a named port")
        wanted = spec.get("selector", {}).get("matchLabels", {})
        selected = [
            s for s in services
            if wanted.items() <= (s["metadata"].get("labels") or {}).items()
        ]
        if not selected:
            fail(doc, f"selects no Service (labels {wanted})")
        for service in selected:
            names = {p.get("name") for p in service["spec"].get("ports", [])}
            for endpoint in endpoints:
                if endpoint.get("port") not in names:
                    fail(doc, f"Service {service['metadata']['name']} has no port {endpoint.get('port')!r}")
    elif doc["apiVersion"] == "postgresql.cnpg.io/v1" and kind == "Pooler":
        if not spec.get("cluster", {}).get("name"):
            fail(doc, "spec.cluster.name is required")
        mode = spec.get("pgbouncer", {}).get("poolMode")
        if mode not in ("session", "transaction"):
            fail(doc, f"pgbouncer.poolMode {mode!r}")
        params = spec.get("pgbouncer", {}).get("parameters", {})
        if mode == "transaction" and int(params.get("max_prepared_statements", 0)) <= 0:
            fail(doc, "transaction mode needs max_prepared_statements (sqlx prepares statements)")
    elif doc["apiVersion"] == "postgresql.cnpg.io/v1" and kind == "ScheduledBackup":
        if not spec.get("cluster", {}).get("name"):
            fail(doc, "spec.cluster.name is required")
        if len(str(spec.get("schedule", "")).split()) != 6:
            fail(doc, "spec.schedule must be a six-field cron (seconds first)")
        if spec.get("method") == "plugin" and not spec.get("pluginConfiguration", {}).get("name"):
            fail(doc, "method plugin needs pluginConfiguration.name")
    elif doc["apiVersion"] == "barmancloud.cnpg.io/v1" and kind == "ObjectStore":
        conf = spec.get("configuration", {})
        if not conf.get("destinationPath"):
            fail(doc, "configuration.destinationPath is required")
        for field in ("accessKeyId", "secretAccessKey"):
            if not conf.get("s3Credentials", {}).get(field, {}).get("name"):
                fail(doc, f"s3Credentials.{field} must come from a Secret")
    elif doc["apiVersion"] == "cert-manager.io/v1" and kind == "Issuer":
        if not (spec.get("selfSigned") is not None or spec.get("ca", {}).get("secretName")):
            fail(doc, "an Issuer here is selfSigned or a CA with its secretName")
    elif doc["apiVersion"] == "cert-manager.io/v1" and kind == "Certificate":
        for field in ("secretName", "issuerRef"):
            if not spec.get(field):
                fail(doc, f"spec.{field} is required")
        if not spec.get("isCA") and not {"server auth", "client auth"} <= set(spec.get("usages", [])):
            fail(doc, "service certificates serve and call: usages server auth and client auth")
    elif doc["apiVersion"] == "monitoring.coreos.com/v1" and kind == "PodMonitor":
        if not spec.get("selector", {}).get("matchLabels"):
            fail(doc, "spec.selector.matchLabels is required")
        if not spec.get("podMetricsEndpoints") or any(not e.get("port") for e in spec["podMetricsEndpoints"]):
            fail(doc, "every podMetricsEndpoint needs a named port")
    elif doc["apiVersion"] == "monitoring.coreos.com/v1" and kind == "PrometheusRule":
        groups = spec.get("groups") or []
        if not groups:
            fail(doc, "spec.groups is empty")
        alerts = {r.get("alert") for g in groups for r in g.get("rules", []) if r.get("alert")}
        missing = sorted(REQUIRED_ALERTS - alerts)
        if missing:
            fail(doc, f"alerts missing: {missing}")
        for group in groups:
            for rule in group.get("rules", []):
                if rule.get("alert") and "RUNBOOK.md#" not in rule.get("annotations", {}).get("description", ""):
                    fail(doc, f"alert {rule['alert']} names no playbook (RUNBOOK.md#...)")
    else:
        fail(doc, f"unexpected custom resource {doc['apiVersion']} {kind}: add a check for it")
    # kube-prometheus-stack selects monitors and rules by its release label.
    if doc["apiVersion"] == "monitoring.coreos.com/v1" and not (doc["metadata"].get("labels") or {}).get("release"):
        fail(doc, "no `release` label: kube-prometheus-stack would not select it")


if __name__ == "__main__":
    sys.exit(main())
