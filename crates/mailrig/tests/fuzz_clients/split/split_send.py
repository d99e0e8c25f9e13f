#!/usr/bin/env python3
"""A small SMTP client over implicit TLS for the store judge of `mailrig fuzz`
(crates/mailrig/tests/fuzz_cli.rs): it reads replies with raw recv() calls and sends one fixed
message. With BUG=truncate it has a planted bug: once any reply has come in more than one
read (a server reply split across writes, which is legal), it sends the message's last line
one byte short, so the server stores another message. Its exit status and the script's
shape do not change: only the stored message does.

usage: split_send.py BUG HOST PORT CA     (BUG: truncate or none)
"""
import socket
import ssl
import sys

bug, host, port, ca = sys.argv[1:5]
raw = socket.create_connection((host, int(port)), timeout=10)
sock = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="localhost")
pending = b""
split_seen = False


def reply():
    """One reply (all its lines); notes whether it took more than one read."""
    global pending, split_seen
    reads = 0
    while True:
        lines = pending.split(b"\r\n")
        complete = lines[:-1]
        for i, line in enumerate(complete):
            if line[3:4] != b"-":
                pending = b"\r\n".join(lines[i + 1:])
                if reads > 1:
                    split_seen = True
                return line
        data = sock.recv(4096)
        if not data:
            sys.exit("connection closed")
        reads += 1
        pending += data


def command(text, expect):
    sock.sendall(text.encode() + b"\r\n")
    last = reply()
    if not last.startswith(expect.encode()):
        sys.exit("%s: unexpected reply %r" % (text, last))


reply()
command("EHLO split.example", "250")
command("MAIL FROM:<alice@example.test>", "250")
command("RCPT TO:<bob@example.test>", "250")
command("DATA", "354")
lines = [b"Subject: fuzz", b"", b"hello", b"last line"]
if bug == "truncate" and split_seen:
    lines[-1] = lines[-1][:-1]
sock.sendall(b"\r\n".join(lines) + b"\r\n.\r\n")
if not reply().startswith(b"250"):
    sys.exit("the message was refused")
command("QUIT", "221")
