#!/usr/bin/env python3
"""aws-fake.py: stand-ins for the AWS credential services that cannot run
here, following their documented protocols, on 127.0.0.1:

  EC2 instance metadata (IMDSv2)
    PUT  /latest/api/token            needs X-aws-ec2-metadata-token-ttl-seconds
                                      (1..21600), else 400; answers a token
    GET  /latest/meta-data/iam/security-credentials/[ROLE]
                                      needs a valid X-aws-ec2-metadata-token,
                                      else 401; with --token-uses N a token
                                      is good for N GETs (with --imds-v1: the PUT is
                                      refused with 403 and GETs need no token)
  Container credentials (ECS / EKS Pod Identity)
    GET  /ecs/creds                   with --ecs-auth T: Authorization must be T
  STS (query API 2011-06-15)
    POST /                            form body; Version must be 2011-06-15;
                                      AssumeRole must be SigV4-signed (service
                                      sts) with the source pair in
                                      FAKE_SRC_AK/FAKE_SRC_SK (or the pair
                                      handed out); AssumeRoleWith-
                                      WebIdentity needs WebIdentityToken equal
                                      to --webid-token and is not signed

Every answer hands out the key pair FAKE_AK/FAKE_SK (from the environment,
never argv: the pair the test's S3 server accepts) with a session token
"tok-N" and an Expiration --expire seconds ahead. Each request is logged as
one line to --log: "METHOD PATH [extra]". Prints "port N" once listening.
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

opts = {"log": None, "imds_v1": False, "ecs_auth": None, "webid_token": None,
        "expire": 3600, "role": "fcsnap-role", "garbage": False, "token_uses": 0}
args = sys.argv[1:]
while args:
    a = args.pop(0)
    if a == "--log":
        opts["log"] = args.pop(0)
    elif a == "--imds-v1":
        opts["imds_v1"] = True
    elif a == "--ecs-auth":
        opts["ecs_auth"] = args.pop(0)
    elif a == "--webid-token":
        opts["webid_token"] = args.pop(0)
    elif a == "--expire":
        opts["expire"] = int(args.pop(0))
    elif a == "--role":
        opts["role"] = args.pop(0)
    elif a == "--garbage":
        opts["garbage"] = True
    elif a == "--token-uses":
        opts["token_uses"] = int(args.pop(0))
    else:
        sys.exit("aws-fake.py: unknown argument " + a)

AK = os.environ["FAKE_AK"]
SK = os.environ["FAKE_SK"]
lock = threading.Lock()
state = {"n": 0, "tokens": {}}


def log(line):
    if opts["log"]:
        with lock, open(opts["log"], "a") as f:
            f.write(line + "\n")


def new_creds():
    with lock:
        state["n"] += 1
        n = state["n"]
    exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + opts["expire"]))
    return {"AccessKeyId": AK, "SecretAccessKey": SK, "Token": "tok-%d" % n,
            "Expiration": exp}


def sigv4_ok(method, path, headers, body):
    """Check an STS request's Authorization the way AWS does."""
    auth = headers.get("Authorization", "")
    pre = "AWS4-HMAC-SHA256 "
    if not auth.startswith(pre):
        return "no SigV4 Authorization"
    parts = dict(p.strip().split("=", 1) for p in auth[len(pre):].split(","))
    cred = parts["Credential"].split("/")
    # the source pair, or (role chaining) a pair this fake handed out
    keys = {os.environ.get("FAKE_SRC_AK"): os.environ.get("FAKE_SRC_SK"), AK: SK}
    if cred[0] not in keys or cred[3] != "sts" or cred[4] != "aws4_request":
        return "bad credential scope " + parts["Credential"]
    signed = parts["SignedHeaders"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    low = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    canon = "".join("%s:%s\n" % (h, low.get(h, "")) for h in signed)
    creq = "\n".join([method, path, "", canon, parts["SignedHeaders"],
                      hashlib.sha256(body).hexdigest()])
    date = low["x-amz-date"]
    scope = "/".join(cred[1:])
    sts = "\n".join(["AWS4-HMAC-SHA256", date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + keys[cred[0]]).encode()
    for m in cred[1:]:
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, parts["Signature"]):
        return "SignatureDoesNotMatch"
    return None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        log("PUT " + self.path)
        if self.path != "/latest/api/token":
            return self.send(404, "")
        if opts["imds_v1"]:
            return self.send(403, "")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.send(400, "")
        tok = "imds-%d-%s" % (len(state["tokens"]), os.urandom(8).hex())
        with lock:
            state["tokens"][tok] = 0
        self.send(200, tok)

    def do_GET(self):
        tok = self.headers.get("X-aws-ec2-metadata-token")
        auth = self.headers.get("Authorization")
        log("GET %s%s" % (self.path, " token" if tok else ""))
        p = self.path
        if p.startswith("/latest/"):
            if not opts["imds_v1"]:
                with lock:
                    uses = state["tokens"].get(tok)
                    if uses is not None:
                        state["tokens"][tok] = uses + 1
                if uses is None or (opts["token_uses"] and uses >= opts["token_uses"]):
                    return self.send(401, "")
            base = "/latest/meta-data/iam/security-credentials/"
            if p == base:
                return self.send(200, opts["role"] + "\n")
            if p == base + opts["role"]:
                c = new_creds()
                c.update({"Code": "Success", "Type": "AWS-HMAC",
                          "LastUpdated": "2026-01-01T00:00:00Z"})
                if opts["garbage"]:
                    c["SecretAccessKey"] = "bad\nsecret"
                return self.send(200, json.dumps(c), "application/json")
            return self.send(404, "")
        if p == "/ecs/creds":
            if opts["ecs_auth"] is not None and auth != opts["ecs_auth"]:
                return self.send(403, json.dumps({"code": "AccessDenied",
                                                  "message": "bad token"}))
            return self.send(200, json.dumps(new_creds()), "application/json")
        self.send(404, "")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        q = dict(urllib.parse.parse_qsl(body.decode()))
        act = q.get("Action", "")
        log("POST %s %s" % (self.path, act))

        def err(code, msg, st=400):
            self.send(st, "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code>"
                      "<Message>%s</Message></Error></ErrorResponse>" % (code, msg),
                      "text/xml")
        if q.get("Version") != "2011-06-15":
            return err("InvalidAction", "bad Version")
        if not q.get("RoleArn") or not q.get("RoleSessionName"):
            return err("MissingParameter", "RoleArn and RoleSessionName are required")
        if act == "AssumeRole":
            why = sigv4_ok("POST", self.path, self.headers, body)
            if why:
                return err("SignatureDoesNotMatch", why, 403)
        elif act == "AssumeRoleWithWebIdentity":
            if self.headers.get("Authorization"):
                return err("InvalidRequest", "must not be signed")
            if q.get("WebIdentityToken") != opts["webid_token"]:
                return err("InvalidIdentityToken", "bad web identity token")
        else:
            return err("InvalidAction", "unknown action")
        c = new_creds()
        self.send(200, "<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                  "<%sResult><AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROA:x"
                  "</AssumedRoleId></AssumedRoleUser><Credentials><AccessKeyId>%s"
                  "</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s"
                  "</SessionToken><Expiration>%s</Expiration></Credentials></%sResult>"
                  "</%sResponse>" % (act, act, q["RoleArn"], q["RoleSessionName"],
                                     c["AccessKeyId"], c["SecretAccessKey"], c["Token"],
                                     c["Expiration"], act, act), "text/xml")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print("port %d" % srv.server_address[1], flush=True)
srv.serve_forever()
