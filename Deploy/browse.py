#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol (Python's standard library only): signs in
to the web view the way a person does (the key typed into /login's form and POSTed), checks the
session cookie (HttpOnly, SameSite=Strict, an opaque id that is not the key), then for each action
saves a page's rendered DOM or a screenshot.

Usage: browse.py BASE_URL KEY ACTION...
  ACTION: dom:FILE:PATH or png:FILE:PATH:WIDTHxHEIGHT (PATH may hold ':'; WIDTHxHEIGHT may not)
"""
import base64, json, os, shutil, socket, struct, subprocess, sys, tempfile, time, urllib.parse, urllib.request


class DevTools:
    """A minimal WebSocket client for one DevTools target."""

    def __init__(self, ws_url):
        u = urllib.parse.urlparse(ws_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.next_id = 0

    def _send(self, text):
        data = text.encode()
        header = bytes([0x81])
        n = len(data)
        header += bytes([0x80 | n]) if n < 126 else (bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n))
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            assert chunk, "DevTools closed the connection"
            out += chunk
        return out

    def _receive(self):
        message = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            message += self._exact(n)
            if b0 & 0x80:
                return json.loads(message)

    def call(self, method, **params):
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            m = self._receive()
            if m.get("id") == self.next_id:
                assert "error" not in m, f"{method}: {m['error']}"
                return m.get("result", {})

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True).get("result", {}).get("value")

    def wait(self, condition, what, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if self.evaluate(condition):
                return
            time.sleep(0.1)
        raise SystemExit(f"browse: timed out waiting for {what} (at {self.evaluate('location.href')})")


def main():
    base, key, actions = sys.argv[1], sys.argv[2], sys.argv[3:]
    profile = tempfile.mkdtemp(prefix="plutchik-browse-")
    chrome = subprocess.Popen(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                               "--hide-scrollbars", f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().count("\n") >= 1:
                break
            time.sleep(0.1)
        port = int(open(port_file).read().split("\n")[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = DevTools(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        page.call("Page.enable")
        page.call("Network.enable")

        # Sign in as a person does: the key typed into the form, which the browser POSTs.
        page.call("Page.navigate", url=f"{base}/login?next=%2F")
        page.wait("document.readyState === 'complete' && !!document.getElementById('key')", "the sign-in form")
        page.evaluate(f"document.getElementById('key').value = {json.dumps(key)}; document.querySelector('form.login').submit(); true")
        page.wait("location.pathname === '/' && document.readyState === 'complete'", "the signed-in list")
        cookies = page.call("Network.getCookies", urls=[base])["cookies"]
        session = [c for c in cookies if c["name"].endswith("plutchik_session")]
        assert len(session) == 1, f"browse: no session cookie: {cookies}"
        c = session[0]
        assert c["httpOnly"] and c["sameSite"] == "Strict" and key not in c["value"] and len(c["value"]) >= 32, f"browse: cookie {c}"
        assert c.get("expires", -1) > time.time(), f"browse: the session cookie does not expire: {c}"

        for action in actions:
            kind, rest = action.split(":", 1)
            size = (1280, 800)
            if kind == "png":
                rest, dims = rest.rsplit(":", 1)
                size = tuple(int(x) for x in dims.split("x"))
            out, path = rest.split(":", 1)
            page.call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1, mobile=size[0] < 600)
            page.evaluate("window.previousPage = true")
            page.call("Page.navigate", url=base + path)
            page.wait("!window.previousPage && document.readyState === 'complete'", path)
            time.sleep(0.5)  # the page's script and fonts settle
            if kind == "dom":
                open(out, "w").write(page.evaluate("document.documentElement.outerHTML"))
            else:
                open(out, "wb").write(base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"]))
    finally:
        chrome.kill()
        chrome.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
