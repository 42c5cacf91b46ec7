#!/usr/bin/env python3
"""Measures other tenants' /v1/analyze latency while one key floods /try (300 concurrent clients).
Usage: measure-http-flood.py PORT FLOOD_KEY PROBE_KEY SECONDS CLIENTS  (PROBE=0: flood only)
Run the flood and the probe as two processes (one PROBE=0 with 300 clients, one with 0 clients),
so the probe's timings do not include the flooding threads' scheduling. Against `plutchik serve`.
"""
import http.client, json, statistics, sys, threading, time
port, acme, globex, seconds, flood = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
stop = time.time() + seconds
codes = {}
lock = threading.Lock()
def flooder(n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = 0
    while time.time() < stop:
        i += 1
        try:
            c.request("GET", f"/try?text=flood+{n}+{i}+the+outage+is+still+not+fixed&context=agent:+hello%0Acustomer:+again", headers={"Authorization": f"Bearer {acme}"})
            r = c.getresponse(); r.read()
            with lock: codes[r.status] = codes.get(r.status, 0) + 1
            if r.status == 429: time.sleep(float(r.getheader("Retry-After", "1")))
        except Exception as e:
            with lock: codes[type(e).__name__] = codes.get(type(e).__name__, 0) + 1
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
lat = []
def prober():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = 0
    while time.time() < stop:
        i += 1
        body = json.dumps({"dialogue_id": f"p{i}", "turn_id": 1, "speaker": "c", "role": "customer", "text": f"my bill is wrong again {i}"})
        t0 = time.perf_counter()
        c.request("POST", "/v1/analyze", body=body, headers={"Authorization": f"Bearer {globex}"})
        r = c.getresponse(); r.read()
        if r.status == 200: lat.append((time.perf_counter() - t0) * 1000)
        else:
            with lock: codes[f"probe {r.status}"] = codes.get(f"probe {r.status}", 0) + 1
        time.sleep(0.05)
import os
threads = [threading.Thread(target=flooder, args=(n,)) for n in range(flood)] + ([threading.Thread(target=prober)] if os.environ.get("PROBE", "1") == "1" else [])
for t in threads: t.start()
for t in threads: t.join()
lat.sort()
if not lat: lat = [0.0]
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(json.dumps({"flood_clients": flood, "probe_requests": len(lat), "probe_p50_ms": round(p(0.5), 1), "probe_p99_ms": round(p(0.99), 1),
                  "probe_max_ms": round(lat[-1], 1), "flood_answers": codes}))
