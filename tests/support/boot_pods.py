"""A booted chart site's pods: one templated container run as a local process in a private mount namespace.

``Pod`` mounts the pod's volumes where the container expects them
(``unshare --mount``, overlays for mount points the host lacks), runs its
command, and gives ``kubectl exec`` and logs; ``wait_for`` waits for a URL
the pod serves.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ansible_collections.daskhub.deploy.plugins.module_utils.host import processes

from support import logs


@dataclass
class Pod:
    """One templated Deployment's container, run as a local process in a private mount namespace."""

    name: str
    workdir: Path
    env: dict
    argv: list[str]
    mounts: list[tuple[Path, str]]
    working_dir: str
    log: Path = field(init=False)
    proc: subprocess.Popen | None = None

    def __post_init__(self):
        self.log = self.workdir / f"{self.name}.log"

    def _script(self, command: list[str]) -> str:
        """Shell that mounts the volumes (overlays make missing mount points) and execs command."""
        lines = ["set -eu"]
        overlays = set()
        for index, (source, target) in enumerate(self.mounts):
            parent = Path(target)
            while not parent.exists():
                parent = parent.parent
            if parent != Path(target) and str(parent) not in overlays:
                # A mount point the host lacks: an overlay on its nearest existing
                # ancestor, visible in this namespace only.
                # Its own upper and work directories: pods of one site overlay the
                # same directory (/etc) at once, and an overlay whose workdir another
                # mount uses may fail to mount ("wrong fs type, bad superblock").
                upper = self.workdir / "overlay" / self.name / str(index)
                lines.append(f"mkdir -p {upper}/u {upper}/w")
                lines.append(
                    f"mount -t overlay overlay -o lowerdir={parent},upperdir={upper}/u,workdir={upper}/w {parent}"
                )
                overlays.add(str(parent))
            if source.is_dir():
                lines.append(f"mkdir -p {shlex.quote(target)}")
            else:
                lines.append(f"mkdir -p {shlex.quote(str(Path(target).parent))}; touch {shlex.quote(target)}")
            lines.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(target)}")
        lines.append(f"cd {shlex.quote(self.working_dir)}")
        lines.append("exec " + " ".join(shlex.quote(part) for part in command))
        return "\n".join(lines) + "\n"

    def start(self):
        script = self.workdir / f"{self.name}.sh"
        script.write_text(self._script(self.argv))
        handle = open(self.log, "ab")  # noqa: SIM115  open for the process's lifetime
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", str(script)],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        return self

    def exec(self, command: list[str], stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        """kubectl exec: the command in the pod's mount namespace, environment and working directory."""
        assert self.proc and self.proc.poll() is None, f"pod {self.name} is not running"
        inner = f"cd {shlex.quote(self.working_dir)} && exec " + " ".join(shlex.quote(part) for part in command)
        return subprocess.run(
            ["nsenter", f"--target={self.proc.pid}", "--mount", "--", "sh", "-c", inner],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def log_tail(self, chars: int = 4000) -> str:
        return logs.tail(self.log, chars)

    def stop(self):
        """End the pod as its container ends: every process in it, those in sessions of their own too.

        The hub starts its managed services (the idle culler) in sessions of
        their own, which the signal to the pod's process group misses: left
        alone they outlived the test, polling a hub that was gone.
        """
        if self.proc and self.proc.poll() is None:
            inside = descendants(self.proc.pid)
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            processes.stop(inside, timeout=10)  # what the hub's own shutdown left running
        self.proc = None


def descendants(root: int) -> list[dict]:
    """The processes below ``root`` (children, theirs, ...), by the parent each names in /proc."""
    children: dict[int, list[dict]] = {}
    for process in processes.all_processes():
        children.setdefault(process["ppid"], []).append(process)
    found, parents = [], [root]
    while parents:
        below = children.get(parents.pop(), [])
        found.extend(below)
        parents.extend(process["pid"] for process in below)
    return found


def wait_for(url: str, pod: Pod, timeout: float = 120, ok=(200,)):
    """Until ``url`` answers one of ``ok``; a pod that exits meanwhile fails at once, with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pod.proc is None or pod.proc.poll() is not None:
            raise RuntimeError(f"pod {pod.name} exited:\n{pod.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status in ok:
                    return
        except urllib.error.HTTPError as err:
            if err.code in ok:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in {timeout}s:\n{pod.log_tail()}")
