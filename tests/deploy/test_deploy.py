#!/usr/bin/python3
"""Checks of dashboards/ and deploy/: every manifest parses and has what
Kubernetes requires; ports, paths, flags and env names agree across the
Dockerfile, the DaemonSet, the Service, the ServiceMonitor, the Prometheus
configs and compose; promtool accepts the Prometheus configs; every dashboard
query runs on a real Prometheus (Debian's) scraping exporters that serve the
metric contract below, and returns the values that traffic implies.

Run one group: test_deploy.py ManifestTests (CMake registers each group as
its own test; the binary groups only when the targets are built).
"""
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import tokenring_test as tt  # noqa: E402  (tests/pylib: the shared helpers)
from tokenring_test import free_port  # noqa: E402

ROOT = pathlib.Path(os.environ.get("TOKENRING_SOURCE_DIR")
                    or pathlib.Path(__file__).resolve().parents[2])
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DASHBOARD = ROOT / "dashboards" / "tokenring.json"

# The one layout every deploy file must agree on (deploy/README.md says why).
RING_DIR = "/var/run/tokenring"
RING = RING_DIR + "/ring"
METRICS_PORT = 9464
DAEMON_BIN = "/opt/tokenring/bin/tokenringd"
SHIM_LIB = "/opt/tokenring/lib/libtokenring.so"
# Both builds (glibc, musl) laid out by deploy/shim-tree.sh; one LD_PRELOAD
# value picks each C library's own (docs/containers.md).
SHIM_MUSL_LIB = "/opt/tokenring/lib/musl/libtokenring.so"
SHIM_TREE = "/opt/tokenring/shim"
SHIM_PRELOAD_TAIL = "/$LIB/libtokenring.so"  # literally $LIB
DAEMON_UID = 65532

# The metric contract the dashboard is written against: the daemon's default
# `tokenring` family and its self-metrics. The lead checks these names
# against a real tokenringd's /metrics.
SERIES_LABELS = ("reporter", "source_workload", "source_namespace", "destination_service",
                 "provider", "model", "response_code")
COUNTERS = ("tokenring_requests_total", "tokenring_prompt_tokens_total",
            "tokenring_completion_tokens_total", "tokenring_cached_tokens_total",
            "tokenring_reasoning_tokens_total", "tokenring_request_bytes_total",
            "tokenring_response_bytes_total", "tokenring_cost_usd_total")
USAGE_COUNTER = "tokenring_usage_total"  # SERIES_LABELS + status
HISTOGRAMS = ("tokenring_request_duration_seconds", "tokenring_time_to_first_token_seconds",
              "tokenring_time_per_output_token_seconds")
SELF_GAUGES = ("tokenring_ring_capacity", "tokenring_ring_fill", "tokenring_ring_producers",
               "tokenring_series")
SELF_COUNTERS = ("tokenring_ring_consumed_total", "tokenring_ring_corrupt_total",
                 "tokenring_series_overflow_total")
DROPPED = "tokenring_ring_dropped_total"  # label reason
DROP_REASONS = ("full", "contention", "late", "detached")
# What the shims could not read (docs/containers.md): labels source_workload,
# source_namespace and sni (+ direction for bytes) or reason.
COVER_METRICS = ("tokenring_opaque_connections_total", "tokenring_opaque_bytes_total",
                 "tokenring_unreadable_processes_total", "tokenring_untracked_connections_total")
# Agents' MCP calls (aggregator/mcp.h): labels reporter, source_workload,
# source_namespace, destination_service, tool or method, status.
MCP_TOOL_CALLS = "tokenring_mcp_tool_calls_total"
MCP_REQUESTS = "tokenring_mcp_requests_total"
MCP_DURATION = "tokenring_mcp_tool_call_duration_seconds"
MCP_METRICS = (MCP_TOOL_CALLS, MCP_REQUESTS, MCP_DURATION + "_bucket")
KNOWN_METRICS = (set(COUNTERS) | {USAGE_COUNTER, DROPPED} | set(SELF_GAUGES) | set(SELF_COUNTERS)
                 | {h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")}
                 | set(COVER_METRICS) | set(MCP_METRICS))

VOLUME_SOURCES = ("hostPath", "emptyDir", "configMap", "secret", "persistentVolumeClaim",
                  "projected", "downwardAPI")


def load_yaml_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def k8s_docs():
    """{relative path: [documents]} for every Kubernetes YAML under deploy/k8s."""
    out = {}
    for p in sorted(K8S.rglob("*.yaml")):
        out[str(p.relative_to(K8S))] = load_yaml_docs(p)
    return out


def find_doc(kind, name):
    for rel, docs in k8s_docs().items():
        for d in docs:
            if d.get("kind") == kind and d.get("metadata", {}).get("name") == name:
                return d
    raise AssertionError(f"no {kind}/{name} under deploy/k8s")


def daemonset():
    return find_doc("DaemonSet", "tokenringd")


def daemon_container():
    (c,) = [c for c in daemonset()["spec"]["template"]["spec"]["containers"] if c["name"] == "tokenringd"]
    return c


def workload_patch():
    (d,) = load_yaml_docs(K8S / "example-workload-patch.yaml")
    return d


def compose():
    (d,) = load_yaml_docs(DEPLOY / "compose.yaml")
    return d


def flag_values(args):
    """['--ring', 'X', '--listen', 'Y'] -> {'--ring': 'X', ...}; --flag=value too."""
    out, i = {}, 0
    while i < len(args):
        a = str(args[i])
        if not a.startswith("--"):
            raise AssertionError(f"positional argument {a!r} in daemon args {args}")
        if "=" in a:
            k, v = a.split("=", 1)
            out[k] = v
            i += 1
        else:
            out[a] = str(args[i + 1])
            i += 2
    return out


def readme_section(path, heading):
    """The lines of a markdown section (## heading) up to the next ## heading."""
    text = pathlib.Path(path).read_text(encoding="utf-8")
    m = re.search(r"^## " + re.escape(heading) + r"\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        raise AssertionError(f"{path} has no '## {heading}' section")
    return m.group(1)


def documented_flags():
    """Daemon flags listed in deploy/README.md (the repo's own list)."""
    flags = set(re.findall(r"`(--[a-z][a-z-]*)", readme_section(DEPLOY / "README.md", "Daemon flags")))
    if len(flags) < 10:
        raise AssertionError(f"deploy/README.md lists only {sorted(flags)}")
    return flags


def documented_env():
    """Shim environment variables listed in deploy/README.md."""
    names = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme_section(DEPLOY / "README.md", "Shim environment")))
    if "TOKENRING_RING" not in names:
        raise AssertionError("deploy/README.md's shim environment lacks TOKENRING_RING")
    return names


