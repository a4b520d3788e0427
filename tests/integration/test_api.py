"""The webhook API over HTTP (SPEC section 1 and the API-key part of section 2):
a real lighttpd with mod_fastcgi and 2 webhooks.fcgi workers, plus the same
binary run as a CGI program. Every row of the tables, the validation rules,
limits, tenant paths, routing via PATH_INFO and via REQUEST_URI only, API-key
scopes and concurrent creates. SIGKILLs of workers: test_crash.py."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import harness as h

suite = h.Suite("api")
ID_RE = re.compile(r"^[A-Za-z0-9]{5}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9]{64}$")
MEMBERS = {"id", "description", "events", "endpoint", "enabled", "signatureSecret"}


Api = h.Api


def problem(what, st, hdrs, data, want_status, member=None):
    """Checks an application/problem+json answer with want_status (and errors[member])."""
    ok = suite.eq(st, want_status, what + ": status")
    ctype = hdrs.get("content-type", "")
    suite.check(ctype.startswith("application/problem+json"), what + ": problem+json",
                ctype)
    doc = h.as_json(data)
    if not suite.check(isinstance(doc, dict), what + ": JSON body", data[:300]):
        return False
    suite.eq(doc.get("status"), want_status, what + ": status member")
    suite.check(isinstance(doc.get("title"), str) and doc.get("type", "").startswith("https://"),
                what + ": type and title", doc)
    if member is not None:
        errors = doc.get("errors")
        ok = suite.check(isinstance(errors, dict) and member in errors and
                         isinstance(errors[member], list) and errors[member] and
                         all(isinstance(m, str) and m for m in errors[member]),
                         what + ": errors names " + member, doc) and ok
    return ok


def webhook_shape(what, w):
    """Checks that w has exactly the WebHookWithId members, well-formed."""
    if not suite.check(isinstance(w, dict), what + ": object", w):
        return
    suite.eq(set(w), MEMBERS, what + ": exactly the documented members")
    suite.check(ID_RE.match(str(w.get("id"))), what + ": id is 5 of [A-Za-z0-9]", w.get("id"))
    suite.check(SECRET_RE.match(str(w.get("signatureSecret"))),
                what + ": secret is 64 of [A-Za-z0-9]", w.get("signatureSecret"))
    suite.check(isinstance(w.get("enabled"), bool), what + ": enabled is a boolean", w)
    suite.check(w.get("description") is None or isinstance(w.get("description"), str),
                what + ": description is a string or null", w)


def rejected(api, what, method, path, body, want_status, member=None, headers=None, wid=None):
    """Sends a request that must fail; checks the problem and that nothing changed."""
    before = api.list()
    st, hdrs, data = api.call(method, path, body, headers)
    problem(what, st, hdrs, data, want_status, member)
    suite.eq(api.list(), before, what + ": the tenant's webhooks are unchanged")
    return st


# ---------------------------------------------------------------- CRUD flow

def crud_flow(api, label):
    """All six operations with their members, headers and semantics."""
    w, hdrs = api.create_body({"description": "CRM sync", "events": ["Pass:Created", "Customer:*"],
                          "endpoint": "https://crm.example.com/hooks", "id": "AAAAA",
                          "signatureSecret": "x" * 64, "unknown": [1, 2]})
    webhook_shape(label + " POST", w)
    suite.eq({k: w[k] for k in ("description", "events", "endpoint", "enabled")},
             {"description": "CRM sync", "events": ["Pass:Created", "Customer:*"],
              "endpoint": "https://crm.example.com/hooks", "enabled": True},
             label + " POST: stored fields, enabled defaults to true")
    suite.check(w["id"] != "AAAAA" and w["signatureSecret"] != "x" * 64,
                label + " POST: id and signatureSecret in the body are ignored", w)
    suite.check(hdrs.get("content-type", "").startswith("application/json"),
                label + " POST: application/json", hdrs)
    loc = hdrs.get("location", "")
    suite.eq(loc, api.path("/" + w["id"]), label + " POST: Location")
    st, _, data = api.call("GET", loc)
    suite.eq((st, h.as_json(data)), (200, w), label + " GET Location: the created webhook")

    w2, _ = api.create_body(events=["a.b.c"], endpoint="https://b.example.com/x?y=1",
                       enabled=False)
    suite.eq((w2["enabled"], w2["description"]), (False, None),
             label + " POST: enabled false kept, absent description is null")
    st, hdrs, data = api.call("GET", api.path())
    lst = h.as_json(data)
    suite.eq(st, 200, label + " GET list: 200")
    suite.check(hdrs.get("content-type", "").startswith("application/json"),
                label + " GET list: application/json", hdrs)
    suite.eq(lst, sorted([w, w2], key=lambda x: x["id"]), label + " GET list: both, by id")

    # HEAD answers like GET without a body.
    for path in (api.path(), api.path("/" + w["id"])):
        gst, ghdrs, gdata = api.call("GET", path)
        hst, hhdrs, hdata = api.call("HEAD", path)
        suite.eq((hst, hdata), (gst, b""), label + " HEAD %s: status of GET, no body" % path)
        suite.eq(hhdrs.get("content-length"), str(len(gdata)),
                 label + " HEAD: Content-Length of the GET body")
        suite.eq(hhdrs.get("content-type"), ghdrs.get("content-type"),
                 label + " HEAD: Content-Type of GET")
    hst, _, hdata = api.call("HEAD", api.path("/zzzzz"))
    suite.eq((hst, hdata), (404, b""), label + " HEAD unknown id: 404 without a body")

    # PUT replaces the four updatable fields; 200 with an empty body.
    st, _, data = api.call("PATCH", api.path("/" + w["id"]), {"enabled": False})
    suite.eq(st, 200, label + " PATCH enabled false")
    st, hdrs, data = api.call("PUT", api.path("/" + w["id"]),
                              {"events": ["Redirect:Redirected"], "id": "BBBBB",
                               "endpoint": "https://new.example.com/", "signatureSecret": "y"})
    suite.eq((st, data), (200, b""), label + " PUT: 200, empty body")
    st, got = api.get(w["id"])
    suite.eq(got, dict(w, description=None, events=["Redirect:Redirected"],
                       endpoint="https://new.example.com/", enabled=False),
             label + " PUT: description absent -> null, enabled kept, id and secret unchanged")
    st, _, _ = api.call("PUT", api.path("/" + w["id"]),
                        {"events": ["x"], "endpoint": "https://e.example.com/",
                         "enabled": True, "description": "d"})
    st2, got = api.get(w["id"])
    suite.eq((st, got["enabled"], got["description"]), (200, True, "d"),
             label + " PUT: enabled and description replaced when given")

    # PATCH: RFC 7396 merge, returns the updated webhook.
    st, hdrs, data = api.call("PATCH", api.path("/" + w["id"]),
                              {"description": "patched", "signatureSecret": "z", "id": "CCCCC"},
                              {"Content-Type": "application/merge-patch+json"})
    want = dict(got, description="patched")
    suite.eq((st, h.as_json(data)), (200, want), label + " PATCH merge-patch+json: updated")
    suite.eq(api.get(w["id"]), (200, want), label + " PATCH: stored")
    st, _, data = api.call("PATCH", api.path("/" + w["id"]), {"description": None})
    want["description"] = None
    suite.eq((st, h.as_json(data)), (200, want), label + " PATCH description null clears it")
    st, _, data = api.call("PATCH", api.path("/" + w["id"]), {})
    suite.eq((st, h.as_json(data)), (200, want), label + " PATCH {} changes nothing")
    st, _, data = api.call("PATCH", api.path("/" + w["id"]),
                           {"events": ["*"], "endpoint": "https://p.example.com/",
                            "enabled": False})
    want.update(events=["*"], endpoint="https://p.example.com/", enabled=False)
    suite.eq((st, h.as_json(data)), (200, want), label + " PATCH events, endpoint, enabled")

    # DELETE: 200, empty body; then 404 everywhere.
    st, _, data = api.call("DELETE", api.path("/" + w["id"]))
    suite.eq((st, data), (200, b""), label + " DELETE: 200, empty body")
    for method, body in (("GET", None), ("PUT", {"events": ["x"], "endpoint": "https://e.x/"}),
                         ("PATCH", {"enabled": True}), ("DELETE", None)):
        st, hdrs, data = api.call(method, api.path("/" + w["id"]), body)
        problem(label + " %s after DELETE" % method, st, hdrs, data, 404)
    suite.eq(api.list(), [w2], label + " list after DELETE")
    st, _, _ = api.call("DELETE", api.path("/" + w2["id"]))
    suite.eq((st, api.list()), (200, []), label + " list empty after deleting all")


# ---------------------------------------------------------------- validation

def validation(api):
    """Every validation rule answers 400 naming the member and changes nothing."""
    keep, _ = api.create_body(description="keep")
    one = api.path("/" + keep["id"])
    ok_endpoint = "https://example.com/h"
    long_ep = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    cases = [
        ("description 1025 chars", {"description": "d" * 1025}, "description"),
        ("description 1025 non-ASCII chars", {"description": "\u00e9" * 1025}, "description"),
        ("description number", {"description": 5}, "description"),
        ("description object", {"description": {}}, "description"),
        ("events empty", {"events": []}, "events"),
        ("events 51", {"events": ["e%d" % i for i in range(51)]}, "events"),
        ("events bad chars", {"events": ["Pass Created"]}, "events"),
        ("events slash", {"events": ["Pass/Created"]}, "events"),
        ("events empty string", {"events": [""]}, "events"),
        ("events 129 chars", {"events": ["e" * 129]}, "events"),
        ("events not an array", {"events": "Pass:Created"}, "events"),
        ("events object", {"events": {"a": 1}}, "events"),
        ("events item not a string", {"events": ["a", 1]}, "events"),
        ("events item null", {"events": [None]}, "events"),
        ("events null", {"events": None}, "events"),
        ("endpoint ftp", {"endpoint": "ftp://example.com/"}, "endpoint"),
        ("endpoint relative", {"endpoint": "/hooks"}, "endpoint"),
        ("endpoint no host", {"endpoint": "https:///hooks"}, "endpoint"),
        ("endpoint empty host", {"endpoint": "https://"}, "endpoint"),
        ("endpoint fragment", {"endpoint": "https://example.com/h#frag"}, "endpoint"),
        ("endpoint 2049 chars", {"endpoint": long_ep + "a"}, "endpoint"),
        ("endpoint number", {"endpoint": 443}, "endpoint"),
        ("endpoint null", {"endpoint": None}, "endpoint"),
        ("endpoint empty", {"endpoint": ""}, "endpoint"),
        ("endpoint space", {"endpoint": "https://exa mple.com/"}, "endpoint"),
        ("endpoint bad port", {"endpoint": "https://example.com:99999/"}, "endpoint"),
        ("enabled string", {"enabled": "yes"}, "enabled"),
        ("enabled number", {"enabled": 1}, "enabled"),
        ("enabled null", {"enabled": None}, "enabled"),
    ]
    private = ["10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.1.2.3",
               "169.254.169.254", "[::1]", "[fe80::1]", "[fc00::1]", "[fd12:3456::1]",
               "[::ffff:127.0.0.1]", "[::ffff:10.1.2.3]", "[::ffff:169.254.1.1]",
               "localhost", "LOCALHOST.", "api.localhost", "127.0.0.1:8443"]
    for host in private:
        cases.append(("endpoint private " + host, {"endpoint": "https://%s/h" % host}, "endpoint"))
    for what, fields, member in cases:
        full = dict({"events": ["Pass:Created"], "endpoint": ok_endpoint}, **fields)
        rejected(api, "POST " + what, "POST", api.path(), full, 400, member)
        before = api.get(keep["id"])
        rejected(api, "PUT " + what, "PUT", one, full, 400, member)
        if member != "description" or "null" not in what:
            rejected(api, "PATCH " + what, "PATCH", one, fields, 400, member)
        suite.eq(api.get(keep["id"]), before, "PUT/PATCH " + what + ": webhook unchanged")

    for what, body, member in (
            ("missing events", {"endpoint": ok_endpoint}, "events"),
            ("missing endpoint", {"events": ["a"]}, "endpoint")):
        rejected(api, "POST " + what, "POST", api.path(), body, 400, member)
        rejected(api, "PUT " + what, "PUT", one, body, 400, member)
    st, hdrs, data = api.call("POST", api.path(), {"description": 7})
    problem("POST three bad members", st, hdrs, data, 400)
    errs = (h.as_json(data) or {}).get("errors", {})
    suite.eq(sorted(errs), ["description", "endpoint", "events"],
             "POST: one errors entry per bad member")
    for member in ("events", "endpoint", "enabled"):
        rejected(api, "PATCH %s null" % member, "PATCH", one, {member: None}, 400, member)

    # Malformed bodies: 400 with errors, nothing changes.
    for what, raw in (("malformed JSON", b'{"events": ["a"'), ("single quotes", b"{'a': 1}"),
                      ("trailing garbage", b'{"events":["a"],"endpoint":"https://e.x/"} x'),
                      ("two objects", b'{"events":["a"],"endpoint":"https://e.x/"}{}'),
                      ("trailing comma", b'{"events":["a"],"endpoint":"https://e.x/",}'),
                      ("empty body", b""), ("bad UTF-8", b'{"description":"\xff\xfe"}'),
                      ("array body", b"[]"), ("string body", b'"x"'), ("number body", b"1"),
                      ("null body", b"null")):
        for method, path in (("POST", api.path()), ("PUT", one), ("PATCH", one)):
            st = rejected(api, "%s %s" % (method, what), method, path, raw, 400)
        suite.eq(api.get(keep["id"])[1]["description"], "keep", what + ": webhook unchanged")

    # Values at the limits are accepted.
    w, _ = api.create_body({"description": "\u00e9" * 1024, "events": ["e" * 128] + [
        "E%d.x_y:z-*" % i for i in range(49)], "endpoint": long_ep})
    suite.eq((len(w["description"]), len(w["events"]), len(w["endpoint"])), (1024, 50, 2048),
             "POST at every limit: accepted")
    w3, _ = api.create_body(endpoint="https://user:pw@93.184.216.34:8443/p?q=1",
                       events=["store.*.updated"])
    suite.eq(w3["endpoint"], "https://user:pw@93.184.216.34:8443/p?q=1",
             "POST public IP literal with port and userinfo: accepted")
    for wid in (w["id"], w3["id"], keep["id"]):
        api.call("DELETE", api.path("/" + wid))


def content_types(api):
    """415 for what is not JSON; JSON media types with parameters are accepted."""
    w, _ = api.create_body()
    one = api.path("/" + w["id"])
    body = json.dumps({"events": ["a"], "endpoint": "https://e.example.com/"})
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml",
                  "multipart/form-data; boundary=x", "application/jsonp", "json",
                  "application/+json", "text/jsonx"):
        rejected(api, "POST Content-Type " + ctype, "POST", api.path(), body, 415,
                 headers={"Content-Type": ctype})
        rejected(api, "PATCH Content-Type " + ctype, "PATCH", one, body, 415,
                 headers={"Content-Type": ctype})
    # No Content-Type at all: http.client would add none for a str body we build ourselves.
    st, hdrs, data = raw_http(api.url, "POST %s HTTP/1.1\r\nHost: x\r\nX-API-KEY: %s\r\n"
                              "Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                              % (api.path(), api.key, len(body), body))
    problem("POST without Content-Type", st, hdrs, data, 415)
    n = len(api.list())
    for ctype in ("application/json", "application/json; charset=utf-8",
                  "Application/JSON;charset=UTF-8", "text/json", "application/vnd.foo+json",
                  "application/merge-patch+json"):
        st, _, data = api.call("POST", api.path(), body, {"Content-Type": ctype})
        suite.eq(st, 200, "POST Content-Type %s accepted" % ctype)
        st, _, data = api.call("PATCH", one, {"description": ctype}, {"Content-Type": ctype})
        suite.eq((st, (h.as_json(data) or {}).get("description")), (200, ctype),
                 "PATCH Content-Type %s accepted" % ctype)
        st, _, _ = api.call("PUT", one, body, {"Content-Type": ctype})
        suite.eq(st, 200, "PUT Content-Type %s accepted" % ctype)
    suite.eq(len(api.list()), n + 6, "accepted creates are listed")
    for x in api.list():
        api.call("DELETE", api.path("/" + x["id"]))


def raw_http(url, text, send_extra=None, timeout=10):
    """Sends raw request bytes, reads the response until close: (status, headers, body)."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(text.encode() if isinstance(text, str) else text)
        if send_extra:
            s.sendall(send_extra)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            chunks.append(b)
            data = b"".join(chunks)
            head, sep, rest = data.partition(b"\r\n\r\n")
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            if sep and m and len(rest) >= int(m.group(1)):
                break
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or len(lines[0].split()) < 2:
        return 0, {}, data
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body


