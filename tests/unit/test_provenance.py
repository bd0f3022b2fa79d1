"""What a job's run records about its code and interpreter (no platform)."""

from __future__ import annotations

import shutil
import sys

from switchyard.services.trainer_worker import provenance


def test_the_interpreter_is_the_one_the_command_names() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    assert provenance._interpreter([sys.executable, "train.py"], env) == sys.executable
    in_shell = ["/bin/sh", "-c", f"{sys.executable} -m train --lr 0.1"]
    assert provenance._interpreter(in_shell, env) == sys.executable
    on_path = shutil.which("python3", path=env["PATH"])
    if on_path:
        assert provenance._interpreter(["python3", "x.py"], env) == on_path
        assert provenance._interpreter(["./run.sh"], env) in {
            shutil.which("python", path=env["PATH"]),
            on_path,
        }
    assert provenance._interpreter(["/bin/sh", "-c", "echo 'unbalanced"], {"PATH": ""})


def test_a_rerun_may_run_only_the_code_it_recorded() -> None:
    assert provenance.mismatch("", "git:b", "j") == ""  # nothing recorded: not checked
    assert provenance.mismatch("git:a", "git:a", "j") == ""
    why = provenance.mismatch("git:a", "git:a+dirty:123", "j1")
    assert "job j1 ran: it ran git:a" in why and "git:a+dirty:123" in why
    assert "allow_code_change" in why


def test_recorded_text_keeps_no_password_and_stays_within_mlflows_limit() -> None:
    assert provenance._without_password("https://u:secret@host/r.git") == "https://host/r.git"
    assert provenance._without_password("git@host:r.git") == "git@host:r.git"
    long = "x" * 6000
    capped = provenance._cap(long)
    assert len(capped) <= provenance.MAX_TAG and "sha256:" in capped
    assert provenance._inline("v" * 300).startswith("sha256:")
    assert provenance._inline("short") == "short"
