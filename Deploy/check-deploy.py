#!/usr/bin/env python3
"""Structural checks of the deployment files (no Docker engine or cluster needed).

    python3 Deploy/check-deploy.py                  # all checks; last line "check-deploy: N passed, M failed"
    python3 Deploy/check-deploy.py --events FILE    # validate JSONL events against a schema
        [--schema Schemas/emotion-event.schema.json]

The checks: docker-compose.yml, Deploy/k8s, Deploy/prometheus and Deploy/grafana parse; the
compose services, images, ports, environment, healthchecks and dependencies are there; every env
var set for a plutchik container is one the program reads (found in Sources/**/*.swift); the
Kubernetes objects fit together; the Dockerfile has its stages, packages, USER, HEALTHCHECK and
STOPSIGNAL; the dashboard and alerts use metric names the program exports; Schemas/*.json are
valid draft 2020-12 JSON Schemas and the demo dialogues are valid turns.
Needs PyYAML and jsonschema (Deploy/install-deps.sh installs them).
"""
import argparse
import glob
import json
import os
import re
import shlex
import sys

import yaml
from jsonschema import Draft202012Validator, FormatChecker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOPICS = {"plutchik.turns": 12, "plutchik.emotions": 12, "plutchik.escalations": 3, "plutchik.dlq": 3}
GROUP = "plutchik"
METRICS_PORT = 9464

passed = 0
failures = []


def check(ok, what):
    """Records one assertion; prints only failures."""
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)
    return bool(ok)


def path(*parts):
    return os.path.join(ROOT, *parts)


def rel(p):
    return os.path.relpath(p, ROOT)


def read(p):
    with open(p, encoding="utf-8") as f:
        return f.read()


