# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""Run code in a kernel of a user's Jupyter server, the way JupyterLab does.

JupyterLab starts a kernel with the Jupyter server's REST API
(``POST <server>/api/kernels``) and talks to it over the kernel websocket
(``<server>/api/kernels/<id>/channels``, the JSON message protocol).
``KernelSession`` does the same through the hub's public URL, so the code
runs in the user's own server, with that server's environment and its own
``JUPYTERHUB_API_TOKEN``. The token this side sends only opens the door to
the server (what a browser's cookie does); it never reaches the kernel.

Standard library only (a small RFC 6455 client), so it runs in any
interpreter Ansible uses, on the controller or on the host.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import ssl
import struct
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

_WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class KernelError(Exception):
    """The server, the kernel or the code failed; the message says which."""


class CodeError(KernelError):
    """The code raised: ``ename`` and ``evalue`` are the exception's type and text."""

    def __init__(self, ename: str, evalue: str, traceback: list[str], output: str):
        super().__init__(f"{ename}: {evalue}")
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback
        self.output = output


class WebSocket:
    """A minimal websocket client (text frames, ping/pong, close), enough for Jupyter."""

    def __init__(
        self, url: str, headers: dict | None = None, timeout: float = 30.0, context: ssl.SSLContext | None = None
    ):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("ws", "wss"):
            raise ValueError(f"not a websocket URL: {url}")
        secure = parsed.scheme == "wss"
        port = parsed.port or (443 if secure else 80)
        sock = socket.create_connection((parsed.hostname, port), timeout=timeout)
        if secure:
            sock = (context or ssl.create_default_context()).wrap_socket(sock, server_hostname=parsed.hostname)
        self._sock = sock
        self._buffer = b""
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        host = parsed.hostname if parsed.port is None else f"{parsed.hostname}:{parsed.port}"
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or parts[1] != "101":
            self.close()
            raise KernelError(f"websocket {parsed.path} refused: {status_line}")
        answer = {}
        for line in header_lines:
            name, _unused, value = line.partition(":")
            answer[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1((key + _WEBSOCKET_GUID).encode()).digest()).decode()  # noqa: S324  RFC 6455
        if answer.get("sec-websocket-accept") != expected:
            self.close()
            raise KernelError("websocket handshake: wrong Sec-WebSocket-Accept")

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise KernelError("the server closed the websocket")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise KernelError("the server closed the connection during the websocket handshake")
            self._buffer += chunk
        head, _unused, self._buffer = self._buffer.partition(marker)
        return head

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 2**16:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        self._sock.sendall(header + mask + masked)

    def send_text(self, text: str) -> None:
        self._send_frame(_OP_TEXT, text.encode("utf-8"))

    def _frame(self) -> tuple[int, bool, bytes]:
        """The next frame: (opcode, whether it ends its message, payload); a ping is answered, a close raises."""
        first, second = self._read_exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exactly(8))
        mask = self._read_exactly(4) if second & 0x80 else b""
        payload = self._read_exactly(length)
        if mask:
            payload = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        opcode = first & 0x0F
        if opcode == _OP_PING:
            self._send_frame(_OP_PONG, payload)
        elif opcode == _OP_CLOSE:
            raise KernelError("the server closed the kernel websocket")
        return opcode, bool(first & 0x80), payload

    def receive(self, timeout: float) -> str:
        """The next text or binary message (binary decoded as UTF-8); TimeoutError after ``timeout`` seconds.

        The server's pings, every 30 s, do not extend the wait.
        """
        deadline = time.monotonic() + timeout
        message = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no message in {timeout:.0f}s")
            self._sock.settimeout(left)
            opcode, fin, payload = self._frame()
            if opcode in (_OP_TEXT, _OP_BINARY, _OP_CONTINUATION):
                message += payload
                if fin:
                    return message.decode("utf-8", "replace")

    def skip_waiting(self, timeout: float) -> None:
        """Read the frames that have arrived and nobody has read (pings answered), without waiting for more."""
        while self._arrived():
            self._sock.settimeout(timeout)  # for the rest of a frame whose start has arrived
            self._frame()

    def _arrived(self) -> bool:
        """Whether bytes have arrived that nobody has read, taking in what the socket holds without blocking.

        Non-blocking reads, not select(): on TLS a readable socket may hold
        only the protocol's own records (a session ticket), no data.
        """
        if self._buffer:
            return True
        previous = self._sock.gettimeout()
        self._sock.settimeout(0)
        try:
            chunk = self._sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):
            return False
        finally:
            self._sock.settimeout(previous)  # a send after this must block as before
        if not chunk:
            raise KernelError("the server closed the websocket")
        self._buffer += chunk
        return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._send_frame(_OP_CLOSE, struct.pack("!H", 1000))
        with contextlib.suppress(OSError):
            self._sock.close()


