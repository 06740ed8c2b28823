"""The cluster files under docker/ against what Ray's launcher and KubeRay will do with them.

Nothing here starts a container: the files are checked against Ray's own cluster schema, the KubeRay
v1 CRD fields they use, and our own CLI and presets, which is where the past mistakes were.
"""

import json
import os
import re
import shlex
import stat
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"

# Fields of KubeRay's ray.io/v1 CRDs (RayJob, and the RayCluster spec it embeds), KubeRay 1.1-1.5.1
# (`authOptions` is 1.5.1's). Kubernetes drops unknown fields of a CRD without an error unless the
# client asks for strict validation, so a misspelt key would silently vanish.
RAYJOB_SPEC = {"activeDeadlineSeconds", "backoffLimit", "clusterSelector", "deletionStrategy", "entrypoint",
               "entrypointNumCpus", "entrypointNumGpus", "entrypointResources", "jobId", "managedBy", "metadata",
               "rayClusterSpec", "runtimeEnvYAML", "shutdownAfterJobFinishes", "submissionMode", "submitterConfig",
               "submitterPodTemplate", "suspend", "ttlSecondsAfterFinished"}
RAYCLUSTER_SPEC = {"authOptions", "autoscalerOptions", "enableInTreeAutoscaling", "gcsFaultToleranceOptions", "headGroupSpec",
                   "headServiceAnnotations", "managedBy", "rayVersion", "suspend", "workerGroupSpecs"}
HEAD_GROUP = {"enableIngress", "headService", "rayStartParams", "serviceType", "template"}
WORKER_GROUP = {"groupName", "idleTimeoutSeconds", "maxReplicas", "minReplicas", "numOfHosts", "rayStartParams",
                "replicas", "scaleStrategy", "suspend", "template"}
SUBMISSION_MODES = {"K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# The image's torch wheels are CUDA 13.0 (cu130); NVIDIA's CUDA 13.0 release notes: driver >= 580 on Linux.
CUDA_OF_WHEEL_INDEX = {"cu130": "13.0"}
MIN_DRIVER_OF_CUDA = {"13.0": 580}
# vCPUs and GPUs of the instance types the launcher file may name (AWS's published sizes).
INSTANCE_SIZES = {"m6i.2xlarge": (8, 0), "g5.xlarge": (4, 1), "g5.2xlarge": (8, 1), "g5.4xlarge": (16, 1), "g6.2xlarge": (8, 1),
                  "g6e.2xlarge": (8, 1), "g4dn.2xlarge": (8, 1)}
# Ray's cluster launcher replaces these with an Ubuntu 18.04 Deep Learning AMI (CUDA 11.2, driver 460).
RAY_DEFAULT_AMIS = {"", "latest_dlami"}
PRESETS_FOR_THE_CLUSTER = ("cifar10", "stl10")


def load_yaml_documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DOCKER / name).read_text()) if doc]


def dockerfile_env() -> dict[str, str]:
    env = {}
    for keyword, arg in dockerfile_instructions():
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(arg))
    return env


def kubernetes_quantity(value: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    for unit, factor in units.items():
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


def pod_templates(rayjob: dict) -> list[dict]:
    cluster = rayjob["spec"]["rayClusterSpec"]
    return [cluster["headGroupSpec"]["template"], *(group["template"] for group in cluster["workerGroupSpecs"])]


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


@pytest.fixture(scope="module")
def rayjob() -> dict:
    (job,) = [doc for doc in load_yaml_documents("kuberay-rayjob.yaml") if doc["kind"] == "RayJob"]
    return job


@pytest.fixture(scope="module")
def launcher() -> dict:
    (config,) = load_yaml_documents("ray-cluster.yaml")
    return config


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


def test_the_launcher_config_is_valid_for_rays_own_schema(launcher):
    import ray.autoscaler

    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    jsonschema.validate(launcher, schema)


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
    claim_volumes = {v["name"] for t in templates for v in t["spec"].get("volumes", []) if "persistentVolumeClaim" in v}
    mounted = {m["mountPath"] for t in templates for c in t["spec"]["containers"] for m in c.get("volumeMounts", [])
               if m["name"] in claim_volumes}
    assert mounted == {"/app/data"}


def test_rayjob_entrypoint_is_a_valid_autogan_command(rayjob):
    from autogan.cli import build_parser
    from autogan.config import load_config
    from autogan.metrics._inception import INCEPTION_WEIGHTS_FILE

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


# --- GPUs that torch can use (issue 22, finding 3) ------------------------------------------------------------


def test_the_image_exposes_the_gpus_and_refuses_a_driver_too_old_for_its_cuda(rayjob):
    env = dockerfile_env()
    # Plain Ubuntu sets neither: the NVIDIA runtime that the Ray launcher adds then mounts no GPU.
    assert env.get("NVIDIA_VISIBLE_DEVICES") == "all"
    assert {"compute", "utility"} <= set(env.get("NVIDIA_DRIVER_CAPABILITIES", "").split(","))
    index = dict(arg.split("=", 1) for keyword, arg in dockerfile_instructions() if keyword == "ARG" and "=" in arg)
    cuda = CUDA_OF_WHEEL_INDEX[index["TORCH_INDEX"].rstrip("/").rsplit("/", 1)[1]]
    # The container toolkit checks this against the host's driver before the container starts.
    assert env.get("NVIDIA_REQUIRE_CUDA") == f"cuda>={cuda}"
    # The KubeRay head asks for no GPU; with the image's "all" it would see every GPU of its node.
    (head,) = rayjob["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"]
    assert {"name": "NVIDIA_VISIBLE_DEVICES", "value": "void"} in head.get("env", [])


def launcher_gpu_node_types(launcher: dict) -> dict[str, dict]:
    types = {}
    for name, node_type in launcher["available_node_types"].items():
        instance = node_type["node_config"]["InstanceType"]
        assert instance in INSTANCE_SIZES, f"{name}: add {instance}'s vCPUs and GPUs to INSTANCE_SIZES"
        if INSTANCE_SIZES[instance][1] > 0:
            types[name] = node_type
    assert types, "no GPU node type"
    return types


def run_driver_check(command: str, tmp_path: Path, driver: str | None) -> subprocess.CompletedProcess:
    """Run a node's initialization command with a stand-in ``nvidia-smi`` that reports ``driver`` (None: absent)."""
    bin_dir = tmp_path / f"bin-{driver}"
    bin_dir.mkdir()
    if driver is not None:
        fake = bin_dir / "nvidia-smi"
        fake.write_text(f"#!/bin/sh\necho {driver}\n")
        fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    return subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=30)