# ---------------------------------------------------------------- limits

def body_limits(api, max_body):
    """413 over max_body_bytes, exactly at the limit accepted."""
    base = json.dumps({"events": ["a"], "endpoint": "https://e.example.com/"})
    at_limit = base + " " * (max_body - len(base))
    st, _, _ = api.call("POST", api.path(), at_limit)
    suite.eq(st, 200, "POST body of exactly max_body_bytes (%d): accepted" % max_body)
    rejected(api, "POST body one byte over max_body_bytes", "POST", api.path(), at_limit + " ",
             413)
    w = api.list()[0]
    rejected(api, "PUT body over max_body_bytes", "PUT", api.path("/" + w["id"]),
             at_limit + " " * 100, 413)
    rejected(api, "PATCH body over max_body_bytes", "PATCH", api.path("/" + w["id"]),
             json.dumps({"description": "x" * (max_body + 10)}), 413)
    api.call("DELETE", api.path("/" + w["id"]))


def early_413(api, max_body):
    """A Content-Length over the limit is refused promptly, without the body being sent."""
    before = api.list()
    t0 = time.time()
    try:
        st, hdrs, data = raw_http(
            api.url, "POST %s HTTP/1.1\r\nHost: x\r\nX-API-KEY: %s\r\nContent-Type: "
            "application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n{\"ev"
            % (api.path(), api.key, max_body * 200), timeout=10)
    except OSError as e:
        st, hdrs, data = 0, {}, repr(e).encode()
    elapsed = time.time() - t0
    problem("huge Content-Length with a few bytes sent", st, hdrs, data, 413)
    suite.check(elapsed < 5, "huge Content-Length: answered without waiting for the body",
                "%.1fs" % elapsed)
    suite.eq(api.list(), before, "huge Content-Length: nothing changed")


