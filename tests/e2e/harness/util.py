"""Small shared helpers: free ports, bounded waits, process groups, log tails."""
import os
import signal
import socket
import subprocess
import time

# Every process spawn() started and no one has killed yet; the conftest kills
# leftovers at the end of the session.
LIVE_PROCESSES = set()

# Every log file a running fixture writes; the conftest prints their tails when a
# test fails, so a failure explains itself without re-running.
ACTIVE_LOGS = {}  # name -> path


def register_log(name, path):
    ACTIVE_LOGS[name] = str(path)


def unregister_log(name):
    ACTIVE_LOGS.pop(name, None)


def tail(path, lines=60):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def free_port():
    """A port the kernel just handed out on 127.0.0.1 (bind :0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Polls `pred` until it returns a truthy value; raises TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def wait_ports(ports, timeout, proc=None, what="server"):
    def ready():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before its ports opened")
        return all(port_open(p) for p in ports)
    wait_for(ready, timeout, interval=0.1, what=f"{what} ports {ports}")


def wait_port_closed(port, timeout):
    wait_for(lambda: not port_open(port), timeout, interval=0.1, what=f"port {port} to close")


def spawn(argv, log_path, env=None, cwd=None):
    """Starts argv in its own session (so the whole tree can be signalled by PID)."""
    log = open(log_path, "ab")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, cwd=cwd, start_new_session=True)
        LIVE_PROCESSES.add(proc)
        return proc
    finally:
        log.close()


def signal_group(proc, sig):
    """Signals the process group led by `proc` (its session); ignores a gone group."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def group_members(pgid):
    """Live (non-zombie) PIDs whose process group is `pgid`, from /proc."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # comm may contain spaces: fields after the last ')' are state, ppid, pgrp, ...
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def group_alive(pgid):
    return bool(group_members(pgid))


def stop_group(proc, term_timeout=10.0):
    """SIGTERM the group, wait, then SIGKILL it; returns the leader's exit code."""
    if proc is None:
        return None
    signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=term_timeout)
    except subprocess.TimeoutExpired:
        pass
    kill_group(proc)
    return proc.returncode


def kill_group(proc, timeout=10.0):
    """SIGKILL the whole group led by `proc` and reap the leader; waits until the group is gone."""
    signal_group(proc, signal.SIGKILL)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    # Children (beam.smp under runuser) may outlive the leader by a moment.
    try:
        wait_for(lambda: not group_alive(proc.pid), timeout, interval=0.05, what=f"process group {proc.pid} to die")
    except TimeoutError:
        signal_group(proc, signal.SIGKILL)
    LIVE_PROCESSES.discard(proc)