def load_yaml(p):
    """All documents of a YAML file, or None (a failed check) when it does not parse."""
    try:
        docs = [d for d in yaml.safe_load_all(read(p)) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        check(False, f"{rel(p)} parses as YAML ({e})")
        return None
    check(docs, f"{rel(p)} parses as YAML and is not empty")
    return docs


def load_json(p):
    try:
        doc = json.loads(read(p))
    except (OSError, ValueError) as e:
        check(False, f"{rel(p)} parses as JSON ({e})")
        return None
    check(True, f"{rel(p)} parses as JSON")
    return doc


# --- What the program reads -------------------------------------------------------------------

def program_env():
    """Env var names and name prefixes the Swift sources read: env["X"] / environment["X"] /
    Settings["X"] and hasPrefix("X_") on an upper-case literal (PLUTCHIK_KAFKA_)."""
    names, prefixes = set(), set()
    for f in glob.glob(path("Sources", "**", "*.swift"), recursive=True):
        text = read(f)
        names |= set(re.findall(r'(?:env|environment|Settings)\[\s*"([A-Z][A-Z0-9_]*)"\s*\]', text))
        prefixes |= set(re.findall(r'hasPrefix\(\s*"([A-Z][A-Z0-9_]*_)"\s*\)', text))
    return names, prefixes


def program_metrics():
    """Metric labels of PipelineMetrics.swift, with their swift-metrics kind."""
    text = read(path("Sources", "Pipeline", "PipelineMetrics.swift"))
    return {m.group(2): m.group(1) for m in re.finditer(r'\b(Counter|Gauge|Recorder|Timer)\(label:\s*"([a-z_:][a-z0-9_:]*)"', text)}


def exported_names(metrics):
    """Prometheus series names swift-prometheus 2.x exports: counters and gauges as labelled,
    timers and aggregating recorders as histograms (_bucket, _sum, _count)."""
    out = set()
    for name, kind in metrics.items():
        out.add(name)
        if kind in ("Timer", "Recorder"):
            out |= {name + "_bucket", name + "_sum", name + "_count"}
    return out


def env_is_read(name, names, prefixes):
    return name in names or any(name.startswith(p) and len(name) > len(p) for p in prefixes)


# --- docker-compose.yml -----------------------------------------------------------------------

def as_env(env):
    """Compose environment (mapping or KEY=VALUE list) as a dict."""
    if isinstance(env, dict):
        return {str(k): ("" if v is None else str(v)) for k, v in env.items()}
    out = {}
    for item in env or []:
        k, _, v = str(item).partition("=")
        out[k] = v
    return out


def command_text(c):
    return " ".join(c) if isinstance(c, list) else str(c or "")


def is_plutchik(svc):
    build = svc.get("build") or {}
    dockerfile = build.get("dockerfile", "") if isinstance(build, dict) else ""
    return dockerfile.endswith("Deploy/Dockerfile") or str(svc.get("image", "")).startswith("plutchik-stream")


def pinned(image, repo):
    """image is repo:TAG with a tag other than latest."""
    name, _, tag = str(image).partition(":")
    return name == repo and tag not in ("", "latest")


def check_compose(env_names, env_prefixes):
    docs = load_yaml(path("docker-compose.yml"))
    if not docs:
        return {}
    compose = docs[0]
    services = compose.get("services", {}) or {}
    for s in ["kafka", "postgres", "init-topics", "init", "plutchik-1", "plutchik-2", "replay", "prometheus", "grafana"]:
        check(s in services, f"compose: service {s}")
    get = lambda s: services.get(s) or {}

    # Images, pinned.
    kafka = get("kafka")
    check(pinned(kafka.get("image"), "apache/kafka") and re.match(r"apache/kafka:[34]\.", str(kafka.get("image"))),
          "compose: kafka runs apache/kafka with a pinned 3.x/4.x tag")
    check(str(get("postgres").get("image", "")).startswith("postgres:16"), "compose: postgres runs postgres:16")
    check(get("init-topics").get("image") == kafka.get("image"), "compose: init-topics uses the kafka image (kafka-topics.sh)")
    check(pinned(get("prometheus").get("image"), "prom/prometheus"), "compose: prometheus image pinned")
    check(pinned(get("grafana").get("image"), "grafana/grafana"), "compose: grafana image pinned")
    check(":" in str(get("replay").get("image", "")) and not str(get("replay").get("image")).endswith(":latest"),
          "compose: replay image pinned")
    for s in ["init", "plutchik-1", "plutchik-2"]:
        check(is_plutchik(get(s)), f"compose: {s} is built from Deploy/Dockerfile")

    # Kafka in KRaft mode, single node.
    kenv = as_env(kafka.get("environment"))
    check({"broker", "controller"} <= set(kenv.get("KAFKA_PROCESS_ROLES", "").split(",")),
          "compose: kafka runs in KRaft mode (process roles broker,controller)")
    check("KAFKA_CONTROLLER_QUORUM_VOTERS" in kenv and not any("ZOOKEEPER" in k for k in kenv),
          "compose: kafka has a controller quorum and no ZooKeeper")
    check(kenv.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR") == "1", "compose: single-node replication factors")

    # Healthchecks where something waits for health.
    for s in ["kafka", "postgres", "plutchik-1", "plutchik-2", "prometheus", "grafana"]:
        hc = get(s).get("healthcheck") or {}
        check(hc.get("test") and not hc.get("disable"), f"compose: {s} has a healthcheck")
    for s in ["plutchik-1", "plutchik-2"]:
        test = command_text((get(s).get("healthcheck") or {}).get("test"))
        check("/healthz" in test and str(METRICS_PORT) in test, f"compose: {s} healthcheck probes /healthz on {METRICS_PORT}")

    # Dependencies: targets exist, waited-for health exists, the one-shot chain is in order.
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        for dep, cond in (deps.items() if isinstance(deps, dict) else ((d, {}) for d in deps)):
            check(dep in services, f"compose: {name} depends on existing service {dep}")
            if (cond or {}).get("condition") == "service_healthy":
                check((services.get(dep) or {}).get("healthcheck"), f"compose: {name} waits for {dep} healthy, which has a healthcheck")
    def dep(s, on, cond):
        d = get(s).get("depends_on") or {}
        return isinstance(d, dict) and (d.get(on) or {}).get("condition") == cond
    check(dep("init-topics", "kafka", "service_healthy"), "compose: init-topics waits for kafka healthy")
    check(dep("init", "init-topics", "service_completed_successfully"), "compose: init runs after init-topics completed")
    check(dep("init", "postgres", "service_healthy"), "compose: init waits for postgres healthy")
    for s in ["plutchik-1", "plutchik-2", "replay"]:
        check(dep(s, "init", "service_completed_successfully"), f"compose: {s} starts after init completed successfully")

    # The one-shot jobs.
    topics_cmd = command_text(get("init-topics").get("entrypoint")) + " " + command_text(get("init-topics").get("command"))
    check("kafka-topics.sh" in topics_cmd and "--create" in topics_cmd, "compose: init-topics runs kafka-topics.sh --create")
    found = {t: int(n) for t, n in re.findall(r"(plutchik\.[a-z]+):(\d+)", topics_cmd)}
    check(found == TOPICS, f"compose: init-topics creates {TOPICS} (found {found})")
    check(get("init").get("command") in (["migrate"], "migrate"), "compose: init runs `plutchik migrate`")
    check(get("init").get("restart") == "no" and get("init-topics").get("restart") == "no", "compose: one-shot jobs do not restart")

    # The replicas: one group, the same bootstrap and database, distinct host ports, a drain period.
    envs = {s: as_env(get(s).get("environment")) for s in ["init", "plutchik-1", "plutchik-2"]}
    for s in ["plutchik-1", "plutchik-2"]:
        e = envs[s]
        check(get(s).get("command") in (None, ["run"], "run"), f"compose: {s} runs `plutchik run`")
        check(e.get("KAFKA_BROKERS") == "kafka:9092", f"compose: {s} KAFKA_BROKERS=kafka:9092")
        check(e.get("DATABASE_URL", "").startswith("postgresql://") and "@postgres:5432/" in e.get("DATABASE_URL", ""),
              f"compose: {s} DATABASE_URL points at the postgres service")
        check(e.get("PLUTCHIK_GROUP_ID") == GROUP, f"compose: {s} in consumer group {GROUP}")
        check(e.get("PLUTCHIK_METRICS_PORT", str(METRICS_PORT)) == str(METRICS_PORT), f"compose: {s} metrics on {METRICS_PORT}")
        check(any(str(p).endswith(f":{METRICS_PORT}") for p in get(s).get("ports", [])), f"compose: {s} publishes {METRICS_PORT}")
        check(get(s).get("stop_grace_period") and get(s).get("stop_signal", "SIGTERM") == "SIGTERM",
              f"compose: {s} stops with SIGTERM and a grace period")
    check(envs["init"].get("DATABASE_URL") == envs["plutchik-1"].get("DATABASE_URL"), "compose: init migrates the replicas' database")
    host_ports = [str(p).rsplit(":", 1)[0] for s in services.values() for p in s.get("ports", [])]
    check(len(host_ports) == len(set(host_ports)), f"compose: host ports are distinct ({host_ports})")

    # Every env var set for a plutchik container is one the program reads.
    for name, svc in services.items():
        if is_plutchik(svc):
            for k in as_env(svc.get("environment")):
                check(env_is_read(k, env_names, env_prefixes), f"compose: {name} sets {k}: the program reads it")

    # Host paths mounted into containers exist.
    for name, svc in services.items():
        for v in svc.get("volumes", []) or []:
            src = str(v).split(":")[0]
            if src.startswith("./"):
                check(os.path.exists(path(src)), f"compose: {name} mounts {src}, which exists")

    # The replay producer: the demo dialogues, keyed by dialogue_id, into the turns topic.
    rp = path("Deploy", "demo", "replay.sh")
    script = read(rp) if os.path.exists(rp) else ""
    check("kcat -P" in script and "-K" in script and "dialogue_id" in script, "compose: replay.sh produces with kcat keyed by dialogue_id")
    check(as_env(get("replay").get("environment")).get("REPLAY_TOPIC", "plutchik.turns") == "plutchik.turns",
          "compose: replay writes to plutchik.turns")
    return services


# --- Prometheus and Grafana -------------------------------------------------------------------

def metric_names_in(expr):
    return set(re.findall(r"\b(plutchik_[a-z0-9_]+)\b", expr))


def check_observability(exported):
    docs = load_yaml(path("Deploy", "prometheus", "prometheus.yml"))
    if docs:
        targets = [t for job in docs[0].get("scrape_configs", []) for sc in job.get("static_configs", []) for t in sc.get("targets", [])]
        for t in [f"plutchik-1:{METRICS_PORT}", f"plutchik-2:{METRICS_PORT}"]:
            check(t in targets, f"prometheus.yml scrapes {t}")
    alerts = load_yaml(path("Deploy", "prometheus", "alerts.yml"))
    if alerts:
        for g in alerts[0].get("groups", []):
            for r in g.get("rules", []):
                for m in metric_names_in(r.get("expr", "")):
                    check(m in exported, f"alerts.yml {r.get('alert')}: {m} is a metric the program exports")

    uids = set()
    for p in sorted(glob.glob(path("Deploy", "grafana", "**", "*.y*ml"), recursive=True)):
        for d in load_yaml(p) or []:
            uids |= {ds.get("uid") for ds in d.get("datasources", [])}
    check("prometheus" in uids, "grafana: a Prometheus data source is provisioned")

    dashboards = sorted(glob.glob(path("Deploy", "grafana", "dashboards", "*.json")))
    check(dashboards, "grafana: a dashboard is provisioned")
    for p in dashboards:
        d = load_json(p)
        if not d:
            continue
        panels = d.get("panels", [])
        titles = " | ".join(p.get("title", "").lower() for p in panels)
        for want in ["turns/s", "lag", "emotion mix", "escalation", "dead", "latency"]:
            check(want in titles, f"{rel(p)}: a panel about '{want}'")
        for panel in panels:
            for t in panel.get("targets", []):
                ds = (t.get("datasource") or panel.get("datasource") or {}).get("uid")
                check(ds in uids, f"{rel(p)} '{panel.get('title')}': data source {ds} is provisioned")
                for m in metric_names_in(t.get("expr", "")):
                    check(m in exported, f"{rel(p)} '{panel.get('title')}': {m} is a metric the program exports")


# --- Deploy/k8s -------------------------------------------------------------------------------

def check_k8s(env_names, env_prefixes):
    files = sorted(glob.glob(path("Deploy", "k8s", "*.yaml")) + glob.glob(path("Deploy", "k8s", "*.yml")))
    objects = {}
    kust = None
    for f in files:
        for d in load_yaml(f) or []:
            if os.path.basename(f) == "kustomization.yaml":
                kust = d
            elif isinstance(d, dict) and d.get("kind"):
                objects.setdefault(d["kind"], []).append((os.path.basename(f), d))
    for kind in ["Deployment", "ConfigMap", "Service", "PodDisruptionBudget", "ScaledObject", "TriggerAuthentication"]:
        check(kind in objects, f"k8s: a {kind}")
    check(kust is not None, "k8s: kustomization.yaml")
    if kust:
        res = kust.get("resources", [])
        for r in res:
            check(os.path.exists(path("Deploy", "k8s", r)), f"k8s: kustomization resource {r} exists")
        for kind, objs in objects.items():
            for f, _ in objs:
                if kind != "Secret":
                    check(f in res, f"k8s: {f} ({kind}) is listed in kustomization.yaml")
    # Migrations: a Job (or hook) runs `plutchik migrate` with the database secret.
    jobs = [d for _, d in objects.get("Job", [])]
    mig = [j for j in jobs if (j.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}])[0].get("args") == ["migrate"]]
    check(mig, "k8s: a Job runs plutchik migrate")
    for j in mig:
        jc = j["spec"]["template"]["spec"]["containers"][0]
        check(any(((e.get("valueFrom") or {}).get("secretKeyRef") and e.get("name") == "DATABASE_URL") for e in jc.get("env", [])),
              "k8s: the migration Job reads DATABASE_URL from the Secret")
        check(j["spec"]["template"]["spec"].get("restartPolicy") in ("OnFailure", "Never"), "k8s: the migration Job's pods do not restart forever")
    if "Deployment" not in objects:
        return
    dep = objects["Deployment"][0][1]
    spec, pod = dep.get("spec", {}), dep.get("spec", {}).get("template", {}).get("spec", {})
    labels = dep.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
    check(spec.get("replicas") == 2, "k8s: Deployment starts with 2 replicas")
    check(spec.get("selector", {}).get("matchLabels", {}).items() <= labels.items(), "k8s: Deployment selector matches its pods")
    check(30 <= int(pod.get("terminationGracePeriodSeconds", 30)) <= 120 and "terminationGracePeriodSeconds" in pod,
          "k8s: terminationGracePeriodSeconds set (30..120 s) for the drain")
    check((pod.get("securityContext") or {}).get("runAsNonRoot") is True, "k8s: pods run as non-root")
    containers = pod.get("containers", [])
    check(len(containers) == 1, "k8s: one container")
    c = containers[0] if containers else {}
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    check(METRICS_PORT in ports.values(), f"k8s: container port {METRICS_PORT}")
    res = c.get("resources", {})
    check(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory") and res.get("limits", {}).get("memory"),
          "k8s: resource requests (cpu, memory) and a memory limit")

    def probe(name, want_path):
        h = (c.get(name) or {}).get("httpGet") or {}
        port = ports.get(h.get("port"), h.get("port"))
        return h.get("path") == want_path and port == METRICS_PORT
    check(probe("livenessProbe", "/healthz"), f"k8s: liveness probe GET /healthz on {METRICS_PORT}")
    check(probe("readinessProbe", "/readyz"), f"k8s: readiness probe GET /readyz on {METRICS_PORT}")

    # Environment: ConfigMap via envFrom, secrets via secretKeyRef, all read by the program.
    cm_names = {d["metadata"]["name"]: d for _, d in objects.get("ConfigMap", [])}
    refs = [e.get("configMapRef", {}).get("name") for e in c.get("envFrom", []) if "configMapRef" in e]
    check(refs and all(r in cm_names for r in refs), "k8s: envFrom references the ConfigMap")
    env = {e["name"]: e for e in c.get("env", [])}
    secret_key = lambda n: ((env.get(n) or {}).get("valueFrom") or {}).get("secretKeyRef")
    for n in ["DATABASE_URL", "PLUTCHIK_KAFKA_SASL_USERNAME", "PLUTCHIK_KAFKA_SASL_PASSWORD"]:
        check(secret_key(n), f"k8s: {n} comes from a Secret (secretKeyRef)")
    set_vars = set(env)
    for r in refs:
        set_vars |= set((cm_names.get(r) or {}).get("data", {}))
    for k in sorted(set_vars):
        check(env_is_read(k, env_names, env_prefixes), f"k8s: sets {k}: the program reads it")
    cm = cm_names.get(refs[0]) if refs else {}
    data = (cm or {}).get("data", {})
    check(data.get("KAFKA_BROKERS"), "k8s: ConfigMap sets KAFKA_BROKERS")
    check(data.get("PLUTCHIK_GROUP_ID", GROUP) == GROUP, f"k8s: consumer group {GROUP}")

    for _, svc in objects.get("Service", []):
        check(svc["spec"].get("selector", {}).items() <= labels.items(), "k8s: Service selects the pods")
        check(any(p.get("port") == METRICS_PORT for p in svc["spec"].get("ports", [])), f"k8s: Service exposes {METRICS_PORT}")
    for _, pdb in objects.get("PodDisruptionBudget", []):
        check(pdb["spec"].get("selector", {}).get("matchLabels", {}).items() <= labels.items(), "k8s: PDB selects the pods")
        check("minAvailable" in pdb["spec"] or "maxUnavailable" in pdb["spec"], "k8s: PDB sets a budget")

    # KEDA: a Kafka trigger on the group's lag on the turns topic, at most one replica per partition.
    auths = {d["metadata"]["name"] for _, d in objects.get("TriggerAuthentication", [])}
    for _, so in objects.get("ScaledObject", []):
        s = so.get("spec", {})
        check(s.get("scaleTargetRef", {}).get("name") == dep["metadata"]["name"], "k8s: ScaledObject targets the Deployment")
        check(2 <= int(s.get("minReplicaCount", 0)) <= int(s.get("maxReplicaCount", 100)) <= TOPICS["plutchik.turns"],
              f"k8s: ScaledObject 2 <= min <= max <= {TOPICS['plutchik.turns']} partitions")
        triggers = [t for t in s.get("triggers", []) if t.get("type") == "kafka"]
        check(triggers, "k8s: ScaledObject has a kafka trigger")
        for t in triggers:
            m = t.get("metadata", {})
            check(m.get("bootstrapServers") == data.get("KAFKA_BROKERS"), "k8s: trigger bootstrapServers match KAFKA_BROKERS")
            check(m.get("consumerGroup") == data.get("PLUTCHIK_GROUP_ID", GROUP), "k8s: trigger consumerGroup is the pods' group")
            check(m.get("topic") == "plutchik.turns", "k8s: trigger topic plutchik.turns")
            check(str(m.get("lagThreshold", "")).isdigit(), "k8s: trigger lagThreshold is a number (as a string)")
            ref = (t.get("authenticationRef") or {}).get("name")
            check(ref is None or ref in auths, "k8s: trigger authenticationRef exists")


