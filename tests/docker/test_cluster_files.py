"""The cluster files under docker/ against what Ray's launcher and KubeRay will do with them.

Nothing here starts a container: the files are checked against Ray's own cluster schema, the KubeRay
v1 CRD fields they use, and our own CLI and presets, which is where the past mistakes were.
"""

import json
import re
import shlex
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"

# Fields of KubeRay's ray.io/v1 CRDs (RayJob, and the RayCluster spec it embeds), KubeRay 1.1-1.4.
# Kubernetes drops unknown fields of a CRD without an error, so a misspelt key would silently vanish.
RAYJOB_SPEC = {"activeDeadlineSeconds", "backoffLimit", "clusterSelector", "deletionStrategy", "entrypoint",
               "entrypointNumCpus", "entrypointNumGpus", "entrypointResources", "jobId", "managedBy", "metadata",
               "rayClusterSpec", "runtimeEnvYAML", "shutdownAfterJobFinishes", "submissionMode", "submitterConfig",
               "submitterPodTemplate", "suspend", "ttlSecondsAfterFinished"}
RAYCLUSTER_SPEC = {"autoscalerOptions", "enableInTreeAutoscaling", "gcsFaultToleranceOptions", "headGroupSpec",
                   "headServiceAnnotations", "managedBy", "rayVersion", "suspend", "workerGroupSpecs"}
HEAD_GROUP = {"enableIngress", "headService", "rayStartParams", "serviceType", "template"}
WORKER_GROUP = {"groupName", "idleTimeoutSeconds", "maxReplicas", "minReplicas", "numOfHosts", "rayStartParams",
                "replicas", "scaleStrategy", "suspend", "template"}
SUBMISSION_MODES = {"K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def load_yaml_documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DOCKER / name).read_text()) if doc]


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


@pytest.fixture(scope="module")
def rayjob() -> dict:
    (job,) = load_yaml_documents("kuberay-rayjob.yaml")
    return job


def test_the_image_has_no_entrypoint_to_swallow_the_launchers_commands():
    # `ray up` runs `docker run IMAGE bash` and KubeRay sets the command to `ray start ...`.
    keywords = [keyword for keyword, _ in dockerfile_instructions()]
    assert "ENTRYPOINT" not in keywords
    cmd = dict(dockerfile_instructions())["CMD"]
    assert json.loads(cmd)[0] == "autogan"


def test_the_image_has_one_cuda_stack_matching_the_torch_it_installs():
    instructions = dockerfile_instructions()
    (base,) = [arg for keyword, arg in instructions if keyword == "FROM"]
    assert "cuda" not in base.lower(), f"{base}: torch's wheels bring their own CUDA; a CUDA base adds a second one"
    run = " ".join(arg for keyword, arg in instructions if keyword == "RUN")
    pinned = dict(re.findall(r"\b(torch|torchvision)==([\w.]+)", run))
    pyproject = (ROOT / "pyproject.toml").read_text()
    for package, version in pinned.items():
        assert f'"{package}>=' in pyproject and f"<={version}\"" in pyproject, f"{package}=={version} is not pyproject's bound"
    assert set(pinned) == {"torch", "torchvision"}
    index = dict(arg.split("=", 1) for keyword, arg in instructions if keyword == "ARG" and "=" in arg)["TORCH_INDEX"]
    assert index.rstrip("/").endswith("cu130"), "the wheel index must serve the CUDA build that the image relies on"
    # KubeRay's probes call wget inside the pod.
    assert re.search(r"apt-get install[^&]*\bwget\b", run)


def test_the_launcher_config_is_valid_for_rays_own_schema():
    import ray.autoscaler

    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    (config,) = load_yaml_documents("ray-cluster.yaml")
    jsonschema.validate(config, schema)
    assert any("/app/data" in option for option in config["docker"]["run_options"])


def test_rayjob_uses_only_fields_of_the_kuberay_v1_crd(rayjob):
    assert rayjob["apiVersion"] == "ray.io/v1" and rayjob["kind"] == "RayJob"
    spec = rayjob["spec"]
    assert set(spec) <= RAYJOB_SPEC, set(spec) - RAYJOB_SPEC
    assert spec.get("submissionMode", "K8sJobMode") in SUBMISSION_MODES
    cluster = spec["rayClusterSpec"]
    assert set(cluster) <= RAYCLUSTER_SPEC, set(cluster) - RAYCLUSTER_SPEC
    assert set(cluster["headGroupSpec"]) <= HEAD_GROUP
    for group in cluster["workerGroupSpecs"]:
        assert set(group) <= WORKER_GROUP, set(group) - WORKER_GROUP
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    for group in [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]:
        # The CRD types rayStartParams as a map of strings: a bare number or bool is rejected.
        assert all(isinstance(value, str) for value in group["rayStartParams"].values()), group["rayStartParams"]
        for container in group["template"]["spec"]["containers"]:
            assert {"name", "image"} <= set(container)


def test_rayjob_submitter_can_reach_the_heads_job_api(rayjob):
    head = rayjob["spec"]["rayClusterSpec"]["headGroupSpec"]
    host = head["rayStartParams"].get("dashboard-host", "127.0.0.1")
    assert host not in LOOPBACK, "the submitter pod reaches the job API through the head service, not loopback"
    ports = {port["containerPort"] for c in head["template"]["spec"]["containers"] for port in c.get("ports", [])}
    assert 8265 in ports


def test_every_claim_the_rayjob_mounts_is_defined_as_readwritemany(rayjob):
    claims = {doc["metadata"]["name"]: doc for doc in load_yaml_documents("kuberay-data.yaml")
              if doc["kind"] == "PersistentVolumeClaim"}
    cluster = rayjob["spec"]["rayClusterSpec"]
    templates = [cluster["headGroupSpec"]["template"], *(g["template"] for g in cluster["workerGroupSpecs"])]
    used = {volume["persistentVolumeClaim"]["claimName"] for t in templates for volume in t["spec"].get("volumes", [])
            if "persistentVolumeClaim" in volume}
    assert used and used <= set(claims), used - set(claims)
    for name in used:
        assert "ReadWriteMany" in claims[name]["spec"]["accessModes"], f"{name} is mounted by pods on several nodes"
    stagers = [doc for doc in load_yaml_documents("kuberay-data.yaml") if doc["kind"] == "Job"]
    assert stagers, "nothing fills the volume"
    mounted = {m["mountPath"] for t in templates for c in t["spec"]["containers"] for m in c.get("volumeMounts", [])}
    assert mounted == {"/app/data"}


def test_rayjob_entrypoint_is_a_valid_autogan_command(rayjob):
    from autogan.cli import build_parser
    from autogan.config import load_config
    from autogan.metrics.inception import INCEPTION_WEIGHTS_FILE

    words = shlex.split(rayjob["spec"]["entrypoint"])
    assert words[0] == "autogan"
    args = build_parser().parse_args(words[1:])
    assert args.address == "auto" and args.out.startswith("/app/data/")
    config = load_config(args.config, args.overrides)
    # A job's working directory is Ray's, not /app: the data root must be absolute.
    assert config.data.root.startswith("/app/data/")
    staging = (DOCKER / "kuberay-data.yaml").read_text()
    assert config.data.root in staging and INCEPTION_WEIGHTS_FILE in staging
    assert f"/app/data/{INCEPTION_WEIGHTS_FILE}" in (DOCKER / "Dockerfile").read_text()
