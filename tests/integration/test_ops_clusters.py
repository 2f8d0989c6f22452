"""playbooks/clusters.yml on a deployed local target: list, --check, stop by user, stop by age."""

from __future__ import annotations

import pytest
from support.stacks import UPGRADED_STACK

pytestmark = [pytest.mark.stack, UPGRADED_STACK]


@pytest.fixture(scope="module")
def clusters(upgraded_site):
    """One running cluster of alice and one of bob, started through the gateway as those users."""
    return {"alice": upgraded_site.start_cluster("alice"), "bob": upgraded_site.start_cluster("bob")}


def test_lists_every_users_clusters_with_workers(upgraded_site, clusters):
    out = upgraded_site.playbook("playbooks/clusters.yml", "-vvv").stdout
    for secret, value in upgraded_site.secrets().items():
        assert value not in out, f"{secret} leaked into the -vvv output"
    assert "2 active Dask cluster(s)" in out
    for user, name in clusters.items():
        # -vvv also dumps the module's result; the report line is the one with user=.
        line = next(line for line in out.splitlines() if name in line and "user=" in line)
        assert f"user={user}" in line
        assert "status=RUNNING" in line
        assert "workers=1" in line, line
    assert "Stopped 0" in out


def test_check_mode_lists_what_it_would_stop_and_stops_nothing(upgraded_site, clusters):
    out = upgraded_site.playbook("playbooks/clusters.yml", "--check", "-e", "older_than=1s").stdout
    summary = next(line for line in out.splitlines() if "Would stop" in line)
    assert summary.strip(" -'").startswith("Would stop 2:")
    assert all(name in summary for name in clusters.values())
    assert upgraded_site.clusters_of("alice") == [clusters["alice"]]
    assert upgraded_site.clusters_of("bob") == [clusters["bob"]]


def test_stop_by_user_leaves_the_others(upgraded_site, clusters):
    out = upgraded_site.playbook("playbooks/clusters.yml", "-e", "users=bob").stdout
    assert f"Stopped 1: {clusters['bob']}" in out
    assert upgraded_site.clusters_of("bob") == []
    assert upgraded_site.clusters_of("alice") == [clusters["alice"]]


def test_a_young_cluster_is_kept_an_old_one_stopped(upgraded_site, clusters):
    out = upgraded_site.playbook("playbooks/clusters.yml", "-e", "older_than=1d").stdout
    assert "Stopped 0" in out
    assert upgraded_site.clusters_of("alice") == [clusters["alice"]]
    out = upgraded_site.playbook("playbooks/clusters.yml", "-e", "older_than=1s").stdout
    assert f"Stopped 1: {clusters['alice']}" in out
    assert upgraded_site.clusters_of("alice") == []


def test_bad_age_fails_before_anything(upgraded_site):
    proc = upgraded_site.playbook("playbooks/clusters.yml", "-e", "older_than=soon", check=False)
    assert proc.returncode != 0
    assert "older_than: not a duration: 'soon'" in proc.stdout


def test_tokens_minted_for_listing_are_revoked(upgraded_site):
    upgraded_site.playbook("playbooks/clusters.yml")
    status, tokens = upgraded_site.api("GET", "/users/alice/tokens")
    assert status == 200
    notes = [t.get("note") or "" for t in tokens["api_tokens"]]
    assert not any("clusters.yml" in note for note in notes), notes
