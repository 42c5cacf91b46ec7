#!/usr/bin/env python3
"""Checks a running plutchik HTTP gateway against its own OpenAPI document.

Usage: check-api.py BASE_URL TENANT TENANT_KEY ALL_TENANTS_KEY

Sends good and bad requests to POST /v1/analyze and validates every response, whatever its status,
against the schema /openapi.json gives for that status (JSON Schema 2020-12, the $refs to the turn
and event schemas fetched from the same server). The server must run with a small
--http-max-in-flight (4) so that 429 can be reached. Exits 1 on the first failure.
"""
import json
import sys
import threading
import urllib.error
import urllib.request

import jsonschema

base, tenant, tenant_key, all_key = sys.argv[1:5]


def call(path, body=None, headers=None, method=None):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method or ("POST" if data is not None else "GET"))
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


status, _, raw = call("/openapi.json")
assert status == 200, status
doc = json.loads(raw)
docs = {name: json.loads(call("/" + name)[2]) for name in ("turn.schema.json", "emotion-event.schema.json", "escalation-alert.schema.json")}


def inline(node, root):
    """The schema with every $ref replaced by what it points at (in `root`, or another document)."""
    if isinstance(node, list):
        return [inline(n, root) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name, _, pointer = node["$ref"].partition("#")
        target = docs[name] if name else root
        base = target
        for part in pointer.split("/")[1:] if pointer else []:
            target = target[part.replace("~1", "/").replace("~0", "~")]
        return inline({k: v for k, v in target.items() if k not in ("$id", "$schema")}, base)
    return {k: inline(v, root) for k, v in node.items()}


operation = doc["paths"]["/v1/analyze"]["post"]
checked = {}


def expect(name, status, headers, raw, want):
    assert status == want, f"{name}: status {status}, expected {want}: {raw[:300]!r}"
    schema = inline(operation["responses"][str(status)]["content"]["application/json"]["schema"], doc)
    body = json.loads(raw)
    jsonschema.Draft202012Validator(schema).validate(body)
    checked[name] = status
    return body


def turn(i, text, dialogue="api-check", **extra):
    return {"dialogue_id": dialogue, "turn_id": i, "speaker": "customer", "role": "customer", "text": text, **extra}


key = {"Authorization": f"Bearer {tenant_key}"}
# The request body schema accepts what we send as valid.
request_schema = inline(operation["requestBody"]["content"]["application/json"]["schema"], doc)
jsonschema.Draft202012Validator(request_schema).validate(turn(1, "hello"))

e = expect("one turn", *call("/v1/analyze?explain=true", turn(1, "This is the third time my internet dropped today!"), key), 200)
assert e["tenant"] == tenant and "explanation" in e, e
e = expect("a dialogue", *call("/v1/analyze", {"turns": [turn(1, "hi"), turn(2, "my bill is wrong"), turn(3, "I want a refund now")]},
                                {"X-API-Key": tenant_key}), 200)
assert [x["turn_id"] for x in e["events"]] == [1, 2, 3] and all("escalation" in x for x in e["events"]), e
s, h, raw = call("/v1/analyze", turn(1, "hi"))
expect("no key", s, h, raw, 401)
assert h.get("WWW-Authenticate") == "Bearer", h
expect("a wrong key", *call("/v1/analyze", turn(1, "hi"), {"Authorization": "Bearer not-a-key"}), 401)
e = expect("another tenant", *call("/v1/analyze", turn(1, "hi", tenant="someone-else"), key), 403)
assert e["error"]["field"] == "tenant", e
e = expect("too large", *call("/v1/analyze", turn(1, "a" * (2 << 20)), key), 413)
assert e["error"]["field"] == "body", e
e = expect("not JSON", *call("/v1/analyze", b"{not json", key), 422)
e = expect("an invalid turn", *call("/v1/analyze", {"turns": [turn(1, "hi"), {"dialogue_id": "api-check", "turn_id": 2, "speaker": "c"}]}, key), 422)
assert e["error"]["field"] == "turns[1].text", e
e = expect("65 turns", *call("/v1/analyze", {"turns": [turn(i, "hi") for i in range(1, 66)]}, key), 422)
assert e["error"]["code"] == "too_many_turns", e

# Many slow requests at once: some get 429 with Retry-After, none fails otherwise.
results = []
lock = threading.Lock()


def heavy(n):
    r = call("/v1/analyze", {"turns": [turn(i, f"turn {i} of request {n}: the outage is still not fixed") for i in range(1, 65)]},
             {"Authorization": f"Bearer {all_key}"})
    with lock:
        results.append(r)


threads = [threading.Thread(target=heavy, args=(n,)) for n in range(24)]
for t in threads:
    t.start()
for t in threads:
    t.join()
codes = sorted(r[0] for r in results)
assert set(codes) <= {200, 429} and 200 in codes and 429 in codes, codes
for s, h, raw in results:
    expect(f"under load ({s})", s, h, raw, s)
    if s == 429:
        assert int(h["Retry-After"]) >= 1, h
expect("still serving", *call("/v1/analyze", turn(1, "thanks, that fixed it"), key), 200)
print(f"check-api: ok ({len(checked)} kinds of response valid against /openapi.json; under load: "
      f"{codes.count(200)} × 200, {codes.count(429)} × 429)")