def limit_409(api, limit):
    """The tenant's max_webhooks_per_tenant-th create succeeds, the next is a 409."""
    for x in api.list():
        api.call("DELETE", api.path("/" + x["id"]))
    made = [api.create_body()[0]["id"] for _ in range(limit)]
    suite.eq(len(api.list()), limit, "creates up to max_webhooks_per_tenant succeed")
    rejected(api, "POST over max_webhooks_per_tenant", "POST", api.path(),
             {"events": ["a"], "endpoint": "https://e.example.com/"}, 409)
    st, _, _ = api.call("DELETE", api.path("/" + made[0]))
    st2, _, _ = api.call("POST", api.path(), {"events": ["a"], "endpoint": "https://e.x.com/"})
    suite.eq((st, st2), (200, 200), "after a DELETE there is room for one more")
    rejected(api, "POST over the limit again", "POST", api.path(),
             {"events": ["a"], "endpoint": "https://e.example.com/"}, 409)
    for x in api.list():
        api.call("DELETE", api.path("/" + x["id"]))


# ---------------------------------------------------------------- routes and tenants

def routes(api, other_key, uri_only):
    """404 for unknown routes and hostile tenant paths, 405 with Allow."""
    w, _ = api.create_body()
    # Unknown routes and tenants that are not tenant ids: 404 before credentials are looked at.
    for path in ("/api/", "/api/%s" % api.tenant, "/api/%s/hooks" % api.tenant,
                 "/api/%s/webhooks/%s/x" % (api.tenant, w["id"]),
                 "/api/%s/webhooks/%s/deliveries/x/y/z" % (api.tenant, w["id"]),
                 "/api/%s/Webhooks" % api.tenant, "/api/webhooks",
                 "/api/%s/webhooks" % ("t" * 65), "/api/%s/webhooks" % ("t" * 3000),
                 "/api/ac.me/webhooks", "/api/ac%20me/webhooks", "/api/ac%C3%A9me/webhooks",
                 "/api/%s/webhooks/%s/%s" % (api.tenant, w["id"], "x" * 3000)):
        for key in (api.key, None):
            st, hdrs, data = api.call("GET", path, key=key)
            problem("GET %s (%s)" % (path[:80], "key" if key else "no key"), st, hdrs, data, 404)
    # Ids that cannot exist: 404 for the tenant's own key.
    for path in ("/api/%s/webhooks/%s" % (api.tenant, w["id"].lower() + "x"),
                 "/api/%s/webhooks/abcd" % api.tenant, "/api/%s/webhooks/abcdef" % api.tenant,
                 "/api/%s/webhooks/ab%%24cd" % api.tenant, "/api/%s/webhooks/ab-cd" % api.tenant,
                 "/api/%s/webhooks/%s" % (api.tenant, "x" * 3000),
                 "/api/%s/webhooks/%s" % (api.tenant, w["id"][:4] + "%C3%A9")):
        for method in ("GET", "DELETE", "PATCH"):
            st, hdrs, data = api.call(method, path, {"enabled": False} if method == "PATCH"
                                      else None)
            problem("%s %s" % (method, path[:80]), st, hdrs, data, 404)
    # Encoded slashes, NUL and dot segments. With REQUEST_URI the program sees them raw and
    # answers 404; lighttpd rejects some (400) and decodes and normalises the rest before it
    # sets PATH_INFO, so there such a path may name the caller's own list. Never another
    # tenant's data, never a change.
    for path in ("/api/ac%2Fme/webhooks", "/api/%s%%2Fwebhooks" % api.tenant,
                 "/api/%2e%2e/webhooks", "/api/%s%%2F..%%2Fother/webhooks" % api.tenant,
                 "/api/ac%00me/webhooks", "/api/%s%%00/webhooks" % api.tenant,
                 "/api/%s/webhooks/%s%%00" % (api.tenant, w["id"]),
                 "/api/../api/%s/webhooks" % api.tenant,
                 "/api/%s/webhooks/../webhooks" % api.tenant,
                 "/api/%s/../%s/webhooks" % (api.tenant, api.tenant),
                 "/api/%s/webhooks/%%2e%%2e" % api.tenant):
        st, _, data = api.call("GET", path)
        if uri_only and "%00" in path:     # lighttpd refuses control characters itself
            suite.eq(st, 400, "REQUEST_URI routing: GET %s: lighttpd's 400" % path)
        elif uri_only:
            suite.eq(st, 404, "REQUEST_URI routing: GET %s: 404" % path)
        else:
            suite.check(400 <= st < 500 or (st == 200 and h.as_json(data) == [w]),
                        "PATH_INFO routing: GET %s: a 4xx or the caller's own list" % path,
                        "%d %r" % (st, data[:200]))
    # A 64-character tenant is fine (its own key); one more character is not a tenant.
    st, _, data = api.call("GET", "/api/%s/webhooks" % ("t" * 64), key=other_key)
    suite.eq((st, h.as_json(data)), (200, []), "64-character tenant: 200, empty list")

    for method, path, allow in (
            ("DELETE", api.path(), {"GET", "HEAD", "POST"}),
            ("PUT", api.path(), {"GET", "HEAD", "POST"}),
            ("PATCH", api.path(), {"GET", "HEAD", "POST"}),
            ("POST", api.path("/" + w["id"]), {"GET", "HEAD", "PUT", "PATCH", "DELETE"}),
            ("OPTIONS", api.path(), {"GET", "HEAD", "POST"}),
            ("TRACE", api.path("/" + w["id"]), {"GET", "HEAD", "PUT", "PATCH", "DELETE"})):
        for key in (api.key, None):
            st, hdrs, data = api.call(method, path, {"events": ["a"]}, key=key)
            if method == "TRACE" and st in (400, 501):
                continue        # lighttpd answers TRACE itself
            problem("%s %s (%s)" % (method, path, "key" if key else "no key"), st, hdrs, data,
                    405)
            got = {m.strip() for m in hdrs.get("allow", "").split(",") if m.strip()}
            suite.eq(got, allow, "%s %s: Allow" % (method, path))
    suite.eq(api.list(), [w], "hostile paths and wrong methods changed nothing")
    api.call("DELETE", api.path("/" + w["id"]))


