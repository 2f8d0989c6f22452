# Copyright: DaskHub deployer maintainers
# BSD-3-Clause
"""The local target's plain-HTTP port when the hub serves HTTPS: ACME answers, and a redirect for the rest.

Run by the hub as a managed service (it restarts it if it exits; see
plugins/module_utils/render/local/documents.py), with the settings on its
command line. GET /.well-known/acme-challenge/<token> answers the HTTP-01
challenge the play wrote to the webroot (roles/daskhub_local/tasks/
certificate.yml), so a certificate is issued and renewed while the hub
keeps serving; anything else is sent to the same path on the hub's HTTPS
address. Bound as root (port 80), it then runs as nobody: it only reads the
webroot, which is readable by all.

Standard library only.
"""

from __future__ import annotations

import argparse
import http.server
import os
import pwd
import re
import socket

CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
# RFC 8555 tokens are base64url.
TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "daskhub-http-redirect"
    webroot = ""
    https_url = ""

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith(CHALLENGE_PREFIX):
            self.answer_challenge(path[len(CHALLENGE_PREFIX) :])
            return
        self.send_response(301)
        self.send_header("Location", self.https_url + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET

    def answer_challenge(self, token):
        body = None
        if TOKEN.match(token):
            try:
                with open(os.path.join(self.webroot, token), "rb") as answer:
                    body = answer.read()
            except OSError:
                body = None
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)

    def log_message(self, format, *args):
        # The hub's log, which already carries every request's address.
        return


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--webroot", required=True)
    parser.add_argument("--https-url", required=True, help="the hub's HTTPS address, without a trailing slash")
    args = parser.parse_args(argv)
    Handler.webroot = args.webroot
    Handler.https_url = args.https_url.rstrip("/")
    server_class = http.server.ThreadingHTTPServer
    if ":" in args.bind:
        server_class = type("ThreadingHTTPServerV6", (server_class,), {"address_family": socket.AF_INET6})
    server = server_class((args.bind, args.port), Handler)
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    server.serve_forever()


if __name__ == "__main__":
    main()