# --- Deploy/Dockerfile ------------------------------------------------------------------------

def check_dockerfile(env_names, env_prefixes):
    p = path("Deploy", "Dockerfile")
    if not check(os.path.exists(p), "Dockerfile: Deploy/Dockerfile exists"):
        return
    # Join continuation lines, drop comments.
    text = re.sub(r"\\\n", " ", "\n".join(l for l in read(p).splitlines() if not l.lstrip().startswith("#")))
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.M))
    stages, cur = {}, None
    for l in lines:
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", l, re.I)
        if m:
            image = re.sub(r"\$\{?(\w+)\}?", lambda a: args.get(a.group(1), a.group(0)), m.group(1))
            cur = m.group(2) or image
            stages[cur] = {"image": image, "lines": []}
        elif cur:
            stages[cur]["lines"].append(l)
    check(len(stages) >= 2, "Dockerfile: multi-stage")
    build = next((s for s in stages.values() if re.match(r"swift:6\.\d+(\.\d+)?-bookworm$", s["image"])), None)
    runtime = list(stages.values())[-1] if stages else {"image": "", "lines": []}
    check(build, "Dockerfile: a build stage FROM swift:6.x-bookworm")
    check(runtime["image"] == "debian:bookworm-slim", "Dockerfile: the final stage is debian:bookworm-slim")
    if build:
        tools = re.search(r"swift-tools-version:\s*(\d+)\.(\d+)", read(path("Package.swift")))
        img = re.match(r"swift:(\d+)\.(\d+)", build["image"])
        check(tools and img and (int(img[1]), int(img[2])) >= (int(tools[1]), int(tools[2])),
              f"Dockerfile: {build['image']} is at least Package.swift's tools version")
        b = "\n".join(build["lines"])
        for pkg in ["librdkafka-dev", "libopenblas-dev", "libpq-dev", "libphonenumber-dev", "pkg-config", "python3-pip"]:
            check(re.search(rf"apt-get install[^\n]*\b{re.escape(pkg)}\b", b), f"Dockerfile: build stage installs {pkg}")
        check(re.search(r"swift build -c release --product plutchik", b), "Dockerfile: swift build -c release --product plutchik")
        check(re.search(r"PLUTCHIK_MODEL_DIR=\S+ Deploy/fetch-model.sh", b), "Dockerfile: model fetched at build time by fetch-model.sh")
    r = "\n".join(runtime["lines"])
    for pkg in ["librdkafka1", "libopenblas0", "libpq5", "libphonenumber8", "ca-certificates"]:
        check(re.search(rf"apt-get install[^\n]*\b{re.escape(pkg)}\b", r), f"Dockerfile: runtime installs {pkg}")
    check(not re.search(r"apt-get install[^\n]*-dev\b", r), "Dockerfile: runtime installs no -dev package")
    for src in ["Models", "Schemas"]:
        check(re.search(rf"^COPY\s+{src}\s", r, re.M), f"Dockerfile: runtime copies {src}/")
    check(re.search(r"^COPY --from=\S+ \S*plutchik /usr/local/bin/plutchik", r, re.M), "Dockerfile: runtime copies the binary")
    check(re.search(r"^COPY --from=\S+ /opt/plutchik/model ", r, re.M), "Dockerfile: runtime copies the model files")
    for dest in ["/opt/plutchik/", "/opt/plutchik/model/"]:
        check(re.search(rf"^COPY\s+LICENSE NOTICE {re.escape(dest)}$", r, re.M), f"Dockerfile: runtime has LICENSE and NOTICE in {dest}")
    check(os.path.exists(path("LICENSE")) and "Apache License" in read(path("LICENSE")), "LICENSE: the Apache License 2.0")
    check(os.path.exists(path("NOTICE")) and re.search(r"all-MiniLM-L6-v2.*\n?.*Apache", read(path("NOTICE")), re.S),
          "NOTICE: names all-MiniLM-L6-v2 and its Apache-2.0 licence")
    user = re.findall(r"^USER\s+(\S+)", r, re.M)
    check(user and user[-1].split(":")[0] not in ("root", "0"), "Dockerfile: runs as a non-root USER")
    check(re.search(r"^HEALTHCHECK\s.*CMD.*/healthz", r, re.M), "Dockerfile: HEALTHCHECK probes /healthz")
    check(re.search(r"^STOPSIGNAL\s+SIGTERM$", r, re.M), "Dockerfile: STOPSIGNAL SIGTERM")
    check(re.search(r'^ENTRYPOINT\s+\["plutchik"\]$', r, re.M), 'Dockerfile: ENTRYPOINT ["plutchik"]')
    check(re.search(r'^CMD\s+\["run"\]$', r, re.M), 'Dockerfile: CMD ["run"]')
    env = dict(re.findall(r"\b(PLUTCHIK_[A-Z_]+)=(\S+)", "\n".join(l for l in runtime["lines"] if l.startswith("ENV"))))
    for k in ["PLUTCHIK_MODEL_DIR", "PLUTCHIK_HEADS_DIR", "PLUTCHIK_ESCALATION_DIR", "PLUTCHIK_MIGRATIONS_DIR"]:
        check(k in env, f"Dockerfile: ENV {k}")
    for k in env:
        check(env_is_read(k, env_names, env_prefixes), f"Dockerfile: sets {k}: the program reads it")
    for l in lines:  # COPY sources from the build context exist
        m = re.match(r"COPY\s+(?!--from)(.+)\s+\S+$", l)
        if m:
            for src in shlex.split(m.group(1)):
                check(glob.glob(path(src)), f"Dockerfile: COPY source {src} exists")
    di = path(".dockerignore")
    ignored = read(di).split() if os.path.exists(di) else []
    check(".build" in ignored and ".git" in ignored, ".dockerignore excludes .build and .git")