def authentication(env, url, tenant):
    """401 / 403 with WWW-Authenticate; scopes per method; revoked keys."""
    full = env.apikey(tenant)
    ro = env.apikey(tenant, "Webhook.Read", label="read-only")
    wo = env.apikey(tenant, "Webhook.Write", label="write-only")
    gone = env.apikey(tenant, label="revoke-me")
    api = Api(url, tenant, full)
    w, _ = api.create_body()
    one = api.path("/" + w["id"])
    patch = {"description": "changed"}

    def chal(what, st, hdrs, data, status, error=None, scope=None):
        if data == b"HEAD":
            suite.eq(st, status, what + ": status")
        else:
            problem(what, st, hdrs, data, status)
        wa = hdrs.get("www-authenticate", "")
        suite.check(wa.startswith("Bearer "), what + ": WWW-Authenticate: Bearer", wa)
        if error:
            suite.check('error="%s"' % error in wa, what + ": error=" + error, wa)
        if scope:
            suite.check('scope="%s"' % scope in wa, what + ": scope=" + scope, wa)

    for method, path, body in (("GET", api.path(), None), ("GET", one, None),
                               ("HEAD", one, None), ("POST", api.path(), patch),
                               ("PUT", one, patch), ("PATCH", one, patch), ("DELETE", one, None)):
        st, hdrs, data = api.call(method, path, body, key=None)
        chal("%s %s without credentials" % (method, path), st, hdrs,
             data if method != "HEAD" else b"HEAD", 401)
        if method == "HEAD":
            suite.eq(data, b"", "HEAD 401: no body")
            continue
        for what, key in (("unknown key", "hs_AAAAAAAAAAAA_" + "B" * 40),
                          ("wrong secret", full[:-1] + ("A" if full[-1] != "A" else "B")),
                          ("malformed key", "not-a-key")):
            st, hdrs, data = api.call(method, path, body, key=key)
            chal("%s %s with %s" % (method, path, what), st, hdrs, data, 401, "invalid_token")
        st, hdrs, data = api.call(method, path, body, {"Authorization": "Basic dTpw"}, key=None)
        chal("%s %s with Basic auth" % (method, path), st, hdrs, data, 401)
        st, hdrs, data = api.call(method, path, body, {"Authorization": "Bearer x.y.z"},
                                  key=None)
        chal("%s %s with a bad bearer token" % (method, path), st, hdrs, data, 401,
             "invalid_token")

    # Scopes: Read-only cannot write, Write-only cannot read.
    for method, path, body in (("POST", api.path(), {"events": ["a"],
                                                     "endpoint": "https://e.example.com/"}),
                               ("PUT", one, {"events": ["a"], "endpoint": "https://e.x.com/"}),
                               ("PATCH", one, patch), ("DELETE", one, None)):
        st, hdrs, data = Api(url, tenant, ro).call(method, path, body)
        chal("read-only key %s" % method, st, hdrs, data, 403, "insufficient_scope",
             "Webhook.Write")
    st, hdrs, data = Api(url, tenant, ro).call("GET", api.path())
    suite.eq((st, h.as_json(data)), (200, [w]), "read-only key: GET list")
    for method, path in (("GET", api.path()), ("GET", one), ("HEAD", one)):
        st, hdrs, data = Api(url, tenant, wo).call(method, path)
        chal("write-only key %s %s" % (method, path), st, hdrs,
             data if method != "HEAD" else b"HEAD", 403, "insufficient_scope", "Webhook.Read")
    st, _, data = Api(url, tenant, wo).call("PATCH", one, {"description": "by write-only"})
    suite.eq(st, 200, "write-only key: PATCH")
    suite.eq(api.get(w["id"])[1]["description"], "by write-only", "write-only key: applied")

    # Revocation: the key worked, is revoked with the CLI, then answers 401.
    gapi = Api(url, tenant, gone)
    suite.eq(gapi.call("GET", api.path())[0], 200, "key before revocation: 200")
    listing = env.cli("apikey", "list", "--tenant", tenant)
    kid = [ln.split()[0] for ln in listing.stdout.splitlines() if ln.endswith("revoke-me")]
    suite.check(len(kid) == 1 and gone.startswith("hs_" + kid[0] + "_"),
                "apikey list shows the key's id", listing.stdout)
    r = env.cli("apikey", "revoke", kid[0] if kid else "x")
    suite.eq(r.returncode, 0, "apikey revoke exits 0")
    for method, path, body in (("GET", api.path(), None), ("PATCH", one, patch)):
        st, hdrs, data = gapi.call(method, path, body)
        chal("revoked key %s" % method, st, hdrs, data, 401, "invalid_token")
    suite.eq(api.list(), [dict(w, description="by write-only")], "rejected calls changed nothing")
    api.call("DELETE", one)
    return full


