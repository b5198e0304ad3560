"""A real Dovecot IMAP server in a temporary directory, for the tests of the mailbox feature.

Nothing of the system's Dovecot is used or touched: no service, no /etc/dovecot, no
/run/dovecot, no /var/lib/dovecot. Each server has its own configuration, sockets, state, log
and mail under one temporary directory, listens on two free loopback ports (plain IMAP offering
STARTTLS, and implicit TLS) and knows one user with a password stored in plain text.

Use the `dovecot` fixture: import it into a test module or a conftest,

    from tests.servers.dovecot import Dovecot, dovecot_fixture  # noqa: F401

and ask for it: `def test_x(dovecot: Dovecot) -> None` (importing the alias `dovecot` works
too, but then every test argument named so needs `# noqa: F811`). It starts a fresh server
for the test (about a tenth of a second) and removes it with its mail afterwards.
`running_dovecot()` is the same as a context manager, for other scopes.

The helpers (append, uids, flags, ...) are blocking calls over IMAP on the plain port: call
them from a test's body, not from the integration's side. Connect to 127.0.0.1 (the tests
allow no other host); the certificate names localhost and 127.0.0.1.

Dovecot 2.3 (Debian bookworm) and 2.4 (trixie, sid: the newest leg) are configured, each in
its own syntax. The tests run as root: the mail belongs to the user `mail`, and Dovecot's own
unprivileged processes must read the password file.
"""

from __future__ import annotations

import atexit
import base64
from collections.abc import Collection, Iterator, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import functools
import imaplib
import ipaddress
import os
from pathlib import Path
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from tests.real_home_assistant import port_open

PACKAGE = "dovecot-imapd"
# The owner of the stored mail (an existing system user: Dovecot refuses root).
MAIL_OWNER = "mail"
# How long a start or a stop may take before it counts as failed.
TIMEOUT = 10.0
# How long a stop waits for Dovecot's processes to end by themselves before it kills them.
STOP_GRACE = 0.5
# How many APPENDs are sent before their answers are read.
APPEND_BATCH = 100
# Where Debian installs the binaries (sbin is not on every PATH).
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin"])

# Every server started and not yet stopped: stopped when the interpreter exits, should a test
# run end without its fixture's teardown.
_running: dict[int, subprocess.Popen[bytes]] = {}


def _binary(name: str) -> str:
    """The path of one of Dovecot's programs; the test fails when it is not installed."""
    path = shutil.which(name, path=_SEARCH_PATH)
    if path is None:
        pytest.fail(
            f"The mailbox tests need a real Dovecot: `{name}` is not installed "
            f"(Debian: apt-get install {PACKAGE}).",
            pytrace=False,
        )
    return path


@functools.cache
def _version(dovecot: str) -> tuple[int, int]:
    """Dovecot's major and minor version: 2.3 (Debian bookworm) or 2.4 (trixie, sid), whose
    configurations differ. Fails the test on any other."""
    output = subprocess.run(
        [dovecot, "--version"], capture_output=True, text=True, timeout=TIMEOUT, check=True
    ).stdout.strip()
    match = re.match(r"(\d+)\.(\d+)\.", output)
    version = (int(match[1]), int(match[2])) if match else (0, 0)
    if version not in {(2, 3), (2, 4)}:
        pytest.fail(
            f"tests/servers/dovecot.py configures Dovecot 2.3 and 2.4; {dovecot} is {output}.",
            pytrace=False,
        )
    return version


@functools.cache
def certificate_files() -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key (PEM files), made
    once per test process in a temporary folder removed when the process exits."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    subject_key = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(subject_key, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(subject_key),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="dovecot-tls-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    folder.chmod(0o755)
    cert_path = folder / "cert.pem"
    key_path = folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    cert_path.chmod(0o644)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _certificate() -> Path:
    return certificate_files()[0]


def _key() -> Path:
    return certificate_files()[1]


def free_ports(count: int) -> list[int]:
    """Distinct loopback ports free at the moment (all held open together while chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            for _ in range(count)
        ]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def mailbox_name(name: str) -> str:
    """A folder's name as an IMAP argument: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    parts: list[str] = []
    other: list[str] = []

    def end_other() -> None:
        if other:
            encoded = base64.b64encode("".join(other).encode("utf-16-be")).decode("ascii")
            parts.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            other.clear()

    for char in name:
        if " " <= char <= "~":
            end_other()
            parts.append("&-" if char == "&" else char)
        else:
            other.append(char)
    end_other()
    return '"' + "".join(parts).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(result: tuple[str, Sequence[object]], what: str) -> Sequence[object]:
    """The data of a command's answer; raises if the server did not answer OK."""
    status, data = result
    if status != "OK":
        raise imaplib.IMAP4.error(f"{what}: {status} {data!r}")
    return data


