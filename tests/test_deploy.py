"""The deployment files, checked where no container engine or cluster runs.

- compose.yaml: the RustFS nodes form one cluster and the gateway has one upstream per
  node, no secret is written in it or in deploy/iamgw.toml (all from .env, each listed
  in .env.example and required), Keycloak's KC_HOSTNAME makes the issuer the gateway
  expects, and the LDAP bootstrap creates its own base entry (loaded with `slapadd`).
- Dockerfile: built in two stages, no compiler in the final image, the canned policies
  where the gateway looks for them, a data volume owned by the non-root user.
- deploy/kubernetes/: every manifest validated against the Kubernetes API schemas that
  `kubernetes-validate` ships; the CRDs (cert-manager Certificate, Prometheus operator
  ServiceMonitor) checked for their shape here; the pieces wired to one another (labels,
  names, ports, paths); the ConfigMap's settings loaded by iamgw/config.py itself; the
  example overlay built with `kubectl kustomize` where kubectl is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from packaging.version import Version

import iamgw
from iamgw.config import ConfigError, load_settings
from iamgw.datadir import MASTER_KEY_FILE
from iamgw.iam import canned
from iamgw.store import MasterKey
from iamgw.store.secrets import SecretError

ROOT = Path(__file__).parents[1]
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
GATEWAY_TOML = ROOT / "deploy" / "iamgw.toml"
LDIF = ROOT / "deploy" / "ldap" / "bootstrap.ldif"
DOCKERFILE = (ROOT / "Dockerfile").read_text()
K8S = ROOT / "deploy" / "kubernetes"
BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "example"

# ${VAR}, ${VAR:?message}, ${VAR?message}, ${VAR:-default}, ${VAR-default}
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[?-])([^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|MASTER_KEY|_TOKEN")


# ---- compose.yaml ------------------------------------------------------------------------


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def sample_env() -> dict[str, str]:
    """A value for every variable of .env.example, as an operator's .env would have."""
    env = {name: f"{name.lower().replace('_', '')}0123456789" for name in env_example()}
    env["IAMGW_MASTER_KEY"] = "0123456789abcdef" * 4  # 32 bytes in hex (openssl rand -hex 32)
    return env


def interpolate(value: str, env: dict[str, str]) -> str:
    """compose's substitution of ${...} (required forms fail as compose would)."""

    def one(match: re.Match[str]) -> str:
        name, form, word = match.group(1), match.group(2) or "", match.group(3) or ""
        if env.get(name):
            return env[name]
        if "?" in form:
            raise AssertionError(f"compose would stop: {name}: {word}")
        return word

    return VARIABLE.sub(one, value)


def gateway_environment() -> dict[str, str]:
    env = sample_env()
    return {k: interpolate(str(v), env) for k, v in SERVICES["iamgw"]["environment"].items()}


def expand_braces(text: str) -> list[str]:
    """RustFS's (and MinIO's) `{1...4}` ellipsis notation, every range expanded."""
    match = re.search(r"\{(\d+)\.\.\.(\d+)\}", text)
    if not match:
        return [text]
    head, tail = text[: match.start()], text[match.end() :]
    low, high = int(match.group(1)), int(match.group(2))
    return [out for i in range(low, high + 1) for out in expand_braces(f"{head}{i}{tail}")]


def rustfs_nodes() -> dict[str, dict[str, Any]]:
    """The storage nodes (the one-shot volume service uses the same image, no RUSTFS_*)."""
    return {
        name: service
        for name, service in SERVICES.items()
        if "RUSTFS_VOLUMES" in service.get("environment", {})
    }


def cluster_drives() -> list[tuple[str, int, str]]:
    """(host, port, path) of every drive RUSTFS_VOLUMES names."""
    volumes = {str(s["environment"]["RUSTFS_VOLUMES"]) for s in rustfs_nodes().values()}
    assert len(volumes) == 1, f"the nodes disagree on RUSTFS_VOLUMES: {volumes}"
    drives = []
    for expression in volumes.pop().split():
        for url in expand_braces(expression):
            parts = urlsplit(url)
            assert parts.scheme == "http" and parts.hostname and parts.port, url
            drives.append((parts.hostname, parts.port, parts.path))
    return drives


