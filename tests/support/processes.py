from __future__ import annotations

import subprocess


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    """Terminate a child process, killing it if it does not exit within 10 seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
