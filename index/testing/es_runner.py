"""A real single-node Elasticsearch 8 for tests, benchmarks and local development, with no download step
beyond Maven Central.

Elastic publishes the 8.x server jars, the Netty transport and the test framework on Maven Central (the
codelibs cluster runner is not published there for 8.x). `esnode/` holds a small Java program that starts
one node from those jars; this module resolves the jars with Maven (cached in ~/.m2), compiles the program
once into a cache folder and runs it as a child process.

    python -m wagewatch.index.testing.es_runner --port 9200   # start a node, print its URL; Ctrl-C or SIGTERM stops it
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ESNODE_DIR = Path(__file__).resolve().parent / "esnode"
CACHE_ENV = "WAGEWATCH_ES_NODE_CACHE"
JAVA_OPTS_ENV = "WAGEWATCH_ES_JAVA_OPTS"
# Small heap, one GC thread and the quick (C1) compiler only: the node starts in about half the time on a
# 2-core machine. Set WAGEWATCH_ES_JAVA_OPTS (e.g. without TieredStopAtLevel) to measure throughput.
DEFAULT_JAVA_OPTS = ("-Xms512m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss1m")
MAIN_CLASS = "wagewatch.esnode.EsNode"
PORT_LINE = "ES_HTTP_PORT="


class NodeUnavailable(RuntimeError):
    """Java or Maven is missing, or the node could not be built or started; the message says which."""


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "wagewatch" / "es-node")


def _sources() -> list[Path]:
    return sorted([ESNODE_DIR / "pom.xml", *ESNODE_DIR.rglob("*.java")])


def _build_key() -> str:
    digest = hashlib.sha256()
    for path in _sources():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _run(command: list[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NodeUnavailable(f"{what} took longer than {timeout:.0f}s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise NodeUnavailable(f"{what} failed (exit {done.returncode}):\n{tail}")


def build() -> list[str]:
    """The java command line (without arguments) of the node program, building it on first use.

    Builds go to a folder named after a hash of the sources, so an edited pom or class rebuilds by itself,
    and are written to a temporary folder first, so an interrupted build never leaves half a cache.
    """
    java, mvn, javac = shutil.which("java"), shutil.which("mvn"), shutil.which("javac")
    if not (java and mvn and javac):
        missing = [name for name, path in (("java", java), ("javac", javac), ("mvn", mvn)) if not path]
        raise NodeUnavailable(
            f"{', '.join(missing)} not found: install a JDK (17+) and Maven, "
            "or point WAGEWATCH_ES_URL at a running Elasticsearch 8"
        )
    target = cache_dir() / _build_key()
    if not (target / "classpath.txt").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="build-", dir=target.parent))
        try:
            _run(
                [
                    mvn,
                    "-q",
                    "-B",
                    "-f",
                    str(ESNODE_DIR / "pom.xml"),
                    "dependency:build-classpath",
                    f"-Dmdep.outputFile={staging / 'classpath.txt'}",
                ],
                "resolving the Elasticsearch jars with Maven",
                900,
            )
            classpath = (staging / "classpath.txt").read_text().strip()
            sources = [str(p) for p in ESNODE_DIR.rglob("*.java")]
            _run(
                [javac, "-nowarn", "-d", str(staging / "classes"), "-cp", classpath, *sources],
                "compiling the node program",
                300,
            )
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    classpath = f"{target / 'classes'}{os.pathsep}{(target / 'classpath.txt').read_text().strip()}"
    java_opts = os.environ.get(JAVA_OPTS_ENV, "").split() or list(DEFAULT_JAVA_OPTS)
    return [java, *java_opts, "-cp", classpath, MAIN_CLASS]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_health(url: str, timeout: float = 60.0) -> str:
    """Block until the cluster reports green or yellow; returns the status."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(
                f"{url}/_cluster/health", params={"wait_for_status": "yellow", "timeout": "5s"}, timeout=10
            )
            status = response.json().get("status")
            if status in ("green", "yellow"):
                return status
            last = f"status {status}"
        except (httpx.HTTPError, ValueError) as exc:
            last = f"{exc.__class__.__name__}: {exc}"
        time.sleep(0.2)
    raise NodeUnavailable(f"Elasticsearch at {url} not healthy after {timeout:.0f}s ({last})")


@dataclass
class EsNode:
    """One node process. `home` keeps its data, so `stop()` then `start()` brings the same indices back."""

    home: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    started_in: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.home / "node.log"

    def start(self, timeout: float = 180.0) -> EsNode:
        command = [*build(), str(self.home), str(self.port)]
        self.home.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = began + timeout
        while PORT_LINE not in self.log_file.read_text(errors="replace"):
            if self.process.poll() is not None:
                tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-20:])
                raise NodeUnavailable(f"Elasticsearch node exited with {self.process.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise NodeUnavailable(f"Elasticsearch node did not open its port within {timeout:.0f}s")
            time.sleep(0.1)
        wait_for_health(self.url, timeout=max(5.0, deadline - time.monotonic()))
        self.started_in = time.monotonic() - began
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM lets the node close its indices; SIGKILL only if it hangs."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="启动测试用 Elasticsearch 节点 / Run a local Elasticsearch 8 node.")
    parser.add_argument("--home", type=Path, default=None, help="data folder (default: a temporary one)")
    parser.add_argument("--port", type=int, default=9200)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="wagewatch-es-"))
    node = EsNode(home=home, port=args.port).start()
    print(f"Elasticsearch {node.url} ready in {node.started_in:.1f}s (data: {home}); Ctrl-C stops it", flush=True)
    # Background jobs ignore SIGINT, so SIGTERM (kill, CI, docker stop) must also stop the node cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        node.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
