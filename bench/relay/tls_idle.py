# Relay RSS per idle phone over wss: N TLS websocket listeners, RSS before and after.
"""usage: /usr/bin/python3 tls_idle.py RELAY_BIN [N] [poll|libev]

Starts the relay with a throwaway self-signed certificate on 127.0.0.1,
opens N idle phones over TLS (handshake, websocket upgrade, LISTEN), and
prints the relay's RSS growth per phone. Prints figures; never fails on
time. Needs python3-cryptography (Debian's /usr/bin/python3 has it).
"""

import base64
import datetime
import hashlib
import ipaddress
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_cert(tmp):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cf, kf = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    with open(cf, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kf, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cf, kf


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    relay = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    loop = sys.argv[3] if len(sys.argv) > 3 else "poll"
    tmp = tempfile.mkdtemp(prefix="skp-tls-idle-")
    cf, kf = make_cert(tmp)
    log = os.path.join(tmp, "relay.err")
    errf = open(log, "wb")
    p = subprocess.Popen([relay, "--listen", "127.0.0.1:0", "--tls-cert",
                          cf, "--tls-key", kf, "--max-per-addr",
                          str(n + 64), "--event-loop", loop], stderr=errf)
    socks = []
    try:
        port = None
        for _ in range(100):
            with open(log) as f:
                m = re.search(r"127\.0\.0\.1:(\d+)", f.read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        if port is None:
            print("relay did not start")
            return 1
        ctx = ssl.create_default_context(cafile=cf)
        r0 = rss_kib(p.pid)
        t0 = time.monotonic()
        for _ in range(n):
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port),
                                                         5),
                                server_hostname="localhost")
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall(("GET / HTTP/1.1\r\nHost: localhost\r\n"
                       "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "Sec-WebSocket-Protocol: sk-phone-relay.v1\r\n\r\n"
                       % key).encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += s.recv(4096)
            secret = os.urandom(32)
            mb = hashlib.sha256(b"sk-phone mailbox v1" + secret).digest()
            frame = struct.pack(">BI", 1, 0) + mb + secret
            s.sendall(struct.pack(">BB", 0x82, 0x80 | len(frame)) +
                      b"\0\0\0\0" + frame)
            s.recv(64)
            socks.append(s)
        took = time.monotonic() - t0
        time.sleep(1)
        r1 = rss_kib(p.pid)
        print("wss, %s loop: %d idle phones held (opened in %.1f s); relay "
              "RSS %d KiB before, %d KiB after: %.2f KiB per idle phone"
              % (loop, len(socks), took, r0, r1, (r1 - r0) / max(1, n)))
    finally:
        for s in socks:
            s.close()
        p.terminate()
        p.wait(5)
        errf.close()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
