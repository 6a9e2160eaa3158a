#!/usr/bin/env python3
"""A minimal HTTPS upstream for tests: answers GET /api/1/mutexes... with a fixed JSON body.

    tls_upstream.py --listen 127.0.0.1:0 --cert server.pem --key server.key --body list.json

Prints the same `msg="listening" address=HOST:PORT` line as our servers once it listens.
"""
import argparse
import http.server
import ssl
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--listen", required=True)
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--body", required=True)
args = parser.parse_args()

with open(args.body, "rb") as f:
    BODY = f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        if not self.path.startswith("/api/1/mutexes"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *_):
        pass


host, port = args.listen.rsplit(":", 1)
server = http.server.ThreadingHTTPServer((host, int(port)), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(args.cert, args.key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(f'msg="listening" address={host}:{server.server_address[1]}', file=sys.stderr, flush=True)
server.serve_forever()