# --- Schemas ----------------------------------------------------------------------------------

def sibling_schemas(schema_dir):
    """The schemas of a directory by $id, so references between them resolve without a network."""
    out = {}
    for p in glob.glob(os.path.join(schema_dir, "*.json")):
        try:
            s = json.loads(read(p))
        except ValueError:
            continue
        if isinstance(s, dict) and "$id" in s:
            out[s["$id"]] = s
    return out


def make_validator(schema, schema_dir):
    """A draft 2020-12 validator with format checks; $refs resolve among schema_dir's schemas
    (referencing with jsonschema >= 4.18, RefResolver before)."""
    store = sibling_schemas(schema_dir)
    try:
        from referencing import Registry, Resource
        registry = Registry().with_resources((i, Resource.from_contents(s)) for i, s in store.items())
        return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())
    except ImportError:
        from jsonschema import RefResolver
        return Draft202012Validator(schema, resolver=RefResolver.from_schema(schema, store=store),
                                    format_checker=FormatChecker())


def refs_in(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs_in(v)


def resolves(schema, ref, schema_dir):
    """Whether a $ref of schema resolves among schema_dir's schemas."""
    store = sibling_schemas(schema_dir)
    try:
        try:
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012
            registry = Registry().with_resources(
                (i, Resource.from_contents(s, default_specification=DRAFT202012)) for i, s in store.items())
            registry.resolver(base_uri=schema.get("$id", "")).lookup(ref)
        except ImportError:
            from jsonschema import RefResolver
            RefResolver.from_schema(schema, store=store).resolve(ref)
        return True
    except Exception:
        return False


def check_openapi():
    """Schemas/openapi.json is OpenAPI 3.1 and each of its $refs points at something: in itself
    (#/...) or in a schema beside it (name.schema.json[#/...])."""
    doc = load_json(path("Schemas", "openapi.json"))
    if doc is None:
        return
    check(str(doc.get("openapi", "")).startswith("3.1"), "Schemas/openapi.json is OpenAPI 3.1")
    check("/v1/analyze" in doc.get("paths", {}), "Schemas/openapi.json describes POST /v1/analyze")
    for ref in sorted(set(refs_in(doc))):
        name, _, pointer = ref.partition("#")
        target = doc if not name else load_json(path("Schemas", name)) if os.path.exists(path("Schemas", name)) else None
        try:
            for part in [p for p in pointer.split("/")[1:]]:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            ok = target is not None
        except (KeyError, TypeError, IndexError):
            ok = False
        check(ok, f"Schemas/openapi.json: $ref {ref} resolves")


def check_schemas():
    check_openapi()
    schemas = sorted(glob.glob(path("Schemas", "*.schema.json")))
    check(schemas, "Schemas: JSON Schemas present")
    loaded = {}
    for p in schemas:
        s = load_json(p)
        if s is None:
            continue
        check(s.get("$schema") == "https://json-schema.org/draft/2020-12/schema", f"{rel(p)} declares draft 2020-12")
        try:
            Draft202012Validator.check_schema(s)
            check(True, f"{rel(p)} is a valid draft 2020-12 schema")
            loaded[os.path.basename(p)] = s
            for ref in sorted(set(refs_in(s))):
                check(resolves(s, ref, path("Schemas")), f"{rel(p)}: $ref {ref} resolves")
        except Exception as e:  # jsonschema.SchemaError
            check(False, f"{rel(p)} is a valid draft 2020-12 schema ({str(e).splitlines()[0]})")
    # The demo dialogues are valid turns.
    turn = loaded.get("turn.schema.json")
    if turn:
        v = make_validator(turn, path("Schemas"))
        bad = 0
        with open(path("Deploy", "demo", "dialogues.jsonl"), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip() and any(True for _ in v.iter_errors(json.loads(line))):
                    bad += 1
        check(bad == 0, f"Deploy/demo/dialogues.jsonl: every line is a valid turn ({bad} invalid)")


# --- --events ---------------------------------------------------------------------------------

def validate_events(events, schema_path, show=10):
    """Validates each JSONL line of events against the schema; exit status 1 on any invalid line."""
    schema = json.loads(read(schema_path))
    Draft202012Validator.check_schema(schema)
    v = make_validator(schema, os.path.dirname(os.path.abspath(schema_path)))
    good = bad = 0
    with open(events, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                errors = sorted(v.iter_errors(json.loads(line)), key=lambda e: list(e.absolute_path))
            except ValueError as e:
                errors = [f"not JSON: {e}"]
            if errors:
                bad += 1
                for e in errors[:3] if bad <= show else []:
                    where = "/".join(map(str, getattr(e, "absolute_path", []))) or "(root)"
                    print(f"{events}:{n}: {where}: {getattr(e, 'message', e)}", file=sys.stderr)
            else:
                good += 1
    print(f"check-deploy: events: {good} valid, {bad} invalid against {os.path.basename(schema_path)}")
    return 0 if bad == 0 and good > 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", help="JSONL file of events to validate (instead of the structural checks)")
    ap.add_argument("--schema", default=path("Schemas", "emotion-event.schema.json"), help="schema for --events")
    a = ap.parse_args()
    if a.events:
        sys.exit(validate_events(a.events, a.schema))

    env_names, env_prefixes = program_env()
    check("KAFKA_BROKERS" in env_names and "PLUTCHIK_KAFKA_" in env_prefixes, "Sources: env vars found (KAFKA_BROKERS, PLUTCHIK_KAFKA_*)")
    metrics = program_metrics()
    check("plutchik_turns_total" in metrics, "Sources: metric names found in PipelineMetrics.swift")
    check_dockerfile(env_names, env_prefixes)
    check_compose(env_names, env_prefixes)
    check_observability(exported_names(metrics))
    check_k8s(env_names, env_prefixes)
    check_schemas()
    print(f"check-deploy: {passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
