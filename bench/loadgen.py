"""What the HTTP benchmarks share: the real app under uvicorn, and a lean closed-loop load generator.

The client is a minimal HTTP/1.1 keep-alive client on asyncio streams rather than httpx: clients and server
share this 2-core machine, and httpx spends about 1.4 ms of CPU per request, which the server then lacks;
this one spends a few tens of microseconds. It speaks only what the benchmarks need (GET and form POST,
Content-Length or chunked bodies, cookies by name) and refuses anything else loudly.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import numpy as np


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the client -------------------------------------------------------------------------------


class HttpError(Exception):
    """The connection failed or the server's answer could not be read."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers other than Set-Cookie keep the last
    body: bytes
    cookies: dict[str, str]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Client:
    """One keep-alive connection to the server (reopened when the server closes it), with its own cookies."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only http://host:port base URLs are supported, not {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Answer:
        return await self.request("GET", path, params)

    async def post(self, path: str, form: Mapping[str, str] | None = None) -> Answer:
        return await self.request("POST", path, form=form)

    async def request(
        self, method: str, path: str, params: Mapping[str, str] | None = None, form: Mapping[str, str] | None = None
    ) -> Answer:
        target = path + ("?" + urlencode(params) if params else "")
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{name}={value}" for name, value in self.cookies.items()))
        payload = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        try:
            return await asyncio.wait_for(self._exchange(payload), self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
            await self.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc

    async def _exchange(self, payload: bytes) -> Answer:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        writer.write(payload)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        for line in head[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookie_name, _, cookie_value = value.split(";", 1)[0].partition("=")
                cookies[cookie_name] = cookie_value
            else:
                headers[name] = value
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")  # no trailers are sent by uvicorn
            body = b"".join(chunks)
        else:
            raise ValueError(f"an answer with neither Content-Length nor chunked encoding ({status})")
        if headers.get("connection", "").lower() == "close":
            await self.close()
        self.cookies |= cookies
        return Answer(status, headers, body, cookies)


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Measurement:
    """Latencies (seconds) of the answered requests by label, refused or failed ones by problem."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    waits: Counter[str] = field(default_factory=Counter)

    @property
    def all_latencies(self) -> list[float]:
        return [value for values in self.latencies.values() for value in values]

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return len(self.all_latencies) / self.seconds if self.seconds else 0.0

    def record(self, label: str, seconds: float, problem: str) -> None:
        if problem:
            self.errors[problem] += 1
        else:
            self.latencies.setdefault(label, []).append(seconds)

    def p(self, q: float, label: str | None = None) -> float:
        """The q-th percentile latency in milliseconds (NaN when nothing was answered)."""
        values = self.all_latencies if label is None else self.latencies.get(label, [])
        return float(np.percentile(values, q)) * 1000 if values else float("nan")


# --- the server -------------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    command: str
    log: Path


def baseline_code(ref: str, directory: Path) -> dict[str, str]:
    """The `src/` of commit `ref`, extracted under `directory`, as the environment that puts it first on a server's
    PYTHONPATH (ahead of the editable install): a benchmark runs an earlier commit's server beside this one's."""
    root = directory / "baseline"
    root.mkdir(parents=True, exist_ok=True)
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "archive", ref, "src"], cwd=repo, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return {"PYTHONPATH": str(root / "src")}


@contextmanager
def serve(database_url: str, data_dir: Path, workers: int, settings: Mapping[str, str] = {}) -> Iterator[Server]:
    """The real app under uvicorn (the app factory reads CITOYEN_* from the environment), with every worker
    warmed up, stopped on exit whatever happens."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "citoyen.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("CITOYEN_")}
    env |= {
        "CITOYEN_DATABASE_URL": database_url,
        "CITOYEN_DATA_DIR": str(data_dir),
        "CITOYEN_SECRET_KEY": secrets.token_urlsafe(32),
        **settings,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=data_dir, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    base_url = f"http://127.0.0.1:{port}"
    shown = " ".join(f"{key}={value}" for key, value in {"CITOYEN_DATABASE_URL": database_url, **settings}.items())
    server = Server(process, base_url, shown + " python " + shlex.join(command[1:]), log)
    try:
        _wait_until_ready(server, workers)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(timeout=10)


def _wait_until_ready(server: Server, workers: int) -> None:
    # Synchronous on purpose: callers may already be inside an event loop.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def status_of(path: str, timeout: float) -> int:
        try:
            with opener.open(server.base_url + path, timeout=timeout) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    # A loaded shared machine (load 13-15) took 80-90 s to import and start the app.
    deadline = time.monotonic() + 240
    while status_of("/healthz", 2) != 200:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the server stopped (exit {server.process.returncode}):\n{server.log.read_text()[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer /healthz in 240 s:\n{server.log.read_text()[-3000:]}")
        time.sleep(0.3)
    # Each worker builds its territory index on first use: new connections land on any worker.
    for _ in range(8 * workers):
        status_of("/api/territory/locate?lon=2.35&lat=48.85", 30)