def test_rustfs_nodes_form_one_cluster_of_four_nodes_with_drives_named_alike() -> None:
    nodes = rustfs_nodes()
    drives = cluster_drives()
    hosts = sorted({host for host, _, _ in drives})
    assert hosts == sorted(nodes) and len(hosts) == 4, "RUSTFS_VOLUMES must name every node"
    paths = {host: sorted(p for h, _, p in drives if h == host) for host in hosts}
    first = paths[hosts[0]]
    assert len(first) == 4 and all(p == first for p in paths.values()), paths
    used: set[str] = set()
    for name, node in nodes.items():
        assert node.get("hostname") == name  # how a node finds its own drives in the list
        assert f":{drives[0][1]}" in str(node["environment"]["RUSTFS_ADDRESS"])
        mounts = dict(reversed(v.split(":")[:2]) for v in node["volumes"])
        assert sorted(mounts) == paths[name], f"{name} does not mount its drives"
        sources = set(mounts.values())
        assert len(sources) == 4 and not sources & used, f"{name} shares a drive"
        used |= sources
    assert used <= set(COMPOSE["volumes"])
    # Fresh named volumes belong to root; the nodes run as uid 10001 and start after the
    # one-shot service that hands every drive to that user.
    init = SERVICES["rustfs-volumes"]
    assert {v.split(":")[0] for v in init["volumes"]} == used
    assert "chown 10001:10001" in " ".join(init["entrypoint"])
    for node in nodes.values():
        assert node["depends_on"]["rustfs-volumes"]["condition"] == (
            "service_completed_successfully"
        )


def test_gateway_has_one_upstream_per_node_of_the_cluster() -> None:
    settings = load_settings(GATEWAY_TOML, environ=gateway_environment())
    nodes = sorted({(host, port) for host, port, _ in cluster_drives()})
    assert [u.endpoint for u in settings.upstream] == [f"http://{h}:{p}" for h, p in nodes]
    env = sample_env()
    for upstream in settings.upstream:
        assert upstream.access_key == env["RUSTFS_ACCESS_KEY"]
        assert upstream.secret_key == env["RUSTFS_SECRET_KEY"]
    depends = SERVICES["iamgw"]["depends_on"]
    assert all(depends[h]["condition"] == "service_healthy" for h, _ in nodes)


def test_no_secret_is_written_in_compose() -> None:
    assert not re.search(r"\$\{[A-Za-z0-9_]+:?-", COMPOSE_TEXT), "no default values"
    for name, service in SERVICES.items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: environment as a mapping"
        for key, value in environment.items():
            if key == "IAMGW_STORE_URL":
                # (not urlsplit: the `?` of ${VAR:?message} would end its netloc)
                userinfo = re.match(r"[a-z+]+://([^@]*)@", str(value))
                password = userinfo.group(1).partition(":")[2] if userinfo else ""
                assert VARIABLE.fullmatch(password), f"{name}: {key} has a written password"
            elif SECRET_NAME.search(key):
                assert VARIABLE.fullmatch(str(value)), f"{name}: {key} is written, not from .env"


def test_every_variable_is_in_env_example_and_required() -> None:
    example = env_example()
    used = {m.group(1) for m in VARIABLE.finditer(COMPOSE_TEXT)}
    assert used == set(example), "compose.yaml and .env.example must name the same variables"
    assert all(value == "" for value in example.values()), ".env.example holds no value"
    required = {m.group(1) for m in VARIABLE.finditer(COMPOSE_TEXT) if m.group(2) == ":?"}
    assert required == used, f"not required anywhere: {sorted(used - required)}"
    with pytest.raises(AssertionError, match="compose would stop: POSTGRES_PASSWORD"):
        interpolate(str(SERVICES["iamgw"]["environment"]["IAMGW_STORE_URL"]), {})


def test_gateway_toml_holds_no_secret() -> None:
    raw = tomllib.loads(GATEWAY_TOML.read_text())
    assert "root" not in raw and "url" not in raw.get("store", {})

    def keys(node: Any, path: str = "") -> list[str]:
        if isinstance(node, dict):
            return [k for key, v in node.items() for k in keys(v, f"{path}.{key}")]
        if isinstance(node, list):
            return [k for i, v in enumerate(node) for k in keys(v, f"{path}[{i}]")]
        return [path]

    written = [k for k in keys(raw) if re.search(r"secret|password|access_key|token", k)]
    assert written == []


