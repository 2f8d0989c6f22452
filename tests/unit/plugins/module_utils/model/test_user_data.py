"""The user's data on her Dask schedulers and workers (plugins/module_utils/model/user_data.py).

The model's settings for the options handler and the notebook's storage, and
the rules, through the model as the daskhub_model role builds it; what the
handler makes of the settings is in tests/unit/plugins/files/test_gateway_files.py,
the values against the charts' schemas in render/kubernetes/test_user_data_values.py.
"""

from __future__ import annotations

import pytest
from ansible_collections.daskhub.deploy.plugins.module_utils.model import user_data
from ansible_collections.daskhub.deploy.plugins.module_utils.validation import model as model_validation
from support.site_models import build_model

KUBERNETES = {"daskhub_target": "kubernetes"}
CVMFS = {"name": "cvmfs", "host_path": "/var/lib/cvmfs-k8s", "mount_path": "/cvmfs",
         "mount_propagation": "HostToContainer"}
SCRATCH = {"name": "scratch", "nfs": {"server": "nfs.example.org", "path": "/export/scratch"},
           "mount_path": "/scratch", "sub_path": "users/{username}", "read_only": False, "scheduler": False}


def test_nothing_to_mount_by_default_on_either_target():
    for target in ("local", "kubernetes"):
        model = build_model(daskhub_target=target)
        assert user_data.volume_settings(model) is None
        assert user_data.home_storage(model) == {}


def test_a_shared_home_claim_is_a_folder_per_user_in_the_notebook_and_on_the_workers():
    model = build_model(**KUBERNETES, daskhub_gateway_user_home={"enabled": True, "claim": "homes"})
    assert user_data.volume_settings(model) == {
        "home": {"claim": "homes", "sub_path": "{username}", "mount_path": "/home/jovyan"},
        "extra": [],
    }
    assert user_data.home_storage(model) == {
        "homeMountPath": "/home/jovyan",
        "type": "static",
        "static": {"pvcName": "homes", "subPath": "{unescaped_username}"},
    }


def test_without_a_claim_each_user_s_own_claim_is_made_readwritemany():
    home = {"enabled": True, "storage_class": "filestore", "mount_path": "/home/user"}
    model = build_model(**KUBERNETES, daskhub_gateway_user_home=home)
    assert user_data.volume_settings(model)["home"] == {
        "claim": "claim-{username}", "sub_path": "", "mount_path": "/home/user",
    }
    assert user_data.home_storage(model) == {
        "homeMountPath": "/home/user",
        "type": "dynamic",
        "dynamic": {"storageAccessModes": ["ReadWriteMany"], "storageClass": "filestore"},
    }


def test_extra_volumes_carry_their_source_mount_and_pods():
    model = build_model(**KUBERNETES, daskhub_gateway_extra_volumes=[CVMFS, SCRATCH])
    cvmfs, scratch = user_data.volume_settings(model)["extra"]
    assert cvmfs == {
        "name": "cvmfs", "volume": {"hostPath": {"path": "/var/lib/cvmfs-k8s"}}, "mount_path": "/cvmfs",
        "sub_path": "", "read_only": True, "scheduler": True, "mount_propagation": "HostToContainer",
    }
    assert scratch["volume"] == {"nfs": {"server": "nfs.example.org", "path": "/export/scratch"}}
    assert (scratch["sub_path"], scratch["read_only"], scratch["scheduler"]) == ("users/{username}", False, False)


def test_the_local_target_refuses_what_only_kubernetes_can_mount_naming_the_variable():
    model = build_model(
        daskhub_target="local",
        daskhub_gateway_user_home={"enabled": True, "claim": "homes"},
        daskhub_gateway_extra_volumes=[CVMFS],
    )
    errors = model_validation.validate(model)
    assert any(e.startswith("daskhub_gateway_user_home.claim: the local target has no claims") for e in errors)
    assert any(e.startswith("daskhub_gateway_extra_volumes: the local target cannot mount volumes") for e in errors)
    # Her home is on her workers already there: enabled alone asks nothing of the local target.
    assert model_validation.validate(build_model(daskhub_gateway_user_home={"enabled": True})) == []


@pytest.mark.parametrize(
    ("volume", "problem"),
    [
        ({"name": "Bad_Name", "host_path": "/x", "mount_path": "/x"}, "[0].name: required, lowercase"),
        ({"name": "daskhub-home", "host_path": "/x", "mount_path": "/x"}, "[0].name: 'daskhub-home' is already"),
        ({"name": "v", "host_path": "/x", "mount_path": "x"}, "[0].mount_path: required, an absolute path"),
        ({"name": "v", "mount_path": "/x"}, "[0]: exactly one of host_path, claim, nfs, got none"),
        ({"name": "v", "host_path": "/x", "claim": "c", "mount_path": "/x"}, "[0]: exactly one of"),
        ({"name": "v", "nfs": {"server": "s"}, "mount_path": "/x"}, "[0].nfs: needs server and an absolute path"),
        ({"name": "v", "claim": "c", "mount_path": "/x", "sub_path": "../other"}, "[0].sub_path: a relative path"),
        ({"name": "v", "claim": "c", "mount_path": "/x", "mount_propagation": "Bidirectional"},
         "[0].mount_propagation: must be None or HostToContainer"),
    ],
)
def test_each_volume_is_checked_naming_the_variable(volume, problem):
    errors = model_validation.validate(build_model(**KUBERNETES, daskhub_gateway_extra_volumes=[volume]))
    assert any(e.startswith(f"daskhub_gateway_extra_volumes{problem}") for e in errors), errors


def test_the_home_is_checked_naming_the_variable():
    errors = model_validation.validate(
        build_model(**KUBERNETES, daskhub_gateway_user_home={"enabled": False, "claim": "homes", "mount_path": "h"})
    )
    assert "daskhub_gateway_user_home.mount_path: must be an absolute path, got 'h'" in errors
    assert "daskhub_gateway_user_home.claim: set, but the home is not mounted on workers (enabled: false)" in errors