ENV = None     # the main Env, for suites' helpers that need a key


def tenants(url, a, b):
    """Tenant A's key gets 403 on B's paths, existing id or not; no cross-reading."""
    wa, _ = a.create_body(description="A's")
    wb, _ = b.create_body(description="B's")
    suite.eq([x["id"] for x in a.list()], [wa["id"]], "tenant A lists only its own webhook")
    suite.eq([x["id"] for x in b.list()], [wb["id"]], "tenant B lists only its own webhook")
    as_a_on_b = Api(url, b.tenant, a.key)
    body = {"events": ["a"], "endpoint": "https://e.example.com/"}
    answers = {}
    for wid in (wb["id"], "zzzzz" if wb["id"] != "zzzzz" else "yyyyy"):
        for method, suffix, bd in (("GET", "", None), ("POST", "", body),
                                   ("GET", "/" + wid, None), ("HEAD", "/" + wid, None),
                                   ("PUT", "/" + wid, body), ("PATCH", "/" + wid, body),
                                   ("DELETE", "/" + wid, None)):
            st, hdrs, data = as_a_on_b.call(method, as_a_on_b.path(suffix), bd)
            suite.eq(st, 403, "A's key: %s B%s" % (method, suffix))
            suite.check(wb["signatureSecret"].encode() not in data and b"B's" not in data,
                        "A's key: %s B%s: nothing of B's in the answer" % (method, suffix))
            # The answer must not reveal whether the id exists in B.
            answers.setdefault((method, bool(suffix)), set()).add(
                (st, data.replace(wid.encode(), b"ID"), hdrs.get("www-authenticate")))
    for k, v in answers.items():
        suite.eq(len(v), 1, "A's key on B: %s the same answer for an existing and a missing id"
                 % k[0])
    # B's id under A's own path does not exist for A.
    for method, bd in (("GET", None), ("PUT", body), ("PATCH", body), ("DELETE", None)):
        st, hdrs, data = a.call(method, a.path("/" + wb["id"]), bd)
        if wb["id"] != wa["id"]:
            problem("A's key, B's id under A's path: %s" % method, st, hdrs, data, 404)
    # A tenant whose id extends A's sorts right after A's records: still not in A's list.
    ext = Api(url, a.tenant + "_2", h.Env.apikey(ENV, a.tenant + "_2"))
    wx, _ = ext.create_body(description="ext")
    suite.eq(a.list(), [wa], "tenant %s's list leaves out tenant %s" % (a.tenant, ext.tenant))
    suite.eq(ext.list(), [wx], "tenant %s lists its own" % ext.tenant)
    ext.call("DELETE", ext.path("/" + wx["id"]))
    suite.eq(b.list(), [wb], "B's webhook unchanged by A's attempts")
    suite.eq(a.list(), [wa], "A's webhooks unchanged")
    a.call("DELETE", a.path("/" + wa["id"]))
    b.call("DELETE", b.path("/" + wb["id"]))