def test_launcher_gpu_workers_boot_an_ami_whose_driver_suits_the_images_cuda(launcher, tmp_path):
    for name, node_type in launcher["available_node_types"].items():
        image = node_type["node_config"].get("ImageId", "")
        assert image.lower() not in RAY_DEFAULT_AMIS, f"{name}: Ray resolves {image!r} to a CUDA 11.2 AMI"
        assert image.startswith("ami-") or image.startswith("SET-"), f"{name}: ImageId {image!r} is neither an AMI nor the placeholder"
    gpu_types = launcher_gpu_node_types(launcher)
    minimum = MIN_DRIVER_OF_CUDA[CUDA_OF_WHEEL_INDEX["cu130"]]
    for name, node_type in gpu_types.items():
        # A node with an older driver must stop before Ray starts on it, saying what to change.
        (command,) = node_type["initialization_commands"]
        too_old = run_driver_check(command, tmp_path, f"{minimum - 5}.57.08")
        assert too_old.returncode != 0 and "ImageId" in too_old.stderr and str(minimum) in too_old.stderr, too_old
        missing = run_driver_check(command, tmp_path, None)
        assert missing.returncode != 0 and "ImageId" in missing.stderr, missing
        for good in (f"{minimum}.65.06", f"{minimum + 15}.91.07"):
            assert run_driver_check(command, tmp_path, good).returncode == 0, good


def test_one_gpu_node_of_either_cluster_file_holds_the_presets_trainer_and_evaluators(launcher, rayjob):
    from autogan.config import load_config
    from autogan.search._resources import resource_shortfall
    from workers import Resources

    nodes = {}
    for name, node_type in launcher_gpu_node_types(launcher).items():
        # What Ray gets: the declared resources, else the instance's; never more than the instance has.
        instance = node_type["node_config"]["InstanceType"]
        cpus, gpus = INSTANCE_SIZES[instance]
        declared = {"CPU": cpus, "GPU": gpus, **node_type["resources"]}
        assert declared["CPU"] <= cpus and declared["GPU"] <= gpus, (instance, declared)
        nodes[f"ray-cluster.yaml {name} ({instance})"] = Resources(num_cpus=declared["CPU"], num_gpus=declared["GPU"])
    for group in rayjob["spec"]["rayClusterSpec"]["workerGroupSpecs"]:
        (container,) = group["template"]["spec"]["containers"]
        limits = container["resources"]["limits"]
        nodes[f"kuberay-rayjob.yaml {group['groupName']}"] = Resources(
            num_cpus=kubernetes_quantity(limits["cpu"]), num_gpus=float(limits.get("nvidia.com/gpu", 0))
        )
    assert nodes
    for preset in PRESETS_FOR_THE_CLUSTER:
        run = load_config(preset).run
        for where, node in nodes.items():
            # The project's own placement check, on one node: the trainer and every evaluator on it.
            assert resource_shortfall(run, [node], where) is None, (preset, resource_shortfall(run, [node], where))


