#!/usr/bin/python
# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Render and validate the Helm values and secrets files of a DaskHub site."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: helm_values
short_description: Render a DaskHub site's Helm values and secrets files
version_added: 0.1.0
description:
  - Renders, from the site model, the values of every Helm release of the
    site (one for the C(daskhub) chart mode, two for C(composed)).
  - Writes per release a C(values.yaml) with nothing secret in it and a
    C(secrets.yaml) (mode 0600) with the tokens, the cookie secret, the OAuth
    client secret and the dummy password.
  - Before writing, coalesces the chart defaults with the rendered values and
    validates the result against the chart schemas, as C(helm install) does;
    fails with the path of each offending key.
  - In check mode nothing is written. With C(--diff) the change of each
    C(values.yaml) is shown; a change of C(secrets.yaml) is only named.
author: DaskHub deployer maintainers (!UNKNOWN)
options:
  model:
    description: The site model, C(daskhub_model) of the daskhub_model role.
    type: dict
    required: true
  secrets:
    description:
      - The site's secrets, the C(daskhub_secrets) fact of the daskhub_secrets role.
      - Never logged.
    type: dict
    required: true
  dest:
    description:
      - The build folder. A single release writes C(values.yaml) and
        C(secrets.yaml) into it; in C(composed) mode each release writes
        into C(dest/<chart>/).
    type: path
    required: true
  chart_data_dir:
    description:
      - Folder with C(<chart>-<version>/values.yaml) and
        C(values.schema.yaml) of each chart version.
    type: path
    required: true
  files_dir:
    description:
      - The collection's C(plugins/files) folder, the code the services run
        (the gateway's options handler and authenticator); its files become
        C(gateway.extraConfig) entries.
    type: path
    required: true
  validate:
    description: Validate against the chart schemas before writing.
    type: bool
    default: true
notes:
  - Supports check mode and diff mode.
requirements:
  - PyYAML
  - jsonschema (when O(validate=true))
"""

EXAMPLES = r"""
- name: Render the Helm values of the site
  daskhub.deploy.helm_values:
    model: "{{ daskhub_model }}"
    secrets: "{{ daskhub_secrets }}"
    dest: "{{ daskhub_state_dir }}/build"
    chart_data_dir: "{{ role_path }}/files/chart-data"
    files_dir: "{{ role_path | dirname | dirname }}/plugins/files"
  register: daskhub_kubernetes_rendered
"""

RETURN = r"""
releases:
  description: The Helm releases to run, in order, with their files.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: C(daskhub), C(jupyterhub) or C(dask-gateway).
      type: str
      sample: jupyterhub
    name:
      description: The Helm release name.
      type: str
      sample: dhub
    chart:
      description: The chart reference, for example V(dask/daskhub).
      type: str
      sample: jupyterhub/jupyterhub
    version:
      description: The pinned chart version.
      type: str
      sample: 4.4.0
    values_file:
      description: Path of the values file (nothing secret).
      type: str
      sample: /srv/daskhub/inventories/example-site/state/build/jupyterhub/values.yaml
    secrets_file:
      description: Path of the secrets file (mode 0600).
      type: str
      sample: /srv/daskhub/inventories/example-site/state/build/jupyterhub/secrets.yaml
    rendered_values:
      description: The rendered values, without secrets (here only their C(cull) part).
      type: dict
      sample:
        cull: {enabled: true, users: false, adminUsers: true, removeNamedServers: false, timeout: 3600, every: 600,
               concurrency: 10, maxAge: 0}
    secret_keys:
      description: Where the secrets file sets values, each value replaced by a placeholder.
      type: dict
      sample:
        proxy: {secretToken: "********"}
        hub:
          cookieSecret: "********"
          config: {GenericOAuthenticator: {client_secret: "********"}}
          services: {dask-gateway: {apiToken: "********"}, user-sync: {apiToken: "********"}}
network_policies:
  description:
    - The NetworkPolicy objects of the gateway's pods (api, controller, traefik, schedulers, workers), which
      the dask-gateway chart does not ship; empty when the site's network policies are off.
    - Labelled C(app.kubernetes.io/managed-by=daskhub-deploy); the release role applies them after the releases.
  returned: always
  type: list
  elements: dict
  sample:
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata:
        name: traefik-dhub-dask-gateway
        namespace: daskhub
        labels: {app.kubernetes.io/managed-by: daskhub-deploy}
      spec:
        podSelector:
          matchLabels: {gateway.dask.org/instance: dhub-dask-gateway, app.kubernetes.io/component: traefik}
        policyTypes: [Ingress]
        ingress:
          - from:
              - podSelector: {matchLabels: {component: proxy, app: jupyterhub, release: dhub}}
            ports: [{port: web, protocol: TCP}]
monitoring_objects:
  description:
    - With C(daskhub_monitoring_enabled), the ServiceMonitors, the PodMonitor, the PrometheusRule and the
      dashboard ConfigMaps (label C(grafana_dashboard=1)) for sites that run the Prometheus operator and
      Grafana's sidecar; empty otherwise. Nothing secret; the release role applies them, and the Secret with
      Prometheus' hub token, after the releases.
  returned: always
  type: list
  elements: dict
  sample:
    - apiVersion: monitoring.coreos.com/v1
      kind: ServiceMonitor
      metadata:
        name: dhub-jupyterhub
        namespace: daskhub
        labels:
          app.kubernetes.io/managed-by: daskhub-deploy
          app.kubernetes.io/component: daskhub-monitoring
          app.kubernetes.io/instance: dhub
      spec:
        selector: {matchLabels: {component: hub, release: dhub}}
        namespaceSelector: {matchNames: [daskhub]}
        endpoints:
          - port: hub
            path: /hub/metrics
            interval: 30s
            authorization: {type: Bearer, credentials: {name: dhub-prometheus-hub-token, key: token}}
chart_versions:
  description: Versions of the jupyterhub and dask-gateway charts the site runs (subcharts under daskhub).
  type: dict
  returned: always
  sample: {"jupyterhub": "4.4.0", "dask-gateway": "2026.3.0"}
gateway_traefik_service:
  description: Name of the Service in front of the gateway (its LoadBalancer when exposed).
  type: str
  returned: always
  sample: traefik-dhub-dask-gateway
hub_url:
  description: The URL users open, empty when the cluster assigns it (a new LoadBalancer IP).
  type: str
  returned: always
  sample: https://daskhub.example.org
gateway_address:
  description: The Dask Gateway address through the hub, empty when the hub URL is unknown.
  type: str
  returned: always
  sample: https://daskhub.example.org/services/dask-gateway
"""

from ansible_collections.daskhub.deploy.plugins.module_utils.module_run import ModuleWork
from ansible_collections.daskhub.deploy.plugins.module_utils.render.kubernetes import build

ARGUMENT_SPEC = {
    "model": {"type": "dict", "required": True},
    "secrets": {"type": "dict", "required": True, "no_log": True},
    "dest": {"type": "path", "required": True},
    "chart_data_dir": {"type": "path", "required": True},
    "files_dir": {"type": "path", "required": True},
    "validate": {"type": "bool", "default": True},
}


MODULE_WORK = ModuleWork(ARGUMENT_SPEC, build.run, (build.BuildError,))


def main():
    MODULE_WORK.run_as_module()


if __name__ == "__main__":
    main()
