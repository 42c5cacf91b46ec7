#!/usr/bin/env python3
"""2,000 idle connections and 500 abandoned /events streams: a new request's latency, and how long
the connection and live-client gauges take to return to 0 once the clients go away.
Usage: measure-http-connections.py PORT METRICS_PORT KEY
Against `plutchik serve --http-max-event-clients-per-tenant 500` (the default cap is 100 per tenant).
"""
import json, socket, sys, time, urllib.request
port, mport, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def gauges():
    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics").read().decode()
    out = {}
    for line in text.splitlines():
        for name in ("plutchik_http_connections", "plutchik_http_live_clients"):
            if line.startswith(name + " "): out[name] = float(line.split()[1])
    return out
idle = []
for _ in range(2000):
    s = socket.create_connection(("127.0.0.1", port)); idle.append(s)
streams = []
for _ in range(500):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n".encode())
    streams.append(s)
connected = 0
for s in streams:
    data = b""
    while b": connected" not in data and b" 429 " not in data[:16]:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            break
        if not chunk: break
        data += chunk
    connected += b": connected" in data
time.sleep(1)
loaded = gauges()
t0 = time.perf_counter()
r = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10); r.read()
new_request_ms = (time.perf_counter() - t0) * 1000
for s in idle + streams: s.close()
gone = time.time()
back = None
zero = {}
while time.time() - gone < 60:
    g = gauges()
    for k, v in g.items():
        if v == 0 and k not in zero: zero[k] = round(time.time() - gone, 1)
    if len(zero) == 2:
        back = max(zero.values()); break
    time.sleep(0.5)
print(json.dumps({"zero_after_s": zero}))
print(json.dumps({"idle_connections": len(idle), "event_streams_connected": connected, "gauges_loaded": loaded,
                  "new_request_ms": round(new_request_ms, 1), "gauges_zero_after_s": back and round(back, 1), "gauges_end": gauges()}))