_LINE_END = re.compile(rb"\r\n|\r(?!\n)|\n")
_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_UIDVALIDITY = re.compile(rb"\bUIDVALIDITY (\d+)")


@dataclass
class Dovecot:
    """One Dovecot with one user, all of it under `base`."""

    base: Path
    imap_port: int
    imaps_port: int
    user: str = "alerts"
    password: str = "Alerts-Passw0rd"
    # The self-signed certificate (localhost, 127.0.0.1) clients may trust, and its key.
    certificate: Path = field(default_factory=_certificate)
    key: Path = field(default_factory=_key)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _passwd_mtime: int = field(default=0, init=False, repr=False)

    @property
    def config(self) -> Path:
        return self.base / "dovecot.conf"

    @property
    def log(self) -> Path:
        return self.base / "dovecot.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Starts Dovecot and waits until it greets on the plain port and accepts on the TLS
        port. The configuration is written anew; mail already stored stays."""
        if self.running:
            return
        dovecot = _binary("dovecot")
        _binary("doveadm")
        version = _version(dovecot)
        owner = pwd.getpwnam(MAIL_OWNER)
        self.base.chmod(0o755)
        for folder in ("run", "state"):
            (self.base / folder).mkdir(mode=0o755, exist_ok=True)
        mail = self.base / "mail"
        mail.mkdir(mode=0o750, exist_ok=True)
        os.chown(mail, owner.pw_uid, owner.pw_gid)
        self._write_passwd()
        self.config.write_text(
            self._config_text(version, owner.pw_uid, owner.pw_gid), encoding="utf-8"
        )
        with self.log.open("ab") as output:
            process = subprocess.Popen(
                [dovecot, "-F", "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        self._process = process
        _running[process.pid] = process
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stops Dovecot (its IMAP sessions end) and waits until both ports are closed."""
        process, self._process = self._process, None
        if process is None:
            return
        _stop(process)
        deadline = time.monotonic() + TIMEOUT
        while any(port_open(port) for port in (self.imap_port, self.imaps_port)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Dovecot's ports stay open after a stop:\n{self.log_text()}")
            time.sleep(0.01)

    def restart(self) -> None:
        """Stops and starts again: the same ports, the same mail."""
        self.stop()
        self.start()

    def ssl_context(self) -> ssl.SSLContext:
        """A client's context that trusts the server's certificate (and nothing else)."""
        return ssl.create_default_context(cafile=self.certificate)

    @contextlib.contextmanager
    def imap(self) -> Iterator[imaplib.IMAP4]:
        """An IMAP session of the user on the plain port (no TLS), logged out at the end."""
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=TIMEOUT)
        try:
            _ok(client.login(self.user, self.password), "LOGIN")
            yield client
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    def append(
        self, messages: list[bytes], folder: str = "INBOX", *, flags: Collection[str] = ()
    ) -> None:
        """Stores the messages in the folder (which must exist), in this order, with line
        ends made CRLF as imaplib does. `flags` (e.g. {"\\\\Seen"}) are given to all of them;
        none by default. One IMAP session sends the APPENDs a hundred at a time without
        waiting for each answer (LITERAL+): a thousand take about half a second."""
        name = mailbox_name(folder)
        flag_list = b"(" + " ".join(flags).encode("ascii") + b") " if flags else b""
        with self.imap() as client:
            for start in range(0, len(messages), APPEND_BATCH):
                batch = messages[start : start + APPEND_BATCH]
                commands = []
                for number, message in enumerate(batch):
                    literal = _LINE_END.sub(b"\r\n", message)
                    commands.append(
                        b"A%d APPEND %s %s{%d+}\r\n%s\r\n"
                        % (number, name.encode("ascii"), flag_list, len(literal), literal)
                    )
                client.send(b"".join(commands))
                for number in range(len(batch)):
                    tag = b"A%d " % number
                    while not (line := client.readline()).startswith(tag):  # untagged
                        if not line:
                            raise imaplib.IMAP4.abort(f"APPEND to {folder}: connection closed")
                    if not line.startswith(tag + b"OK"):
                        raise imaplib.IMAP4.error(f"APPEND to {folder}: {line!r}")

    def uids(self, folder: str = "INBOX") -> list[int]:
        """The UIDs of the folder's messages, ascending."""
        with self.imap() as client:
            _ok(client.select(mailbox_name(folder), readonly=True), f"EXAMINE {folder}")
            data = _ok(client.uid("SEARCH", "ALL"), "UID SEARCH")
        return sorted(int(uid) for line in data if isinstance(line, bytes) for uid in line.split())

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """Each message's flags by UID, e.g. {1: {"\\\\Seen"}, 2: set()}. Without \\\\Recent,
        which depends on the session that looks."""
        with self.imap() as client:
            _ok(client.select(mailbox_name(folder), readonly=True), f"EXAMINE {folder}")
            data = _ok(client.uid("FETCH", "1:*", "(FLAGS)"), "UID FETCH")
        result: dict[int, set[str]] = {}
        for line in data:
            if not isinstance(line, bytes):
                continue
            uid, flags = _UID.search(line), _FLAGS.search(line)
            if uid and flags:
                result[int(uid[1])] = set(flags[1].decode().split()) - {"\\Recent"}
        return result

    def uidvalidity(self, folder: str = "INBOX") -> int:
        """The folder's UIDVALIDITY (asked with STATUS)."""
        with self.imap() as client:
            data = _ok(client.status(mailbox_name(folder), "(UIDVALIDITY)"), "STATUS")
        match = _UIDVALIDITY.search(b" ".join(line for line in data if isinstance(line, bytes)))
        assert match, data
        return int(match[1])

    def create_folder(self, name: str) -> None:
        """Creates a folder and subscribes to it. Levels are separated by "/" ("Alerts/NAS");
        names may have spaces and other than ASCII letters."""
        with self.imap() as client:
            _ok(client.create(mailbox_name(name)), f"CREATE {name}")
            _ok(client.subscribe(mailbox_name(name)), f"SUBSCRIBE {name}")

    def reset_uidvalidity(self, folder: str = "INBOX") -> None:
        """Gives the folder a new UIDVALIDITY (one more than before); its messages stay (with
        their UIDs). Sessions that have the folder selected are disconnected by Dovecot."""
        new = self.uidvalidity(folder) + 1
        self.doveadm("mailbox", "update", "-u", self.user, "--uid-validity", str(new), folder)
        if (now := self.uidvalidity(folder)) != new:
            raise RuntimeError(f"UIDVALIDITY of {folder} is {now}, not {new}:\n{self.log_text()}")

    def set_password(self, password: str) -> None:
        """The user's password from now on (sessions logged in stay). Takes up to a second:
        Dovecot looks at the password file's time at most once a second, so this waits for
        the next second to begin."""
        self.password = password
        self._write_passwd()
        time.sleep(1.01 - time.time() % 1)

    def doveadm(self, *arguments: str) -> str:
        """Runs `doveadm` on this server (which must run); returns its output."""
        result = subprocess.run(
            [_binary("doveadm"), "-c", str(self.config), *arguments],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(
                f"doveadm {' '.join(arguments)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    def log_text(self) -> str:
        """Everything Dovecot logged (info included: logins, failed logins, disconnections)."""
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def _write_passwd(self) -> None:
        """The password file (plain text), readable by Dovecot's unprivileged auth processes.
        Dovecot rereads it when its modification time or size changes: the time goes up by
        at least a second with every write."""
        if any(char in self.password + self.user for char in ":\n\r"):
            raise ValueError("A user or password with ':' or a line break")
        path = self.base / "passwd"
        path.write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n", encoding="utf-8")
        path.chmod(0o644)
        self._passwd_mtime = max(int(time.time()), self._passwd_mtime + 1)
        os.utime(path, (self._passwd_mtime, self._passwd_mtime))

    def _config_text(self, version: tuple[int, int], uid: int, gid: int) -> str:
        """The whole configuration: nothing of /etc/dovecot is read."""
        base = self.base
        if version >= (2, 4):
            # Dovecot 2.4: the first setting names the version the configuration is written
            # for; settings and variables have new names (%{user} for %u).
            head = "dovecot_config_version = 2.4.0\ndovecot_storage_version = 2.4.0\n"
            tls = f"ssl_server_cert_file = {self.certificate}\nssl_server_key_file = {self.key}"
            auth = f"""\
auth_allow_cleartext = yes
auth_username_format = %{{user}}
passdb passwd-file {{
  passwd_file_path = {base}/passwd
  default_password_scheme = PLAIN
}}
userdb static {{
  fields {{
    uid = {uid}
    gid = {gid}
    home = {base}/mail/%{{user}}
  }}
}}"""
            storage = "mail_driver = maildir\nmail_path = %{home}/Maildir"
            one_login_process = "restart_request_count = unlimited"
            address = ""  # the listeners listen where `listen` says
        else:
            head = ""
            tls = f"ssl_cert = <{self.certificate}\nssl_key = <{self.key}"
            auth = f"""\
disable_plaintext_auth = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}"""
            storage = "mail_location = maildir:~/Maildir"
            one_login_process = "service_count = 0"
            address = "\n    address = 127.0.0.1"
        return f"""\
{head}# Written by tests/servers/dovecot.py: a test server, nothing of the system's Dovecot.
instance_name = dovecot-test-{base.name}
base_dir = {base}/run
state_dir = {base}/state
listen = 127.0.0.1
protocols = imap
log_path = {self.log}
info_log_path = {self.log}
auth_verbose = yes
# No statistics: a login process that asks for them can outlive a stop by seconds.
stats_writer_socket_path =

ssl = yes
{tls}

auth_mechanisms = plain login
auth_failure_delay = 0
{auth}
first_valid_uid = {uid}
first_valid_gid = {gid}

{storage}
namespace inbox {{
  inbox = yes
  separator = /
}}
mail_fsync = never
maildir_very_dirty_syncs = yes
# No $HasAttachment / $HasNoAttachment keywords (2.4 adds them by default).
mail_attachment_detection_options =
mailbox_idle_check_interval = 1 secs

protocol imap {{
  mail_max_userip_connections = 1000
}}
# No authentication penalty (a login after a failed one from the same address waits seconds):
# the documented way to turn it off.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  # One login process for all connections, started with Dovecot (its own start takes time).
  {one_login_process}
  process_min_avail = 1
  inet_listener imap {{{address}
    port = {self.imap_port}
  }}
  inet_listener imaps {{{address}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
"""

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + TIMEOUT
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                raise RuntimeError(f"Dovecot did not start:\n{self.log_text()}")
            if _greets(self.imap_port) and _greets(self.imaps_port, self.ssl_context()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Dovecot did not answer in {TIMEOUT} s:\n{self.log_text()}")
            time.sleep(0.01)


def _greets(port: int, context: ssl.SSLContext | None = None) -> bool:
    """Whether an IMAP greeting comes on the port (after the TLS handshake with a context)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            if context is None:
                return sock.makefile("rb").readline().startswith(b"* OK")
            with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
                return tls.makefile("rb").readline().startswith(b"* OK")
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ends Dovecot as systemd stops it: SIGTERM to all its processes (IMAP sessions say
    BYE and end). Without the second its master then sleeps for the log process: once no
    process of the group is left besides these two, the group gets SIGKILL; so it does after
    half a second anyway (a login process just starting can take five to go)."""
    _running.pop(process.pid, None)
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while process.poll() is None and time.monotonic() < deadline:
        if not [
            pid
            for pid, name, state in _group(process.pid)
            if pid != process.pid and name != "log" and state != "Z"
        ]:
            time.sleep(0.02)  # the log process writes what it has been sent
            break
        time.sleep(0.005)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(TIMEOUT)


def _group(pgid: int) -> list[tuple[int, str, str]]:
    """The processes of a process group: id, name and state (Z: ended, not yet reaped)."""
    processes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        name_end = stat.rfind(")")
        state, _parent, group = stat[name_end + 2 :].split()[:3]
        if int(group) == pgid:
            processes.append((int(entry.name), stat[stat.find("(") + 1 : name_end], state))
    return processes


@atexit.register
def _stop_all() -> None:
    for process in list(_running.values()):
        _stop(process)


def _temporary_parent() -> str:
    """Where servers keep their folders: in memory (/dev/shm) where there is such a place, as
    creating files there is many times faster than on a disk (a thousand messages are a
    thousand files and more). Not pytest's tmp_path: its folders are 0700, and Dovecot's
    unprivileged processes must reach the password file."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        return str(shm)
    return tempfile.gettempdir()


@contextlib.contextmanager
def running_dovecot(user: str = "alerts") -> Iterator[Dovecot]:
    """A started Dovecot in a new temporary directory; stopped and removed at the end."""
    _binary("dovecot")
    base = Path(tempfile.mkdtemp(prefix="dovecot-", dir=_temporary_parent()))
    try:
        imap_port, imaps_port = free_ports(2)
        server = Dovecot(base, imap_port, imaps_port, user=user)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(name="dovecot")
def dovecot_fixture(socket_enabled: None) -> Iterator[Dovecot]:
    """`dovecot`: a fresh Dovecot for the test (user "alerts", an empty INBOX), with loopback
    sockets allowed; removed with its mail after the test."""
    with running_dovecot() as server:
        yield server


# The same fixture for `from tests.servers.dovecot import dovecot`: a test module that imports
# this name and has tests with a `dovecot` argument gets ruff's F811, not with dovecot_fixture.
dovecot = dovecot_fixture
