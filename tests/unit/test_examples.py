"""The bundled example snapshot (what ``make demo`` shows) is diagnosed as documented."""

from pathlib import Path

from crashwatch.cli.loader import load_objects
from crashwatch.diagnosis import diagnose
from crashwatch.logsource import LogsDir

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_every_incident_gets_its_specific_reason_and_evidence():
    objects = load_objects(str(EXAMPLES / "incidents.json"))
    findings = diagnose(objects, LogsDir(str(EXAMPLES / "logs")))
    got = {(f.namespace, f.pod, f.container): f for f in findings}
    expected = {
        ("storefront", "rails-6d8f7c9b5-t4wzq", "rails"): ("CrashLoop.OOMAfterShrink",
                                                          ["32Mi", "512Mi"]),
        ("storefront-prod", "rails-7f9d6c5b8-q2kfn", "rails"): ("CrashLoop.MissingEnv",
                                                               ["SECRET_KEY_BASE"]),
        ("storefront-prod", None, None): ("Rollout.Regression",
                                          ["registry.example.com/storefront/rails:7.4.1"]),
        ("identity", "keycloak-0", "keycloak"): ("CrashLoop.ReadOnlyFilesystem",
                                                 ["/opt/keycloak/lib/quarkus"]),
        ("billing", "server-6b7c8d9f5-lm3np", "server"): ("Config.MissingConfigMapKey",
                                                          ["invoice_template", "server-config"]),
        ("billing", "worker-7d6f5c4b3-hh8rt", "worker"): ("Config.MissingSecret",
                                                          ["worker-env",
                                                           "billing-worker-env-5m8h2k9c4t"]),
        ("jupyter", "hub-7c9b8d6f5-x8vbn", "hub"): ("Image.NotFound",
                                                    ["quay.io/jupyterhub/k8s-hub:4.9.9"]),
        ("payments", "api-5f6d7c8b9-kq2zt", "api"): ("CrashLoop.LivenessProbe", ["404"]),
        ("payments", "ledger-8c7b6d5f4-w9rtx", "db-proxy"): ("CrashLoop.LivenessProbe",
                                                             ["9801", "connection refused"]),
    }
    assert set(got) == set(expected)
    for key, (reason, needles) in expected.items():
        f = got[key]
        assert f.reason.value == reason, key
        text = "\n".join(f.evidence)
        for needle in needles:
            assert needle in text, (key, needle, text)
