"""Small shared helpers: free ports, bounded waits, process groups, log tails, and
ManagedServer, the lifecycle of a server process on a fixed loopback port."""
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


class ManagedServer:
    """One server process of the harness (mosquitto, ngIRCd) on a fixed loopback
    port: `port` is taken free at construction and kept, so that start() after
    stop() or kill() comes back where clients expect it, as a restarted server
    would. A subclass writes its config and sets `name` (the log registration name),
    `config_path`, `log_path` and `_argv()`; `stdout_path` is where the process's
    own output goes (the log itself unless the server writes its log elsewhere).
    start() writes a "===== harness: start #N =====" line into the log, so a test
    can tell starts apart; stop() is SIGTERM then SIGKILL, kill() is kill -9 of the
    process group; both wait until the port is closed."""
    name = "server"
    stdout_path = None

    def __init__(self, workdir, port=None):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.port = port or free_port()
        self.proc = None
        self.starts = 0

    def _argv(self):
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------
    def start(self, timeout=15):
        assert not self.alive(), f"{self.name} already running"
        with open(self.log_path, "ab") as f:
            f.write(f"===== harness: start #{self.starts + 1} =====\n".encode())
        self.proc = spawn(self._argv(), self.stdout_path or self.log_path, cwd=self.workdir)
        self.starts += 1
        register_log(self.name, self.log_path)
        try:
            wait_ports([self.port], timeout, self.proc, self.name)
        except Exception:
            self.kill()
            raise
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self, timeout=10):
        """Graceful stop (SIGTERM), SIGKILL after `timeout`; returns the exit code."""
        if self.proc is None:
            return None
        rc = stop_group(self.proc, term_timeout=timeout)
        self.proc = None
        wait_port_closed(self.port, 10)
        return rc

    def kill(self):
        """kill -9, as a crash would."""
        if self.proc is None:
            return
        kill_group(self.proc)
        self.proc = None
        wait_port_closed(self.port, 10)

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        self.stop()
        unregister_log(self.name)

    # -- observation ---------------------------------------------------------
    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
