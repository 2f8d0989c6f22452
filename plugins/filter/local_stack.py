# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Filters of the local target: the documents its services' config files load.

The shared pieces come from site_model (see plugins/filter/site_model.py);
these filters only add the single-host specifics, so the role's templates
and tasks stay declarative.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import addresses as local_addresses
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import documents as local_documents
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import monitoring as local_monitoring
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import paths as local_paths
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import tls as local_tls
from ansible_collections.daskhub.deploy.plugins.module_utils.render.local import usage as local_usage
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import local_settings as settings_checks


def _wrap(func):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except settings_checks.LocalSettingsError as err:
            raise AnsibleFilterError(str(err)) from None
        except KeyError as err:
            # A missing secret or setting: name it, never show values.
            raise AnsibleFilterError(f"{func.__name__}: missing key {err}") from None

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


class FilterModule:
    """daskhub.deploy filters of the local target."""

    def filters(self):
        return {
            "local_paths": _wrap(local_paths.paths),
            "local_settings_errors": settings_checks.check_settings,
            "local_service_account": local_usage.service_account,
            "local_public_url": _wrap(local_addresses.public_url),
            "local_hub_internal_url": _wrap(local_addresses.hub_internal_url),
            "local_hub_bind_url": _wrap(local_addresses.hub_bind_url),
            "local_gateway_addresses": _wrap(local_addresses.gateway_addresses),
            "local_gateway_snippet": _wrap(local_usage.gateway_snippet),
            "local_hub_document": _wrap(local_documents.hub_document),
            "local_monitoring_files": _wrap(local_monitoring.monitoring_files),
            "local_monitoring_secret_files": _wrap(local_monitoring.monitoring_secret_files),
            "local_monitoring_commands": _wrap(local_monitoring.program_commands),
            "local_monitoring_paths": _wrap(local_monitoring.monitoring_paths),
            "local_hub_secret_document": _wrap(local_documents.hub_secret_document),
            "local_gateway_document": _wrap(local_documents.gateway_document),
            "local_gateway_secret_document": _wrap(local_documents.gateway_secret_document),
            "local_gateway_shared_files": _wrap(local_documents.gateway_shared_files),
            "local_notebook_files": _wrap(local_documents.notebook_files),
            "local_usage_lines": _wrap(local_usage.usage_lines),
            "local_tls_subject_alt_names": _wrap(local_tls.subject_alt_names),
        }