class KernelSession:
    """One kernel in a user's server, reached through the hub's proxy.

    ``server_url``: the server's public URL (``<hub>/user/<name>/``);
    ``token``: a hub token with access to the server, or ``headers``: what a
    browser sends instead (its cookies and the server's XSRF token);
    ``context``: the TLS settings for an https hub (HubClient.ssl_context).
    """

    def __init__(
        self,
        server_url: str,
        token: str | None = None,
        timeout: float = 60.0,
        headers: dict | None = None,
        context: ssl.SSLContext | None = None,
    ):
        self.server_url = server_url.rstrip("/") + "/"
        self._context = context
        # What urlopen(context=...) would build for each request, built once:
        # the environment's proxy, the hub's TLS settings.
        handlers = [urllib.request.HTTPSHandler(context=context)] if context else []
        self._opener = urllib.request.build_opener(*handlers)
        self._auth = dict(headers or {})
        if token:
            self._auth["Authorization"] = f"token {token}"
        self.timeout = timeout
        self.kernel_id = None
        self._socket = None
        self._session = uuid.uuid4().hex

    # -- the server's REST API -------------------------------------------
    def request(self, method: str, path: str, body=None, timeout: float | None = None):
        """(status, parsed JSON or None) of a call to the server's REST API; HTTP errors included."""
        data = None if body is None else json.dumps(body).encode()
        headers = {**self._auth, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(  # noqa: S310  the hub's own http(s) URL
            urllib.parse.urljoin(self.server_url, path.lstrip("/")), data=data, method=method, headers=headers
        )
        try:
            with self._opener.open(request, timeout=timeout or self.timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as err:
            raw = err.read()
            status = err.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, {"message": raw[:300].decode("utf-8", "replace")}

    def start(self) -> str:
        status, body = self.request("POST", "api/kernels", {"name": "python3"})
        if status not in (200, 201) or not isinstance(body, dict) or "id" not in body:
            raise KernelError(f"POST {self.server_url}api/kernels answered HTTP {status}: {body}")
        self.kernel_id = body["id"]
        self.connect()
        return self.kernel_id

    def connect(self) -> None:
        """(Re)open the kernel's websocket, as JupyterLab does after the proxy went away; the kernel keeps its state."""
        if self._socket is not None:
            self._socket.close()
        scheme = "wss" if self.server_url.startswith("https:") else "ws"
        url = scheme + self.server_url[self.server_url.index(":") :]
        self._socket = WebSocket(
            f"{url}api/kernels/{self.kernel_id}/channels?session_id={self._session}",
            headers=self._auth,
            timeout=self.timeout,
            context=self._context,
        )

    def _catch_up(self) -> None:
        """Read what came while nobody read, and reconnect when the server has dropped the socket meanwhile.

        The server pings every 30 s and drops a socket that leaves its pings
        unanswered for 90 s. A browser answers them at once; this client
        answers only while it reads, so a session left idle longer (between
        two tests) finds its socket closed, and reconnects as JupyterLab
        does: the kernel keeps its state. A gone kernel or server still fails
        (the reconnect is refused).
        """
        try:
            self._socket.skip_waiting(timeout=self.timeout)
        except (KernelError, OSError):
            self.connect()

    def execute(self, code: str, timeout: float) -> str:
        """Run ``code``; return what it printed. Raise CodeError when it raised."""
        if self._socket is None:
            raise KernelError("no kernel: call start() first")
        self._catch_up()
        msg_id = uuid.uuid4().hex
        self._socket.send_text(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": "daskhub-verify",
                        "session": self._session,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        deadline = time.monotonic() + timeout
        output, error, idle, replied = [], None, False, False
        last = "none"  # the last message of this request, for a timeout's message
        while not (idle and replied):
            left = deadline - time.monotonic()
            if left <= 0:
                raise KernelError(f"the kernel did not finish in {timeout:.0f}s; it printed: {''.join(output)[-500:]}")
            try:
                message = json.loads(self._socket.receive(timeout=left))
            except TimeoutError as err:
                raise KernelError(
                    f"the kernel went silent: no message in the {timeout:.0f}s given "
                    f"(the last of this request: {last}); it printed: {''.join(output)[-500:]}"
                ) from err
            if (message.get("parent_header") or {}).get("msg_id") != msg_id:
                continue
            kind = message.get("msg_type") or (message.get("header") or {}).get("msg_type")
            content = message.get("content") or {}
            last = f"{kind} {content.get('execution_state', '')}".strip()
            if kind == "stream":
                output.append(content.get("text", ""))
            elif kind == "error":
                error = content
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
            elif kind == "execute_reply":
                replied = True
                if content.get("status") == "error" and error is None:
                    error = content
        printed = "".join(output)
        if error is not None:
            raise CodeError(error.get("ename", "Error"), error.get("evalue", ""), error.get("traceback") or [], printed)
        return printed

    def shutdown(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self.kernel_id:
            with contextlib.suppress(OSError):
                self.request("DELETE", f"api/kernels/{self.kernel_id}", timeout=30)
            self.kernel_id = None
