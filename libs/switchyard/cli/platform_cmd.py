"""The local platform: `switchyard up`, `down`, `status`, `logs`.

`up` owns its home (dev/home.py): a second `up` on a live home says so and
exits 2, touching nothing; what a dead `up` left behind is stopped before
a new one starts, or by `down`.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from switchyard.cli.tables import fold

if TYPE_CHECKING:
    from switchyard.dev.up import Platform

console = Console()
HomeOption = Annotated[
    Path | None, typer.Option(help="Data folder (default $SWITCHYARD_HOME or ./.switchyard)")
]


def _home(home: Path | None) -> Path:
    """--home, else $SWITCHYARD_HOME, else the nearest `.switchyard` up from here
    that a platform ran in (as the SDK finds it), else ./.switchyard."""
    from switchyard.core.config import Settings
    from switchyard.sdk.endpoints import find_in_home

    if home is not None:
        return home.resolve()
    settings = Settings()
    lock, _ = find_in_home(settings, "up.lock")
    return (lock.parent if lock is not None else settings.home).resolve()


def _endpoints(home: Path) -> dict[str, object]:
    try:
        return dict(json.loads((home / "endpoints.json").read_text()))
    except (OSError, ValueError):
        return {}


def _already_running(home: Path) -> str:
    from switchyard.dev.home import UpState

    state = UpState.read(home)
    grpc = _endpoints(home).get("grpc", {})
    where = ", ".join(f"{n} {a}" for n, a in dict(grpc).items()) if grpc else "starting"  # type: ignore[call-overload]
    pid = f" (up pid {state.pid})" if state else ""
    return f"a platform is already running in {home}{pid}: {where}; `switchyard down` stops it"


def up(
    home: HomeOption = None,
    object_store: Annotated[
        str, typer.Option(help="Artifacts in a 'local' folder or an embedded 's3' server")
    ] = "local",
    demo: Annotated[bool, typer.Option(help="Log a demo run once the platform is up")] = False,
    insecure: Annotated[
        bool, typer.Option(help="No authentication: anyone who reaches a port may call")
    ] = False,
    tls: Annotated[
        bool,
        typer.Option(help="TLS for gRPC, HTTP and NATS with a local CA made in the home's tls/"),
    ] = False,
    mtls: Annotated[
        bool, typer.Option(help="--tls, and gRPC and NATS take only clients with the CA's certs")
    ] = False,
    any_ports: Annotated[
        bool, typer.Option(help="Free ports, not the defaults (a platform beside another)")
    ] = False,
) -> None:
    """Start the whole platform on this machine; Ctrl-C stops it and keeps the data.

    Authentication is on: `up` makes an admin token on first start, in the
    home's `token` file (0600), which the SDK, the CLI and workers started
    from the same home use by themselves (`SWITCHYARD_TOKEN` elsewhere)."""
    from switchyard.dev.home import HomeLock, stop_leftovers
    from switchyard.dev.up import Platform

    if object_store not in ("local", "s3"):
        raise typer.BadParameter("must be 'local' or 's3'", param_hint="--object-store")
    root = _home(home)
    lock = HomeLock(root)
    if not lock.acquire():
        console.print(f"[red]error:[/red] {_already_running(root)}")
        raise typer.Exit(2)
    with lock:
        left = stop_leftovers(root)
        if left:
            console.print(f"[yellow]stopped what a dead `up` left running: {', '.join(left)}[/]")
        platform = Platform(
            root,
            object_store=object_store,
            progress=_progress,
            insecure=insecure,
            tls=tls,
            client_auth=mtls,
            any_ports=any_ports,
        )
        _serve(platform, demo)


def _progress(message: str) -> None:
    console.print(f"[dim]… {message}[/dim]")


def _serve(platform: Platform, demo: bool) -> None:
    from switchyard.dev.process import MissingBinary
    from switchyard.dev.supervise import CrashLoop

    told: list[int] = []

    def on_term(signum: int, _: object) -> None:
        # Noted as well as raised: were the KeyboardInterrupt lost on its way up
        # (it arrives wherever the main thread is), the supervisor still stops.
        told.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = time.perf_counter()
    failure: Exception | None = None
    try:
        endpoints = platform.start()
        _print_endpoints(
            platform.home, endpoints.grpc, endpoints.http, time.perf_counter() - started
        )
        console.print(
            f"  export MLFLOW_TRACKING_URI={endpoints.http.get('web', '')}"
            "   # for the mlflow client"
        )
        if platform.certs is not None:
            mutual = "; gRPC and NATS clients need its certificates" if platform.client_auth else ""
            console.print(
                f"  [bold green]TLS on[/bold green] for gRPC, HTTPS and NATS"
                f" (probes stay HTTP); CA {platform.certs.ca}{mutual}"
            )
            console.print(
                f"  export MLFLOW_TRACKING_SERVER_CERT_PATH={platform.certs.ca}"
                "   # for the mlflow client over HTTPS"
            )
        if platform.insecure:
            console.print(
                "[bold red]insecure:[/bold red] no authentication; anyone who reaches"
                " these ports can read, write and run commands on the workers"
            )
        else:
            from switchyard.core.config import TOKEN_FILE

            console.print(
                f"  export MLFLOW_TRACKING_TOKEN=$(cat {platform.home / TOKEN_FILE})"
                "   # the admin token: the SDK and CLI of this home read it themselves"
            )
        if demo:
            from switchyard.cli.demo import run_demo
            from switchyard.core.config import Settings

            run_demo(console, Settings(home=platform.home))
        console.print("[green]ready[/green] — Ctrl-C to stop")
        platform.wait(stop=lambda: bool(told))
    except KeyboardInterrupt:
        pass
    except (CrashLoop, RuntimeError, TimeoutError, MissingBinary) as exc:  # a part failed
        failure = exc
    finally:
        # A second Ctrl-C (or SIGTERM) must not cut the stop short and orphan the children.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        console.print("[dim]stopping…[/dim]" if failure is None else f"[red]{failure}[/red]")
        platform.stop()
    if failure is not None:
        raise typer.Exit(1)


HTTP_LABELS = {"web": "web UI, MLflow REST API", "gateway": "Open Inference Protocol REST"}


def redact(url: str) -> str:
    """`scheme://user:secret@host` -> `scheme://user:***@host` (the secret is in
    endpoints.json, 0600, for the owner's tools; never on a screen)."""
    scheme, sep, rest = url.partition("://")
    login, at, host = rest.rpartition("@")
    if not (sep and at and ":" in login):
        return url
    return f"{scheme}://{login.split(':', 1)[0]}:***@{host}"


def _print_endpoints(home: Path, grpc: dict[str, str], http: dict[str, str], took: float) -> None:
    table = Table(title=f"Switchyard is up ({took:.1f}s) — home {home}")
    table.add_column("endpoint")
    table.add_column("address", overflow="fold")
    for name, address in grpc.items():
        table.add_row(f"{name} (gRPC)", address)
    for name, url in http.items():
        label = HTTP_LABELS.get(name, "health, metrics")
        table.add_row(f"{name.removesuffix('-probes')} ({label})", url)
    endpoints = _endpoints(home)
    for label, key in (
        ("NATS", "nats"),
        ("PostgreSQL", "database"),
        ("artifacts", "artifact_root"),
    ):
        table.add_row(label, redact(str(endpoints.get(key) or "")))
    console.print(fold(table))


def down(home: HomeOption = None) -> None:
    """Stop the platform of this home, from any shell (or what a dead `up` left)."""
    from switchyard.dev.home import HomeLock, UpState, stop_leftovers

    root = _home(home)
    lock = HomeLock(root)
    if lock.acquire():  # no live `up`: stop what a dead one may have left
        with lock:
            left = stop_leftovers(root)
        console.print(f"stopped leftovers: {', '.join(left)}" if left else "nothing is running")
        return
    state = UpState.read(root)
    if state is None:
        console.print("[red]error:[/red] the home is locked but names no `up` process")
        raise typer.Exit(1)
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + 90
    while lock.held_by_other():
        if time.monotonic() > deadline:
            console.print(f"[red]error:[/red] `up` (pid {state.pid}) did not stop in 90s")
            raise typer.Exit(1)
        time.sleep(0.2)
    console.print(f"stopped the platform in {root}")


def status(home: HomeOption = None) -> None:
    """The platform of this home: each part, its health, address and restarts."""
    from switchyard import __version__
    from switchyard.dev.home import HomeLock, UpState, alive

    root = _home(home)
    if not HomeLock(root).held_by_other():
        console.print(f"no platform is running in {root} (`switchyard up` starts one)")
        raise typer.Exit(3)
    state = UpState.read(root)
    endpoints = _endpoints(root)
    grpc: dict[str, str] = dict(endpoints.get("grpc", {}))  # type: ignore[call-overload]
    http: dict[str, str] = dict(endpoints.get("http", {}))  # type: ignore[call-overload]
    table = Table(
        title=f"Switchyard {__version__} — home {root} — up pid {state.pid if state else '?'}"
    )
    for column in ("part", "pid", "state", "address", "restarts"):
        table.add_column(column, overflow="fold")
    for name, child in (state.children if state else {}).items():
        probes = http.get(f"{name}-probes") or http.get(name, "")
        if alive(child) is None:
            health = "[red]down[/red]"
        elif probes.startswith("http"):
            health = "[green]ready[/green]" if _ready(probes) else "[yellow]not ready[/yellow]"
        else:
            health = "[green]running[/green]"
        address = grpc.get(name) or {
            "nats": redact(str(endpoints.get("nats") or "")),
            "postgres": redact(str(endpoints.get("database") or "")),
        }.get(name, "")
        restarts = str(state.restarts.get(name, 0)) if state else "?"
        table.add_row(name, str(child.pid), health, address, restarts)
    console.print(fold(table))
    console.print(f"data: {_size(root) / 2**20:.1f} MB in {root}")


def _ready(probes: str) -> bool:
    try:
        with urllib.request.urlopen(f"{probes}/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _size(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:
            continue
    return total


def logs(
    part: Annotated[str | None, typer.Argument(help="A service, worker, nats or postgres")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines")] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines to show")] = 100,
    home: HomeOption = None,
) -> None:
    """The logs under the home: one part's last lines (-f to follow), or the list."""
    root = _home(home)
    found = _log_files(root)
    if part is None:
        for name, path in found.items():
            console.print(f"{name:<16} {path}")
        if not found:
            console.print(f"no logs in {root}")
        return
    if part not in found:
        known = ", ".join(found) or "none yet"
        raise typer.BadParameter(f"no log for '{part}' (have: {known})", param_hint="PART")
    _print_log(found[part], lines, follow)


def _log_files(root: Path) -> dict[str, Path]:
    found = {p.stem: p for p in sorted((root / "logs").glob("*.log"))}
    for name, path in (
        ("nats", root / "nats" / "nats.log"),
        ("postgres", root / "postgres" / "postgres.log"),
        ("seaweedfs", root / "s3" / "weed.log"),
    ):
        if path.exists():
            found[name] = path
    return found


def _print_log(path: Path, lines: int, follow: bool) -> None:
    with path.open(errors="replace") as f:
        for line in f.readlines()[-lines:]:
            print(line, end="")
        while follow:
            line = f.readline()
            if line:
                print(line, end="", flush=True)
            else:
                try:
                    time.sleep(0.2)
                except KeyboardInterrupt:
                    return


def env(home: HomeOption = None) -> None:
    """Shell variables that point tools at this home's platform: eval "$(switchyard env)".

    SWITCHYARD_HOME, MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN (read from the
    home's token file when the shell evaluates the line, so it is never printed)."""
    root = _home(home)
    endpoints = _endpoints(root)
    if not endpoints:
        console.print(
            f"[red]error:[/red] no running platform in {root} (`switchyard up` starts one)"
        )
        raise typer.Exit(1)
    http: dict[str, str] = dict(endpoints.get("http", {}))  # type: ignore[call-overload]
    print(f"export SWITCHYARD_HOME={root}")
    if "web" in http:
        print(f"export MLFLOW_TRACKING_URI={http['web']}")
    tls = endpoints.get("tls")
    if isinstance(tls, dict) and tls.get("ca"):  # the SDK reads it from endpoints.json
        print(f"export MLFLOW_TRACKING_SERVER_CERT_PATH={shlex.quote(str(tls['ca']))}")
    from switchyard.core.config import TOKEN_FILE

    token = root / TOKEN_FILE
    if token.exists():  # read when the shell evaluates it: never printed
        print(f'export MLFLOW_TRACKING_TOKEN="$(cat {shlex.quote(str(token))})"')
