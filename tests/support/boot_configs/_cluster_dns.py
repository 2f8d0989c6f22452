"""Cluster DNS on one host: a Service's name and port -> 127.0.0.1:<local port>.

Standard library only: the hub and the gateway boot configs import it in
their images' Pythons, and support.chart_boot uses it for the proxy's flags.
"""

import re


def resolve(text, network):
    """Service addresses (name, name.ns, name.ns.svc[.cluster.local]) as loopback ones.

    An address is a URL (scheme://name[:port], port 80 or 443 implied) or
    name:port; a bare word that happens to be a Service's name is left alone.
    Ports whose pod does not run here stay as they are.
    """
    namespace = re.escape(network["namespace"])
    for name, ports in network["services"].items():
        host = rf"{re.escape(name)}(?:\.{namespace}(?:\.svc(?:\.cluster\.local)?)?)?"
        pattern = re.compile(
            rf"(?:(?P<scheme>[a-z][a-z0-9+.-]*://){host}(?::(?P<port>\d+))?"
            rf"|(?<![\w./:-]){host}:(?P<bare_port>\d+))(?![\w.-])"
        )

        def local(match, ports=ports):
            scheme = match.group("scheme") or ""
            port = match.group("port") or match.group("bare_port") or ("443" if scheme == "https://" else "80")
            if port not in ports:
                return match.group(0)
            return f"{scheme}127.0.0.1:{ports[port]}"

        text = pattern.sub(local, text)
    return text
