"""www/openapi.json against the real API: every operation and every error
status the document lists is produced by a real request through lighttpd, and
each real response (status, Content-Type, documented headers, body) is checked
against the document, so the two cannot drift apart. Also checks the document
itself: OpenAPI 3.1, every $ref resolves, path parameters declared, only the
JSON Schema keywords the validator below understands."""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

suite = h.Suite("openapi")
DOC_PATH = os.path.join(h.SRC, "www", "openapi.json")
METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")

# ---------------------------------------------------------------------------
# A small JSON Schema validator for the subset the document uses.

ASSERTIONS = {"type", "properties", "required", "additionalProperties", "items", "minItems",
              "maxItems", "minLength", "maxLength", "pattern", "enum", "$ref", "minimum",
              "maximum", "minProperties", "propertyNames"}
ANNOTATIONS = {"description", "examples", "readOnly", "default", "title"}


class Doc:
    def __init__(self, doc):
        self.doc = doc

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise KeyError("not a local $ref: " + ref)
        node = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[part]
        return node

    def deref(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            node = self.resolve(node["$ref"])
            seen += 1
            if seen > 20:
                raise KeyError("$ref loop")
        return node


def type_ok(value, t):
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "null": value is None,
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
    }[t]


def validate(doc, schema, value, where="$"):
    """Returns a list of error strings (empty if value conforms)."""
    errs = []
    if "$ref" in schema:
        errs += validate(doc, doc.resolve(schema["$ref"]), value, where)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(type_ok(value, t) for t in types):
            return errs + ["%s: %r is not of type %s" % (where, value, types)]
    if "enum" in schema and value not in schema["enum"]:
        errs.append("%s: %r not in %r" % (where, value, schema["enum"]))
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errs.append("%s: shorter than %d" % (where, schema["minLength"]))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errs.append("%s: longer than %d" % (where, schema["maxLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errs.append("%s: %r does not match %s" % (where, value[:80], schema["pattern"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errs.append("%s: below %r" % (where, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            errs.append("%s: above %r" % (where, schema["maximum"]))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errs.append("%s: fewer than %d items" % (where, schema["minItems"]))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errs.append("%s: more than %d items" % (where, schema["maxItems"]))
        if "items" in schema:
            for i, item in enumerate(value):
                errs += validate(doc, schema["items"], item, "%s[%d]" % (where, i))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errs.append("%s: missing required member %r" % (where, name))
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            errs.append("%s: fewer than %d members" % (where, schema["minProperties"]))
        for name, v in value.items():
            if "propertyNames" in schema:
                errs += validate(doc, schema["propertyNames"], name, "%s{%s}" % (where, name))
            if name in props:
                errs += validate(doc, props[name], v, "%s.%s" % (where, name))
            elif schema.get("additionalProperties") is False:
                errs.append("%s: unexpected member %r" % (where, name))
            elif isinstance(schema.get("additionalProperties"), dict):
                errs += validate(doc, schema["additionalProperties"], v, "%s.%s" % (where, name))
    return errs


def walk(node, path="#"):
    """Yields (json-pointer-ish path, dict) for every object in the document."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, path + "/" + k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, "%s/%d" % (path, i))


def schema_nodes(doc):
    """Every schema object in the document (components/schemas, parameter, header, media type)."""
    out = []

    def sub(s, where):
        if not isinstance(s, dict):
            return
        out.append((where, s))
        for k in ("items", "additionalProperties", "propertyNames"):
            if isinstance(s.get(k), dict):
                sub(s[k], where + "/" + k)
        for name, p in s.get("properties", {}).items():
            sub(p, where + "/properties/" + name)

    for name, s in doc["components"]["schemas"].items():
        sub(s, "#/components/schemas/" + name)
    for where, node in walk(doc):
        if "schema" in node and not where.startswith("#/components/schemas"):
            sub(node["schema"], where + "/schema")
    return out


# ---------------------------------------------------------------------------
# The document itself.

with open(DOC_PATH, encoding="utf-8") as f:
    raw = json.load(f)
doc = Doc(raw)

suite.check(str(raw.get("openapi", "")).startswith("3.1."), "openapi is 3.1.x", raw.get("openapi"))
suite.check(raw.get("info", {}).get("title") and raw.get("info", {}).get("version"),
            "info has title and version")
suite.eq([s.get("url") for s in raw.get("servers", [])], ["/"], "one server: the same origin")
suite.check(all(t.startswith("/api/") for t in raw["paths"]),
            "paths are written as the API is called, under /api", list(raw["paths"]))
bad_refs = []
for where, node in walk(raw):
    if "$ref" in node:
        try:
            doc.resolve(node["$ref"])
        except (KeyError, IndexError, TypeError):
            bad_refs.append("%s -> %s" % (where, node["$ref"]))
suite.eq(bad_refs, [], "every $ref resolves")
unknown_kw = ["%s: %s" % (w, k) for w, s in schema_nodes(raw) for k in s
              if k not in ASSERTIONS | ANNOTATIONS]
suite.eq(unknown_kw, [], "schemas use only keywords this validator checks")
bad_patterns = []
for w, s in schema_nodes(raw):
    if "pattern" in s:
        try:
            re.compile(s["pattern"])
        except re.error as e:
            bad_patterns.append("%s: %s" % (w, e))
suite.eq(bad_patterns, [], "every pattern compiles")

# Redocly's linter with its strictest ruleset (tests/deps.d/openapi.sh installs it).
TOOLS = os.path.join(h.SRC, "tests", "openapi", "node_modules", ".bin")
redocly = os.path.join(TOOLS, "redocly")
if suite.check(os.access(redocly, os.X_OK), "Redocly CLI is installed (tests/deps.d/openapi.sh)"):
    lint = subprocess.run([redocly, "lint", "--extends", "recommended-strict", "--format", "stylish",
                           DOC_PATH], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true"))
    suite.eq(lint.returncode, 0, "redocly lint --extends recommended-strict: no problems (%s)"
             % (lint.stdout + lint.stderr)[-3000:])

schemes = raw["components"]["securitySchemes"]
suite.eq(schemes.get("apiKey"), {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                                 "description": schemes.get("apiKey", {}).get("description")},
         "apiKey scheme: header X-API-KEY")
implicit = schemes.get("oauth2", {}).get("flows", {}).get("implicit", {})
suite.check(schemes.get("oauth2", {}).get("type") == "oauth2" and
            implicit.get("authorizationUrl", "").startswith("https://"),
            "oauth2 scheme with an implicit flow and an authorization URL")
suite.eq(sorted(implicit.get("scopes", {})), ["Webhook.Read", "Webhook.Write"], "oauth2 scopes")

op_ids = []
for tmpl, item in raw["paths"].items():
    params = {doc.deref(p)["name"] for p in item.get("parameters", [])
              if doc.deref(p).get("in") == "path"}
    suite.eq(params, set(re.findall(r"\{(\w+)\}", tmpl)), "path parameters of %s declared" % tmpl)
    suite.check("x-hookspool-other-methods" in item, "%s documents its 405" % tmpl)
    for m in METHODS:
        op = item.get(m)
        if op is None:
            continue
        op_ids.append(op.get("operationId"))
        suite.check(op.get("responses") and ("200" in op["responses"] or "202" in op["responses"]),
                    "%s %s documents a 200 (or a 202)" % (m.upper(), tmpl))
        for req in op.get("security", []):
            for name, scopes in req.items():
                suite.check(name in schemes, "%s %s: security scheme %s exists" % (m, tmpl, name))
                want = "Webhook.Read" if m in ("get", "head") else "Webhook.Write"
                if schemes.get(name, {}).get("type") == "oauth2":
                    suite.eq(scopes, [want], "%s %s needs %s" % (m.upper(), tmpl, want))
        if m in ("post", "put", "patch") and tmpl.endswith(("/redeliver", "/ping")):
            # redeliver and ping take no body (one sent is ignored).
            suite.check("requestBody" not in op, "%s %s documents no request body" % (m.upper(), tmpl))
        elif m in ("post", "put", "patch"):
            # rotate-secret's body is optional (its overlapSeconds has a default).
            optional = tmpl.endswith("/rotate-secret")
            suite.check(op.get("requestBody", {}).get("required") is (not optional),
                        "%s %s has a %s request body" % (m.upper(), tmpl,
                                                         "optional" if optional else "required"))
# Examples, so that tools that build requests from the document (Dredd, Prism's mock) can.
for tmpl, item in raw["paths"].items():
    for p in item.get("parameters", []):
        p = doc.deref(p)
        suite.check("example" in p and validate(doc, p["schema"], p["example"]) == [],
                    "%s: parameter %s has an example that fits its schema" % (tmpl, p["name"]))
    for m in METHODS:
        for mt, media in ((item.get(m) or {}).get("requestBody", {}).get("content", {})).items():
            suite.check("example" in media and validate(doc, media["schema"], media["example"]) == [],
                        "%s %s: the %s body has an example that fits its schema" % (m.upper(), tmpl, mt))
suite.eq(len(op_ids), len(set(op_ids)), "operationIds are unique")
suite.eq(sorted(op_ids), sorted(["listWebhooks", "headWebhooks", "createWebhook", "getWebhook",
                                 "headWebhook", "replaceWebhook", "patchWebhook", "deleteWebhook",
                                 "rotateWebhookSecret", "listDeliveries", "headDeliveries",
                                 "getDelivery", "headDelivery", "redeliver", "pingWebhook"]),
         "the operations of SPEC sections 1 and 1.1 (plus HEAD) are documented")
# The router's table (src/api/router.c) is the list of what is implemented: a
# route added there without a description here fails this check.
with open(os.path.join(h.SRC, "src", "api", "router.c"), encoding="utf-8") as f:
    router_src = f.read()
table = router_src[router_src.index("routes[] = {"):]
table = table[:table.index("};")]
implemented = {}
for segs, bits in re.findall(r'\{\s*ROUTE_\w+\s*,\s*\{((?:\s*"[^"]*"\s*,?)*)\s*\}\s*,\s*([A-Z_|\s]+)\}', table):
    tmpl = "/api/{tenantId}/" + "/".join(re.findall(r'"([^"]+)"', segs))
    implemented[tmpl] = sorted(b.strip()[len("METHOD_"):].lower() for b in bits.split("|"))
suite.check(len(implemented) >= 2, "the router's route table was read", implemented)
documented = {t: sorted(m for m in METHODS if m in item) for t, item in raw["paths"].items()}
suite.eq(documented, implemented, "the document lists exactly the router's routes and methods")

wh = raw["components"]["schemas"]["WebHookWithId"]
suite.eq(sorted(wh["properties"]), sorted(["id", "description", "events", "endpoint", "enabled",
                                           "signatureSecret", "disabledReason", "disabledAt"]),
         "WebHookWithId has the six members, and the two a webhook the sender disabled adds")
suite.check(wh.get("additionalProperties") is False and
            sorted(wh.get("required", [])) == sorted(["id", "description", "events", "endpoint",
                                                      "enabled", "signatureSecret"]),
            "WebHookWithId: the six required, disabledReason and disabledAt optional, nothing else")

# ---------------------------------------------------------------------------
# Real responses against the document.

BASE = raw["servers"][0]["url"].rstrip("/")
seen = set()            # (operationId or "405 <template>", status)


def find_path(path):
    """(template, path item) for a request path under the base, or (None, None)."""
    if not path.startswith(BASE + "/"):
        return None, None
    rest = path[len(BASE):].split("?")[0]
    for tmpl, item in raw["paths"].items():
        rx = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(tmpl)) + "$"
        if re.match(rx, rest):
            return tmpl, item
    return None, None


def media_type(ct):
    return (ct or "").split(";")[0].strip().lower()


def conform(what, method, path, status, headers, body):
    """Checks one real response against the document."""
    tmpl, item = find_path(path)
    if not suite.check(item is not None, "%s: path %s is documented" % (what, path)):
        return
    op = item.get(method.lower())
    if op is None:
        resp = doc.deref(item["x-hookspool-other-methods"])
        key = "405 " + tmpl
        suite.eq(status, 405, "%s: an undocumented method answers 405" % what)
        allowed = [m.upper() for m in METHODS if m in item]
        suite.eq(sorted(x.strip() for x in headers.get("allow", "").split(",")), sorted(allowed),
                 "%s: Allow lists exactly the documented methods" % what)
    else:
        key = op["operationId"]
        if not suite.check(str(status) in op["responses"],
                           "%s: status %d is documented for %s" % (what, status, key),
                           "documented: %s" % sorted(op["responses"])):
            return
        resp = doc.deref(op["responses"][str(status)])
    seen.add((key, status))
    for name, hdr in resp.get("headers", {}).items():
        hdr = doc.deref(hdr)
        value = headers.get(name.lower())
        if hdr.get("required"):
            if not suite.check(value is not None, "%s: header %s present" % (what, name)):
                continue
        if value is not None and "schema" in hdr:
            errs = validate(doc, hdr["schema"], value)
            suite.eq(errs, [], "%s: header %s matches its schema" % (what, name))
    content = resp.get("content")
    if not content:
        suite.eq((headers.get("content-type"), body), (None, b""),
                 "%s: no body and no Content-Type, as documented" % what)
        return
    mt = media_type(headers.get("content-type"))
    if not suite.check(mt in content, "%s: Content-Type %s is documented" % (what, mt),
                       "documented: %s" % sorted(content)):
        return
    # RFC 8259 and RFC 9457 define no parameters for these media types: JSON is UTF-8.
    suite.eq(headers.get("content-type"), mt,
             "%s: Content-Type is the bare media type, no charset parameter" % what)
    if method == "HEAD":
        suite.eq(body, b"", "%s: HEAD has no body" % what)
        return
    schema = content[mt].get("schema")
    if not suite.check(schema is not None, "%s: a schema is documented for %s" % (what, mt)):
        return
    value = h.as_json(body)
    if not suite.check(value is not None, "%s: body is JSON" % what, body[:200]):
        return
    suite.eq(validate(doc, schema, value), [], "%s: body validates against the schema" % what)


PRISM = os.path.join(TOOLS, "prism")
proxies = {}            # a server's URL -> the Prism validating proxy in front of it


def prism_proxy(upstream, env):
    """Stoplight Prism's validating proxy for upstream: it forwards every request and
    names what breaks the document in an sl-violations header."""
    port = h.free_port()
    srv = h.Server([PRISM, "proxy", DOC_PATH, upstream.url, "--host", "127.0.0.1",
                    "--port", str(port), "--errors", "false"],
                   port, os.path.join(env.dir, "prism-%d.log" % port))
    proxies[upstream.url] = srv
    return srv


def call(what, method, url_path, srv, body=None, headers=None, want=None, direct=False):
    """One request, sent through Prism in front of srv: the response must satisfy Prism
    (no violation located in the response) and the checks below. Two kinds go straight
    to srv, since Prism 5 answers them itself instead of forwarding: HEAD (a 500 from
    Prism) and a body that is not JSON (direct=True)."""
    proxy = None if direct or method == "HEAD" else proxies.get(srv.url)
    status, hdrs, data = h.request(method, (proxy or srv).url + url_path, body=body,
                                   headers=headers)
    if proxy is not None:
        try:
            violations = json.loads(hdrs.pop("sl-violations", "[]"))
        except ValueError:
            violations = ["unparsable sl-violations header"]
        in_response = [v for v in violations
                       if not isinstance(v, dict) or (v.get("location") or [""])[0] != "request"]
        suite.eq(in_response, [], "%s: Prism finds the response conforms" % what)
    if want is not None:
        suite.eq(status, want, "%s: status" % what)
    conform(what, method, url_path, status, hdrs, data)
    return status, hdrs, data


def request_body_ok(method, tmpl, content_type, body):
    op = raw["paths"][tmpl][method.lower()]
    schema = op["requestBody"]["content"][content_type]["schema"]
    return validate(doc, schema, body)


def full_disk_env():
    """A scratch environment whose db_home is on a small tmpfs, filled up afterwards by
    fill_disk (writes are refused below 1 MiB free: 507)."""
    e = h.Env("openapi-full")
    e.fs = os.path.join(e.dir, "fs")
    os.makedirs(e.fs)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", e.fs], check=True)
    e.write_conf(db_home=os.path.join(e.fs, "db"))
    return e


def fill_disk(e):
    """Leaves less than 1 MiB free on e's tmpfs."""
    st = os.statvfs(e.fs)
    with open(os.path.join(e.fs, "filler"), "wb") as f:
        f.write(b"\0" * (st.f_bavail * st.f_frsize - 512 * 1024))


env = h.Env("openapi", max_webhooks_per_tenant=3)
broken = h.Env("openapi-broken")
full = full_disk_env()
with open(broken.conf, "a") as f:
    f.write("no_such_setting = 1\n")
servers = []
try:
    srv = h.lighttpd(env)
    servers.append(srv)
    bad = h.lighttpd(broken)
    servers.append(bad)
    full_srv = h.lighttpd(full)
    servers.append(full_srv)
    if suite.check(os.access(PRISM, os.X_OK), "Prism is installed (tests/deps.d/openapi.sh)"):
        servers.append(prism_proxy(srv, env))
        servers.append(prism_proxy(bad, broken))
        servers.append(prism_proxy(full_srv, full))
    key = env.apikey("acme")
    ro_key = env.apikey("acme", scopes="Webhook.Read", label="read-only")
    wo_key = env.apikey("acme", scopes="Webhook.Write", label="write-only")
    other_key = env.apikey("other")
    full_key = env.apikey("full")
    K = {"X-API-KEY": key}
    RO = {"X-API-KEY": ro_key}
    WO = {"X-API-KEY": wo_key}
    OTHER = {"X-API-KEY": other_key}
    MERGE = {"X-API-KEY": key, "Content-Type": "application/merge-patch+json"}
    LIST, ONE = "/api/{tenantId}/webhooks", "/api/{tenantId}/webhooks/{id}"

    # The document is served next to the UI.
    status, hdrs, data = h.request("GET", srv.url + "/openapi.json")
    suite.eq(status, 200, "GET /openapi.json is served")
    suite.eq(media_type(hdrs.get("content-type")), "application/json", "openapi.json media type")
    suite.eq(h.as_json(data), raw, "served openapi.json is the file")

    # --- 200s, with request bodies that the document accepts too.
    create = {"description": "CRM sync", "events": ["Pass:Created", "Customer:*"],
              "endpoint": "https://crm.example.com/hooks"}
    suite.eq(request_body_ok("POST", LIST, "application/json", create), [],
             "the create body validates against the request schema")
    s, hd, b = call("create", "POST", "/api/acme/webhooks", srv, create, K, 200)
    created = h.as_json(b) or {}
    wid = created.get("id", "xxxxx")
    suite.eq(hd.get("location"), "/api/acme/webhooks/" + wid, "Location names the new webhook")
    call("create (text/json)", "POST", "/api/acme/webhooks", srv,
         json.dumps({"events": ["*"], "endpoint": "https://b.example.com/", "enabled": False}),
         {"X-API-KEY": key, "Content-Type": "text/json; charset=utf-8"}, 200)
    call("list", "GET", "/api/acme/webhooks", srv, headers=K, want=200)
    call("list (read-only key)", "GET", "/api/acme/webhooks", srv, headers=RO, want=200)
    call("head list", "HEAD", "/api/acme/webhooks", srv, headers=K, want=200)
    call("get", "GET", "/api/acme/webhooks/" + wid, srv, headers=K, want=200)
    call("head one", "HEAD", "/api/acme/webhooks/" + wid, srv, headers=K, want=200)
    replace = {"description": None, "events": ["Pass:*"], "endpoint": "https://crm.example.com/v2"}
    suite.eq(request_body_ok("PUT", ONE, "application/json", replace), [],
             "the replace body validates against the request schema")
    call("replace", "PUT", "/api/acme/webhooks/" + wid, srv, replace, K, 200)
    patch = {"enabled": False, "description": "paused"}
    suite.eq(request_body_ok("PATCH", ONE, "application/merge-patch+json", patch), [],
             "the merge patch validates against the request schema")
    s, hd, b = call("patch", "PATCH", "/api/acme/webhooks/" + wid, srv, patch, MERGE, 200)
    suite.eq((h.as_json(b) or {}).get("signatureSecret"), created.get("signatureSecret"),
             "the secret is unchanged by PUT and PATCH")
    call("patch (application/json)", "PATCH", "/api/acme/webhooks/" + wid, srv,
         {"description": None}, K, 200)

    # --- 400: the server's refusals are refusals of the document's schemas too.
    long_ep = "https://example.com/" + "a" * (2049 - len("https://example.com/"))
    invalid = [
        ("events empty", {"events": [], "endpoint": "https://a.example.com/"}, "events"),
        ("51 events", {"events": ["e%d" % i for i in range(51)],
                       "endpoint": "https://a.example.com/"}, "events"),
        ("pattern with a space", {"events": ["Pass Created"],
                                  "endpoint": "https://a.example.com/"}, "events"),
        ("pattern of 129 characters", {"events": ["a" * 129],
                                       "endpoint": "https://a.example.com/"}, "events"),
        ("events not an array", {"events": "Pass:Created", "endpoint": "https://a.example.com/"},
         "events"),
        ("events missing", {"endpoint": "https://a.example.com/"}, "events"),
        ("endpoint missing", {"events": ["*"]}, "endpoint"),
        ("endpoint ftp", {"events": ["*"], "endpoint": "ftp://a.example.com/"}, "endpoint"),
        ("endpoint relative", {"events": ["*"], "endpoint": "/hooks"}, "endpoint"),
        ("endpoint fragment", {"events": ["*"], "endpoint": "https://a.example.com/#x"},
         "endpoint"),
        ("endpoint with a space", {"events": ["*"], "endpoint": "https://a.example.com/a b"},
         "endpoint"),
        ("endpoint of 2049 characters", {"events": ["*"], "endpoint": long_ep}, "endpoint"),
        ("endpoint a number", {"events": ["*"], "endpoint": 5}, "endpoint"),
        ("description of 1025 characters", {"events": ["*"], "endpoint": "https://a.example.com/",
                                            "description": "d" * 1025}, "description"),
        ("description a number", {"events": ["*"], "endpoint": "https://a.example.com/",
                                  "description": 7}, "description"),
        ("enabled a string", {"events": ["*"], "endpoint": "https://a.example.com/",
                              "enabled": "yes"}, "enabled"),
    ]
    for name, body, member in invalid:
        s, hd, b = call("create, " + name, "POST", "/api/acme/webhooks", srv, body, K, 400)
        errors = (h.as_json(b) or {}).get("errors", {})
        suite.check(member in errors, "create, %s: errors names %s" % (name, member), errors)
        suite.check(request_body_ok("POST", LIST, "application/json", body) != [],
                    "create, %s: the document's schema refuses it too" % name)
    # Valid at the edges: the server and the document both accept them.
    edges = [
        ("50 events", {"events": ["e%d" % i for i in range(50)],
                       "endpoint": "https://a.example.com/"}),
        ("pattern of 128 characters", {"events": ["a" * 128],
                                       "endpoint": "https://a.example.com/"}),
        ("description of 1024 characters", {"events": ["*"], "endpoint": "https://a.example.com/",
                                            "description": "\u00e9" * 1024}),
        ("endpoint of 2048 characters", {"events": ["*"], "endpoint": long_ep[:-1]}),
        ("every pattern character", {"events": ["Az09._:*-"], "endpoint": "https://a.example.com/"}),
    ]
    for name, body in edges:
        suite.eq(request_body_ok("POST", LIST, "application/json", body), [],
                 "create, %s: the document's schema accepts it" % name)
        s, hd, b = call("create, " + name, "POST", "/api/edge/webhooks", srv, body,
                        {"X-API-KEY": env.apikey("edge")}, 200)
        made = h.as_json(b) or {}
        if made.get("id"):
            h.request("DELETE", srv.url + "/api/edge/webhooks/" + made["id"],
                      headers={"X-API-KEY": env.apikey("edge")})
    call("create, malformed JSON", "POST", "/api/acme/webhooks", srv, "{\"events\":", K, 400,
         direct=True)
    call("create, a JSON array", "POST", "/api/acme/webhooks", srv, "[]", K, 400)
    s, hd, b = call("replace, events missing", "PUT", "/api/acme/webhooks/" + wid, srv,
                    {"endpoint": "https://a.example.com/"}, K, 400)
    s, hd, b = call("patch, enabled null", "PATCH", "/api/acme/webhooks/" + wid, srv,
                    {"enabled": None}, MERGE, 400)
    suite.check(request_body_ok("PATCH", ONE, "application/merge-patch+json",
                                {"enabled": None}) != [],
                "patch, enabled null: the document's schema refuses it too")

    # --- rotate-secret: with and without a body, and its 400s.
    ROT = "/api/acme/webhooks/%s/rotate-secret" % wid
    call("rotate-secret", "POST", ROT, srv, {"overlapSeconds": 3600}, K, 200)
    call("rotate-secret, overlap 0", "POST", ROT, srv, {"overlapSeconds": 0}, K, 200)
    call("rotate-secret, no body", "POST", ROT, srv, None, K, 200)
    s, hd, b = call("rotate-secret, overlap too long", "POST", ROT, srv,
                    {"overlapSeconds": 604801}, K, 400)
    suite.check("overlapSeconds" in ((h.as_json(b) or {}).get("errors") or {}),
                "rotate-secret, overlap too long: errors names overlapSeconds")
    suite.check(request_body_ok("POST", "/api/{tenantId}/webhooks/{id}/rotate-secret",
                                "application/json", {"overlapSeconds": 604801}) != [],
                "rotate-secret, overlap too long: the document's schema refuses it too")
    call("rotate-secret, malformed JSON", "POST", ROT, srv, '{"overlapSeconds":', K, 400,
         direct=True)
    call("rotate-secret, unknown id", "POST", ROT.replace(wid, "zzzzz" if wid != "zzzzz"
                                                           else "yyyyy"), srv, None, K, 404)
    call("GET on rotate-secret", "GET", ROT, srv, None, K, 405)

    # --- Delivery operations (no sender runs here: a ping's delivery stays pending).
    _, _, b = call("create for deliveries", "POST", "/api/acme/webhooks", srv, create, K, 200)
    dw = (h.as_json(b) or {}).get("id", "zzzzz")
    DL = "/api/acme/webhooks/%s/deliveries" % dw
    PING = "/api/acme/webhooks/%s/ping" % dw
    _, hd, b = call("ping", "POST", PING, srv, None, K, 202)
    did = (h.as_json(b) or {}).get("deliveryId", "0" * 32)
    call("ping again", "POST", PING, srv, None, K, 202)
    call("list deliveries", "GET", DL, srv, None, K, 200)
    call("list deliveries (read-only key)", "GET", DL + "?status=pending", srv, None, RO, 200)
    _, hd, _ = call("list deliveries, one a page", "GET", DL + "?limit=1", srv, None, K, 200)
    suite.check("link" in hd, "list deliveries, one a page: a Link to the next")
    call("head deliveries", "HEAD", DL + "?limit=1", srv, None, K, 200)
    call("get delivery", "GET", DL + "/" + did, srv, None, K, 200)
    call("head delivery", "HEAD", DL + "/" + did, srv, None, K, 200)
    call("redeliver", "POST", DL + "/" + did + "/redeliver", srv, None, K, 202)
    for q in ("status=bogus", "limit=0", "cursor=zz"):
        _, _, b = call("list deliveries ?" + q, "GET", DL + "?" + q, srv, None, K, 400)
        suite.eq(sorted((h.as_json(b) or {}).get("errors", {})), [q.split("=")[0]],
                 "list deliveries ?%s: errors names the parameter" % q)
    call("head deliveries ?limit=0", "HEAD", DL + "?limit=0", srv, None, K, 400)
    call("get another's delivery", "GET", "/api/acme/webhooks/%s/deliveries/%s" % (wid, did), srv,
         None, K, 404)
    call("redeliver an unknown delivery", "POST", DL + "/" + "0" * 32 + "/redeliver", srv, None,
         K, 404)
    call("ping an unknown webhook", "POST", "/api/acme/webhooks/zzzzz/ping", srv, None, K, 404)
    call("list an unknown webhook's deliveries", "GET", "/api/acme/webhooks/zzzzz/deliveries", srv,
         None, K, 404)
    call("disable for deliveries", "PATCH", "/api/acme/webhooks/" + dw, srv, {"enabled": False},
         MERGE, 200)
    call("ping a disabled webhook", "POST", PING, srv, None, K, 409)
    call("redeliver to a disabled webhook", "POST", DL + "/" + did + "/redeliver", srv, None, K,
         409)
    call("POST on deliveries", "POST", DL, srv, None, K, 405)
    call("DELETE on a delivery", "DELETE", DL + "/" + did, srv, None, K, 405)
    call("GET on redeliver", "GET", DL + "/" + did + "/redeliver", srv, None, K, 405)
    call("GET on ping", "GET", PING, srv, None, K, 405)

    # --- 401, 403, 404 for every operation.
    ops = [("GET", "/api/acme/webhooks", None), ("HEAD", "/api/acme/webhooks", None),
           ("POST", "/api/acme/webhooks", create), ("GET", "/api/acme/webhooks/" + wid, None),
           ("HEAD", "/api/acme/webhooks/" + wid, None), ("PUT", "/api/acme/webhooks/" + wid, replace),
           ("PATCH", "/api/acme/webhooks/" + wid, patch), ("DELETE", "/api/acme/webhooks/" + wid, None),
           ("POST", "/api/acme/webhooks/%s/rotate-secret" % wid, {"overlapSeconds": 60}),
           ("GET", DL, None), ("HEAD", DL, None), ("GET", DL + "/" + did, None),
           ("HEAD", DL + "/" + did, None), ("POST", DL + "/" + did + "/redeliver", None),
           ("POST", PING, None)]
    for method, path, body in ops:
        label = "%s %s" % (method, path.replace(wid, "{id}").replace(dw, "{id}").replace(did, "{deliveryId}"))
        call(label + " without credentials", method, path, srv, body, None, 401)
        call(label + " with an unknown key", method, path, srv, body,
             {"X-API-KEY": "hs_nope_nope"}, 401)
        call(label + " with a bad bearer token", method, path, srv, body,
             {"Authorization": "Bearer not.a.token"}, 401)
        s, hd, b = call(label + " with two kinds of credentials", method, path, srv, body,
                        {"X-API-KEY": key, "Authorization": "Bearer not.a.token"}, 400)
        suite.check('error="invalid_request"' in hd.get("www-authenticate", ""),
                    label + " with two kinds of credentials: error=invalid_request")
        call(label + " for another tenant", method, path, srv, body, OTHER, 403)
        scope_key = WO if method in ("GET", "HEAD") else RO
        s, hd, b = call(label + " without the scope", method, path, srv, body, scope_key, 403)
        suite.check("insufficient_scope" in hd.get("www-authenticate", ""),
                    label + " without the scope: error=insufficient_scope")
        bad_tenant = path.replace("/api/acme/", "/api/no.such.tenant/")
        call(label + " with an invalid tenant", method, bad_tenant, srv, body, K, 404)
        if path.endswith(wid):
            call(label + " unknown id", method, path.replace(wid, "zzzzz" if wid != "zzzzz"
                                                             else "yyyyy"), srv, body, K, 404)
        call(label + " on a broken server", method, path, bad, body, K, 503)

    # --- 507 for every write on a full disk (reads go on).
    FK = {"X-API-KEY": full.apikey("acme")}
    _, _, b = call("create before the disk is full", "POST", "/api/acme/webhooks", full_srv,
                   create, FK, 200)
    fid = (h.as_json(b) or {}).get("id", "zzzzz")
    _, _, b = call("ping before the disk is full", "POST", "/api/acme/webhooks/%s/ping" % fid,
                   full_srv, None, FK, 202)
    fdid = (h.as_json(b) or {}).get("deliveryId", "0" * 32)
    fill_disk(full)
    call("GET the list on a full disk", "GET", "/api/acme/webhooks", full_srv, None, FK, 200)
    for method, path, body in (("POST", "/api/acme/webhooks", create),
                               ("PUT", "/api/acme/webhooks/" + fid, replace),
                               ("PATCH", "/api/acme/webhooks/" + fid, patch),
                               ("POST", "/api/acme/webhooks/%s/rotate-secret" % fid, None),
                               ("DELETE", "/api/acme/webhooks/" + fid, None)):
        call("%s on a full disk" % method, method, path, full_srv, body, FK, 507)
    call("ping on a full disk", "POST", "/api/acme/webhooks/%s/ping" % fid, full_srv, None, FK, 507)
    call("redeliver on a full disk", "POST", "/api/acme/webhooks/%s/deliveries/%s/redeliver"
         % (fid, fdid), full_srv, None, FK, 507)

    # --- 405 on both paths.
    call("POST on a webhook", "POST", "/api/acme/webhooks/" + wid, srv, create, K, 405)
    call("DELETE on the list", "DELETE", "/api/acme/webhooks", srv, None, K, 405)

    # --- 409, 413, 415.
    F = {"X-API-KEY": full_key}
    for i in range(3):
        call("fill tenant %d" % i, "POST", "/api/full/webhooks", srv, create, F, 200)
    call("create beyond the limit", "POST", "/api/full/webhooks", srv, create, F, 409)
    big = json.dumps({"events": ["*"], "endpoint": "https://a.example.com/",
                      "description": "x" * 70000})
    for method, path in (("POST", "/api/acme/webhooks"), ("PUT", "/api/acme/webhooks/" + wid),
                         ("PATCH", "/api/acme/webhooks/" + wid),
                         ("POST", "/api/acme/webhooks/%s/rotate-secret" % wid)):
        call("%s too large" % method, method, path, srv, big, K, 413)
        call("%s text/plain" % method, method, path, srv, json.dumps(create),
             {"X-API-KEY": key, "Content-Type": "text/plain"}, 415)
        call("%s form" % method, method, path, srv, "a=b",
             {"X-API-KEY": key, "Content-Type": "application/x-www-form-urlencoded"}, 415)

    call("delete", "DELETE", "/api/acme/webhooks/" + wid, srv, None, K, 200)
    call("get after delete", "GET", "/api/acme/webhooks/" + wid, srv, None, K, 404)

    # --- Every documented response was produced by a real request.
    for tmpl, item in raw["paths"].items():
        for m in METHODS:
            if m in item:
                for st in item[m]["responses"]:
                    suite.check((item[m]["operationId"], int(st)) in seen,
                                "%s %s: documented %s was seen for real" % (m.upper(), tmpl, st))
        suite.check(("405 " + tmpl, 405) in seen, "%s: 405 was seen for real" % tmpl)
finally:
    for s in servers:
        s.stop()
    env.cleanup()
    broken.cleanup()
    subprocess.run(["umount", "-l", full.fs])
    full.cleanup()
suite.done()