def test_launcher_stages_the_data_on_every_node(launcher):
    from autogan.metrics._inception import INCEPTION_WEIGHTS_FILE

    mounts = launcher.get("file_mounts", {})
    assert "/app/data" in mounts, "file_mounts copies the data to every node, workers included, as they join"
    local = mounts["/app/data"]
    assert not Path(local).is_absolute(), "a path relative to the repository root, as the README stages it"
    # A bind mount over the same path would hide what file_mounts put there.
    assert not any("/app/data" in option for option in launcher["docker"].get("run_options", []))
    layout = (DOCKER / "ray-cluster.yaml").read_text()
    assert "cifar-10-batches-py" in layout and INCEPTION_WEIGHTS_FILE in layout


def test_kuberay_pods_give_rays_object_store_a_sized_memory_backed_dev_shm(rayjob):
    for template in pod_templates(rayjob):
        volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
        (container,) = template["spec"]["containers"]
        (shm,) = [m["name"] for m in container.get("volumeMounts", []) if m["mountPath"] == "/dev/shm"]
        empty_dir = volumes[shm].get("emptyDir", {})
        assert empty_dir.get("medium") == "Memory", "a disk-backed /dev/shm is what Ray's /tmp fallback already is"
        # Ray's object store defaults to 30% of the container's memory; a smaller /dev/shm sends it to /tmp.
        memory = kubernetes_quantity(container["resources"]["limits"]["memory"])
        assert kubernetes_quantity(empty_dir["sizeLimit"]) >= 0.3 * memory, (container["name"], empty_dir)
        assert kubernetes_quantity(empty_dir["sizeLimit"]) <= 0.5 * memory, "it counts against the pod's memory"


# --- nobody outside the cluster runs code on it (issue 22, finding 9) ---------------------------------------------


def test_token_authentication_is_on_in_both_cluster_files_and_in_the_readmes_submit(rayjob, launcher):
    cluster = rayjob["spec"]["rayClusterSpec"]
    assert cluster.get("authOptions", {}).get("mode") == "token"
    # KubeRay refuses authOptions below Ray 2.52.
    assert tuple(int(p) for p in cluster["rayVersion"].split(".")[:2]) >= (2, 52)
    # The launcher: the mode on every node (the global run_options, not the head's alone) and the token
    # copied to every node from the file `ray get-auth-token --generate` writes.
    options = shlex.split(" ".join(launcher["docker"]["run_options"]))
    modes = [options[i + 1] for i, word in enumerate(options) if word in ("--env", "-e")]
    assert "RAY_AUTH_MODE=token" in modes
    assert launcher["file_mounts"].get("~/.ray/auth_token") == "~/.ray/auth_token"
    # Every `ray job submit` command the README and the file show sends the token (the client sends it
    # in token mode only).
    for text in ((ROOT / "README.md").read_text(), (DOCKER / "ray-cluster.yaml").read_text()):
        submits = [line for line in text.splitlines() if "ray job submit --" in line]
        assert submits and all("RAY_AUTH_MODE=token ray job submit --" in line for line in submits), submits


def test_the_heads_ports_are_open_only_to_the_clusters_own_pods(rayjob, launcher):
    (policy,) = [doc for doc in load_yaml_documents("kuberay-rayjob.yaml") if doc["kind"] == "NetworkPolicy"]
    templates = pod_templates(rayjob)
    pod_labels = [t.get("metadata", {}).get("labels", {}) for t in templates]
    selected = policy["spec"]["podSelector"]["matchLabels"]
    assert selected and all(selected.items() <= labels.items() for labels in pod_labels), "it must select head and workers"
    assert "Ingress" in policy["spec"]["policyTypes"]
    submitter = {"job-name": rayjob["metadata"]["name"]}
    for rule in policy["spec"]["ingress"]:
        sources = rule.get("from")
        assert sources, "a rule without `from` admits every address"
        assert not any("ipBlock" in source for source in sources)
        own = all(set(source) == {"podSelector"} and source["podSelector"]["matchLabels"] == selected for source in sources)
        if own:
            continue
        # Anything else reaches the job API only: the submitter and the KubeRay operator.
        assert [p["port"] for p in rule.get("ports", [])] == [8265], rule
        for source in sources:
            labels = source["podSelector"]["matchLabels"]
            assert labels == submitter or labels == {"app.kubernetes.io/name": "kuberay-operator"}, source
    # The launcher: Ray's own security group (the cluster's group on all ports, SSH from anywhere, nothing
    # else) is kept: no extra rules, no groups of the user's that replace it, and the dashboard on loopback.
    assert not launcher["provider"].get("security_group", {}).get("IpPermissions")
    for node_type in launcher["available_node_types"].values():
        assert "SecurityGroupIds" not in node_type["node_config"]
    (start,) = [c for c in launcher["head_start_ray_commands"] if c.startswith("ray start")]
    assert "--dashboard-host=127.0.0.1" in start
