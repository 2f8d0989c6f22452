# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The local target's processes, read from /proc, and the recovery of a dead supervisord.

Standard library only, on purpose, and importing nothing of this
collection: the play imports it (host/supervisor.py, local_leftover_processes,
local_preflight; host/ports.py its PROC), and the role copies this very
file to the host, where cron runs it as the supervisor's watchdog
(``python supervise.py --config <prefix>/etc/supervisord.conf ...``, see
``main``). The play and the watchdog so recover a dead supervisor
the same way. What only the play asks of a supervisord that answers
(its programs' states, a reread) is in host/supervisor.py.

Why orphans matter: supervisord runs the hub and the gateway each in a
process group of its own, and they start their proxies (configurable-http-
proxy, dask-gateway-proxy). When supervisord dies (SIGKILL,
OOM killer), they keep running, unsupervised, and hold their ports: a new
supervisord's programs then fail with "address already in use". Users'
notebook servers, kernels and Dask schedulers and workers run in sessions
of their own and must survive: the restarted hub and gateway adopt them
from their databases. So the recovery stops exactly the services' process
groups and the proxies, nothing else.
"""

from __future__ import annotations

import configparser
import contextlib
import fcntl
import http.client
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client

PROC = "/proc"


# -- reading /proc -------------------------------------------------------------
def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, session, ...); [] once gone."""
    try:
        with open(f"{PROC}/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()  # the name, in parentheses, may hold spaces
    except (OSError, IndexError):
        return []


def ancestors() -> set[int]:
    """This process and its parents (ansible's own Python may live in a matched venv)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        fields = stat_fields(pid)
        if len(fields) < 2:
            break
        pid = int(fields[1])
    return pids


def all_processes() -> list[dict]:
    """Every readable process but this one and its parents: pid, ppid, pgid, sid, argv, exe."""
    skip = ancestors()
    found = []
    for entry in os.listdir(PROC):
        if not entry.isdigit() or int(entry) in skip:
            continue
        pid = int(entry)
        try:
            with open(f"{PROC}/{entry}/cmdline", "rb") as raw:
                argv = [arg.decode(errors="replace") for arg in raw.read().split(b"\0") if arg]
        except OSError:  # gone meanwhile
            continue
        try:
            executable = os.readlink(f"{PROC}/{entry}/exe")
        except OSError:  # a kernel thread, or a process of another user we may not read
            executable = ""
        fields = stat_fields(pid)
        if len(fields) < 4 or fields[0] == "Z":
            continue
        found.append(
            {
                "pid": pid,
                "ppid": int(fields[1]),
                "pgid": int(fields[2]),
                "sid": int(fields[3]),
                "argv": argv,
                "exe": executable,
            }
        )
    return found


def under(path: str, directories: list[str]) -> bool:
    return any(path == directory or path.startswith(directory + "/") for directory in directories)


def _real(directories: list[str]) -> list[str]:
    return [os.path.realpath(directory).rstrip("/") for directory in directories]


def processes_under(directories: list[str]) -> list[dict]:
    """Every process (but this one and its parents) whose executable or an argument lies under ``directories``."""
    directories = _real(directories)
    return [
        {"pid": process["pid"], "command": " ".join(process["argv"])[:300]}
        for process in all_processes()
        if under(process["exe"], directories) or any(under(arg, directories) for arg in process["argv"])
    ]


# -- stopping --------------------------------------------------------------------
def alive(pid: int) -> bool:
    fields = stat_fields(pid)
    return bool(fields) and fields[0] != "Z"  # a zombie is gone but for its parent


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # ended meanwhile
        os.kill(pid, signum)


def stop(processes: list[dict], timeout: float) -> list[int]:
    """SIGTERM each, wait up to ``timeout``, SIGKILL the rest; returns the pids that needed SIGKILL."""
    pids = [process["pid"] for process in processes]
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    killed = [pid for pid in pids if alive(pid)]
    for pid in killed:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(map(alive, killed)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return killed


def stop_everything_under(directories: list[str], timeout: float, rounds: int = 3) -> tuple[list[dict], list[int]]:
    """Stop what runs from ``directories``, supervisord first, until nothing is left.

    A supervisord that still runs would restart the programs killed under it
    (autorestart), so it goes first (on SIGTERM it stops its programs and
    restarts none); another round catches what was started meanwhile.
    """
    stopped, killed = [], []
    for _unused in range(rounds):
        found = processes_under(directories)
        if not found:
            break
        supervisors = [process for process in found if "supervisord" in process["command"]]
        for batch in (supervisors, [process for process in found if process not in supervisors]):
            if batch:
                killed += stop(batch, timeout)
                stopped += batch
    return stopped, killed


def run_leftovers(module) -> dict:
    """The local_leftover_processes module's work: what runs from ``paths`` stopped (in check mode, named)."""
    paths = module.params["paths"]
    relative = [path for path in paths if not os.path.isabs(path)]
    if relative:
        raise ValueError(f"paths must be absolute: {relative}")
    if module.check_mode:
        found = processes_under(paths)
        return {"changed": bool(found), "stopped": found, "killed": []}
    stopped, killed = stop_everything_under(paths, module.params["timeout"])
    return {"changed": bool(stopped), "stopped": stopped, "killed": killed}


# -- supervisord ------------------------------------------------------------------------
def _read_config(config: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(inline_comment_prefixes=(";",), strict=False)
    parser.read(config, encoding="utf-8")
    return parser


def supervisor_socket(config: str) -> str:
    """The unix socket supervisord of ``config`` serves ([unix_http_server] file)."""
    return _read_config(config).get("unix_http_server", "file", fallback="")


def program_commands(config: str) -> dict[str, list[str]]:
    """Program name -> its command's argv, as supervisord of ``config`` runs it."""
    parser = _read_config(config)
    return {
        section.split(":", 1)[1]: shlex.split(parser.get(section, "command", fallback=""))
        for section in parser.sections()
        if section.startswith("program:")
    }


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: str, timeout: float):
        super().__init__()
        self.path, self.timeout = path, timeout

    def make_connection(self, host):
        return _UnixHTTPConnection(self.path, self.timeout)


def supervisor_rpc(config: str, timeout: float = 10):
    """An XML-RPC proxy to the supervisord of ``config`` (its unix socket), or None without a socket."""
    path = supervisor_socket(config) if os.path.exists(config) else ""
    if not path or not os.path.exists(path):
        return None
    return xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=_UnixTransport(path, timeout))


RPC_ERRORS = (OSError, xmlrpc.client.Error, http.client.HTTPException)


def supervisord_pid(config: str, timeout: float = 10) -> int | None:
    """The pid of the supervisord of ``config`` when it answers on its socket, else None.

    Asks supervisord itself (XML-RPC over its unix socket), so that a
    leftover socket file of a dead one, or a wedged one, counts as not
    running; needs nothing from the venv, which may be broken.
    """
    proxy = supervisor_rpc(config, timeout)
    if proxy is None:
        return None
    try:
        return int(proxy.supervisor.getPID())
    except (*RPC_ERRORS, ValueError):
        return None


def _ends_with(argv: list[str], command: list[str]) -> bool:
    # A program started through ``run_with_output`` (``... -- <command>``)
    # is, after its exec, the command after the "--".
    if "--" in command:
        command = command[command.index("--") + 1 :]
    # A script's argv starts with its interpreter (#!): compare the tail.
    return bool(command) and len(argv) >= len(command) and argv[-len(command) :] == command


def orphans(config: str, venv: str, proxy_dir: str) -> list[dict]:
    """The processes a dead supervisord of ``config`` left behind, without users' processes.

    That is: supervisord itself (still there but not answering), each
    program's process (its command, from the configuration) and the rest of
    its process group, and the proxies (configurable-http-proxy from
    ``proxy_dir``, dask-gateway-proxy from ``venv``), which the services
    start in sessions of their own. Never the users' notebook servers,
    kernels, schedulers or workers: they run neither a program's command
    nor a proxy, and live in sessions of their own.
    """
    commands = list(program_commands(config).values()) if os.path.exists(config) else []
    config = os.path.realpath(config)
    proxy_dirs, venvs = _real([proxy_dir]), _real([venv])
    processes = all_processes()
    groups = set()
    for process in processes:
        argv = process["argv"]
        supervisor = config in argv and any(os.path.basename(arg) == "supervisord" for arg in argv)
        service = any(_ends_with(argv, command) for command in commands)
        # The proxies run in sessions of their own (the hub and the gateway
        # start them so), but no user's process runs them.
        proxy = any(under(arg, proxy_dirs) for arg in [process["exe"], *argv]) or (
            under(process["exe"], venvs)
            and os.path.basename(process["exe"].removesuffix(" (deleted)")) == "dask-gateway-proxy"
        )
        if supervisor or service or proxy:
            groups.add(process["pgid"])
            process["match"] = True
    return [
        {"pid": process["pid"], "command": " ".join(process["argv"])[:300]}
        for process in processes
        if process.get("match") or (process["pgid"] in groups and process["sid"] != process["pid"])
    ]


@contextlib.contextmanager
def _lock(config: str):
    """One recovery at a time per supervisord (the play and cron may race)."""
    path = os.path.join(os.path.dirname(supervisor_socket(config) or config), ".supervise.lock")
    with open(path, "a", encoding="ascii") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def start_supervisord(config: str, venv_bin: str, proxy_dir: str, stop_timeout: float, timeout: float) -> dict:
    """Start the supervisord of ``config`` unless it answers, after stopping the orphans of a dead one.

    Returns started (bool), pid, stopped (the orphans), killed (the pids
    that needed SIGKILL); raises RuntimeError when supervisord cannot start.
    """
    result = {"started": False, "pid": supervisord_pid(config), "stopped": [], "killed": []}
    if result["pid"]:
        return result
    with _lock(config):
        result["pid"] = supervisord_pid(config)  # started meanwhile by the other one
        if result["pid"]:
            return result
        found = orphans(config, os.path.dirname(venv_bin), proxy_dir)
        result["stopped"] = found
        result["killed"] = stop(found, stop_timeout) if found else []
        # supervisord daemonizes and returns once forked.
        proc = subprocess.run(
            [os.path.join(venv_bin, "supervisord"), "-c", config],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"supervisord -c {config} failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()}"
            )
        deadline = time.monotonic() + timeout
        while not result["pid"]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord ({config}) did not answer within {timeout:.0f}s")
            time.sleep(0.3)
            result["pid"] = supervisord_pid(config)
        result["started"] = True
    return result


OUTPUT_MAX_BYTES = 10 * 1024 * 1024
OUTPUT_BACKUPS = 3


def run_with_output(output: str, command: list[str]) -> None:
    """Become ``command`` (exec) with stdout and stderr appended to the file ``output``.

    For the hub under supervisord: the users' notebook servers inherit the
    hub's stdout and stderr (LocalProcessSpawner) and outlive the hub and
    supervisord by design. Were those supervisord's pipes, they would break
    when supervisord dies, and a surviving server could then no longer start
    a kernel. A file outlives everything. Rotated here, at each start, as
    supervisord would (``OUTPUT_MAX_BYTES``, ``OUTPUT_BACKUPS``), when the
    directory allows.
    """
    with contextlib.suppress(OSError):
        if os.path.getsize(output) > OUTPUT_MAX_BYTES:
            for index in range(OUTPUT_BACKUPS - 1, 0, -1):
                if os.path.exists(f"{output}.{index}"):
                    os.replace(f"{output}.{index}", f"{output}.{index + 1}")
            os.replace(output, f"{output}.1")
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.execv(command[0], command)  # noqa: S606  the program supervisord names, no shell


def main(argv: list[str] | None = None) -> int:
    """The watchdog: cron runs it at boot and every few minutes; silent while supervisord answers.

    ``--output FILE -- COMMAND...`` runs COMMAND with its output in FILE
    instead (``run_with_output``): supervisord starts the hub so.
    """
    import argparse  # noqa: PLC0415  only the command line needs it

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--output"] and argv[2:3] == ["--"] and len(argv) > 3:
        run_with_output(argv[1], argv[3:])
    parser = argparse.ArgumentParser(description="Start the local DaskHub's supervisord when it does not answer.")
    parser.add_argument("--config", required=True, help="supervisord.conf of the site")
    parser.add_argument("--venv-bin", required=True, help="bin directory of the site's venv")
    parser.add_argument("--proxy-dir", required=True, help="the site's configurable-http-proxy prefix")
    parser.add_argument("--stop-timeout", type=float, default=10, help="seconds from SIGTERM to SIGKILL")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for supervisord")
    args = parser.parse_args(argv)
    if not os.path.exists(args.config):
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {args.config} is gone: nothing to supervise", flush=True)
        return 0
    try:
        result = start_supervisord(args.config, args.venv_bin, args.proxy_dir, args.stop_timeout, args.timeout)
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} FAILED: {err}", flush=True)
        return 1
    if result["started"]:
        stopped = "; ".join(f"{p['pid']} {p['command'][:100]}" for p in result["stopped"]) or "none"
        print(
            f"{time.strftime('%Y-%m-%dT%H:%M:%S')} supervisord did not answer: started it (pid {result['pid']}); "
            f"orphans stopped: {stopped}; killed after SIGTERM: {result['killed'] or 'none'}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
