"""Revoke the hub's stale service tokens: those loaded from an earlier config.

JupyterHub adds a service's configured api_token to its database at start
but never removes the one it replaced, so a rotated token would keep
working. This deletes every "from config" token of the named services that
does not match the service's current token.

Runs with the hub's own Python (it imports jupyterhub.orm), on the local
target's host or inside the hub pod:
  python revoke_stale_service_tokens.py < {"db_url": ..., "services": {name: token}, "stamp": path}
  python revoke_stale_service_tokens.py --z2jh   # the hub pod: read both from z2jh's config
Prints {"revoked": {service: count}}; never prints a token.
"""

import contextlib
import json
import sys


def z2jh_settings():
    sys.path.insert(0, "/usr/local/etc/jupyterhub")
    # z2jh prints "Loading <file>" as it reads the mounted values; stdout
    # carries only the JSON the role parses.
    with contextlib.redirect_stdout(sys.stderr):
        from z2jh import get_config, get_secret_value  # noqa: PLC0415  only in the hub image

        services = {}
        for name in get_config("hub.services", {}) or {}:
            token = get_secret_value(f"hub.services.{name}.apiToken", None)
            if token:
                services[name] = token
        db_url = get_config("hub.db.url") or "sqlite:///jupyterhub.sqlite"
    return db_url, services


def revoke(db_url, services):
    from jupyterhub import orm  # noqa: PLC0415  the hub's Python, not the controller's

    db = orm.new_session_factory(db_url)()
    revoked = {}
    try:
        for name, current in services.items():
            service = orm.Service.find(db, name)
            if service is None:
                continue
            stale = [t for t in service.api_tokens if t.note == "from config" and not t.match(current)]
            for token in stale:
                db.delete(token)
            revoked[name] = len(stale)
        db.commit()
    finally:
        db.close()
    return revoked


def main():
    stamp = None
    if "--z2jh" in sys.argv:
        db_url, services = z2jh_settings()
    else:
        request = json.load(sys.stdin)
        db_url, services, stamp = request["db_url"], request["services"], request.get("stamp")
    revoked = revoke(db_url, services)
    if stamp:
        # Done for the current tokens: the local target runs this again only
        # when the hub's secrets file is newer than the stamp.
        with open(stamp, "w", encoding="ascii") as handle:
            handle.write("revoked\n")
    print(json.dumps({"revoked": revoked}))


if __name__ == "__main__":
    main()
