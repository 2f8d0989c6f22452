# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Readers of desired-user sources: lists, YAML/CSV files, HTTP JSON, LDAP.

Each reader returns a SourceResult (users, admins). Any failure raises
SourceError; so does an external source that comes back empty unless it
says ``allow_empty``: an empty LDAP group or IAM export is far more often
an outage or a typo than a real "nobody may log in", and its emptiness
would otherwise turn into deletions.
"""

from __future__ import annotations

import csv
import io
import ssl
import urllib.parse
from dataclasses import dataclass, field

from ansible_collections.daskhub.deploy.plugins.module_utils.hub.transport import HttpTransport

TRUE_WORDS = {"1", "true", "yes", "y", "admin", "on", "x"}


# The options of one source, the jupyterhub_user_source module's ``sources[]``
# (documented there); the readers below read these keys.
SOURCE_SPEC = {
    "type": {"type": "str", "required": True, "choices": ["list", "file", "http", "ldap"]},
    "name": {"type": "str"},
    "allow_empty": {"type": "bool"},
    "users": {"type": "list", "elements": "str"},
    "admins": {"type": "list", "elements": "str"},
    "path": {"type": "path"},
    "format": {"type": "str", "choices": ["auto", "yaml", "csv"], "default": "auto"},
    "url": {"type": "str"},
    "headers": {"type": "dict"},
    "bearer_token": {"type": "str", "no_log": True},
    "users_query": {"type": "str"},
    "admins_query": {"type": "str"},
    "server": {"type": "str"},
    "bind_dn": {"type": "str"},
    "bind_password": {"type": "str", "no_log": True},
    "start_tls": {"type": "bool", "default": False},
    "group_dn": {"type": "str"},
    "admin_group_dn": {"type": "str"},
    "member_attribute": {"type": "str", "default": "member"},
    "username_attribute": {"type": "str", "default": "uid"},
    "search_base": {"type": "str"},
    "search_filter": {"type": "str", "default": "(objectClass=person)"},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "timeout": {"type": "float", "default": 30},
}

SOURCE_REQUIRED_IF = [
    ("type", "file", ("path",)),
    ("type", "http", ("url",)),
    ("type", "ldap", ("server",)),
]
# The module's ``sources`` option: each element a source of SOURCE_SPEC.
SOURCES_OPTIONS = {"options": SOURCE_SPEC, "required_if": SOURCE_REQUIRED_IF}


class SourceError(Exception):
    """A source could not be read or returned nothing; nothing may change."""


@dataclass
class SourceResult:
    name: str
    type: str
    users: list = field(default_factory=list)
    admins: list = field(default_factory=list)

    def summary(self):
        return {"name": self.name, "type": self.type, "users": len(self.users), "admins": len(self.admins)}


def _truthy(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE_WORDS


def _names(value, where):
    """A list of names from a list of strings (or of {name|username: ...})."""
    if value is None:
        return []
    if isinstance(value, str):
        raise SourceError(f"{where}: expected a list of usernames, got a string {value!r}")
    if not isinstance(value, list):
        raise SourceError(f"{where}: expected a list of usernames, got {type(value).__name__}")
    out = []
    for item in value:
        name = item.get("name", item.get("username")) if isinstance(item, dict) else item
        if name is None or isinstance(name, (dict, list)):
            raise SourceError(f"{where}: cannot read a username from {item!r}")
        out.append(str(name))
    return out


def from_structure(data, where):
    """Users and admins from parsed YAML/JSON.

    Accepted shapes: a list of names; a list of {name, admin}; a mapping
    with ``users`` and ``admins`` lists (admins are users too).
    """
    users, admins = [], []
    if isinstance(data, dict):
        users = _names(data.get("users"), f"{where}: users")
        admins = _names(data.get("admins"), f"{where}: admins")
        if "users" not in data and "admins" not in data:
            raise SourceError(f"{where}: a mapping must have 'users' and/or 'admins' lists")
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                name = item.get("name", item.get("username"))
                if name is None:
                    raise SourceError(f"{where}: entry {item!r} has no 'name' or 'username'")
                users.append(str(name))
                if _truthy(item.get("admin", False)):
                    admins.append(str(name))
            elif isinstance(item, (str, int)):
                users.append(str(item))
            else:
                raise SourceError(f"{where}: cannot read a username from {item!r}")
    elif data is None:
        return [], []
    else:
        raise SourceError(f"{where}: expected a list of users or a mapping with 'users', got {type(data).__name__}")
    return users, admins


def parse_csv(text, where):
    """Users and admins from CSV text.

    With a header naming a ``username`` or ``name`` column (and optionally
    ``admin``), those columns are used; otherwise the first column is the
    name and a second, if any, the admin flag. Blank lines and lines
    starting with '#' are skipped.
    """
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r) and not r[0].startswith("#")]
    if not rows:
        return [], []
    header = [c.strip().lower() for c in rows[0]]
    name_col = next((header.index(k) for k in ("username", "name", "user", "login") if k in header), None)
    admin_col = header.index("admin") if "admin" in header else None
    has_header = name_col is not None
    if has_header:
        rows = rows[1:]
    else:
        name_col, admin_col = 0, 1
    users, admins = [], []
    for lineno, row in enumerate(rows, start=2 if has_header else 1):
        if name_col >= len(row):
            raise SourceError(f"{where}: row {lineno} has no username column: {row!r}")
        name = row[name_col]
        users.append(name)
        if admin_col is not None and admin_col < len(row) and _truthy(row[admin_col]):
            admins.append(name)
    return users, admins


def read_file(spec, yaml_loader=None):
    path = spec["path"]
    fmt = (spec.get("format") or "auto").lower()
    if fmt == "auto":
        fmt = "csv" if str(path).lower().endswith(".csv") else "yaml"
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise SourceError(f"cannot read the user file {path}: {exc.strerror or exc}") from None
    if fmt == "csv":
        return parse_csv(text, path)
    if yaml_loader is None:
        import yaml  # noqa: PLC0415  PyYAML ships with Ansible; imported only when needed

        yaml_loader = yaml.safe_load
    try:
        data = yaml_loader(text)
    except Exception as exc:
        raise SourceError(f"cannot parse the user file {path} as YAML: {exc}") from None
    return from_structure(data, path)


def _jmespath_search(expression, data, where):
    try:
        import jmespath  # noqa: PLC0415  optional dependency, only for http sources
    except ImportError:
        raise SourceError(
            f"{where}: the jmespath Python library is needed on the controller (pip install jmespath)"
        ) from None
    try:
        return jmespath.search(expression, data)
    except jmespath.exceptions.JMESPathError as exc:
        raise SourceError(f"{where}: bad jmespath expression {expression!r}: {exc}") from None


def read_http(spec):
    url = spec["url"]
    where = f"HTTP source {url}"
    headers = {"Accept": "application/json"}
    headers.update(spec.get("headers") or {})
    if spec.get("bearer_token"):
        headers["Authorization"] = f"Bearer {spec['bearer_token']}"
    if urllib.parse.urlparse(url).scheme not in ("http", "https"):
        raise SourceError(f"{where}: only http and https URLs are read")
    # Outside the site: through the environment's proxy, if it names one.
    http = HttpTransport(
        spec.get("timeout") or 30,
        validate_certs=spec.get("validate_certs") is not False,
        ca_path=spec.get("ca_path"),
        https=url.startswith("https:"),
        environment_proxy=True,
    )
    answer = http.get(url, headers=headers)
    if answer.status is None:
        raise SourceError(f"cannot reach {where}: {answer.error}")
    if answer.error:
        raise SourceError(f"{where} answered {answer.error}")
    data = answer.data
    if data is None:
        raise SourceError(f"{where} did not return JSON")
    users_query = spec.get("users_query")
    users_data = _jmespath_search(users_query, data, where) if users_query else data
    if users_data is None:
        raise SourceError(f"{where}: users_query {users_query!r} matched nothing in the answer")
    users, admins = from_structure(users_data, where)
    if spec.get("admins_query"):
        admins = _names(_jmespath_search(spec["admins_query"], data, where), f"{where}: admins_query")
    return users, admins


def _ldap_names_from_group(conn, group_dn, member_attribute, username_attribute, where):
    import ldap3  # noqa: PLC0415

    if not conn.search(group_dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=[member_attribute]):
        raise SourceError(f"{where}: group {group_dn} not found ({conn.result.get('description')})")
    values = conn.entries[0][member_attribute].values if member_attribute in conn.entries[0] else []
    names = []
    for raw in values:
        value = str(raw)
        if "=" not in value:
            # memberUid-style groups hold names, not DNs.
            names.append(value)
            continue
        rdn = ldap3.utils.dn.parse_dn(value)[0]
        if rdn[0].lower() == username_attribute.lower():
            names.append(rdn[1])
            continue
        # The DN is named by another attribute (cn=...): look the member up.
        if not conn.search(value, "(objectClass=*)", search_scope=ldap3.BASE, attributes=[username_attribute]):
            raise SourceError(f"{where}: member {value} of {group_dn} not found")
        names.append(str(conn.entries[0][username_attribute].value))
    return names


def read_ldap(spec):
    try:
        import ldap3  # noqa: PLC0415
    except ImportError:
        raise SourceError("LDAP sources need the ldap3 Python library on the controller (pip install ldap3)") from None
    server_url = spec["server"]
    where = f"LDAP source {server_url}"
    tls = None
    if server_url.startswith("ldaps:") or spec.get("start_tls"):
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED if spec.get("validate_certs", True) else ssl.CERT_NONE,
            ca_certs_file=spec.get("ca_path"),
        )
    # ldap3 packs the timeouts into socket options: whole seconds only.
    timeout = max(1, int(spec.get("timeout") or 30))
    try:
        server = ldap3.Server(server_url, tls=tls, connect_timeout=timeout, get_info=ldap3.NONE)
        conn = ldap3.Connection(
            server,
            user=spec.get("bind_dn") or None,
            password=spec.get("bind_password") or None,
            receive_timeout=timeout,
            raise_exceptions=False,
            read_only=True,
        )
        if spec.get("start_tls") and not conn.start_tls():
            raise SourceError(f"{where}: StartTLS failed: {conn.result.get('description')}")
        if not conn.bind():
            raise SourceError(
                f"{where}: bind as {spec.get('bind_dn') or 'anonymous'} failed: "
                f"{conn.result.get('description')} {conn.result.get('message') or ''}".strip()
            )
    except ldap3.core.exceptions.LDAPException as exc:
        raise SourceError(f"cannot reach {where}: {exc}") from None
    try:
        attr = spec.get("username_attribute") or "uid"
        member_attr = spec.get("member_attribute") or "member"
        if spec.get("group_dn"):
            users = _ldap_names_from_group(conn, spec["group_dn"], member_attr, attr, where)
        elif spec.get("search_base"):
            flt = spec.get("search_filter") or "(objectClass=person)"
            found = conn.search(
                spec["search_base"], flt, search_scope=ldap3.SUBTREE, attributes=[attr], paged_size=1000
            )
            # 32 (no such object) is an empty result, which read_source judges.
            if not found and conn.result.get("result") not in (0, 32):
                raise SourceError(f"{where}: search {flt} failed: {conn.result.get('description')}")
            users = [str(e[attr].value) for e in conn.entries if attr in e and e[attr].value]
        else:
            raise SourceError(f"{where}: set group_dn, or search_base (and search_filter)")
        admins = []
        if spec.get("admin_group_dn"):
            admins = _ldap_names_from_group(conn, spec["admin_group_dn"], member_attr, attr, where)
    except ldap3.core.exceptions.LDAPException as exc:
        raise SourceError(f"{where}: {exc}") from None
    finally:
        conn.unbind()
    return users, admins


READERS = {
    "list": lambda spec: (list(spec.get("users") or []), list(spec.get("admins") or [])),
    "file": read_file,
    "http": read_http,
    "ldap": read_ldap,
}


def read_source(spec):
    kind = spec.get("type")
    if kind not in READERS:
        raise SourceError(f"unknown source type {kind!r}; use one of {', '.join(READERS)}")
    label = spec.get("name") or kind
    users, admins = READERS[kind](spec)
    users = [str(u) for u in users]
    admins = [str(a) for a in admins]
    # A static list may well be empty (a site that takes everyone from
    # LDAP); an external source that returns nobody is treated as broken.
    allow_empty = spec.get("allow_empty", kind == "list")
    if not users and not admins and not allow_empty:
        raise SourceError(
            f"source {label!r} ({kind}) returned no users. Refusing to continue, so nothing is deleted; "
            "if it is really meant to be empty, set allow_empty: true on that source."
        )
    return SourceResult(name=label, type=kind, users=users, admins=admins)


def read_sources(specs):
    """Merge every source: union of users and admins, sorted and deduplicated.

    Every source is read before any result is returned, and all failures
    are reported together.
    """
    results, errors = [], []
    for spec in specs:
        try:
            results.append(read_source(spec))
        except SourceError as exc:
            errors.append(str(exc))
    if errors:
        raise SourceError("; ".join(errors))
    users, admins = [], []
    for r in results:
        users.extend(r.users)
        admins.extend(r.admins)
    return users, admins, results


def desired_users(sources):
    """The jupyterhub_user_source module's run: every source read and merged, as its return values.

    ``sources`` are the module's ``sources`` (an ``allow_empty`` of None
    takes the type's default). Raises SourceError with the message to fail
    with; a failure returns no users, so a sync that follows changes nothing.
    """
    specs = [{k: v for k, v in given.items() if not (k == "allow_empty" and v is None)} for given in sources]
    if not specs:
        raise SourceError("no user sources were given; nothing to sync from (refusing, so nothing is deleted)")
    try:
        users, admins, results = read_sources(specs)
    except SourceError as exc:
        raise SourceError(f"{exc}. No users were returned, so a sync that follows changes nothing.") from None
    return {
        "changed": False,
        "users": sorted(set(users + admins)),
        "admins": sorted(set(admins)),
        "sources": [r.summary() for r in results],
    }


def run(module) -> dict:
    """The jupyterhub_user_source module's work (``module_run.ModuleWork``)."""
    return desired_users(module.params["sources"])