# ---------------------------------------------------------------- concurrency

def concurrent_creates(api, threads=8, each=50):
    """threads x each concurrent POSTs: all 200, all ids distinct, all listed."""
    statuses, ids, lock = [], [], threading.Lock()

    def worker(n):
        for i in range(each):
            try:
                st, _, data = api.call("POST", api.path(),
                                       {"events": ["t%d.c%d" % (n, i)],
                                        "endpoint": "https://e.example.com/%d/%d" % (n, i)},
                                       timeout=60)
            except OSError as e:
                st, data = repr(e), b""
            with lock:
                statuses.append(st)
                if st == 200:
                    ids.append(json.loads(data)["id"])

    t0 = time.time()
    ts = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.time() - t0
    bad = [s for s in statuses if s != 200]
    suite.check(not bad, "%d concurrent creates: all 200" % (threads * each),
                "%d failed: %r" % (len(bad), bad[:10]))
    suite.eq(len(set(ids)), threads * each, "concurrent creates: distinct ids")
    listed = api.list()
    suite.eq(sorted(x["id"] for x in listed), sorted(ids), "concurrent creates: all listed")
    suite.eq([x["id"] for x in listed], sorted(x["id"] for x in listed), "list ordered by id")
    suite.check(all(ID_RE.match(i) for i in ids), "concurrent creates: ids well-formed")
    print("api: %d concurrent creates in %.1fs" % (threads * each, elapsed), flush=True)
    for x in listed:
        api.call("DELETE", api.path("/" + x["id"]))


