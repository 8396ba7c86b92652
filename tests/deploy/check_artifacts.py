"""Structural checks of the deployment artifacts, for scripts/check-deploy.sh.

What the consuming tools cannot check by themselves: that the Kubernetes objects refer
to each other correctly and keep the daemon's rules (one replica, non-root, the
config's paths match the mounts), that the ServiceMonitor (a CRD, without a bundled
schema) has its required fields, that the Grafana dashboard is well formed, and that
the alerts and the dashboard name only metrics the daemon exports. PromQL itself is
left to promtool: the dashboard's queries are written into a rules file for it.

    check_artifacts.py systemd UNIT TOML
    check_artifacts.py prometheus ALERTS TESTS NAMES_RS
    check_artifacts.py grafana DASHBOARD NAMES_RS RULES_OUT
    check_artifacts.py kubernetes DIR TOML_OUT

Each prints what it checked and exits 1 with one line per problem.
"""

import json
import re
import sys
import tomllib
from pathlib import Path

import yaml

# Metrics another change adds to src/telemetry/names.rs; the checks accept them until
# then, and say so.
PENDING_METRICS = {"own_audit_newest_event_id"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

problems = []


def problem(text):
    problems.append(text)


def finish(what):
    """Prints `what` was checked, or every problem found and exits 1."""
    if problems:
        for text in problems:
            print(f"  FAIL: {text}")
        sys.exit(1)
    print(f"  ok: {what}")


def known_metrics(names_rs):
    source = Path(names_rs).read_text()
    names = set(re.findall(r'pub const \w+: &str = "(own_audit_\w+)";', source))
    if not names:
        problem(f"no metric names found in {names_rs}")
    for name in sorted(PENDING_METRICS - names):
        print(f"  note: {name} is not in {names_rs} yet; accepted as pending")
    return names | PENDING_METRICS


def check_metric_names(expr, known, where):
    for token in re.findall(r"\bown_audit_\w+", expr):
        base = token
        for suffix in HISTOGRAM_SUFFIXES:
            if token.endswith(suffix) and token[: -len(suffix)] in known:
                base = token[: -len(suffix)]
        if base not in known:
            problem(f"{where}: {token} is not a metric the daemon exports")


# --- systemd ----------------------------------------------------------------------


def unit_settings(path):
    """The [Service] settings of a unit file: name to list of values, in order."""
    settings, section = {}, None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def check_systemd(unit_path, toml_path):
    unit = unit_settings(unit_path)
    config = tomllib.loads(Path(toml_path).read_text())
    unit_name = Path(unit_path).name

    def single(key):
        values = unit.get(key, [])
        if len(values) != 1:
            problem(f"{unit_name}: expected one {key}=, found {len(values)}")
            return ""
        return values[0]

    config_dir = "/etc/" + single("ConfigurationDirectory")
    for key in ("ExecStartPre", "ExecStart"):
        words = single(key).split()
        if "--config" not in words or words.index("--config") + 1 >= len(words):
            problem(f"{unit_name}: {key} does not pass --config FILE")
        elif not words[words.index("--config") + 1].startswith(config_dir + "/"):
            problem(f"{unit_name}: {key} reads its configuration outside {config_dir}")
    state = "/var/lib/" + single("StateDirectory")
    if config.get("state_dir") != state:
        problem(f"{toml_path}: state_dir must be {state}, the unit's StateDirectory= "
                "(ProtectSystem=strict makes every other place read-only)")
    credentials = {value.split(":", 1)[0] for value in unit.get("LoadCredential", [])}
    prefix = f"/run/credentials/{unit_name}/"
    for i, source in enumerate(config.get("sources", [])):
        token = source.get("api_token_file", "")
        if not token.startswith(prefix) or token[len(prefix):] not in credentials:
            problem(f"{toml_path}: sources[{i}].api_token_file {token!r} is not "
                    f"{prefix}ID for a LoadCredential=ID:... of the unit")
    writable = [state, "/var/log/" + single("LogsDirectory")]
    for i, sink in enumerate(config.get("sinks", [])):
        path = sink.get("path")
        if sink.get("type") == "file" and path != "-" and not any(
                path.startswith(w + "/") for w in writable):
            problem(f"{toml_path}: sinks[{i}].path {path!r} is not in the unit's "
                    "StateDirectory= or LogsDirectory=, so it is read-only")
    if single("Type") != "notify" or single("NotifyAccess") != "main":
        problem(f"{unit_name}: Type=notify with NotifyAccess=main expected")
    finish(f"{unit_name} and {Path(toml_path).name} agree on the configuration, state, "
           "credential and log paths")


# --- Prometheus -------------------------------------------------------------------


def check_prometheus(alerts_path, tests_path, names_rs):
    known = known_metrics(names_rs)
    alerts = {}
    for group in yaml.safe_load(Path(alerts_path).read_text())["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert")
            if not name:
                problem(f"a rule without alert name in group {group['name']}")
                continue
            alerts[name] = rule
            check_metric_names(rule["expr"], known, name)
            if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
                problem(f"{name}: labels.severity must be warning or critical")
            for key in ("summary", "description"):
                if not rule.get("annotations", {}).get(key, "").strip():
                    problem(f"{name}: no {key} annotation")

    fired, silent = set(), set()
    for test in yaml.safe_load(Path(tests_path).read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            name = case["alertname"]
            if name not in alerts:
                problem(f"{tests_path}: tests {name}, which alerts.yml does not define")
            (fired if case.get("exp_alerts") else silent).add(name)
    for name in alerts:
        if name not in fired:
            problem(f"{name}: no test shows it firing")
        if name not in silent:
            problem(f"{name}: no test shows it silent on healthy series")
    finish(f"{len(alerts)} alerts: severity, summary, description, known metrics, "
           "tested firing and silent")


# --- Grafana ----------------------------------------------------------------------

GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                    "__range_ms", "__all", "__dashboard", "__from", "__to", "__name",
                    "__org", "__user", "__timezone"}
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
PANEL_TYPES = {"timeseries", "stat", "state-timeline", "gauge", "bargauge", "table", "text",
               "heatmap", "row"}
SUBSTITUTE = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h"}


def referenced_variables(text):
    return set(re.findall(r"\$\{?(\w+)", text)) | set(re.findall(r"\[\[(\w+)\]\]", text))


def flatten_panels(panels):
    for panel in panels:
        yield panel
        yield from flatten_panels(panel.get("panels", []))


def check_grafana(dashboard_path, names_rs, rules_out):
    known = known_metrics(names_rs)
    try:
        dashboard = json.loads(Path(dashboard_path).read_text())
    except json.JSONDecodeError as error:
        problem(f"not valid JSON: {error}")
        finish("dashboard")
    for key in ("title", "uid", "schemaVersion", "panels", "templating"):
        if key not in dashboard:
            problem(f"no top-level {key}")
    if dashboard.get("id") not in (None,) and "id" in dashboard:
        problem("top-level id must be null or absent, so that imports do not clash")

    variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
    if len(variables) != len(dashboard.get("templating", {}).get("list", [])):
        problem("template variable names repeat")
    ds = variables.get("datasource", {})
    if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problem("no template variable 'datasource' of type datasource for prometheus")
    for name in ("source", "sink"):
        if name not in variables:
            problem(f"no template variable {name!r}")
    exprs = []
    for name, var in variables.items():
        if var.get("type") != "query":
            continue
        if var.get("datasource") != DATASOURCE_REF:
            problem(f"variable {name}: datasource must be {DATASOURCE_REF}")
        query = var.get("query", {})
        query = query.get("query", "") if isinstance(query, dict) else query
        match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
        if not match:
            problem(f"variable {name}: query {query!r} is not label_values(SELECTOR, LABEL)")
            continue
        exprs.append((f"variable {name}", match.group(1)))
        for ref in referenced_variables(query) - set(variables) - GRAFANA_BUILTINS:
            problem(f"variable {name}: refers to undefined ${ref}")

    panels = list(flatten_panels(dashboard.get("panels", [])))
    ids = [p.get("id") for p in panels]
    if any(not isinstance(i, int) for i in ids):
        problem("every panel needs an integer id")
    if len(set(ids)) != len(ids):
        problem(f"panel ids repeat: {sorted(i for i in ids if ids.count(i) > 1)}")
    boxes = []
    for panel in panels:
        where = f"panel {panel.get('id')} ({panel.get('title', '?')})"
        if panel.get("type") not in PANEL_TYPES:
            problem(f"{where}: unknown type {panel.get('type')!r}")
        if not panel.get("title"):
            problem(f"{where}: no title")
        pos = panel.get("gridPos", {})
        if not all(isinstance(pos.get(k), int) for k in ("h", "w", "x", "y")):
            problem(f"{where}: gridPos needs integer h, w, x, y")
            continue
        if pos["w"] <= 0 or pos["h"] <= 0 or pos["x"] < 0 or pos["x"] + pos["w"] > 24:
            problem(f"{where}: gridPos {pos} is outside the 24-column grid")
        for other_where, other in boxes:
            if (pos["x"] < other["x"] + other["w"] and other["x"] < pos["x"] + pos["w"]
                    and pos["y"] < other["y"] + other["h"] and other["y"] < pos["y"] + pos["h"]):
                problem(f"{where} overlaps {other_where}")
        boxes.append((where, pos))
        for ref in referenced_variables(panel.get("title", "")) - set(variables) - GRAFANA_BUILTINS:
            problem(f"{where}: title refers to undefined ${ref}")
        if panel.get("type") in ("row", "text"):
            continue
        if panel.get("datasource") != DATASOURCE_REF:
            problem(f"{where}: datasource must be {DATASOURCE_REF}")
        targets = panel.get("targets", [])
        if not targets:
            problem(f"{where}: no queries")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or not all(refs):
            problem(f"{where}: refIds must be present and unique")
        for target in targets:
            at = f"{where} query {target.get('refId')}"
            if target.get("datasource", DATASOURCE_REF) != DATASOURCE_REF:
                problem(f"{at}: datasource must be {DATASOURCE_REF}")
            expr = target.get("expr", "")
            if not expr.strip():
                problem(f"{at}: empty expr")
                continue
            for ref in referenced_variables(expr) - set(variables) - GRAFANA_BUILTINS:
                problem(f"{at}: refers to undefined ${ref}")
            check_metric_names(expr, known, at)
            exprs.append((at, expr))

    rules = []
    for i, (at, expr) in enumerate(exprs):
        for var, value in SUBSTITUTE.items():
            expr = expr.replace(var, value)
        expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    Path(rules_out).write_text(json.dumps(
        {"groups": [{"name": "grafana-dashboard-queries", "rules": rules}]}, indent=2))
    finish(f"dashboard: {len(panels)} panels, {len(exprs)} queries written to {rules_out}")


# --- Kubernetes -------------------------------------------------------------------

SERVICE_MONITOR_SPEC = {"jobLabel", "targetLabels", "podTargetLabels", "endpoints",
                        "selector", "namespaceSelector", "sampleLimit", "targetLimit",
                        "labelLimit", "labelNameLengthLimit", "labelValueLengthLimit",
                        "attachMetadata", "scrapeProtocols", "bodySizeLimit",
                        "keepDroppedTargets", "selectorMechanism", "scrapeClass",
                        "fallbackScrapeProtocol", "convertClassicHistogramsToNHCB"}
SERVICE_MONITOR_ENDPOINT = {"port", "targetPort", "path", "scheme", "params", "interval",
                            "scrapeTimeout", "honorLabels", "honorTimestamps",
                            "trackTimestampsStaleness", "relabelings", "metricRelabelings",
                            "tlsConfig", "authorization", "basicAuth", "oauth2",
                            "bearerTokenSecret", "bearerTokenFile", "followRedirects",
                            "enableHttp2", "filterRunning", "proxyUrl", "noProxy",
                            "proxyFromEnvironment", "proxyConnectHeader"}
DURATION = re.compile(r"^(0|(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?)$")


def load_objects(directory):
    directory = Path(directory)
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    listed = kustomization.get("resources", [])
    present = sorted(p.name for p in directory.glob("*.yaml") if p.name != "kustomization.yaml")
    for name in sorted(set(present) - set(listed)):
        problem(f"{name} is not listed in kustomization.yaml resources")
    objects = {}
    for name in listed:
        path = directory / name
        if not path.exists():
            problem(f"kustomization.yaml lists {name}, which does not exist")
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return kustomization, objects


def one(objects, kind):
    found = [o for (k, _), o in objects.items() if k == kind]
    if len(found) != 1:
        problem(f"expected one {kind}, found {len(found)}")
        return {}
    return found[0]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_deployment(deploy, objects, config):
    spec = deploy.get("spec", {})
    if spec.get("replicas") != 1:
        problem("Deployment: replicas must be 1 (two pollers must never share a cursor)")
    if spec.get("strategy", {}).get("type") != "Recreate":
        problem("Deployment: strategy must be Recreate")
    pod = spec.get("template", {})
    labels = pod.get("metadata", {}).get("labels", {})
    if not selects(spec.get("selector", {}).get("matchLabels"), labels):
        problem("Deployment: selector does not match the pod template's labels")
    pod_spec = pod.get("spec", {})
    pod_sc = pod_spec.get("securityContext", {})
    if pod_sc.get("runAsNonRoot") is not True or not pod_sc.get("runAsUser"):
        problem("Deployment: pod securityContext needs runAsNonRoot and a runAsUser")
    if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem("Deployment: seccompProfile must be RuntimeDefault")
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    containers = pod_spec.get("containers", [])
    if len(containers) != 1:
        problem("Deployment: expected one container")
        return labels, {}
    container = containers[0]
    sc = container.get("securityContext", {})
    if sc.get("readOnlyRootFilesystem") is not True:
        problem("Deployment: readOnlyRootFilesystem must be true")
    if sc.get("allowPrivilegeEscalation") is not False:
        problem("Deployment: allowPrivilegeEscalation must be false")
    if "ALL" not in sc.get("capabilities", {}).get("drop", []):
        problem("Deployment: capabilities must drop ALL")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container.get(probe, {}).get("httpGet", {})
        if get.get("path") != path:
            problem(f"Deployment: {probe} must GET {path}")
        if get.get("port") not in ports and get.get("port") not in ports.values():
            problem(f"Deployment: {probe} port {get.get('port')!r} is not a container port")

    mounts = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"])
        if volume is None:
            problem(f"Deployment: volumeMount {mount['name']} has no volume")
            continue
        mounts[mount["mountPath"]] = volume
    for name, volume in volumes.items():
        refs = (("persistentVolumeClaim", "claimName", "PersistentVolumeClaim"),
                ("configMap", "name", "ConfigMap"), ("secret", "secretName", "Secret"))
        for key, field, kind in refs:
            if key in volume and (kind, volume[key][field]) not in objects:
                problem(f"Deployment: volume {name} refers to {kind} {volume[key][field]}, "
                        "which is not in the manifests")

    grace = pod_spec.get("terminationGracePeriodSeconds", 30)
    shutdown = config.get("pipeline", {}).get("shutdown_grace", "30s")
    seconds = sum(int(n) * {"s": 1, "m": 60, "h": 3600}[u]
                  for n, u in re.findall(r"(\d+)\s*([smh])", shutdown))
    if grace <= seconds:
        problem(f"Deployment: terminationGracePeriodSeconds ({grace}) must exceed "
                f"the config's shutdown_grace ({shutdown})")
    return labels, {"ports": ports, "mounts": mounts, "image": container.get("image", "")}


def check_config_matches(config, pod, objects):
    mounts = pod.get("mounts", {})
    state = mounts.get(config.get("state_dir", ""))
    if not state or "persistentVolumeClaim" not in state:
        problem(f"ConfigMap: state_dir {config.get('state_dir')!r} is not the mount of the "
                "PersistentVolumeClaim")
    listen = config.get("telemetry", {}).get("listen", "")
    host, _, port = listen.rpartition(":")
    if host not in ("0.0.0.0", "[::]") or not port.isdigit():
        problem(f"ConfigMap: telemetry.listen {listen!r} must listen on every interface")
    elif int(port) not in pod.get("ports", {}).values():
        problem(f"ConfigMap: telemetry.listen port {port} is not a container port")
    for i, source in enumerate(config.get("sources", [])):
        token = Path(source.get("api_token_file", ""))
        volume = mounts.get(str(token.parent), {})
        secret = objects.get(("Secret", volume.get("secret", {}).get("secretName")))
        if secret is None:
            problem(f"ConfigMap: sources[{i}].api_token_file {token} is not in a mounted Secret")
            continue
        keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
        if token.name not in keys:
            problem(f"ConfigMap: sources[{i}].api_token_file {token}: the Secret has no key "
                    f"{token.name!r}")


def check_service_monitor(monitor, service, namespace):
    spec = monitor.get("spec", {})
    service_labels = service.get("metadata", {}).get("labels", {})
    if monitor.get("apiVersion") != "monitoring.coreos.com/v1":
        problem("ServiceMonitor: apiVersion must be monitoring.coreos.com/v1")
    for key in sorted(set(spec) - SERVICE_MONITOR_SPEC):
        problem(f"ServiceMonitor: spec.{key} is not a ServiceMonitor field")
    if not isinstance(spec.get("selector"), dict):
        problem("ServiceMonitor: spec.selector is required")
    elif not selects(spec["selector"].get("matchLabels"), service_labels):
        problem("ServiceMonitor: spec.selector does not match the Service's labels")
    names = spec.get("namespaceSelector", {}).get("matchNames")
    if names is not None and namespace not in names:
        problem(f"ServiceMonitor: namespaceSelector leaves out {namespace}")
    if spec.get("jobLabel") and spec["jobLabel"] not in service_labels:
        problem(f"ServiceMonitor: jobLabel {spec['jobLabel']} is not a label of the Service")
    endpoints = spec.get("endpoints")
    if not endpoints:
        problem("ServiceMonitor: spec.endpoints must list at least one endpoint")
    service_ports = {p.get("name") for p in service.get("spec", {}).get("ports", [])}
    for i, endpoint in enumerate(endpoints or []):
        for key in sorted(set(endpoint) - SERVICE_MONITOR_ENDPOINT):
            problem(f"ServiceMonitor: endpoints[{i}].{key} is not an endpoint field")
        if endpoint.get("port") not in service_ports:
            problem(f"ServiceMonitor: endpoints[{i}].port {endpoint.get('port')!r} is not a "
                    "named port of the Service")
        for key in ("interval", "scrapeTimeout"):
            if key in endpoint and not DURATION.match(str(endpoint[key])):
                problem(f"ServiceMonitor: endpoints[{i}].{key} {endpoint[key]!r} is not a duration")


def check_kubernetes(directory, toml_out):
    kustomization, objects = load_objects(directory)
    namespace = kustomization.get("namespace")
    for (kind, name), obj in objects.items():
        if kind != "Namespace" and obj["metadata"].get("namespace") != namespace:
            problem(f"{kind} {name}: namespace must be {namespace} (as kustomization.yaml says)")

    configmap = one(objects, "ConfigMap")
    files = configmap.get("data", {})
    toml_text = files.get("own-audit-forwarder.toml")
    config = {}
    if toml_text is None:
        problem("ConfigMap: no own-audit-forwarder.toml key")
    else:
        Path(toml_out).write_text(toml_text)
        try:
            config = tomllib.loads(toml_text)
        except tomllib.TOMLDecodeError as error:
            problem(f"ConfigMap: own-audit-forwarder.toml is not TOML: {error}")

    for secret in (o for (k, _), o in objects.items() if k == "Secret"):
        for key, value in secret.get("stringData", {}).items():
            if "REPLACE" not in value:
                problem(f"Secret {secret['metadata']['name']}: {key} must be an obvious "
                        "placeholder (containing REPLACE), never a real secret")
        if secret.get("data"):
            problem(f"Secret {secret['metadata']['name']}: use stringData placeholders only")

    pod_labels, pod = check_deployment(one(objects, "Deployment"), objects, config)
    check_config_matches(config, pod, objects)
    images = {i["name"] for i in kustomization.get("images", [])}
    if images and pod.get("image", "").rsplit(":", 1)[0] not in images:
        problem("kustomization.yaml images: does not name the Deployment's image")

    service = one(objects, "Service")
    if not selects(service.get("spec", {}).get("selector"), pod_labels):
        problem("Service: selector does not match the pod's labels")
    for port in service.get("spec", {}).get("ports", []):
        target = port.get("targetPort")
        if target not in pod.get("ports", {}) and target not in pod.get("ports", {}).values():
            problem(f"Service: targetPort {target!r} is not a container port")
    check_service_monitor(one(objects, "ServiceMonitor"), service, namespace)
    pvc = one(objects, "PersistentVolumeClaim")
    if not pvc.get("spec", {}).get("resources", {}).get("requests", {}).get("storage"):
        problem("PersistentVolumeClaim: no storage request")
    finish(f"{len(objects)} Kubernetes objects refer to each other correctly; "
           f"ConfigMap configuration written to {toml_out}")


def main(argv):
    commands = {"systemd": (check_systemd, 2), "prometheus": (check_prometheus, 3),
                "grafana": (check_grafana, 3),
                "kubernetes": (check_kubernetes, 2)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__)
        return 2
    command, _ = commands[argv[1]]
    command(*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
