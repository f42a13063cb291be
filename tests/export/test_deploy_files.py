"""deploy/ for the exports: the compose stack's tokenringd pushes OTLP to the
collector service on the port and path its config receives on, the
collector's metrics pipeline starts at that receiver, and the native
scrape config names the daemon the compose stack runs."""
import os
import sys
import unittest
from urllib.parse import urlparse

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import tokenring_test as tt  # noqa: E402  (tests/pylib: the shared helpers)

DEPLOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy")


def load(*path):
    with open(os.path.join(DEPLOY, *path)) as f:
        return yaml.safe_load(f)


class DeployFiles(unittest.TestCase):
    def test_daemon_pushes_to_the_collector_receiver(self):
        compose = load("compose.yaml")
        env = compose["services"]["tokenringd"]["environment"]
        url = urlparse(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
        self.assertEqual(url.scheme, "http")
        self.assertIn(url.hostname, compose["services"])
        col = compose["services"][url.hostname]
        mount = [v for v in col["volumes"] if v.startswith("./otel-collector/config.yaml:")]
        self.assertEqual(len(mount), 1)
        cfg = load("otel-collector", "config.yaml")
        http = cfg["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
        self.assertEqual(int(http.rsplit(":", 1)[1]), url.port)
        self.assertIn("otlp", cfg["service"]["pipelines"]["metrics"]["receivers"])
        for e in cfg["service"]["pipelines"]["metrics"]["exporters"]:
            self.assertIn(e, cfg["exporters"])
        self.assertGreaterEqual(int(env["OTEL_METRIC_EXPORT_INTERVAL"]), 1000)

    def test_native_scrape_targets_the_daemon(self):
        (job,) = load("prometheus", "prometheus-native.yml")["scrape_configs"]
        self.assertTrue(job["scrape_classic_histograms"])
        (sc,) = job["static_configs"]
        compose = load("compose.yaml")
        host, port = sc["targets"][0].split(":")
        self.assertIn(host, compose["services"])
        self.assertIn("%s:%s" % (port, port), compose["services"][host]["ports"])


if __name__ == "__main__":
    tt.main()