def fcgi_children(parent):
    """Pids of the webhooks.fcgi processes a server (or a pid) started."""
    pid = parent if isinstance(parent, int) else parent.proc.pid
    out = subprocess.run(["pgrep", "-P", str(pid), "-f", "webhooks.fcgi"],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


# ---------------------------------------------------------------- CGI mode

cgi = h.cgi


def cgi_mode(env, key, tenant):
    """The same binary as a CGI program, routed by REQUEST_URI alone."""
    hk = {"HTTP_X_API_KEY": key}
    body = json.dumps({"events": ["cgi"], "endpoint": "https://e.example.com/"}).encode()
    st, hdrs, data, rc, err, _ = cgi(env.conf, "POST", "/api/%s/webhooks" % tenant, body, hk)
    w = h.as_json(data) or {}
    suite.check((st, rc) == (200, 0), "CGI POST via REQUEST_URI only: 200, exit 0",
                 "%r %r %r" % (st, rc, err[-2000:]))
    webhook_shape("CGI POST", w)
    suite.eq(hdrs.get("location"), "/api/%s/webhooks/%s" % (tenant, w.get("id")), "CGI Location")
    st, _, data, rc, err, _ = cgi(env.conf, "GET", "/api/%s/webhooks/%s?x=1&y=%%2F" %
                                  (tenant, w.get("id")), headers=hk)
    suite.eq((st, h.as_json(data)), (200, w), "CGI GET via REQUEST_URI with a query string")
    st, _, data, _, _, _ = cgi(env.conf, "GET", "/api/%s/web%%68ooks" % tenant, headers=hk)
    suite.eq((st, h.as_json(data)), (200, [w]), "CGI GET: REQUEST_URI is percent-decoded")
    st, _, data, _, _, _ = cgi(env.conf, "GET", "/ignored", headers=hk,
                               path_info="/%s/webhooks/%s" % (tenant, w.get("id")))
    suite.eq((st, h.as_json(data)), (200, w), "CGI GET via PATH_INFO (mounted at /api)")
    st, _, data, _, _, _ = cgi(env.conf, "GET", "/ignored", headers=hk,
                               path_info="/api/%s/webhooks" % tenant)
    suite.eq((st, h.as_json(data)), (200, [w]), "CGI GET via PATH_INFO with the base path")
    for uri in ("/api/ac%00me/webhooks", "/api/%s%%00/webhooks" % tenant,
                "/api/%s%%2Fwebhooks" % tenant, "/api/%2e%2e/webhooks",
                "/api/../api/%s/webhooks" % tenant, "/api/%s/webhooks/../webhooks" % tenant,
                "/api/%s/webhooks/%s%%00" % (tenant, w.get("id")), "/api/%zz/webhooks",
                "/api/%s/webhooks/%%" % tenant, "/api/%s/webhooks" % ("x" * 5000),
                "/other/%s/webhooks" % tenant, "api/%s/webhooks" % tenant, ""):
        st, hdrs, data, rc, err, _ = cgi(env.conf, "GET", uri, headers=hk)
        problem("CGI GET %r" % uri[:60], st, hdrs, data, 404)
        suite.eq(rc, 0, "CGI GET %r: exit 0" % uri[:60])
    st, _, data, _, _, _ = cgi(env.conf, "HEAD", "/api/%s/webhooks" % tenant, headers=hk)
    suite.eq((st, data), (200, b""), "CGI HEAD: 200 without a body")
    # A Content-Length over the limit is answered without reading the body.
    st, hdrs, data, rc, err, elapsed = cgi(
        env.conf, "POST", "/api/%s/webhooks" % tenant, b'{"events"',
        dict(hk, CONTENT_LENGTH=str(10 ** 9)), keep_open=True, timeout=10)
    problem("CGI POST with CONTENT_LENGTH 1e9, stdin open", st, hdrs, data, 413)
    suite.check(elapsed < 5, "CGI 413: answered without reading the body", "%.1fs" % elapsed)
    st, _, _, _, _, _ = cgi(env.conf, "DELETE", "/api/%s/webhooks/%s" % (tenant, w.get("id")),
                            headers=hk)
    suite.eq(st, 200, "CGI DELETE")


def unavailable(env):
    """A store that cannot open answers 503 with Retry-After (CGI and FastCGI)."""
    st, hdrs, data, rc, err, _ = cgi(env.conf, "GET", "/api/acme/webhooks",
                                     headers={"HTTP_X_API_KEY": "hs_AAAAAAAAAAAA_" + "B" * 40})
    problem("CGI with a broken db_home", st, hdrs, data, 503)
    suite.check(hdrs.get("retry-after", "").isdigit(), "CGI 503: Retry-After", hdrs)
    srv = h.lighttpd(env, procs=1)
    try:
        for method, body in (("GET", None), ("POST", {"events": ["a"],
                                                      "endpoint": "https://e.example.com/"})):
            st, hdrs, data = h.request(method, srv.url + "/api/acme/webhooks", body,
                                       {"X-API-KEY": "hs_AAAAAAAAAAAA_" + "B" * 40})
            problem("FastCGI %s with a broken db_home" % method, st, hdrs, data, 503)
            suite.check(hdrs.get("retry-after", "").isdigit(), "FastCGI 503: Retry-After", hdrs)
    finally:
        srv.stop()


# ---------------------------------------------------------------- main

def main():
    t0 = time.time()
    global ENV
    env = ENV = h.Env("api", max_webhooks_per_tenant=1000)
    strict = h.Env("api-strict", allow_http_endpoints="no", allow_private_targets="yes",
                   max_webhooks_per_tenant=3, max_body_bytes=4096)
    broken = h.Env("api-broken")
    with open(os.path.join(broken.dir, "not-a-dir"), "w") as f:
        f.write("x")
    broken.write_conf(db_home=os.path.join(broken.dir, "not-a-dir"))
    servers = []
    envs = [env, strict, broken]
    try:
        srv = h.lighttpd(env, procs=2)
        servers.append(srv)
        # A second server on the same database that passes the path only in REQUEST_URI
        # (PATH_INFO empty, like nginx's stock fastcgi_params).
        # Its own scratch directory (lighttpd.conf, sockets, logs), the same database.
        uri_env = h.Env("api-uri", max_webhooks_per_tenant=1000)
        uri_env.write_conf(db_home=env.db, spool_dir=env.spool)
        envs.append(uri_env)
        uri_only = h.lighttpd(uri_env, procs=2, extra="""
server.modules += ( "mod_rewrite" )
url.rewrite-once = ( "^/api/.*" => "/uri-only.fcgi" )
fastcgi.server += ( "/uri-only.fcgi" => ((
    "socket" => var.hookspool_socket + "-uri", "bin-path" => var.hookspool_fcgi,
    "bin-environment" => ( "HOOKSPOOL_CONF" => var.hookspool_conf ),
    "max-procs" => 2, "check-local" => "disable" )) )
""")
        servers.append(uri_only)
        strict_srv = h.lighttpd(strict, procs=2, extra="server.stream-request-body = 2")
        servers.append(strict_srv)
        launcher = fcgi_children(srv)
        suite.eq(len(launcher), 1, "lighttpd runs one webhooks.fcgi, the launcher")
        sup = fcgi_children(launcher[0]) if launcher else []
        suite.eq(len(sup), 1, "the launcher runs one supervisor")
        deadline = time.time() + 5
        while sup and len(fcgi_children(sup[0])) != 2 and time.time() < deadline:
            time.sleep(0.05)
        suite.eq(len(fcgi_children(sup[0])) if sup else 0, 2,
                 "the supervisor runs 2 workers (var.hookspool_procs)")

        key_a = env.apikey("acme")
        key_b = env.apikey("globex")
        key_long = env.apikey("t" * 64)
        a = Api(srv.url, "acme", key_a)
        b = Api(srv.url, "globex", key_b)
        crud_flow(a, "PATH_INFO")
        crud_flow(Api(uri_only.url, "acme", key_a), "REQUEST_URI")
        validation(a)
        sapi = Api(strict_srv.url, "strict", strict.apikey("strict"))
        keep, _ = sapi.create_body()
        for method, path, body in (
                ("POST", sapi.path(), {"events": ["a"], "endpoint": "http://example.com/"}),
                ("PUT", sapi.path("/" + keep["id"]), {"events": ["a"],
                                                      "endpoint": "http://example.com/"}),
                ("PATCH", sapi.path("/" + keep["id"]), {"endpoint": "HTTP://example.com/"})):
            rejected(sapi, "allow_http_endpoints = no: %s http://" % method, method, path,
                     body, 400, "endpoint")
        sapi.call("DELETE", sapi.path("/" + keep["id"]))
        st, _, data = sapi.call("POST", sapi.path(), {"events": ["a"],
                                                      "endpoint": "https://127.0.0.1/x"})
        suite.eq(st, 200, "allow_private_targets = yes: loopback endpoint accepted")
        sapi.call("DELETE", sapi.path("/" + (h.as_json(data) or {}).get("id", "x")))
        w, _ = a.create_body(endpoint="http://example.com/dev")
        suite.eq(w["endpoint"], "http://example.com/dev",
                 "allow_http_endpoints = yes: http:// accepted")
        a.call("DELETE", a.path("/" + w["id"]))
        content_types(a)
        body_limits(a, 65536)
        body_limits(sapi, 4096)
        early_413(sapi, 4096)
        limit_409(sapi, 3)
        routes(a, key_long, False)
        routes(Api(uri_only.url, "acme", key_a), key_long, True)
        authentication(env, srv.url, "initech")
        tenants(srv.url, a, b)
        concurrent_creates(a)
        cgi_mode(env, key_a, "acme")
        unavailable(broken)
    finally:
        for s in servers:
            s.stop()
        # Even when a check above raised: no process of ours may outlive the suite.
        wedged = {os.path.basename(e.dir): h.reap_env_processes(e) for e in envs}
    for name, left in wedged.items():
        suite.check(not left, "every webhooks.fcgi of %s exits when lighttpd stops (none "
                    "wedged)" % name, left)
    for s in servers:
        log = s.log_text() + open(s.errorlog, errors="replace").read()
        bad = [ln for ln in log.splitlines()
               if re.search(r"Sanitizer|runtime error:|DB_RUNRECOVERY|panic", ln)]
        suite.check(not bad, "no sanitizer report or store panic in %s" % s.errorlog, bad[:5])
    r = env.cli("db", "verify")
    suite.eq((r.returncode, r.stdout.strip()), (0, "ok"), "hookspool db verify after it all",)
    for e in envs:
        e.cleanup()
    print("api: %.1fs" % (time.time() - t0), flush=True)
    suite.done()


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:    # an unexpected failure is a failed check, not a crash
        import traceback
        traceback.print_exc()
        suite.check(False, "suite ran to the end", repr(exc))
        suite.done()