def test_keycloak_issues_tokens_with_the_issuer_the_gateway_expects() -> None:
    environment = SERVICES["keycloak"]["environment"]
    hostname = environment["KC_HOSTNAME"]
    settings = load_settings(GATEWAY_TOML, environ=gateway_environment())
    realm = yaml.safe_load((ROOT / "keycloak-realm" / "realm.json").read_text())["realm"]
    assert settings.oidc[0].issuer == f"{hostname}/realms/{realm}"
    # The same name inside the compose network: the gateway fetches discovery from it.
    assert urlsplit(hostname).hostname == "keycloak" and "keycloak" in SERVICES
    port = urlsplit(hostname).port
    assert f"{port}:{port}" in SERVICES["keycloak"]["ports"][0]
    assert f"--http-port={port}" in SERVICES["keycloak"]["command"]


def ldif_entries(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    blocks = [b.strip() for b in "\n".join(lines).split("\n\n") if b.strip()]
    return [re.search(r"^dn: (.+)$", b, re.MULTILINE).group(1) for b in blocks]  # type: ignore[union-attr]


def test_ldap_bootstrap_creates_its_base_entry() -> None:
    environment = SERVICES["openldap"]["environment"]
    base = environment["LDAP_ROOT"]
    dns = ldif_entries(LDIF.read_text())
    assert dns[0] == base and all(dn == base or dn.endswith("," + base) for dn in dns)
    settings = load_settings(GATEWAY_TOML, environ=gateway_environment())
    for dn in (
        settings.ldap.bind_dn,
        settings.ldap.user_search_base,
        settings.ldap.group_search_base,
    ):
        assert dn.endswith("," + base)
    assert settings.ldap.bind_dn == f"cn={environment['LDAP_ADMIN_USERNAME']},{base}"
    assert urlsplit(settings.ldap.url).hostname == "openldap"
    assert urlsplit(settings.ldap.url).port == 1389  # bitnami's LDAP_PORT_NUMBER default


def test_ldap_bootstrap_loads_into_an_empty_directory(tmp_path: Path) -> None:
    """slapadd refuses entries whose parent is missing, as the image's ldapadd does."""
    slapadd = shutil.which("slapadd") or "/usr/sbin/slapadd"
    schemas = Path("/etc/ldap/schema")
    if not Path(slapadd).exists() or not schemas.is_dir():
        pytest.skip("slapadd not installed (Debian slapd; `make test` installs it)")
    (tmp_path / "data").mkdir()
    conf = tmp_path / "slapd.conf"
    conf.write_text(
        "".join(f"include {schemas}/{s}.schema\n" for s in ("core", "cosine", "inetorgperson"))
        + "modulepath /usr/lib/ldap\nmoduleload back_mdb\ndatabase mdb\nmaxsize 10485760\n"
        + f'suffix "{SERVICES["openldap"]["environment"]["LDAP_ROOT"]}"\n'
        + f"directory {tmp_path / 'data'}\n"
    )
    result = subprocess.run(
        [slapadd, "-f", str(conf), "-l", str(LDIF)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---- Dockerfile ------------------------------------------------------------------------------


def stages() -> list[str]:
    parts = re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)
    return ["FROM " + part for part in parts[1:]]


def apt_packages(stage: str) -> set[str]:
    joined = stage.replace("\\\n", " ")
    found: set[str] = set()
    for line in re.findall(r"apt-get install ([^&\n]+)", joined):
        found |= {word for word in line.split() if not word.startswith("-")}
    return found


def test_image_is_built_in_two_stages_and_ships_no_toolchain() -> None:
    build, final = stages()
    assert " AS build" in build.splitlines()[0]
    assert {"gcc", "libldap2-dev", "libsasl2-dev"} <= apt_packages(build)
    runtime = apt_packages(final)
    assert runtime and not {
        p for p in runtime if p.endswith("-dev") or p in {"gcc", "build-essential", "make"}
    }
    assert "pip install" not in final, "nothing is built in the final stage"
    assert re.search(r"^COPY --from=build /opt/iamgw /opt/iamgw$", final, re.MULTILINE)
    assert "'.[ldap]'" in build and "embedded" not in DOCKERFILE  # no local storage node


def test_image_holds_the_canned_policies_where_the_gateway_looks() -> None:
    build, _ = stages()
    # The gateway looks in the installed package's policies/ when no checkout is beside it.
    assert Path(iamgw.__file__).parent / "policies" in canned.DEFAULT_DIRS
    assert re.search(r"^COPY policies \./policies$", build, re.MULTILINE)
    assert "os.path.dirname(iamgw.__file__)" in build
    # The wheel carries them (setup.py); the build checks the installed package has them.
    assert re.search(r"^COPY pyproject.toml setup.py README.md \./$", build, re.MULTILINE)
    assert 'iamgw policy check "$package"/policies/*.json' in build
    assert "python -I -c" in build  # the installed package, not the sources beside it
    assert {p.suffix for p in (ROOT / "policies").iterdir()} == {".json"}
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for source in re.findall(r"^COPY (?!--)(.+) \S+$", DOCKERFILE, re.MULTILINE):
        for path in source.split():
            assert f"!{path.rstrip('/')}" in ignored or f"!{path.rstrip('/')}/" in ignored, path


def test_image_runs_as_a_user_that_owns_its_data_volume() -> None:
    _, final = stages()
    user = re.search(r"^USER (\d+):(\d+)$", final, re.MULTILINE)
    assert user and user.group(1) != "0" and user.group(2) != "0"
    uid = re.search(r"useradd .*--uid (\d+)", final.replace("\\\n", " "))
    assert uid and uid.group(1) == user.group(1)
    volume = re.search(r'^VOLUME \["(.+)"\]$', final, re.MULTILINE)
    assert volume
    data = volume.group(1)
    assert re.search(rf"install -d -o iamgw -g iamgw -m 0700 {re.escape(data)}\b", final)
    # compose mounts its named volume there, and the settings keep their state there.
    settings = load_settings(GATEWAY_TOML, environ=gateway_environment())
    assert settings.server.data_dir == data
    assert f"iamgw-data:{data}" in SERVICES["iamgw"]["volumes"]
    assert re.search(r'^CMD \["serve", "--config", "/etc/iamgw/iamgw.toml"\]$', final, re.M)
    assert "./deploy/iamgw.toml:/etc/iamgw/iamgw.toml:ro" in SERVICES["iamgw"]["volumes"]


# ---- deploy/kubernetes -----------------------------------------------------------------------

CRDS = {
    ("cert-manager.io/v1", "Certificate"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
}


def kustomization(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


def documents(paths: list[Path]) -> list[dict[str, Any]]:
    return [d for p in paths for d in yaml.safe_load_all(p.read_text()) if d]


def base_documents() -> list[dict[str, Any]]:
    return documents([BASE / name for name in kustomization(BASE)["resources"]])


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"{kind} {name or ''}: {len(found)} found"
    return found[0]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def schema_version() -> str:
    version = kubernetes_validate.latest_version()
    assert Version(version) >= Version("1.30"), "kubernetes-validate ships recent schemas"
    return version


def validate_with_kubernetes_schemas(docs: list[dict[str, Any]]) -> None:
    version = schema_version()
    problems = []
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CRDS:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(exc.message)
    assert problems == []


def test_kustomization_lists_every_manifest() -> None:
    listed = kustomization(BASE)["resources"]
    assert len(listed) == len(set(listed))
    on_disk = {p.name for p in BASE.glob("*.y*ml")} - {"kustomization.yaml"}
    assert set(listed) == on_disk
    assert {p.name for p in BASE.iterdir()} == on_disk | {"kustomization.yaml"}


def test_manifests_validate_against_the_kubernetes_schemas() -> None:
    docs = base_documents()
    kinds = {d["kind"] for d in docs}
    assert {"Namespace", "ConfigMap", "Secret", "Deployment", "Service"} <= kinds
    assert {"PodDisruptionBudget", "Ingress", "NetworkPolicy"} <= kinds
    assert {kind for _, kind in CRDS} <= kinds
    validate_with_kubernetes_schemas(docs)


def test_the_validation_catches_a_broken_manifest() -> None:
    deployment = one(base_documents(), "Deployment")
    deployment["spec"]["replicas"] = "two"
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pathh"] = (
        "/healthz"
    )
    with pytest.raises(AssertionError, match="Deployment/iamgw"):
        validate_with_kubernetes_schemas([deployment])


def test_custom_resources_have_the_shape_their_operators_require() -> None:
    docs = base_documents()
    for doc in docs:
        assert doc["metadata"]["name"]
        assert doc["kind"] == "Namespace" or doc["metadata"]["namespace"]
    certificate = one(docs, "Certificate")
    assert certificate["apiVersion"] == "cert-manager.io/v1"
    spec = certificate["spec"]
    assert spec["secretName"] and spec["dnsNames"] and spec["issuerRef"]["name"]
    assert spec["issuerRef"].get("kind", "Issuer") in {"Issuer", "ClusterIssuer"}
    assert spec["issuerRef"].get("group", "cert-manager.io") == "cert-manager.io"
    assert spec["privateKey"]["rotationPolicy"] in {"Always", "Never"}
    ingress = one(docs, "Ingress")
    assert certificate["metadata"]["namespace"] == ingress["metadata"]["namespace"]
    [tls] = ingress["spec"]["tls"]
    assert tls["secretName"] == spec["secretName"]
    assert tls["hosts"] == spec["dnsNames"] == [r["host"] for r in ingress["spec"]["rules"]]

    monitor = one(docs, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    service = one(docs, "Service")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [service["metadata"]["namespace"]]
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics" and endpoint["scheme"] == "http"


def container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    [gateway] = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return gateway


def configmap_toml(docs: list[dict[str, Any]]) -> str:
    return one(docs, "ConfigMap", "iamgw-config")["data"]["iamgw.toml"]


def test_deployment_runs_replicas_safely() -> None:
    docs = base_documents()
    deployment = one(docs, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["replicas"] >= 2 and selects(spec["selector"]["matchLabels"], labels)
    gateway = container(docs)
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= set(gateway["resources"]["requests"])
    assert "memory" in gateway["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    context = gateway["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    # The image's user, so that the data volume made for it is its own.
    assert f"USER {pod['securityContext']['runAsUser']}:" in DOCKERFILE

    pdb = one(docs, "PodDisruptionBudget")
    assert selects(pdb["spec"]["selector"]["matchLabels"], labels)
    assert 1 <= pdb["spec"]["minAvailable"] < spec["replicas"]

    service = one(docs, "Service")
    assert selects(service["spec"]["selector"], labels)
    ports = {p["name"]: p["containerPort"] for p in gateway["ports"]}
    [port] = service["spec"]["ports"]
    assert port["targetPort"] in ports
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert gateway[probe]["httpGet"]["port"] in ports
    address = tomllib.loads(configmap_toml(docs))["server"]["address"]
    assert address == f"0.0.0.0:{ports[port['targetPort']]}"

    [path] = one(docs, "Ingress")["spec"]["rules"][0]["http"]["paths"]
    backend = path["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] == port["name"]


def test_deployment_mounts_config_data_master_key_and_a_writable_tmp() -> None:
    docs = base_documents()
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    gateway = container(docs)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in gateway["volumeMounts"]}
    data_dir = tomllib.loads(configmap_toml(docs))["server"]["data_dir"]

    config = gateway["args"][gateway["args"].index("--config") + 1]
    mount = mounts[str(Path(config).parent)]
    assert volumes[mount["name"]]["configMap"]["name"] == "iamgw-config"
    assert Path(config).name == "iamgw.toml"

    assert "emptyDir" in volumes[mounts[data_dir]["name"]]
    assert not mounts[data_dir].get("readOnly")
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]  # spooled bodies (tempfile)

    key = mounts[f"{data_dir}/{MASTER_KEY_FILE}"]
    assert key["subPath"] == MASTER_KEY_FILE and key["readOnly"] is True
    secret = volumes[key["name"]]["secret"]
    assert secret["secretName"] == "iamgw-master-key"
    master = one(docs, "Secret", "iamgw-master-key")
    assert set(master["stringData"]) == {MASTER_KEY_FILE}
    [source] = gateway["envFrom"]
    assert one(docs, "Secret", source["secretRef"]["name"])


def test_ingress_streams_bodies_of_any_size() -> None:
    annotations = one(base_documents(), "Ingress")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "0"
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    assert one(base_documents(), "Ingress")["spec"]["ingressClassName"] == "nginx"


def test_storage_nodes_accept_traffic_only_from_the_gateway_and_one_another() -> None:
    docs = base_documents()
    policy = one(docs, "NetworkPolicy")
    deployment = one(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    nodes = policy["spec"]["podSelector"]["matchLabels"]
    assert nodes and policy["spec"]["policyTypes"] == ["Ingress"]

    upstreams = [u["endpoint"] for u in tomllib.loads(configmap_toml(docs))["upstream"]]
    hosts = {urlsplit(u).hostname for u in upstreams}
    ports = {urlsplit(u).port for u in upstreams}
    namespace = policy["metadata"]["namespace"]
    assert all(h and h.split(".")[2] == namespace for h in hosts), "policy beside the nodes"

    gateway_rule, peers_rule = policy["spec"]["ingress"]
    [source] = gateway_rule["from"]
    assert source["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": deployment["metadata"]["namespace"]
    }
    assert selects(source["podSelector"]["matchLabels"], pod_labels)
    assert {p["port"] for p in gateway_rule["ports"]} == ports
    [peers] = peers_rule["from"]
    assert peers == {"podSelector": {"matchLabels": nodes}}  # same namespace, the nodes only


def secret_env(docs: list[dict[str, Any]]) -> dict[str, str]:
    return dict(one(docs, "Secret", "iamgw-secrets")["stringData"])


def test_configmap_uses_only_real_settings_and_the_secret_completes_it(tmp_path: Path) -> None:
    docs = base_documents()
    toml = tmp_path / "iamgw.toml"
    toml.write_text(configmap_toml(docs))
    placeholders = secret_env(docs)
    assert all(name.startswith("IAMGW_") for name in placeholders)
    # As written, the placeholders stop the gateway instead of running it with them.
    with pytest.raises(ConfigError) as refused:
        load_settings(toml, environ=placeholders)
    assert refused.value.key == "root.access_key"
    key = tmp_path / MASTER_KEY_FILE
    key.write_text(one(docs, "Secret", "iamgw-master-key")["stringData"][MASTER_KEY_FILE])
    with pytest.raises(SecretError):
        MasterKey.load_or_create(key)

    filled = {
        name: value.replace("REPLACE-ME", f"sample{i}0123456789")
        for i, (name, value) in enumerate(placeholders.items())
    }
    settings = load_settings(toml, environ=filled)  # an unknown key would raise here
    assert settings.store_url.startswith("postgresql+psycopg://")
    assert len(settings.upstream) == 4
    assert all(u.access_key and u.secret_key for u in settings.upstream)
    assert settings.oidc[0].client_secret
    assert (
        settings.server.public_url == f"https://{one(docs, 'Ingress')['spec']['rules'][0]['host']}"
    )
    assert settings.oidc[0].redirect_uri == settings.server.public_url + "/iamgw/callback"
    assert settings.audit.targets == ["stdout"]
    raw = tomllib.loads(toml.read_text())
    assert "root" not in raw and "url" not in raw.get("store", {})


def test_example_overlay_settings_load(tmp_path: Path) -> None:
    overlay = kustomization(OVERLAY)
    assert overlay["resources"] == ["../../base"]
    [config] = overlay["configMapGenerator"]
    assert config["behavior"] == "replace" and config["name"] == "iamgw-config"
    generated = {g["name"]: g for g in overlay["secretGenerator"]}
    assert set(generated) == {"iamgw-secrets", "iamgw-master-key"}
    assert all(g["behavior"] == "replace" for g in generated.values())
    env = {name: f"sample{i}0123456789" for i, name in enumerate(secret_env(base_documents()))}
    env["IAMGW_STORE_URL"] = "postgresql+psycopg://iamgw:sample@db:5432/iamgw"
    settings = load_settings(OVERLAY / "iamgw.toml", environ=env)
    assert len(settings.upstream) == 4


def kustomize(folder: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed: `kubectl kustomize` builds offline where it is")
    result = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def test_base_builds_with_kustomize() -> None:
    docs = kustomize(BASE)
    assert len(docs) == len(base_documents())
    assert container(docs)["image"] == "registry.example.com/iamgw:0.1.0"
    validate_with_kubernetes_schemas(docs)


def test_example_overlay_builds_with_its_secrets(tmp_path: Path) -> None:
    tree = tmp_path / "kubernetes"
    shutil.copytree(K8S, tree)
    folder = tree / "overlays" / "example"
    names = secret_env(base_documents())
    (folder / "secrets.env").write_text(
        "".join(f"{name}=sample{i}0123456789\n" for i, name in enumerate(names))
    )
    (folder / MASTER_KEY_FILE).write_bytes(bytes(range(32)))
    docs = kustomize(folder)
    validate_with_kubernetes_schemas(docs)
    assert "REPLACE-ME" not in yaml.safe_dump_all(docs)
    assert set(one(docs, "Secret", "iamgw-secrets")["data"]) == set(names)
    assert one(docs, "Secret", "iamgw-master-key")["data"][MASTER_KEY_FILE]
    host = one(docs, "Ingress")["spec"]["rules"][0]["host"]
    assert one(docs, "Certificate")["spec"]["dnsNames"] == [host]
    assert f'public_url = "https://{host}"' in configmap_toml(docs)
