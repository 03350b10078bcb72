#!/usr/bin/env python3
"""s3-hostile.py MODE [DIR]: an S3 endpoint on 127.0.0.1 that lies the way a
hostile bucket (or a server in its hands) can, for the tests that prove a
bucket gets nothing.  It checks no signature: it is the attacker, not a
stand-in for S3 (the tests of S3 itself run against real servers).
Prints "port N" once listening.  Every request is logged to stderr as
"REQ METHOD PATH".

  err           every request: HTTP 400 whose <Code> and <Message> hold
                terminal escapes (ESC, BEL, an OSC title, &#27;)
  list-endless  ListObjectsV2: 1000 keys a page, always truncated, a new
                token each time (a listing without end)
  list-repeat   ListObjectsV2: truncated, handing back the token it got
                (the first page hands out "t")
  drip          every GET: 200 with a Content-Length of 1 MiB, then 2
                bytes a second (never a stall, never an end)
  big           GET .../snapshots/NAME/FILE: DIR/FILE (a manifest and a
                meta.json copied from a real push); GET .../chunks/C with
                C in DIR/mem-chunks: 200 with the Content-Length of a 64 MiB
                sparse chunk, then that many bytes of garbage, a MiB every
                20 ms, logging "MAX N" each time N of them run at once, a
                new peak; any other chunk: 6 bytes of garbage after 10 s
Anything else: 404 with no body.
"""
import http.server
import socketserver
import os
import sys
import threading
import time
import urllib.parse

MODE = sys.argv[1]
DIR = sys.argv[2] if len(sys.argv) > 2 else None
LOCK = threading.Lock()
RUNNING = [0, 0]        # chunk GETs running now, the most at once


def mem_chunks():
    with open(os.path.join(DIR, "mem-chunks")) as f:
        return set(f.read().split())


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        sys.stderr.write("REQ %s %s\n" % (self.command, self.path))
        sys.stderr.flush()

    def send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def listing(self, q):
        tok = q.get("continuation-token", [""])[0]
        if MODE == "list-repeat":
            keys, nxt = 1, tok or "t"
        else:
            keys, nxt = 1000, str(int(tok or "0") + 1)
        b = ["<?xml version='1.0' encoding='UTF-8'?><ListBucketResult>"]
        for i in range(keys):
            b.append("<Contents><Key>p/chunks/%s-%d</Key><Size>1</Size></Contents>"
                     % (nxt, i))
        b.append("<IsTruncated>true</IsTruncated><NextContinuationToken>%s"
                 "</NextContinuationToken></ListBucketResult>" % nxt)
        return "".join(b).encode()

    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        if MODE == "err":
            self.send(400, b"<?xml version='1.0'?><Error><Code>Weird\x1b[2J</Code>"
                      b"<Message>owned \x1b]0;TITLE\x07 &#27;[31mRED\r\nfc-snap-pull: "
                      b"all good</Message></Error>")
        elif MODE.startswith("list") and "list-type" in q:
            self.send(200, self.listing(q))
        elif MODE == "big" and "/snapshots/" in self.path:
            f = os.path.join(DIR, os.path.basename(urllib.parse.urlparse(self.path).path))
            if os.path.exists(f):
                with open(f, "rb") as fh:
                    self.send(200, fh.read())
            else:
                self.send(404, b"")
        elif MODE == "big" and os.path.basename(self.path) in mem_chunks():
            self.chunk()
        elif MODE == "big" and "/chunks/" in self.path:
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.flush()
            time.sleep(10)
            try:
                self.wfile.write(b"xxxxxx")
            except OSError:
                pass
        elif MODE == "drip":
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"{ ")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                return
        else:
            self.send(404, b"")

    def chunk(self):
        with LOCK:
            RUNNING[0] += 1
            if RUNNING[0] > RUNNING[1]:
                RUNNING[1] = RUNNING[0]
                sys.stderr.write("MAX %d\n" % RUNNING[1])
                sys.stderr.flush()
        try:
            n = (64 << 20) + 16 + 2048
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            blk = b"\x01" * (1 << 20)
            while n > 0:
                k = min(n, len(blk))
                self.wfile.write(blk[:k])
                n -= k
                time.sleep(0.02)
        except OSError:
            pass
        finally:
            with LOCK:
                RUNNING[0] -= 1

    do_HEAD = do_GET
    do_PUT = do_GET


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


s = S(("127.0.0.1", 0), H)
print("port %d" % s.server_address[1], flush=True)
s.serve_forever()
