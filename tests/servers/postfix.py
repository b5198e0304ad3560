"""A private Postfix for tests: its own configuration, queue, data and mail log in a temporary
folder, SMTP on a free loopback port, relaying one domain to a listener as the README's "Postfix
in front" recipe does (`relay_domains` and a `hash:` transport map made with postmap), over SMTP
or LMTP.

Postfix is started as root (its master drops to `mail_owner = postfix`); no system Postfix is
used or needed. Short retry timings (a few seconds instead of minutes) make deferred e-mails
come back quickly. Nothing is looked up in the DNS: the transport names an IP address, and
bounces to the test senders' domain are discarded (logged, never sent anywhere).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from email.message import EmailMessage
import grp
import json
import os
from pathlib import Path
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from typing import Any

DEBIAN_PACKAGE = "postfix"
COMMANDS = ("postfix", "postconf", "postmap", "postqueue")
MAIL_OWNER = "postfix"
SETGID_GROUP = "postdrop"
# Where Debian puts Postfix's commands, for a PATH without the sbin folders.
SBIN = ("/usr/sbin", "/sbin")

RELAY_DOMAIN = "homeassistant.local"
# The domain of the test senders: their bounces go to Postfix's discard transport.
SENDER_DOMAIN = "sender.test"
# Postfix's own name: never the listener's (a greeting with Postfix's own name is a mail loop).
MY_HOSTNAME = "postfix.test"
CLIENT_HOSTNAME = "test.local"

POLL_S = 0.2
WAIT_S = 60.0
COMMAND_TIMEOUT_S = 30.0
STOP_WAIT_S = 30.0
QUEUED_AS = re.compile(rb"queued as ([0-9A-Za-z]+)")

# Every service Postfix needs to take, queue, relay and bounce mail, none chrooted. The SMTP
# server's line is added with its port.
MASTER_CF = """\
pickup     unix  n  -  n  60    1  pickup
cleanup    unix  n  -  n  -     0  cleanup
qmgr       unix  n  -  n  300   1  qmgr
rewrite    unix  -  -  n  -     -  trivial-rewrite
bounce     unix  -  -  n  -     0  bounce
defer      unix  -  -  n  -     0  bounce
trace      unix  -  -  n  -     0  bounce
verify     unix  -  -  n  -     1  verify
flush      unix  n  -  n  1000? 0  flush
proxymap   unix  -  -  n  -     -  proxymap
proxywrite unix  -  -  n  -     1  proxymap
smtp       unix  -  -  n  -     -  smtp
relay      unix  -  -  n  -     -  smtp
lmtp       unix  -  -  n  -     -  lmtp
showq      unix  n  -  n  -     -  showq
error      unix  -  -  n  -     -  error
retry      unix  -  -  n  -     -  error
discard    unix  -  -  n  -     -  discard
local      unix  -  n  n  -     -  local
anvil      unix  -  -  n  -     1  anvil
scache     unix  -  -  n  -     1  scache
postlog    unix-dgram n  -  n  -  1  postlogd
"""


class PostfixError(AssertionError):
    """Postfix could not be used, or did not do what was waited for; with its log."""


def find_command(name: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    return shutil.which(name, path=path)


def unavailable() -> str | None:
    """Why this machine cannot run a private Postfix, or None when it can."""
    if missing := [name for name in COMMANDS if find_command(name) is None]:
        return (
            f"{', '.join(missing)} missing: install the Debian package {DEBIAN_PACKAGE} "
            f"(DEBIAN_FRONTEND=noninteractive apt-get install {DEBIAN_PACKAGE})"
        )
    try:
        pwd.getpwnam(MAIL_OWNER)
        grp.getgrnam(SETGID_GROUP)
    except KeyError:
        return (
            f"the user {MAIL_OWNER} or the group {SETGID_GROUP} is missing: the Debian package "
            f"{DEBIAN_PACKAGE} creates them (reinstall it)"
        )
    if os.geteuid() != 0:
        return "Postfix must be started by root: run these tests as root"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Postfix:
    """One Postfix instance relaying `relay_domain` to a listener on 127.0.0.1:listener_port."""

    def __init__(
        self, listener_port: int, *, lmtp: bool = False, relay_domain: str = RELAY_DOMAIN
    ) -> None:
        self.listener_port = listener_port
        self.relay_domain = relay_domain
        # The two transports of the README's recipe.
        self.transport = (
            f"lmtp:inet:127.0.0.1:{listener_port}" if lmtp else f"smtp:[127.0.0.1]:{listener_port}"
        )
        self.port = free_port()
        self.root: Path | None = None
        self.map_type = "hash"
        self._started = False

    # --- paths ------------------------------------------------------------------------------

    def _path(self, *parts: str) -> Path:
        if self.root is None:
            raise PostfixError("Postfix has not been started")
        return self.root.joinpath(*parts)

    @property
    def config_dir(self) -> Path:
        return self._path("etc")

    @property
    def queue_dir(self) -> Path:
        return self._path("queue")

    @property
    def maillog(self) -> Path:
        return self._path("maillog")

    # --- running its commands ---------------------------------------------------------------

    def _run(self, command: str, *args: str) -> str:
        """A Postfix command on this instance's configuration; its output. Fails with the
        command's output and the mail log when it fails."""
        executable = find_command(command)
        if executable is None:
            raise PostfixError(unavailable() or f"{command} is missing")
        argv = [executable, "-c", str(self.config_dir), *args]
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as timeout:
            raise PostfixError(self._report(f"{' '.join(argv)} timed out")) from timeout
        if done.returncode != 0:
            raise PostfixError(
                self._report(
                    f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                )
            )
        return done.stdout

    # --- start and stop ---------------------------------------------------------------------

    def start(self) -> None:
        """Writes the configuration, makes the transport map and starts Postfix; returns when
        its SMTP port answers."""
        if reason := unavailable():
            raise PostfixError(reason)
        self.root = Path(tempfile.mkdtemp(prefix="postfix-"))
        # Postfix's daemons run as the mail owner and must reach the data folder by its path.
        self.root.chmod(0o755)
        self.config_dir.mkdir()
        self.queue_dir.mkdir()  # root's; `postfix start` creates its subfolders for postfix
        data_dir = self._path("data")
        data_dir.mkdir()
        owner = pwd.getpwnam(MAIL_OWNER)
        os.chown(data_dir, owner.pw_uid, owner.pw_gid)
        transport_map = self.config_dir / "transport"
        self.map_type = self._map_type()
        (self.config_dir / "main.cf").write_text(
            f"""\
compatibility_level = 3.6
queue_directory = {self.queue_dir}
data_directory = {data_dir}
mail_owner = {MAIL_OWNER}
setgid_group = {SETGID_GROUP}
myhostname = {MY_HOSTNAME}
mydomain = {MY_HOSTNAME}
myorigin = $myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no

# The README's recipe.
relay_domains = {self.relay_domain}
transport_maps = {self.map_type}:{transport_map}

# No DNS: the transports name IP addresses.
smtp_host_lookup = native
lmtp_host_lookup = native
smtp_dns_support_level = disabled

# Retries seconds apart instead of minutes.
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s

maillog_file = {self.maillog}
maillog_file_prefixes = {self.root}
""",
            encoding="utf-8",
        )
        (self.config_dir / "master.cf").write_text(
            f"127.0.0.1:{self.port} inet n - n - - smtpd\n{MASTER_CF}", encoding="utf-8"
        )
        transport_map.write_text(
            f"{self.relay_domain}   {self.transport}\n{SENDER_DOMAIN}   discard:\n",
            encoding="utf-8",
        )
        for written in self.config_dir.iterdir():
            _backdate(written)
        if self.map_type != "texthash":  # read as it is
            self._run("postmap", f"{self.map_type}:{transport_map}")
        self._started = True
        self._run("postfix", "start")
        self.wait_until(self._answers, f"Postfix's SMTP port {self.port} answers")

    def _map_type(self) -> str:
        """The README's `hash:`, or where this Postfix lacks Berkeley DB the indexed type that
        replaces it (`lmdb:`), else one that postmap need not make."""
        main_cf = self.config_dir / "main.cf"
        main_cf.touch()  # postconf reads one even to list the map types
        _backdate(main_cf)
        types = set(self._run("postconf", "-m").split())
        return next((kind for kind in ("hash", "lmdb", "cdb") if kind in types), "texthash")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def _master_pid(self) -> int | None:
        try:
            return int(self._path("queue", "pid", "master.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """Stops Postfix (its master and with it every daemon) and removes its folder. Safe to
        call more than once and after a failed start."""
        if self.root is None:
            return
        try:
            if self._started and (pid := self._master_pid()) is not None:
                with contextlib.suppress(PostfixError):
                    self._run("postfix", "stop")
                # This instance's own master, by its pid file: killed when it does not stop.
                if not _exits(pid, STOP_WAIT_S):
                    _kill(pid)
        finally:
            self._started = False
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # --- the queue and the log --------------------------------------------------------------

    def queue(self) -> list[dict[str, Any]]:
        """The queued e-mails as `postqueue -j` lists them (queue_name, queue_id, recipients
        with delay_reason, ...)."""
        return [json.loads(line) for line in self._run("postqueue", "-j").splitlines() if line]

    def queue_ids(self) -> list[str]:
        return [str(entry["queue_id"]) for entry in self.queue()]

    def queue_size(self) -> int:
        return len(self.queue())

    def flush(self) -> None:
        """`postqueue -f`: tries every queued e-mail again at once."""
        self._run("postqueue", "-f")

    def log(self) -> str:
        try:
            return self.maillog.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_lines(self, queue_id: str, *words: str) -> list[str]:
        """The log lines about one queued e-mail that contain every one of `words`."""
        return [
            line
            for line in self.log().splitlines()
            if f" {queue_id}: " in line and all(word in line for word in words)
        ]

    def _queue_report(self) -> str:
        try:
            queue = self.queue()
        except PostfixError as error:
            first_line = str(error).splitlines()[0]
            return f"--- Postfix's queue could not be listed ---\n{first_line}"
        listed = "\n".join(json.dumps(entry) for entry in queue) or "(empty)"
        return f"--- Postfix's queue ---\n{listed}"

    def _report(self, what: str) -> str:
        return f"{what}\n--- Postfix's mail log ---\n{self.log()}"

    # --- sending ----------------------------------------------------------------------------

    def send(
        self, message: EmailMessage, sender: str, recipients: list[str] | tuple[str, ...]
    ) -> str:
        """Hands an e-mail to Postfix over SMTP; returns its queue ID from the 250 reply."""
        with smtplib.SMTP(
            "127.0.0.1", self.port, timeout=COMMAND_TIMEOUT_S, local_hostname=CLIENT_HOSTNAME
        ) as client:
            client.ehlo()
            code, reply = client.mail(sender)
            if code != 250:
                raise PostfixError(self._report(f"MAIL FROM refused: {code} {reply!r}"))
            for recipient in recipients:
                code, reply = client.rcpt(recipient)
                if code != 250:
                    raise PostfixError(self._report(f"RCPT TO refused: {code} {reply!r}"))
            code, reply = client.data(message.as_bytes())
        if code != 250 or not (queued := QUEUED_AS.search(reply)):
            raise PostfixError(self._report(f"DATA not queued: {code} {reply!r}"))
        return queued.group(1).decode()

    # --- waiting (always bounded) -----------------------------------------------------------

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise PostfixError(self._report(f"Waited {timeout:g} s in vain for: {what}"))
            time.sleep(POLL_S)

    async def async_wait_until(
        self, condition: Callable[[], Awaitable[bool]], what: str, within: float = WAIT_S
    ) -> None:
        """On an event loop: checks `condition` every POLL_S seconds, the loop running in
        between (the listener may be on it). Fails with the queue and the log."""
        deadline = time.monotonic() + within
        while not await condition():
            if time.monotonic() > deadline:
                report = await asyncio.to_thread(self._queue_report)
                raise PostfixError(
                    await asyncio.to_thread(
                        self._report, f"Waited {within:g} s in vain for: {what}\n{report}"
                    )
                )
            await asyncio.sleep(POLL_S)


def _backdate(path: Path) -> None:
    """Postfix reads a file changed within the last second again and again until it is older
    (seconds of waiting in every command): a file just written is dated a minute back."""
    past = time.time() - 60
    os.utime(path, (past, past))


def _exits(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S / 10)
    return True


def _alive(pid: int) -> bool:
    """Whether the process runs (an exited one that nobody reaped yet, a zombie, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # "pid (name) state ...": the name may hold spaces and parentheses.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
