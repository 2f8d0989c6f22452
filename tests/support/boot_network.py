"""What cluster DNS and Service env injection give a booted chart site's pods, on loopback ports.

support.chart_boot runs the hub, the proxy and the gateway of a chart mode as
local processes; each of their container ports gets a local port of this
boot's slot, and each Service resolves to the local port of the pod it
selects.
"""

from __future__ import annotations

from support.boot_manifests import NAMESPACE, Manifests

# The booted pods' loopback ports (PORTS_PER_MODE a chart mode): below the
# kernel's ephemeral range and beside the ports of tests/support/stacks.py.
PORT_BASE = 32000
PORTS_PER_MODE = 20


def _container_port(deployment: dict, target) -> int | None:
    """A Service targetPort (number or port name) as the container port of the deployment's pod."""
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        for port in container.get("ports") or []:
            if target in (port.get("name"), port["containerPort"]):
                return int(port["containerPort"])
    return int(target) if isinstance(target, int) else None


def _selects(service: dict, deployment: dict) -> bool:
    selector = service["spec"].get("selector") or {}
    labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


class ClusterNetwork:
    """What cluster DNS and Service env injection give a pod, on loopback ports.

    Every container port of a deployment this boot runs gets a local port;
    a Service resolves to the local port of the pod it selects.
    """

    def __init__(self, manifests: Manifests, running: list[str], slot: int):
        self.manifests = manifests
        self.pod_ports: dict[tuple[str, int], int] = {}
        next_port = PORT_BASE + PORTS_PER_MODE * slot
        for name in running:
            for container in self.manifests.deployment(name)["spec"]["template"]["spec"]["containers"]:
                for port in container.get("ports") or []:
                    self.pod_ports[(name, int(port["containerPort"]))] = next_port
                    next_port += 1
        # service name -> {service port: local port}, for ports whose pod runs here.
        self.services: dict[str, dict[int, int]] = {}
        self.port_names: dict[str, dict[str, int]] = {}
        for service in manifests.of_kind("Service"):
            name = service["metadata"]["name"]
            for port in service["spec"].get("ports") or []:
                local = self._backend(service, port.get("targetPort", port["port"]))
                if local is not None:
                    self.services.setdefault(name, {})[int(port["port"])] = local
                    if port.get("name"):
                        self.port_names.setdefault(name, {})[port["name"]] = local

    def _backend(self, service: dict, target) -> int | None:
        for (deployment_name, container_port), local in self.pod_ports.items():
            deployment = self.manifests.deployment(deployment_name)
            if _selects(service, deployment) and _container_port(deployment, target) == container_port:
                return local
        return None

    def port(self, service: str, service_port: int | None = None) -> int:
        ports = self.services[service]
        return ports[service_port] if service_port is not None else next(iter(ports.values()))

    def url(self, service: str, service_port: int | None = None) -> str:
        return f"http://127.0.0.1:{self.port(service, service_port)}"

    def service_env(self) -> dict[str, str]:
        """The <NAME>_SERVICE_HOST / _PORT variables Kubernetes sets in every pod."""
        env = {}
        for service in self.manifests.of_kind("Service"):
            name = service["metadata"]["name"]
            if name not in self.services:
                continue
            stem = name.upper().replace("-", "_")
            first = service["spec"]["ports"][0]
            env[f"{stem}_SERVICE_HOST"] = "127.0.0.1"
            env[f"{stem}_SERVICE_PORT"] = str(self.services[name].get(int(first["port"]), first["port"]))
            for port_name, local in self.port_names.get(name, {}).items():
                env[f"{stem}_SERVICE_PORT_{port_name.upper().replace('-', '_')}"] = str(local)
        return env

    def hosts(self) -> str:
        """/etc/hosts for the pods: every Service's DNS names on loopback (the ports are in service_env)."""
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        for service in self.manifests.of_kind("Service"):
            name = service["metadata"]["name"]
            names = [name, f"{name}.{NAMESPACE}", f"{name}.{NAMESPACE}.svc", f"{name}.{NAMESPACE}.svc.cluster.local"]
            lines.append("127.0.0.1\t" + " ".join(names))
        return "\n".join(lines) + "\n"

    def settings(self) -> dict:
        """What the boot configs need to resolve Service names (JSON-able)."""
        return {
            "namespace": NAMESPACE,
            "services": {name: {str(k): v for k, v in ports.items()} for name, ports in self.services.items()},
        }