def dockerfile_stages():
    """{stage name: (base image, [instruction lines])} of deploy/Dockerfile."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    stages, cur = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)$", line, re.I)
        if m:
            cur = m.group(2)
            stages[cur] = (m.group(1), [])
            continue
        stages[cur][1].append(line)
    return stages


def dockerfile_json_instr(lines, instr):
    (line,) = [l for l in lines if l.startswith(instr + " ")]
    return json.loads(line[len(instr) + 1:])


def all_daemon_arg_lists():
    """Every place that starts tokenringd, with its arguments."""
    stages = dockerfile_stages()
    return {
        "DaemonSet": [str(a) for a in daemon_container()["args"]],
        "compose": [str(a) for a in compose()["services"]["tokenringd"]["command"]],
        "Dockerfile CMD": dockerfile_json_instr(stages["runtime"][1], "CMD"),
    }


def env_map(env_list):
    return {e["name"]: e for e in env_list}


# --------------------------------------------------------------------------
class ManifestTests(unittest.TestCase):
    """Every YAML parses; the Kubernetes objects have what the API requires."""

    def test_every_yaml_file_parses(self):
        files = sorted(list(DEPLOY.rglob("*.yaml")) + list(DEPLOY.rglob("*.yml")))
        self.assertGreaterEqual(len(files), 12)
        for p in files:
            with self.subTest(file=str(p.relative_to(ROOT))):
                docs = load_yaml_docs(p)
                self.assertTrue(docs, "empty YAML")
                for d in docs:
                    self.assertIsInstance(d, dict)

    def test_objects_have_required_fields(self):
        dns1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
        kinds = set()
        for rel, docs in k8s_docs().items():
            for d in docs:
                with self.subTest(file=rel, kind=d.get("kind")):
                    self.assertIn("apiVersion", d)
                    self.assertIn("kind", d)
                    if d["kind"] in ("Kustomization", "Component"):
                        self.assertTrue(d["apiVersion"].startswith("kustomize.config.k8s.io/"))
                        continue
                    kinds.add(d["kind"])
                    self.assertRegex(d["metadata"]["name"], dns1123)
                    for k, v in d["metadata"].get("labels", {}).items():
                        self.assertIsInstance(v, str, f"label {k} must be a string")
                    for k, v in d["metadata"].get("annotations", {}).items():
                        self.assertIsInstance(v, str, f"annotation {k} must be a string")
        self.assertLessEqual({"Namespace", "DaemonSet", "Service", "ConfigMap", "ServiceMonitor",
                              "Deployment"}, kinds)

    def check_pod_spec(self, spec, is_patch):
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for v in volumes.values():
            self.assertEqual(1, sum(1 for s in VOLUME_SOURCES if s in v), f"volume {v['name']} source")
        names = set()
        for c in spec.get("initContainers", []) + spec["containers"]:
            with self.subTest(container=c["name"]):
                self.assertNotIn(c["name"], names, "container names are unique")
                names.add(c["name"])
                if not (is_patch and c["name"] == "app"):  # the patch merges into the app's container
                    self.assertIn("image", c)
                    self.assertIn("resources", c)
                port_names = set()
                for p in c.get("ports", []):
                    self.assertIsInstance(p["containerPort"], int)
                    self.assertTrue(1 <= p["containerPort"] <= 65535)
                    self.assertIn(p.get("protocol", "TCP"), ("TCP", "UDP", "SCTP"))
                    if "name" in p:
                        self.assertLessEqual(len(p["name"]), 15, "port names are at most 15 chars")
                        port_names.add(p["name"])
                for m in c.get("volumeMounts", []):
                    self.assertIn(m["name"], volumes, f"mount {m['name']} has no volume")
                    self.assertTrue(m["mountPath"].startswith("/"))
                for e in c.get("env", []):
                    self.assertRegex(e["name"], r"^[A-Za-z_][A-Za-z0-9_]*$")
                    self.assertEqual(1, ("value" in e) + ("valueFrom" in e), e["name"])
                    if "value" in e:
                        self.assertIsInstance(e["value"], str)
                for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                    if probe in c:
                        port = c[probe]["httpGet"]["port"]
                        if isinstance(port, str):
                            self.assertIn(port, port_names, f"{probe} port")
        mounted = {m["name"] for c in spec.get("initContainers", []) + spec["containers"]
                   for m in c.get("volumeMounts", [])}
        self.assertEqual(set(volumes), mounted, "every volume is mounted somewhere")

    def test_daemonset_pod_and_selector(self):
        ds = daemonset()
        sel = ds["spec"]["selector"]["matchLabels"]
        labels = ds["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(sel)
        self.assertLessEqual(sel.items(), labels.items(), "selector matches the template's labels")
        self.check_pod_spec(ds["spec"]["template"]["spec"], is_patch=False)

    def test_workload_patch_pod(self):
        p = workload_patch()
        self.assertEqual(("apps/v1", "Deployment"), (p["apiVersion"], p["kind"]))
        self.check_pod_spec(p["spec"]["template"]["spec"], is_patch=True)

    def test_service_selects_daemon_pods(self):
        svc = find_doc("Service", "tokenringd")
        labels = daemonset()["spec"]["template"]["metadata"]["labels"]
        self.assertLessEqual(svc["spec"]["selector"].items(), labels.items())
        self.assertEqual(svc["metadata"]["namespace"], daemonset()["metadata"]["namespace"])
        port_names = {p["name"] for p in daemon_container()["ports"]}
        for p in svc["spec"]["ports"]:
            self.assertIn(p["targetPort"], port_names | {METRICS_PORT})

    def test_servicemonitor_selects_service(self):
        sm = find_doc("ServiceMonitor", "tokenringd")
        svc = find_doc("Service", "tokenringd")
        self.assertEqual("monitoring.coreos.com/v1", sm["apiVersion"])
        self.assertLessEqual(sm["spec"]["selector"]["matchLabels"].items(), svc["metadata"]["labels"].items())
        self.assertIn(svc["metadata"]["namespace"], sm["spec"]["namespaceSelector"]["matchNames"])
        svc_ports = {p["name"] for p in svc["spec"]["ports"]}
        for ep in sm["spec"]["endpoints"]:
            self.assertIn(ep["port"], svc_ports)
            self.assertIn(ep["path"], ("/metrics", "/stats/prometheus"))

    def test_namespaced_objects_live_in_the_namespace(self):
        (ns,) = [d for docs in k8s_docs().values() for d in docs if d.get("kind") == "Namespace"]
        for kind, name in (("DaemonSet", "tokenringd"), ("Service", "tokenringd"),
                           ("ServiceMonitor", "tokenringd"), ("ConfigMap", "tokenring-grafana-dashboard")):
            self.assertEqual(ns["metadata"]["name"], find_doc(kind, name)["metadata"]["namespace"])

    def kustomize_resources(self, kdir, seen=()):
        """The files a kustomization pulls in, following kustomize's rules:
        a resource is a file in or below its directory, or a directory with
        its own kustomization that does not contain a visited root."""
        kdir = kdir.resolve()
        for s in seen:
            self.assertFalse(str(s).startswith(str(kdir) + os.sep), f"kustomize cycle: {kdir} contains {s}")
        (k,) = load_yaml_docs(kdir / "kustomization.yaml")
        self.assertEqual("Kustomization", k["kind"])
        files = []
        for r in k.get("resources", []):
            target = (kdir / r).resolve()
            if target.is_dir():
                self.assertTrue((target / "kustomization.yaml").exists(), f"{r} has no kustomization.yaml")
                files += self.kustomize_resources(target, seen + (kdir,))
            else:
                self.assertTrue(target.is_file(), f"{kdir}: missing resource {r}")
                self.assertTrue(str(target).startswith(str(kdir) + os.sep),
                                f"{r}: kustomize refuses files outside {kdir}")
                files.append(target)
        for gen in k.get("configMapGenerator", []):
            for f in gen.get("files", []):
                target = (kdir / f.split("=")[-1]).resolve()
                self.assertTrue(str(target).startswith(str(kdir) + os.sep), f"{f} is outside {kdir}")
        return files

    def kinds_of(self, files):
        return sorted(d["kind"] for f in files for d in load_yaml_docs(f))

    def test_kustomize_entry_points(self):
        self.assertEqual(["ConfigMap", "DaemonSet", "Namespace", "Service"],
                         self.kinds_of(self.kustomize_resources(K8S)))
        self.assertEqual(["ConfigMap", "DaemonSet", "Namespace", "Service", "ServiceMonitor"],
                         self.kinds_of(self.kustomize_resources(K8S / "operator")))

    def test_dashboard_configmap_is_generated_from_the_dashboard(self):
        r = subprocess.run(["/usr/bin/python3", str(K8S / "render-dashboard-configmap.py"), "--check"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(0, r.returncode, r.stderr)
        cm = find_doc("ConfigMap", "tokenring-grafana-dashboard")
        self.assertEqual(DASHBOARD.read_text(encoding="utf-8"), cm["data"]["tokenring.json"])
        self.assertEqual("1", cm["metadata"]["labels"]["grafana_dashboard"])

    def test_render_check_detects_a_stale_configmap(self):
        with tempfile.TemporaryDirectory() as tmp:
            tree = pathlib.Path(tmp)
            (tree / "dashboards").mkdir()
            (tree / "deploy" / "k8s" / "base").mkdir(parents=True)
            shutil.copy(K8S / "render-dashboard-configmap.py", tree / "deploy" / "k8s")
            shutil.copy(K8S / "base" / "grafana-dashboard.yaml", tree / "deploy" / "k8s" / "base")
            dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
            dash["title"] = "edited"
            (tree / "dashboards" / "tokenring.json").write_text(json.dumps(dash, indent=2) + "\n")
            script = str(tree / "deploy" / "k8s" / "render-dashboard-configmap.py")
            self.assertEqual(1, subprocess.run(["/usr/bin/python3", script, "--check"],
                                               capture_output=True).returncode)
            self.assertEqual(0, subprocess.run(["/usr/bin/python3", script]).returncode)
            self.assertEqual(0, subprocess.run(["/usr/bin/python3", script, "--check"]).returncode)


# --------------------------------------------------------------------------
class ConsistencyTests(unittest.TestCase):
    """Ports, paths, flags and env names agree across every deploy file."""

    def test_daemon_args_use_documented_flags_and_agree(self):
        known = documented_flags()
        lists = all_daemon_arg_lists()
        for where, args in lists.items():
            with self.subTest(where=where):
                flags = flag_values(args)
                self.assertLessEqual(set(flags), known, f"undocumented flags in {where}")
                self.assertEqual(RING, flags["--ring"])
                self.assertEqual(f"0.0.0.0:{METRICS_PORT}", flags["--listen"])
                self.assertEqual("-", flags["--access-log"])
        self.assertEqual(1, len({tuple(a) for a in lists.values()}), lists)

    def test_metrics_port_everywhere(self):
        c = daemon_container()
        (port,) = c["ports"]
        self.assertEqual(METRICS_PORT, port["containerPort"])
        ann = daemonset()["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(("true", str(METRICS_PORT)), (ann["prometheus.io/scrape"], ann["prometheus.io/port"]))
        self.assertIn(ann["prometheus.io/path"], ("/metrics", "/stats/prometheus"))
        for probe in ("livenessProbe", "readinessProbe"):
            self.assertEqual("/healthz", c[probe]["httpGet"]["path"])
            self.assertIn(c[probe]["httpGet"]["port"], (port["name"], METRICS_PORT))
        (sp,) = find_doc("Service", "tokenringd")["spec"]["ports"]
        self.assertEqual((METRICS_PORT, port["name"]), (sp["port"], sp["targetPort"]))
        runtime = dockerfile_stages()["runtime"][1]
        self.assertIn(f"EXPOSE {METRICS_PORT}", runtime)
        self.assertIn(f"{METRICS_PORT}:{METRICS_PORT}", compose()["services"]["tokenringd"]["ports"])
        (prom,) = load_yaml_docs(DEPLOY / "prometheus" / "prometheus.yml")
        (job,) = prom["scrape_configs"]
        self.assertEqual([f"tokenringd:{METRICS_PORT}"], job["static_configs"][0]["targets"])
        self.assertIn("tokenringd", compose()["services"])
        (local,) = load_yaml_docs(DEPLOY / "prometheus" / "prometheus-local.yml")
        self.assertEqual([f"127.0.0.1:{METRICS_PORT}"], local["scrape_configs"][0]["static_configs"][0]["targets"])

    def test_ring_path_everywhere(self):
        ds_spec = daemonset()["spec"]["template"]["spec"]
        ds_vols = {v["name"]: v for v in ds_spec["volumes"]}
        ring_mounts = [m for c in ds_spec["initContainers"] + ds_spec["containers"]
                       for m in c["volumeMounts"] if m["mountPath"] == RING_DIR]
        self.assertEqual(2, len(ring_mounts))
        for m in ring_mounts:
            self.assertEqual(RING_DIR, ds_vols[m["name"]]["hostPath"]["path"])
        self.assertEqual(RING, env_map(daemon_container()["env"])["TOKENRING_RING"]["value"])
        spec = workload_patch()["spec"]["template"]["spec"]
        vols = {v["name"]: v for v in spec["volumes"]}
        (app,) = [c for c in spec["containers"] if c["name"] == "app"]
        self.assertEqual(RING, env_map(app["env"])["TOKENRING_RING"]["value"])
        (m,) = [m for m in app["volumeMounts"] if m["mountPath"] == RING_DIR]
        self.assertFalse(m.get("readOnly", False), "producers write the ring")
        self.assertEqual(RING_DIR, vols[m["name"]]["hostPath"]["path"])
        self.assertEqual(ds_vols[ring_mounts[0]["name"]]["hostPath"], vols[m["name"]]["hostPath"])
        services = compose()["services"]
        for s in ("tokenringd", "demo"):
            self.assertEqual(RING, services[s]["environment"]["TOKENRING_RING"])
            self.assertIn(f"ring:{RING_DIR}", services[s]["volumes"])
        self.assertIn("ring", compose()["volumes"])
        runtime = " ".join(dockerfile_stages()["runtime"][1])
        self.assertIn(f"TOKENRING_RING={RING}", runtime)
        self.assertIn(f"install -d -o {DAEMON_UID} -g {DAEMON_UID} -m 0750 {RING_DIR}", runtime)

    def test_ring_permissions_fit_together(self):
        ds_spec = daemonset()["spec"]["template"]["spec"]
        sc = ds_spec["securityContext"]
        self.assertEqual((DAEMON_UID, DAEMON_UID, True), (sc["runAsUser"], sc["runAsGroup"], sc["runAsNonRoot"]))
        (init,) = ds_spec["initContainers"]
        self.assertIn(f"chown {DAEMON_UID}:{DAEMON_UID} {RING_DIR}", " ".join(init["command"]))
        patch_sc = workload_patch()["spec"]["template"]["spec"]["securityContext"]
        self.assertIn(DAEMON_UID, patch_sc["supplementalGroups"], "workloads join the ring's group")
        runtime = " ".join(dockerfile_stages()["runtime"][1])
        self.assertIn(f"--uid {DAEMON_UID} --gid {DAEMON_UID}", runtime)
        self.assertIn(f"USER {DAEMON_UID}:{DAEMON_UID}", dockerfile_stages()["runtime"][1])

    def test_daemon_may_use_io_uring(self):
        sc = daemon_container()["securityContext"]
        self.assertEqual("Unconfined", sc["seccompProfile"]["type"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertEqual(["ALL"], sc["capabilities"]["drop"])
        self.assertIn("seccomp=unconfined", compose()["services"]["tokenringd"]["security_opt"])

    def test_workload_patch_wires_the_shim(self):
        spec = workload_patch()["spec"]["template"]["spec"]
        vols = {v["name"]: v for v in spec["volumes"]}
        (init,) = spec["initContainers"]
        self.assertEqual(daemon_container()["image"], init["image"])
        src, dst = init["command"][-2:]
        self.assertEqual(["/bin/cp", "-a"], init["command"][:2])
        self.assertEqual(SHIM_TREE + "/.", src)
        (m,) = init["volumeMounts"]
        self.assertIn("emptyDir", vols[m["name"]])
        self.assertEqual(m["mountPath"], dst)
        (app,) = [c for c in spec["containers"] if c["name"] == "app"]
        env = env_map(app["env"])
        # the selector: literally $LIB (Kubernetes expands only $(VAR))
        self.assertEqual(dst + SHIM_PRELOAD_TAIL, env["LD_PRELOAD"]["value"])
        self.assertNotIn("$(", env["LD_PRELOAD"]["value"])
        (am,) = [x for x in app["volumeMounts"] if x["name"] == m["name"]]
        self.assertEqual(m["mountPath"], am["mountPath"])
        self.assertEqual("metadata.name", env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"])
        self.assertEqual("metadata.namespace", env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"])
        shim_env = documented_env()
        for name in env:
            if name != "LD_PRELOAD":
                self.assertIn(name, shim_env)
        for name, _ in compose()["services"]["demo"]["environment"].items():
            if name != "LD_PRELOAD":
                self.assertIn(name, shim_env)
        self.assertEqual(SHIM_LIB, compose()["services"]["demo"]["environment"]["LD_PRELOAD"])

    def test_dockerfile_stages(self):
        stages = dockerfile_stages()
        self.assertEqual("debian:12", stages["build"][0])
        self.assertEqual("debian:12-slim", stages["runtime"][0])
        self.assertEqual("runtime", stages["demo"][0])
        build = " ".join(stages["build"][1])
        self.assertIn("COPY scripts/apt/base.txt", build)
        self.assertTrue((ROOT / "scripts" / "apt" / "base.txt").is_file())
        self.assertIn("cmake -S . -B /build", build)
        self.assertIn("/out" + DAEMON_BIN, build)
        self.assertIn("/out" + SHIM_LIB, build)
        self.assertIn("COPY scripts/apt/musl.txt", build)
        self.assertIn("musl-tools", (ROOT / "scripts" / "apt" / "musl.txt").read_text())
        self.assertIn("/out" + SHIM_MUSL_LIB, build)
        # the tree the init container copies, made from the two builds
        self.assertRegex(build, r"deploy/shim-tree\.sh (\S+/libtokenring\.so) (\S+/musl/\S+\.so) /out"
                         + re.escape(SHIM_TREE) + r"(\s|$)")
        self.assertTrue(os.access(DEPLOY / "shim-tree.sh", os.X_OK))
        runtime = stages["runtime"][1]
        self.assertIn("COPY --from=build /out/opt/tokenring /opt/tokenring", runtime)
        self.assertEqual([DAEMON_BIN], dockerfile_json_instr(runtime, "ENTRYPOINT"))
        # each -dev library in base.txt the binaries link has its runtime half
        base = (ROOT / "scripts" / "apt" / "base.txt").read_text()
        joined = " ".join(runtime)
        for dev, lib in (("liburing-dev", "liburing2"), ("libcjson-dev", "libcjson1"),
                         ("libxxhash-dev", "libxxhash0")):
            self.assertIn(dev, base)
            self.assertIn(lib, joined)
        self.assertTrue((DEPLOY / "Dockerfile.dockerignore").is_file())

    def test_compose_stack(self):
        c = compose()
        s = c["services"]
        self.assertEqual({"tokenringd", "demo", "prometheus", "grafana", "otel-collector"},
                         set(s))
        for name in ("tokenringd", "demo"):
            b = s[name]["build"]
            self.assertEqual("deploy/Dockerfile", b["dockerfile"])
            self.assertEqual(ROOT.resolve(), (DEPLOY / b["context"]).resolve())
        self.assertEqual("runtime", s["tokenringd"]["build"]["target"])
        self.assertEqual("demo", s["demo"]["build"]["target"])
        # every host path mounted exists
        for name, svc in s.items():
            for v in svc.get("volumes", []):
                src = v.split(":")[0]
                if src.startswith("."):
                    self.assertTrue((DEPLOY / src).exists(), f"{name}: {src}")
        (ds_file,) = load_yaml_docs(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml")
        (ds,) = ds_file["datasources"]
        self.assertEqual("prometheus", ds["type"])
        self.assertEqual("http://prometheus:9090", ds["url"])
        self.assertIn("9090:9090", s["prometheus"]["ports"])
        self.assertIn("./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro", s["prometheus"]["volumes"])
        (prov,) = load_yaml_docs(DEPLOY / "grafana" / "provisioning" / "dashboards" / "tokenring.yaml")
        (provider,) = prov["providers"]
        self.assertEqual("file", provider["type"])
        path = provider["options"]["path"]
        self.assertIn(f"../dashboards:{path}:ro", s["grafana"]["volumes"])
        self.assertIn("./grafana/provisioning:/etc/grafana/provisioning:ro", s["grafana"]["volumes"])
        self.assertEqual(f"{path}/tokenring.json",
                         s["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])

    def test_demo_runs_the_demo_scripts_under_the_shim(self):
        cmd = " ".join(compose()["services"]["demo"]["command"])
        for script in ("llm_server.py", "traffic.py"):
            self.assertIn(f"python3 /opt/tokenring/demo/{script}", cmd)
        self.assertIn("COPY demo/ /opt/tokenring/demo/", dockerfile_stages()["demo"][1])

    def test_readme_documents_every_daemon_flag_in_design(self):
        # the daemon's flag set as the design names it
        for f in ("--ring", "--listen", "--access-log", "--summary-log", "--summary-interval",
                  "--metrics", "--max-series", "--label-header", "--label-max-values",
                  "--access-log-max-bytes", "--ring-capacity", "--ring-mode", "--config"):
            self.assertIn(f, documented_flags())
        for e in ("TOKENRING_RING", "TOKENRING_WORKLOAD", "TOKENRING_NAMESPACE", "POD_NAME",
                  "POD_NAMESPACE", "TOKENRING_DISABLE", "TOKENRING_HTTP", "TOKENRING_LLM_PATHS",
                  "TOKENRING_DEBUG"):
            self.assertIn(e, documented_env())


# --------------------------------------------------------------------------
def promtool(*args, stdin=None):
    return subprocess.run(["promtool", *args], input=stdin, capture_output=True, text=True, timeout=60)


class PrometheusConfigTests(unittest.TestCase):
    """promtool accepts every Prometheus config we ship."""

    def test_check_config(self):
        for name in ("prometheus.yml", "prometheus-local.yml"):
            with self.subTest(config=name):
                r = promtool("check", "config", str(DEPLOY / "prometheus" / name))
                self.assertEqual(0, r.returncode, r.stdout + r.stderr)
                self.assertIn("SUCCESS", r.stdout + r.stderr)

    def test_kubernetes_job_relabelling(self):
        # Debian's Prometheus is built without Kubernetes discovery, so the
        # job is checked with the discovery swapped for a static target:
        # everything else (relabel actions, regexes, paths) goes to promtool.
        (cfg,) = load_yaml_docs(DEPLOY / "prometheus" / "kubernetes-pods.yml")
        (job,) = cfg["scrape_configs"]
        (sd,) = job.pop("kubernetes_sd_configs")
        self.assertEqual("pod", sd["role"])
        self.assertEqual(["tokenring"], sd["namespaces"]["names"])
        kept = {tuple(r["source_labels"]): r["regex"] for r in job["relabel_configs"] if r.get("action") == "keep"}
        self.assertEqual("true", kept[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)])
        self.assertEqual(daemonset()["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"],
                         kept[("__meta_kubernetes_pod_label_app_kubernetes_io_name",)])
        # the address rewrite puts the annotated port on the pod's IP
        (addr,) = [r for r in job["relabel_configs"] if r.get("target_label") == "__address__"]
        m = re.fullmatch(addr["regex"], f"10.0.0.7:8080;{METRICS_PORT}")
        self.assertEqual(f"10.0.0.7:{METRICS_PORT}", addr["replacement"].replace("$1", m.group(1)).replace("$2", m.group(2)))
        job["static_configs"] = [{"targets": ["127.0.0.1:9464"]}]
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump(cfg, f)
            f.flush()
            r = promtool("check", "config", f.name)
            self.assertEqual(0, r.returncode, r.stdout + r.stderr)

    def test_contract_exposition_is_valid(self):
        r = promtool("check", "metrics", stdin=FakeDaemon(1.0, 0.0).exposition(10.0))
        self.assertEqual(0, r.returncode, r.stdout + r.stderr)


# --------------------------------------------------------------------------
# Known traffic served by a fake daemon: per label tuple, per-second rates.
# (reporter, workload, namespace, destination, provider, model, code) -> rates
def _t(reporter, wl, ns, model, code, rps, dur, prompt, completion, cached=0.0, reasoning=0.0,
       usage=None, cost=0.0):
    return {"labels": {"reporter": reporter, "source_workload": wl, "source_namespace": ns,
                       "destination_service": "llm.example.svc" if model == "gpt-4o" else "qwen.example.svc",
                       "provider": "openai" if model == "gpt-4o" else "dashscope",
                       "model": model, "response_code": code},
            "rps": rps, "dur": dur, "prompt": prompt, "completion": completion, "cached": cached,
            "reasoning": reasoning, "usage": usage or {}, "cost": cost}


TRAFFIC = [
    _t("source", "chat-app", "team-a", "gpt-4o", "200", 3.0, 0.8, 100.0, 50.0, 30.0, 10.0,
       {"available": 2.0, "not_requested": 1.0}, 0.001),
    _t("source", "chat-app", "team-a", "gpt-4o", "429", 0.5, 0.8, 0, 0, usage={"missing": 0.5}),
    _t("source", "chat-app", "team-a", "gpt-4o", "500", 0.5, 0.8, 0, 0, usage={"interrupted": 0.5}),
    _t("source", "batch", "team-b", "qwen-turbo", "200", 2.0, 0.2, 20.0, 40.0, usage={"available": 2.0}),
    # a model that only fails: its success rate must read 0, not vanish
    _t("source", "chat-app", "team-a", "llama-3", "503", 0.5, 0.05, 0, 0, usage={"missing": 0.5}),
    # the serving side of the same gpt-4o calls: must not double the source view
    _t("destination", "llm", "serving", "gpt-4o", "200", 3.0, 0.7, 100.0, 50.0, usage={"available": 3.0}),
]
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RING_CAPACITY, RING_FILL, PRODUCERS, SERIES = 65536, 1024, 3, 5
# What cannot be read, per second at scale 1: (labels, rate) per series.
_NODE = {"source_namespace": "team-a", "source_workload": "node-agent"}
COVER_TRAFFIC = {
    "tokenring_opaque_connections_total": [({**_NODE, "sni": "api.openai.com"}, 0.5)],
    "tokenring_opaque_bytes_total": [({**_NODE, "sni": "api.openai.com", "direction": "sent"}, 800.0),
                                     ({**_NODE, "sni": "api.openai.com", "direction": "received"}, 2400.0)],
    "tokenring_unreadable_processes_total": [({"source_namespace": "team-b", "source_workload": "go-svc",
                                               "reason": "go"}, 0.25)],
    "tokenring_untracked_connections_total": [({"source_namespace": "team-a", "source_workload": "batch",
                                                "reason": "slots_full"}, 2.0)],
}
# Agents' MCP calls, per second at scale 1: (reporter, workload, tool, status, rate, duration).
MCP_TRAFFIC = [("source", "chat-app", "search", "result", 2.0, 0.3),
               ("source", "chat-app", "search", "tool_error", 0.5, 0.3),
               ("source", "chat-app", "deploy", "error", 0.25, 0.02),
               ("destination", "tools", "search", "result", 2.0, 0.25)]
MCP_METHODS = [("source", "chat-app", "initialize", "result", 0.1),
               ("source", "chat-app", "tools/list", "result", 0.1)]
SCALES = (1.0, 0.5)  # two daemons (two nodes): the dashboard sums across them


class FakeDaemon:
    """Serves the contract's metrics with counters growing linearly in time
    (value = rate x seconds since t0), scaled per node. A scrape is served
    the values of the last whole second since t0, stamped with that second:
    every sample sits on one grid of whole seconds shared by all fakes, so
    a scrape that comes late on a loaded machine gives the same sample as
    one on time (or the next second's), never a value between. Queries are
    evaluated at a grid second (DashboardQueryTests.at): a rate window then
    ends on a sample and starts one scrape interval from one, and
    Prometheus' extrapolation of these linear counters is exact even when a
    late scrape left a second out."""

    def __init__(self, scale, t0):
        self.scale = scale
        self.t0 = t0

    @staticmethod
    def _lbl(d):
        return "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}"

    def exposition(self, elapsed=None):
        """The text exposition at `elapsed` seconds after t0 (no sample
        timestamps), or at the last whole second since t0 (every sample
        stamped with that second)."""
        t = float(int(time.time() - self.t0)) if elapsed is None else elapsed
        k = self.scale * t
        out = []

        def fam(name, typ, help_):
            out.append(f"# HELP {name} {help_}")
            out.append(f"# TYPE {name} {typ}")

        helps = {c: c.replace("tokenring_", "").replace("_total", "").replace("_", " ") for c in COUNTERS}
        fields = {"tokenring_requests_total": "rps", "tokenring_prompt_tokens_total": "prompt",
                  "tokenring_completion_tokens_total": "completion", "tokenring_cached_tokens_total": "cached",
                  "tokenring_reasoning_tokens_total": "reasoning", "tokenring_cost_usd_total": "cost"}
        for c in COUNTERS:
            fam(c, "counter", helps[c])
            for tr in TRAFFIC:
                if c in ("tokenring_request_bytes_total", "tokenring_response_bytes_total"):
                    v = tr["rps"] * (400 if "request" in c else 1500)
                else:
                    v = tr[fields[c]]
                if c == "tokenring_cost_usd_total" and not v:
                    continue  # the daemon has no cost series without a price
                out.append(f"{c}{self._lbl(tr['labels'])} {v * k:.6f}")
        fam(USAGE_COUNTER, "counter", "requests by usage status")
        for tr in TRAFFIC:
            for status, r in tr["usage"].items():
                out.append(f"{USAGE_COUNTER}{self._lbl({**tr['labels'], 'status': status})} {r * k:.6f}")
        for h in HISTOGRAMS:
            fam(h, "histogram", h.replace("_", " "))
            for tr in TRAFFIC:
                obs = {"tokenring_request_duration_seconds": tr["dur"],
                       "tokenring_time_to_first_token_seconds": tr["dur"] / 4,
                       "tokenring_time_per_output_token_seconds": 0.02}[h]
                n = tr["rps"] * k
                for le in BUCKETS:
                    out.append(f"{h}_bucket{self._lbl({**tr['labels'], 'le': str(le)})} {n if obs <= le else 0:.6f}")
                out.append(f"{h}_bucket{self._lbl({**tr['labels'], 'le': '+Inf'})} {n:.6f}")
                out.append(f"{h}_sum{self._lbl(tr['labels'])} {n * obs:.6f}")
                out.append(f"{h}_count{self._lbl(tr['labels'])} {n:.6f}")
        for name, v in (("tokenring_ring_capacity", RING_CAPACITY), ("tokenring_ring_fill", RING_FILL * self.scale),
                        ("tokenring_ring_producers", PRODUCERS), ("tokenring_series", SERIES)):
            fam(name, "gauge", name.replace("_", " "))
            out.append(f"{name} {v}")
        for name, r in (("tokenring_ring_consumed_total", 6.0), ("tokenring_ring_corrupt_total", 0.1),
                        ("tokenring_series_overflow_total", 0.2)):
            fam(name, "counter", name.replace("_", " "))
            out.append(f"{name} {r * k:.6f}")
        for name, series in COVER_TRAFFIC.items():
            fam(name, "counter", name.replace("_", " "))
            for labels, r in series:
                out.append(f"{name}{self._lbl(labels)} {r * k:.6f}")
        def mcp_labels(reporter, wl, name_label, name, status):
            return {"reporter": reporter, "source_workload": wl, "source_namespace": "team-a",
                    "destination_service": "tools.example.svc", name_label: name, "status": status}
        fam(MCP_TOOL_CALLS, "counter", "MCP tool calls")
        for rep, wl, tool, status, r, _ in MCP_TRAFFIC:
            out.append(f"{MCP_TOOL_CALLS}{self._lbl(mcp_labels(rep, wl, 'tool', tool, status))} {r * k:.6f}")
        fam(MCP_REQUESTS, "counter", "MCP requests")
        for rep, wl, tool, status, r, _ in MCP_TRAFFIC:
            out.append(f"{MCP_REQUESTS}{self._lbl(mcp_labels(rep, wl, 'method', 'tools/call', status))} {r * k:.6f}")
        for rep, wl, method, status, r in MCP_METHODS:
            out.append(f"{MCP_REQUESTS}{self._lbl(mcp_labels(rep, wl, 'method', method, status))} {r * k:.6f}")
        fam(MCP_DURATION, "histogram", "MCP tool call duration")
        for rep, wl, tool, status, r, dur in MCP_TRAFFIC:
            lbl = mcp_labels(rep, wl, "tool", tool, status)
            n = r * k
            for le in BUCKETS:
                out.append(f"{MCP_DURATION}_bucket{self._lbl({**lbl, 'le': str(le)})} {n if dur <= le else 0:.6f}")
            out.append(f"{MCP_DURATION}_bucket{self._lbl({**lbl, 'le': '+Inf'})} {n:.6f}")
            out.append(f"{MCP_DURATION}_sum{self._lbl(lbl)} {n * dur:.6f}")
            out.append(f"{MCP_DURATION}_count{self._lbl(lbl)} {n:.6f}")
        fam(DROPPED, "counter", "records dropped by reason")
        for reason in DROP_REASONS:
            out.append(f'{DROPPED}{{reason="{reason}"}} {(0.5 if reason == "full" else 0.0) * k:.6f}')
        if elapsed is None:
            stamp = f" {int((self.t0 + t) * 1000)}"
            out = [line if line.startswith("#") else line + stamp for line in out]
        return "\n".join(out) + "\n"

    def serve(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = fake.exposition().encode()
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self.server.server_address[1]


# --------------------------------------------------------------------------
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
                "unless", "offset", "sum", "min", "max", "avg", "count", "topk", "bottomk"}


def metric_names(expr):
    """Metric names an expression selects (strings, matchers, ranges,
    grouping labels and function names removed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        if e[m.end():].lstrip().startswith("(") or m.group(0) in PROMQL_WORDS:
            continue
        names.add(m.group(0))
    return names


def load_dashboard():
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(dash=None):
    return [p for p in (dash or load_dashboard())["panels"] if p["type"] != "row"]


def variables(dash=None):
    return {v["name"]: v for v in (dash or load_dashboard())["templating"]["list"]}


def var_query(v):
    return v["query"]["query"] if isinstance(v["query"], dict) else v["query"]


class DashboardStaticTests(unittest.TestCase):
    """The dashboard JSON: current schema, import- and provisioning-ready,
    data source as a variable, queries over the contract's metrics only."""

    def test_schema_and_import_fields(self):
        d = load_dashboard()
        self.assertGreaterEqual(d["schemaVersion"], 39)
        self.assertIsNone(d["id"], "provisioned and imported dashboards carry no database id")
        self.assertRegex(d["uid"], r"^[a-zA-Z0-9_-]{1,40}$")
        self.assertTrue(d["title"])
        self.assertIsInstance(d["__inputs"], list)
        req = {(r["type"], r["id"]) for r in d["__requires"]}
        self.assertIn(("datasource", "prometheus"), req)
        self.assertIn(("grafana", "grafana"), req)
        for t in {p["type"] for p in panels(d)}:
            self.assertIn(("panel", t), req)
        self.assertNotIn("${DS_", DASHBOARD.read_text(), "no import-only placeholders (provisioning would keep them)")

    def test_datasource_is_a_variable_everywhere(self):
        v = variables()
        self.assertEqual(("datasource", "prometheus"), (v["datasource"]["type"], v["datasource"]["query"]))
        want = {"type": "prometheus", "uid": "${datasource}"}
        for p in panels():
            with self.subTest(panel=p["title"]):
                self.assertEqual(want, p["datasource"])
                self.assertTrue(p["targets"])
                for t in p["targets"]:
                    self.assertEqual(want, t["datasource"])
        for name, var in v.items():
            if var["type"] == "query":
                self.assertEqual(want, var["datasource"], name)

    def test_filter_variables(self):
        v = variables()
        for name, label in (("namespace", "source_namespace"), ("workload", "source_workload"),
                            ("destination", "destination_service"), ("model", "model"),
                            ("reporter", "reporter"), ("instance", "instance")):
            with self.subTest(variable=name):
                q = var_query(v[name])
                m = re.fullmatch(r"label_values\((\w+)(\{.*\})?,\s*(\w+)\)", q)
                self.assertIsNotNone(m, q)
                self.assertIn(m.group(1), KNOWN_METRICS)
                self.assertEqual(label, m.group(3))
                if v[name].get("includeAll"):
                    self.assertEqual(".*", v[name]["allValue"])

    def test_panels_filter_by_every_variable(self):
        for p in panels():
            for t in p["targets"]:
                names = metric_names(t["expr"])
                series = names & ({USAGE_COUNTER} | set(COUNTERS) | {h + "_bucket" for h in HISTOGRAMS})
                for sel in re.findall(r"\b(tokenring_\w+)\{([^}]*)\}", t["expr"]):
                    if sel[0] in series:
                        for var, label in (("reporter", "reporter"), ("namespace", "source_namespace"),
                                           ("workload", "source_workload"),
                                           ("destination", "destination_service"), ("model", "model")):
                            self.assertIn(f'{label}=~"${var}"', sel[1], f"{p['title']}: {sel[0]}")
                    else:
                        self.assertIn('instance=~"$instance"', sel[1], f"{p['title']}: {sel[0]}")
                    if sel[0] in COVER_METRICS:
                        for var, label in (("namespace", "source_namespace"), ("workload", "source_workload")):
                            self.assertIn(f'{label}=~"${var}"', sel[1], f"{p['title']}: {sel[0]}")
                    if sel[0] in MCP_METRICS:
                        for var, label in (("reporter", "reporter"), ("namespace", "source_namespace"),
                                           ("workload", "source_workload"),
                                           ("destination", "destination_service")):
                            self.assertIn(f'{label}=~"${var}"', sel[1], f"{p['title']}: {sel[0]}")

    def test_queries_use_only_contract_metrics(self):
        used = set()
        for p in panels():
            for t in p["targets"]:
                names = metric_names(t["expr"])
                self.assertTrue(names, t["expr"])
                self.assertLessEqual(names, KNOWN_METRICS, p["title"])
                used |= names
        # the panels cover every family the contract has (cost included)
        for m in COUNTERS + (USAGE_COUNTER, DROPPED) + SELF_GAUGES + SELF_COUNTERS + COVER_METRICS + MCP_METRICS:
            self.assertIn(m, used)
        for h in HISTOGRAMS:
            self.assertIn(h + "_bucket", used)

    def test_expected_panels_exist(self):
        titles = {p["title"] for p in panels()}
        for t in ("Request rate by model", "Success rate by model", "Latency p50 / p95 / p99 by model",
                  "Time to first token by model", "Time per output token by model",
                  "Prompt tokens/s by model", "Completion tokens/s by model",
                  "Cached and reasoning tokens/s by model", "Top workloads by tokens", "Errors by code",
                  "Usage status mix by model", "Cost per hour by model", "Ring fill",
                  "Dropped records by reason", "Corrupt records", "Producers", "Series and overflow",
                  "Opaque TLS connections by server name", "Opaque TLS bytes by server name",
                  "Unreadable processes", "Untracked connections", "MCP tool calls/s by tool",
                  "MCP tool call failure ratio by tool", "MCP tool call latency p95 by tool",
                  "MCP requests/s by method"):
            self.assertIn(t, titles)

    def test_layout(self):
        d = load_dashboard()
        ids = [p["id"] for p in d["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids are unique")
        cells = set()
        for p in d["panels"]:
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), cells, f"{p['title']} overlaps another panel")
                    cells.add((x, y))
        for p in panels(d):
            refs = [t["refId"] for t in p["targets"]]
            self.assertEqual(len(refs), len(set(refs)), p["title"])
            self.assertTrue(p.get("description"), f"{p['title']} explains itself")

    def test_readme_lists_every_panel_and_query(self):
        readme = (ROOT / "dashboards" / "README.md").read_text(encoding="utf-8")
        for p in panels():
            self.assertTrue(f"**{p['title']}**" in readme, f"{p['title']}: panel missing from README")
            for t in p["targets"]:
                self.assertTrue(t["expr"] in readme, f"{p['title']} {t['refId']}: query missing from README")


# --------------------------------------------------------------------------
RATE_WINDOW = "5s"  # stands for $__rate_interval and $__range (1 s scrapes)
ALL = {"reporter": "source", "namespace": ".*", "workload": ".*", "destination": ".*",
       "model": ".*", "instance": ".*"}


def substitute(expr, values):
    expr = expr.replace("$__rate_interval", RATE_WINDOW).replace("$__range", RATE_WINDOW)
    for k in sorted(values, key=len, reverse=True):
        expr = expr.replace("$" + k, values[k])
    if "$" in expr:
        raise AssertionError(f"unsubstituted variable in {expr}")
    return expr


class DashboardQueryTests(unittest.TestCase):
    """A real Prometheus scrapes two fake daemons serving known traffic; every
    panel query and variable query runs through its HTTP API."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        t0 = float(int(time.time()))
        cls.fakes = [FakeDaemon(s, t0) for s in SCALES]
        targets = [f"127.0.0.1:{f.serve()}" for f in cls.fakes]
        cfg = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
               "scrape_configs": [{"job_name": "tokenringd", "static_configs": [{"targets": targets}]}]}
        path = pathlib.Path(cls.tmp.name) / "prometheus.yml"
        path.write_text(yaml.safe_dump(cfg))
        cls.port = free_port()
        cls.log = open(pathlib.Path(cls.tmp.name) / "prometheus.log", "w")
        cls.prom = subprocess.Popen(
            ["prometheus", f"--config.file={path}", f"--storage.tsdb.path={cls.tmp.name}/data",
             f"--web.listen-address=127.0.0.1:{cls.port}", "--log.level=warn"],
            stdout=cls.log, stderr=subprocess.STDOUT)
        try:
            cls.wait_for_data()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.prom.terminate()
        cls.prom.wait(timeout=20)
        for f in cls.fakes:
            f.server.shutdown()
        cls.log.close()
        cls.tmp.cleanup()

    @classmethod
    def api(cls, path, params, method="POST"):
        query = urllib.parse.urlencode(params, doseq=True)
        url = f"http://127.0.0.1:{cls.port}{path}"
        if method == "GET":  # the label values endpoint takes GET only
            req = urllib.request.Request(url + "?" + query)
        else:
            req = urllib.request.Request(url, data=query.encode())
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())

    @classmethod
    def wait_for_data(cls):
        # Both targets scraped for longer than the rate window: cls.at, the
        # grid second every query is evaluated at, is the newest second
        # both fakes have a sample for, at least 8 s after the first ones,
        # so every window lies inside the data and rates come out exact.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if cls.prom.poll() is not None:
                raise AssertionError("prometheus exited: " + pathlib.Path(cls.log.name).read_text())
            try:
                # the raw samples (their grid stamps) of one gauge per target
                r = cls.api("/api/v1/query", {"query": "tokenring_ring_capacity[10m]"})
                series = r.get("data", {}).get("result", [])
                if len(series) == len(SCALES):
                    first = max(float(s["values"][0][0]) for s in series)
                    last = min(float(s["values"][-1][0]) for s in series)
                    if last - first >= 8:
                        cls.at = last
                        return
            except (OSError, ValueError):
                pass  # not listening yet, or a starting Prometheus' plain-text 503
            time.sleep(0.5)
        raise AssertionError("prometheus collected no data in 90 s")

    def query(self, expr, values=ALL):
        r = self.api("/api/v1/query", {"query": substitute(expr, values), "time": repr(self.at)})
        self.assertEqual("success", r.get("status"), f"{expr}: {r.get('error')}")
        return r["data"]["result"]

    def by(self, result, *labels):
        return {tuple(s["metric"].get(l, "") for l in labels): float(s["value"][1]) for s in result}

    def panel(self, title):
        (p,) = [p for p in panels() if p["title"] == title]
        return p

    def assertClose(self, want, got, rel=0.05, msg=None):
        self.assertLessEqual(abs(got - want), rel * abs(want) + 1e-9, msg or f"want {want}, got {got}")

    def test_every_panel_query_runs_and_returns_data(self):
        for p in panels():
            for t in p["targets"]:
                with self.subTest(panel=p["title"], ref=t["refId"]):
                    self.assertTrue(self.query(t["expr"]), f"no data: {t['expr']}")

    def test_every_variable_query_returns_values(self):
        want = {"reporter": {"source", "destination"}, "namespace": {"team-a", "team-b"},
                "workload": {"chat-app", "batch"}, "destination": {"llm.example.svc", "qwen.example.svc"},
                "model": {"gpt-4o", "qwen-turbo", "llama-3"}, "instance": None}
        for name, v in variables().items():
            if v["type"] != "query":
                continue
            with self.subTest(variable=name):
                m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var_query(v))
                r = self.api(f"/api/v1/label/{m.group(2)}/values", {"match[]": substitute(m.group(1), ALL)}, "GET")
                self.assertEqual("success", r["status"], r)
                if want[name] is None:
                    self.assertEqual(len(SCALES), len(r["data"]))
                else:
                    self.assertEqual(want[name], set(r["data"]))

    def expr(self, title, ref="A"):
        (t,) = [t for t in self.panel(title)["targets"] if t["refId"] == ref]
        return t["expr"]

    def test_request_rate_and_success_rate_by_model(self):
        total = sum(SCALES)
        rates = self.by(self.query(self.expr("Request rate by model")), "model")
        self.assertEqual({("gpt-4o",), ("qwen-turbo",), ("llama-3",)}, set(rates))
        self.assertClose(4.0 * total, rates[("gpt-4o",)])  # source side only, both nodes
        self.assertClose(2.0 * total, rates[("qwen-turbo",)])
        ok = self.by(self.query(self.expr("Success rate by model")), "model")
        self.assertClose(0.75, ok[("gpt-4o",)])
        self.assertClose(1.0, ok[("qwen-turbo",)])
        self.assertEqual(0.0, ok[("llama-3",)])
        (stat,) = self.query(self.expr("Success rate"))
        self.assertClose(5.0 / 6.5, float(stat["value"][1]))
        (none_ok,) = self.query(self.expr("Success rate"), {**ALL, "model": "llama-3"})
        self.assertEqual(0.0, float(none_ok["value"][1]))
        errors = self.by(self.query(self.expr("Errors by code")), "model", "response_code")
        self.assertEqual({("gpt-4o", "429"), ("gpt-4o", "500"), ("llama-3", "503")}, set(errors))
        self.assertClose(0.5 * total, errors[("gpt-4o", "500")])

    def test_reporter_variable_selects_a_side(self):
        rates = self.by(self.query(self.expr("Request rate by model"), {**ALL, "reporter": "destination"}), "model")
        self.assertEqual({("gpt-4o",)}, set(rates))
        self.assertClose(3.0 * sum(SCALES), rates[("gpt-4o",)])

    def test_model_variable_filters_every_model_panel(self):
        for p in panels():
            for t in p["targets"]:
                if not metric_names(t["expr"]) & ({USAGE_COUNTER} | set(COUNTERS)
                                                  | {h + "_bucket" for h in HISTOGRAMS}):
                    continue
                with self.subTest(panel=p["title"], ref=t["refId"]):
                    res = self.query(t["expr"], {**ALL, "model": "qwen-turbo"})
                    if "cost" in t["expr"] or p["title"] == "Errors by code":
                        self.assertEqual([], res, "qwen-turbo has no price and no errors")
                        continue
                    self.assertTrue(res)
                    for s in res:
                        self.assertIn(s["metric"].get("model", "qwen-turbo"), ("qwen-turbo",))
                    if "source_workload)" in t["expr"]:
                        self.assertEqual({"batch"}, {s["metric"]["source_workload"] for s in res})

    def test_latency_quantiles(self):
        for ref, q in (("A", 0.5), ("B", 0.95), ("C", 0.99)):
            lat = self.by(self.query(self.expr("Latency p50 / p95 / p99 by model", ref)), "model")
            # all gpt-4o calls took 0.8 s (bucket 0.5..1), qwen 0.2 s (0.1..0.25)
            self.assertClose(0.5 + 0.5 * q, lat[("gpt-4o",)], rel=0.01)
            self.assertClose(0.1 + 0.15 * q, lat[("qwen-turbo",)], rel=0.01)
        ttft = self.by(self.query(self.expr("Time to first token by model", "B")), "model")
        self.assertTrue(0.1 < ttft[("gpt-4o",)] <= 0.25)
        tpot = self.by(self.query(self.expr("Time per output token by model", "A")), "model")
        self.assertTrue(0.01 < tpot[("qwen-turbo",)] <= 0.025)

    def test_tokens(self):
        total = sum(SCALES)
        (stat,) = self.query(self.expr("Tokens/s"))
        self.assertClose(210.0 * total, float(stat["value"][1]))
        prompt = self.by(self.query(self.expr("Prompt tokens/s by model")), "model")
        self.assertClose(100.0 * total, prompt[("gpt-4o",)])
        compl = self.by(self.query(self.expr("Completion tokens/s by model")), "model")
        self.assertClose(40.0 * total, compl[("qwen-turbo",)])
        cached = self.by(self.query(self.expr("Cached and reasoning tokens/s by model", "A")), "model")
        self.assertClose(30.0 * total, cached[("gpt-4o",)])
        reasoning = self.by(self.query(self.expr("Cached and reasoning tokens/s by model", "B")), "model")
        self.assertClose(10.0 * total, reasoning[("gpt-4o",)])
        top = self.by(self.query(self.expr("Top workloads by tokens")), "source_namespace", "source_workload")
        self.assertEqual({("team-a", "chat-app"), ("team-b", "batch")}, set(top))  # llama-3 adds no tokens
        self.assertClose(150.0 / 60.0, top[("team-a", "chat-app")] / top[("team-b", "batch")])

    def test_usage_status_mix(self):
        mix = self.by(self.query(self.expr("Usage status mix by model")), "model", "status")
        self.assertEqual({("gpt-4o", "available"): 0.5, ("gpt-4o", "not_requested"): 0.25,
                          ("gpt-4o", "missing"): 0.125, ("gpt-4o", "interrupted"): 0.125,
                          ("qwen-turbo", "available"): 1.0, ("llama-3", "missing"): 1.0}.keys(), mix.keys())
        self.assertClose(0.25, mix[("gpt-4o", "not_requested")])
        self.assertClose(1.0, mix[("qwen-turbo", "available")])
        by_status = self.by(self.query(self.expr("Requests by usage status")), "status")
        self.assertClose(4.0 * sum(SCALES), by_status[("available",)])

    def test_cost(self):
        per_hour = self.by(self.query(self.expr("Cost per hour by model")), "model")
        self.assertEqual({("gpt-4o",)}, set(per_hour))
        self.assertClose(0.001 * 3600 * sum(SCALES), per_hour[("gpt-4o",)])

    def test_daemon_health(self):
        fill = self.query(self.expr("Ring fill"))
        self.assertEqual(sorted(RING_FILL * s / RING_CAPACITY for s in SCALES),
                         sorted(float(s["value"][1]) for s in fill))
        drops = self.query(self.expr("Dropped records by reason"))
        full = [float(s["value"][1]) for s in drops if s["metric"]["reason"] == "full"]
        self.assertEqual(len(SCALES), len(full))
        for want, got in zip(sorted(0.5 * s for s in SCALES), sorted(full)):
            self.assertClose(want, got)
        producers = self.query(self.expr("Producers"))
        self.assertEqual([PRODUCERS] * len(SCALES), [float(s["value"][1]) for s in producers])
        series = self.query(self.expr("Series and overflow", "A"))
        self.assertEqual([SERIES] * len(SCALES), [float(s["value"][1]) for s in series])
        corrupt = self.query(self.expr("Corrupt records"))
        self.assertClose(0.1 * sum(SCALES), sum(float(s["value"][1]) for s in corrupt))

    def test_what_cannot_be_read(self):
        total, window = sum(SCALES), float(RATE_WINDOW.rstrip("s"))
        conns = self.by(self.query(self.expr("Opaque TLS connections by server name")),
                        "source_workload", "sni")
        self.assertEqual({("node-agent", "api.openai.com")}, set(conns))
        self.assertClose(0.5 * total, conns[("node-agent", "api.openai.com")])
        nbytes = self.by(self.query(self.expr("Opaque TLS bytes by server name")), "direction")
        self.assertClose(800.0 * total, nbytes[("sent",)])
        self.assertClose(2400.0 * total, nbytes[("received",)])
        unreadable = self.by(self.query(self.expr("Unreadable processes")), "source_workload", "reason")
        self.assertEqual({("go-svc", "go")}, set(unreadable))
        self.assertClose(0.25 * total * window, unreadable[("go-svc", "go")], rel=0.3)
        untracked = self.by(self.query(self.expr("Untracked connections")), "source_workload", "reason")
        self.assertEqual({("batch", "slots_full")}, set(untracked))
        self.assertClose(2.0 * total, untracked[("batch", "slots_full")])
        # the workload filter reaches these panels too
        none = self.query(self.expr("Untracked connections"), {**ALL, "workload": "chat-app"})
        self.assertEqual([], none)

    def test_agent_row(self):
        total = sum(SCALES)
        calls = self.by(self.query(self.expr("MCP tool calls/s by tool")), "tool", "status")
        self.assertEqual({("search", "result"), ("search", "tool_error"), ("deploy", "error")}, set(calls))
        self.assertClose(2.0 * total, calls[("search", "result")])
        failed = self.by(self.query(self.expr("MCP tool call failure ratio by tool")), "tool")
        self.assertClose(0.5 / 2.5, failed[("search",)])
        self.assertClose(1.0, failed[("deploy",)], msg="a tool that only fails reads 1")
        p95 = self.by(self.query(self.expr("MCP tool call latency p95 by tool")), "tool")
        self.assertLessEqual(p95[("search",)], 0.5)
        self.assertGreater(p95[("search",)], 0.25)
        methods = self.by(self.query(self.expr("MCP requests/s by method")), "method")
        self.assertClose(2.75 * total, methods[("tools/call",)])
        self.assertClose(0.1 * total, methods[("initialize",)])
        # the reporter filter keeps the server's view of the same calls apart
        server = self.by(self.query(self.expr("MCP tool calls/s by tool"), {**ALL, "reporter": "destination"}),
                         "tool", "status")
        self.assertEqual({("search", "result")}, set(server))
        self.assertClose(2.0 * total, server[("search", "result")])


# --------------------------------------------------------------------------
def needed_packages(binary):
    """Debian packages providing the shared libraries a binary links."""
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    pkgs = {}
    for soname in re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out):
        libdir = os.path.basename(os.path.dirname(resolved[soname]))  # e.g. x86_64-linux-gnu
        r = subprocess.run(["dpkg", "-S", "*/" + soname], capture_output=True, text=True)
        owners = set()
        for line in r.stdout.splitlines():
            names, _, path = line.partition(": ")
            if os.path.basename(os.path.dirname(path)) == libdir:  # not another arch's copy
                owners |= {n.strip().split(":")[0] for n in names.split(",")}
        pkgs[soname] = owners
    return pkgs


class DaemonBinaryTests(unittest.TestCase):
    """Against the built tokenringd (registered when the target exists)."""

    BIN = os.environ.get("TOKENRINGD", "")

    def help_text(self):
        r = subprocess.run([self.BIN, "--help"], capture_output=True, text=True, timeout=10)
        return r.stdout + r.stderr

    def test_deploy_flags_exist_in_help(self):
        text = self.help_text()
        used = set()
        for args in all_daemon_arg_lists().values():
            used |= set(flag_values(args))
        for f in sorted(used | documented_flags()):
            self.assertRegex(text, re.escape(f) + r"(?![\w-])", f"{f} missing from tokenringd --help")

    def test_dockerfile_copies_the_built_path(self):
        rel = os.path.relpath(self.BIN, os.environ["TOKENRING_BUILD_DIR"])
        self.assertIn(f"/build/{rel} /out{DAEMON_BIN}", " ".join(dockerfile_stages()["build"][1]))

    def test_runtime_image_has_the_linked_libraries(self):
        runtime = " ".join(dockerfile_stages()["runtime"][1])
        for soname, owners in needed_packages(self.BIN).items():
            with self.subTest(library=soname):
                self.assertTrue(owners, f"no Debian package owns {soname}")
                self.assertTrue(owners & {"libc6"} or any(re.search(rf"\b{re.escape(o)}\b", runtime) for o in owners),
                                f"{soname} ({owners}) is not installed in the runtime stage")


def http_get(url, deadline):
    """(status, body) of GET url, retrying connection errors until deadline."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class DaemonLiveTests(unittest.TestCase):
    """The built tokenringd, started with the DaemonSet's arguments (ring and
    listener moved to a temp dir and a loopback port), serves what the
    probes, the scrape configs and the dashboard's health row use."""

    BIN = os.environ.get("TOKENRINGD", "")

    def test_endpoints_and_self_metrics(self):
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            args = flag_values(daemon_container()["args"])
            args.update({"--ring": f"{tmp}/ring", "--listen": f"127.0.0.1:{port}"})
            proc = subprocess.Popen([self.BIN] + [x for kv in args.items() for x in kv],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                base = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 10
                c = daemon_container()
                for probe in ("livenessProbe", "readinessProbe"):
                    status, _ = http_get(base + c[probe]["httpGet"]["path"], deadline)
                    self.assertEqual(200, status, probe)
                paths = {daemonset()["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"],
                         "/stats/prometheus"}
                paths |= {ep["path"] for ep in find_doc("ServiceMonitor", "tokenringd")["spec"]["endpoints"]}
                for path in sorted(paths):
                    status, body = http_get(base + path, deadline)
                    self.assertEqual(200, status, path)
                    r = promtool("check", "metrics", stdin=body)
                    self.assertEqual(0, r.returncode, f"{path}: {r.stdout}{r.stderr}")
                    samples = {m for m in re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", body, re.M)}
                    for name in SELF_GAUGES + SELF_COUNTERS:
                        self.assertIn(name, samples, f"{path}: the dashboard's health row needs {name}")
                    reasons = set(re.findall(DROPPED + r'\{[^}]*reason="([^"]+)"', body))
                    self.assertTrue(reasons, f"{path}: no {DROPPED}{{reason=...}}")
                    self.assertLessEqual(reasons, set(DROP_REASONS))
                    self.assertRegex(body, r"(?m)^tokenring_ring_capacity \d+")
            finally:
                proc.terminate()  # SIGTERM: what the kubelet sends
                _, err = proc.communicate(timeout=20)
            self.assertEqual(0, proc.returncode, f"exit on SIGTERM: {err}")


class ShimBinaryTests(unittest.TestCase):
    """Against the built libtokenring.so (registered when the target exists)."""

    LIB = os.environ.get("LIBTOKENRING", "")

    def test_dockerfile_copies_the_built_path(self):
        self.assertEqual("libtokenring.so", os.path.basename(self.LIB))
        rel = os.path.relpath(self.LIB, os.environ["TOKENRING_BUILD_DIR"])
        self.assertIn(f"/build/{rel} /out{SHIM_LIB}", " ".join(dockerfile_stages()["build"][1]))

    def test_dockerfile_copies_the_built_musl_path(self):
        musl = os.environ["LIBTOKENRING_MUSL"]
        rel = os.path.relpath(musl, os.environ["TOKENRING_BUILD_DIR"])
        build = " ".join(dockerfile_stages()["build"][1])
        self.assertIn(f"/build/{rel} /out{SHIM_MUSL_LIB}", build)
        lib = os.path.relpath(self.LIB, os.environ["TOKENRING_BUILD_DIR"])
        self.assertIn(f"deploy/shim-tree.sh /build/{lib} /build/{rel} /out{SHIM_TREE}", build)

    def test_shim_reads_the_env_names_we_set(self):
        data = pathlib.Path(self.LIB).read_bytes()
        names = set(env_map(workload_patch()["spec"]["template"]["spec"]["containers"][0]["env"]))
        names |= set(compose()["services"]["demo"]["environment"])
        names -= {"LD_PRELOAD"}
        for n in sorted(names | documented_env()):
            self.assertIn(n.encode() + b"\0", data, f"libtokenring.so never reads {n}")

    def test_shim_needs_libc_only(self):
        for soname, owners in needed_packages(self.LIB).items():
            self.assertEqual({"libc6"}, owners, soname)


class DemoCommandTests(unittest.TestCase):
    """The compose demo's commands match the demo scripts' options
    (registered when demo/ exists)."""

    def test_demo_flags_exist(self):
        cmd = " ".join(compose()["services"]["demo"]["command"])
        for script, args in re.findall(r"python3 /opt/tokenring/demo/(\w+\.py)((?:\s+--?[\w-]+(?:\s+[^-&\s]\S*)?)*)", cmd):
            with self.subTest(script=script):
                path = ROOT / "demo" / script
                self.assertTrue(path.is_file())
                r = subprocess.run(["/usr/bin/python3", str(path), "--help"], capture_output=True, text=True,
                                   timeout=20)
                self.assertEqual(0, r.returncode, r.stderr)
                for flag in re.findall(r"(--?[\w-]+)", args):
                    self.assertIn(flag, r.stdout)


def load_tests(loader, standard_tests, pattern):
    """Run as a whole file: the binary and demo groups join only when what
    they check exists (CMake registers them on the same conditions)."""
    suite = unittest.TestSuite()
    groups = [ManifestTests, ConsistencyTests, PrometheusConfigTests, DashboardStaticTests,
              DashboardQueryTests]
    if os.environ.get("TOKENRINGD"):
        groups += [DaemonBinaryTests, DaemonLiveTests]
    if os.environ.get("LIBTOKENRING"):
        groups.append(ShimBinaryTests)
    if (ROOT / "demo" / "traffic.py").exists():
        groups.append(DemoCommandTests)
    for g in groups:
        suite.addTests(loader.loadTestsFromTestCase(g))
    return suite


if __name__ == "__main__":
    tt.main()
