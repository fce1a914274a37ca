"""A throwaway Apache Tomcat 10 for tests: Debian's ``tomcat10`` + ``tomcat10-admin`` on loopback.

Each server gets its own CATALINA_BASE in a temporary directory (``conf/``, ``logs/``, ``work/``,
``temp/``, an empty ``webapps/``) and shares the packaged CATALINA_HOME (/usr/share/tomcat10).
It serves:

- the manager app of ``tomcat10-admin`` at ``/manager`` (deployed by a context file, loopback
  only through a RemoteCIDRValve), so ``/manager/status?XML=true`` is Tomcat's own status page;
- a tiny test app at ``/``: ``/index.html`` (static login page), ``/ok`` (the same page from a
  JSP), ``/slow?ms=N`` or ``?seconds=S`` (sleeps, then 200), ``/fail`` (500),
  ``/alloc?mb=N`` (allocates N MiB and keeps it; ``&release=1`` drops what is held first,
  ``&gc=1`` runs System.gc(); it answers 500 on OutOfMemoryError and keeps what it got).

Two HTTP connectors on 127.0.0.1, each on a free port: the *app* connector (``port``,
``max_threads`` request threads: small, so the pool can be saturated on demand) and an *admin*
connector (``admin_port``, its own pool) that ``status_url`` uses, so the status page still
answers while the app connector is saturated (a status read through a saturated connector
waits in the accept queue like any other request). The shutdown port is disabled: stop() sends
SIGTERM and the JVM's shutdown hook stops Tomcat cleanly.

The JVM is launched directly (no catalina.sh, so ``pid`` is the JVM itself); when the tests run
as root it runs as the ``tomcat`` system user that ``tomcat10`` creates. PR_SET_PDEATHSIG and
an atexit hook keep a killed or forgetful test run from leaving it behind.

Users (``tomcat-users.xml``, passwords random per server, stored as SHA-256 digests):
``status_user`` holds only ``manager-status``; ``other_user`` holds an unrelated role (the
manager answers it 403).

Plain class, no pytest.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import os
import pwd
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from xml.sax.saxutils import quoteattr

from tests.support.dbservers import (
    BinaryNotFound,
    ServerError,
    Throwaway,
    _die_with_parent,
    _log_tail,
    free_port,
    new_password,
)

__all__ = ["TomcatServer", "find_java", "CATALINA_HOME", "MANAGER_DOCBASE"]

CATALINA_HOME = Path("/usr/share/tomcat10")
MANAGER_DOCBASE = Path("/usr/share/tomcat10-admin/manager")


def find_java() -> Path:
    """The java binary Debian's tomcat10 would use: $JAVA_HOME, default-java, then the newest
    /usr/lib/jvm/java-N-openjdk-* (the order of /usr/libexec/tomcat10/tomcat-locate-java.sh)."""
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    candidates.append(Path("/usr/lib/jvm/default-java"))
    for version in (25, 24, 23, 22, 21, 17, 11):
        candidates.extend(sorted(Path("/usr/lib/jvm").glob(f"java-{version}-openjdk-*")))
    for home in candidates:
        java = home / "bin" / "java"
        if os.access(java, os.X_OK):
            return java
    raise BinaryNotFound("a Java runtime for Tomcat 10", "default-jre-headless")


# -- CATALINA_BASE files ----------------------------------------------------------------------

_LOGGING = """\
handlers = java.util.logging.ConsoleHandler
.handlers = java.util.logging.ConsoleHandler
.level = INFO
java.util.logging.ConsoleHandler.level = FINE
java.util.logging.ConsoleHandler.formatter = org.apache.juli.OneLineFormatter
java.util.logging.ConsoleHandler.encoding = UTF-8
"""

# the packaged catalina.properties, less the long jar lists: skip scanning every jar (fast start)
_CATALINA_PROPERTIES = """\
package.access=sun.,org.apache.catalina.,org.apache.coyote.,org.apache.jasper.,org.apache.tomcat.
package.definition=sun.,java.,org.apache.catalina.,org.apache.coyote.,org.apache.jasper.,org.apache.naming.,org.apache.tomcat.
common.loader="${catalina.base}/lib","${catalina.base}/lib/*.jar","${catalina.home}/lib","${catalina.home}/lib/*.jar"
server.loader=
shared.loader=
tomcat.util.scan.StandardJarScanFilter.jarsToSkip=*.jar
tomcat.util.scan.StandardJarScanFilter.jarsToScan=
tomcat.util.buf.StringCache.byte.enabled=true
"""

# the global web.xml: the default (static) servlet and the JSP servlet, a few MIME types
_GLOBAL_WEB_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0">
  <servlet>
    <servlet-name>default</servlet-name>
    <servlet-class>org.apache.catalina.servlets.DefaultServlet</servlet-class>
    <init-param><param-name>listings</param-name><param-value>false</param-value></init-param>
    <load-on-startup>1</load-on-startup>
  </servlet>
  <servlet>
    <servlet-name>jsp</servlet-name>
    <servlet-class>org.apache.jasper.servlet.JspServlet</servlet-class>
    <init-param><param-name>fork</param-name><param-value>false</param-value></init-param>
    <init-param><param-name>xpoweredBy</param-name><param-value>false</param-value></init-param>
    <load-on-startup>3</load-on-startup>
  </servlet>
  <servlet-mapping><servlet-name>default</servlet-name><url-pattern>/</url-pattern></servlet-mapping>
  <servlet-mapping><servlet-name>jsp</servlet-name><url-pattern>*.jsp</url-pattern></servlet-mapping>
  <session-config><session-timeout>30</session-timeout></session-config>
  <mime-mapping><extension>html</extension><mime-type>text/html</mime-type></mime-mapping>
  <mime-mapping><extension>css</extension><mime-type>text/css</mime-type></mime-mapping>
  <mime-mapping><extension>js</extension><mime-type>text/javascript</mime-type></mime-mapping>
  <mime-mapping><extension>xml</extension><mime-type>application/xml</mime-type></mime-mapping>
  <mime-mapping><extension>xsl</extension><mime-type>application/xslt+xml</mime-type></mime-mapping>
  <mime-mapping><extension>xsd</extension><mime-type>application/xml</mime-type></mime-mapping>
  <mime-mapping><extension>svg</extension><mime-type>image/svg+xml</mime-type></mime-mapping>
  <mime-mapping><extension>ico</extension><mime-type>image/x-icon</mime-type></mime-mapping>
  <mime-mapping><extension>txt</extension><mime-type>text/plain</mime-type></mime-mapping>
  <welcome-file-list><welcome-file>index.html</welcome-file><welcome-file>index.jsp</welcome-file></welcome-file-list>
</web-app>
"""

_GLOBAL_CONTEXT_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<Context>
  <JarScanner scanClassPath="false" scanManifest="false"/>
</Context>
"""

_LOGIN_PAGE = ("<!doctype html><html><head><title>Workcube</title></head><body><form id='login'>"
               "<input name='username'></form></body></html>\n")

_APP_FILES = {
    "index.html": _LOGIN_PAGE,
    "ok.jsp": '<%@ page contentType="text/html; charset=UTF-8" session="false" %>' + _LOGIN_PAGE,
    "slow.jsp": """\
<%@ page contentType="text/plain; charset=UTF-8" session="false" %><%
    long ms = 1000;
    String msParam = request.getParameter("ms");
    String secondsParam = request.getParameter("seconds");
    if (msParam != null) {
        ms = Long.parseLong(msParam);
    } else if (secondsParam != null) {
        ms = (long) (Double.parseDouble(secondsParam) * 1000.0);
    }
    ms = Math.max(0L, Math.min(ms, 300000L));
    Thread.sleep(ms);
    out.print("slept " + ms + " ms\\n");
%>""",
    "fail.jsp": """\
<%@ page contentType="text/plain; charset=UTF-8" session="false" %><%
    response.setStatus(500);
    out.print("Internal Server Error: l4test.fail\\n");
%>""",
    "alloc.jsp": """\
<%@ page contentType="text/plain; charset=UTF-8" session="false" import="java.util.*" %><%
    List<byte[]> held;
    synchronized (application) {
        @SuppressWarnings("unchecked")
        List<byte[]> existing = (List<byte[]>) application.getAttribute("l4test.held");
        if (existing == null) {
            existing = Collections.synchronizedList(new ArrayList<byte[]>());
            application.setAttribute("l4test.held", existing);
        }
        held = existing;
    }
    if (request.getParameter("release") != null) {
        held.clear();
    }
    String mbParam = request.getParameter("mb");
    int mb = mbParam == null ? 0 : Math.max(0, Math.min(Integer.parseInt(mbParam), 4096));
    String outcome = "ok";
    try {
        for (int i = 0; i < mb; i++) {
            held.add(new byte[1 << 20]);
        }
    } catch (OutOfMemoryError e) {
        outcome = "OutOfMemoryError";
        response.setStatus(500);
    }
    if (request.getParameter("gc") != null) {
        System.gc();
    }
    Runtime rt = Runtime.getRuntime();
    out.print(outcome + " held_mb=" + held.size() + " used=" + (rt.totalMemory() - rt.freeMemory())
              + " total=" + rt.totalMemory() + " max=" + rt.maxMemory() + "\\n");
%>""",
}

_APP_ROUTES = {"ok": "/ok.jsp", "slow": "/slow.jsp", "fail": "/fail.jsp", "alloc": "/alloc.jsp"}


def _app_web_xml() -> str:
    servlets = "".join(
        f"  <servlet><servlet-name>{name}</servlet-name><jsp-file>{jsp}</jsp-file></servlet>\n"
        f"  <servlet-mapping><servlet-name>{name}</servlet-name><url-pattern>/{name}</url-pattern></servlet-mapping>\n"
        for name, jsp in _APP_ROUTES.items()
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0" metadata-complete="true">\n'
            f"{servlets}</web-app>\n")


def _sha256_hex(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


class TomcatServer(Throwaway):
    """A throwaway Tomcat 10 on 127.0.0.1 (see the module docstring for what it serves).

    Lifecycle: ``start()`` writes the CATALINA_BASE on first use, launches the JVM and waits
    until the manager's status page answers 200 (``start_seconds`` is the measured time,
    ``tomcat_startup_ms`` Tomcat's own "Server startup in" figure); ``stop()`` shuts it down
    cleanly (SIGTERM); ``kill()`` SIGKILLs the JVM; ``start()`` again brings it back on the same
    ports with the same base (compiled JSPs kept); ``close()`` stops it and deletes the base.
    Also a context manager.
    """

    package = "tomcat10"
    admin_package = "tomcat10-admin"
    service_user = "tomcat"
    host = "127.0.0.1"
    status_user = "l4status"
    other_user = "l4nostatus"
    app_connector_name = property(lambda self: f"http-nio-{self.host}-{self.port}")
    admin_connector_name = property(lambda self: f"http-nio-{self.host}-{self.admin_port}")

    startup_timeout = 90.0  # seconds until the status page must answer
    stop_timeout = 30.0  # seconds a clean shutdown may take before SIGKILL

    def __init__(self, *, max_threads: int = 8, admin_threads: int = 4, accept_count: int = 50,
                 heap: str = "128m", gc: str = "SerialGC", extra_jvm_options: tuple[str, ...] = (),
                 port: int | None = None, admin_port: int | None = None):
        """Prepare (not start) a server. ``max_threads`` is the app connector's pool size,
        ``heap`` the -Xmx, ``gc`` the collector (-XX:+Use<gc>: SerialGC is the lightest;
        G1GC is what a production JVM on a server-class machine picks by itself)."""
        self.java = find_java()
        if not (CATALINA_HOME / "bin" / "bootstrap.jar").is_file():
            raise BinaryNotFound("Tomcat 10 (/usr/share/tomcat10/bin/bootstrap.jar)", self.package)
        if not (MANAGER_DOCBASE / "WEB-INF" / "web.xml").is_file():
            raise BinaryNotFound("Tomcat's manager app (/usr/share/tomcat10-admin/manager)", self.admin_package)
        self._account = self._service_account()
        self.max_threads = max_threads
        self.admin_threads = admin_threads
        self.accept_count = accept_count
        self.heap = heap
        self.gc = gc
        self.extra_jvm_options = tuple(extra_jvm_options)
        self.port = port or free_port(self.host)
        self.admin_port = admin_port or free_port(self.host)
        while self.admin_port == self.port:
            self.admin_port = free_port(self.host)
        self.status_password = new_password()
        self.other_password = new_password()
        self.start_seconds: float | None = None
        self.tomcat_startup_ms: int | None = None
        self._proc: subprocess.Popen | None = None
        self._initialized = False
        self._closed = False
        self.base_dir = Path(tempfile.mkdtemp(prefix="l4agent-tomcat-"))
        atexit.register(self.close)
        self.log_file = self.base_dir / "logs" / "catalina.out"

    # -- addresses and credentials -----------------------------------------------------------

    @property
    def url(self) -> str:
        """The test app's base URL (app connector), no trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.host}:{self.admin_port}"

    @property
    def status_url(self) -> str:
        """The manager's XML status page on the admin connector (answers while the app pool is full)."""
        return f"{self.admin_url}/manager/status?XML=true"

    @property
    def app_status_url(self) -> str:
        """The same page through the app connector (queues behind a saturated pool, as in production)."""
        return f"{self.url}/manager/status?XML=true"

    @property
    def credentials(self) -> tuple[str, str]:
        """(user, password) of the manager-status user."""
        return self.status_user, self.status_password

    @property
    def jvm_options(self) -> list[str]:
        return [
            f"-Xmx{self.heap}", "-Xms16m", f"-XX:+Use{self.gc}",
            "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-XX:+UseStringDeduplication" if self.gc == "G1GC" else "",
            "-Djava.awt.headless=true", "-Djava.security.egd=file:/dev/urandom",
            *self.extra_jvm_options,
        ]

    def basic_auth(self, user: str | None = None, password: str | None = None) -> str:
        """An Authorization header value (the status user's unless told otherwise)."""
        user = user or self.status_user
        if password is None:
            password = {self.status_user: self.status_password, self.other_user: self.other_password}[user]
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def fetch_status(self, url: str | None = None, timeout: float = 10.0) -> bytes:
        """GET the XML status page with the status user's basic auth; returns the body."""
        request = urllib.request.Request(url or self.status_url, headers={"Authorization": self.basic_auth()})
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - loopback test URL
            return reply.read()

    # -- processes ---------------------------------------------------------------------------

    def _service_account(self) -> pwd.struct_passwd | None:
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(self.service_user)
        except KeyError:
            raise ServerError(
                f"running as root needs the system user {self.service_user!r} (package {self.package})") from None

    def _write(self, relative: str, text: str, mode: int = 0o640) -> None:
        path = self.base_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)

    def _initialize(self) -> None:
        """Write the CATALINA_BASE (server not running)."""
        for sub in ("conf/Catalina/localhost", "logs", "work", "temp", "webapps", "apps/ROOT/WEB-INF", "lib"):
            (self.base_dir / sub).mkdir(parents=True, exist_ok=True)
        self._write("conf/server.xml", self._server_xml())
        self._write("conf/tomcat-users.xml", self._users_xml(), mode=0o600)
        self._write("conf/logging.properties", _LOGGING)
        self._write("conf/catalina.properties", _CATALINA_PROPERTIES)
        self._write("conf/web.xml", _GLOBAL_WEB_XML)
        self._write("conf/context.xml", _GLOBAL_CONTEXT_XML)
        self._write("conf/Catalina/localhost/manager.xml", (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Context docBase={quoteattr(str(MANAGER_DOCBASE))} privileged=\"true\" antiResourceLocking=\"false\">\n"
            '  <Valve className="org.apache.catalina.valves.RemoteCIDRValve" allow="127.0.0.0/8, ::1/128"/>\n'
            "</Context>\n"))
        app_dir = self.base_dir / "apps" / "ROOT"
        self._write("conf/Catalina/localhost/ROOT.xml", (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Context docBase={quoteattr(str(app_dir))}/>\n"))
        for name, text in _APP_FILES.items():
            self._write(f"apps/ROOT/{name}", text, mode=0o644)
        self._write("apps/ROOT/WEB-INF/web.xml", _app_web_xml(), mode=0o644)
        self.log_file.touch(mode=0o640)
        if self._account:
            for root, dirs, files in os.walk(self.base_dir):
                for name in [*dirs, *files, "."]:
                    os.chown(os.path.join(root, name), self._account.pw_uid, self._account.pw_gid)

    def _server_xml(self) -> str:
        # bindOnInit="false": the ports are bound only once the webapps are deployed, so a port
        # that answers means a server that serves
        def connector(port: int, threads: int) -> str:
            return (f'    <Connector address="{self.host}" port="{port}" protocol="HTTP/1.1" bindOnInit="false"\n'
                    f'               maxThreads="{threads}" minSpareThreads="2" acceptCount="{self.accept_count}"\n'
                    '               connectionTimeout="20000" maxKeepAliveRequests="100"/>\n')

        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<Server port="-1" shutdown="SHUTDOWN">\n'
            '  <GlobalNamingResources>\n'
            '    <Resource name="UserDatabase" auth="Container" type="org.apache.catalina.UserDatabase"\n'
            '              factory="org.apache.catalina.users.MemoryUserDatabaseFactory"\n'
            '              pathname="conf/tomcat-users.xml" readonly="true"/>\n'
            '  </GlobalNamingResources>\n'
            '  <Service name="Catalina">\n'
            + connector(self.port, self.max_threads)
            + connector(self.admin_port, self.admin_threads)
            + '    <Engine name="Catalina" defaultHost="localhost">\n'
            '      <Realm className="org.apache.catalina.realm.UserDatabaseRealm" resourceName="UserDatabase">\n'
            '        <CredentialHandler className="org.apache.catalina.realm.MessageDigestCredentialHandler"\n'
            '                           algorithm="SHA-256"/>\n'
            '      </Realm>\n'
            '      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"\n'
            '            deployOnStartup="true" startStopThreads="2"/>\n'
            '    </Engine>\n'
            '  </Service>\n'
            '</Server>\n'
        )

    def _users_xml(self) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<tomcat-users xmlns="http://tomcat.apache.org/xml" version="1.0">\n'
            '  <role rolename="manager-status"/>\n'
            '  <role rolename="l4-unrelated"/>\n'
            f'  <user username="{self.status_user}" password="{_sha256_hex(self.status_password)}" '
            'roles="manager-status"/>\n'
            f'  <user username="{self.other_user}" password="{_sha256_hex(self.other_password)}" '
            'roles="l4-unrelated"/>\n'
            '</tomcat-users>\n'
        )

    def _command(self) -> list[str]:
        base = str(self.base_dir)
        opens = [f"--add-opens=java.base/{p}=ALL-UNNAMED"
                 for p in ("java.lang", "java.lang.reflect", "java.io", "java.util", "java.util.concurrent")]
        opens.append("--add-opens=java.rmi/sun.rmi.transport=ALL-UNNAMED")
        return [
            str(self.java),
            f"-Djava.util.logging.config.file={base}/conf/logging.properties",
            "-Djava.util.logging.manager=org.apache.juli.ClassLoaderLogManager",
            *[o for o in self.jvm_options if o],
            *opens,
            "-classpath", f"{CATALINA_HOME}/bin/bootstrap.jar:{CATALINA_HOME}/bin/tomcat-juli.jar",
            f"-Dcatalina.base={base}", f"-Dcatalina.home={CATALINA_HOME}", f"-Djava.io.tmpdir={base}/temp",
            "org.apache.catalina.startup.Bootstrap", "start",
        ]

    def start(self) -> float:
        """Start Tomcat and wait until the status page answers 200; returns (and keeps in
        ``start_seconds``) the seconds from launch to that first answer. No-op when running."""
        if self._closed:
            raise ServerError("server was closed")
        if self.running:
            return self.start_seconds or 0.0
        if not self._initialized:
            self._initialize()
            self._initialized = True
        log_offset = self.log_file.stat().st_size
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.base_dir),
               "JAVA_HOME": str(self.java.parent.parent)}
        args: dict = {}
        if self._account:
            args.update(user=self._account.pw_uid, group=self._account.pw_gid, extra_groups=[])
        began = time.monotonic()
        with open(self.log_file, "ab") as log:
            self._proc = subprocess.Popen(
                self._command(), cwd=self.base_dir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env, start_new_session=True,
                preexec_fn=_die_with_parent(signal.SIGKILL), **args)
        self._wait_ready(began)
        self.start_seconds = time.monotonic() - began
        self.tomcat_startup_ms = self._startup_ms(log_offset)
        return self.start_seconds

    def _wait_ready(self, began: float) -> None:
        deadline = began + self.startup_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code, self._proc = self._proc.returncode, None
                raise ServerError(f"tomcat exited with code {code} during startup; log tail "
                                  f"({self.log_file}):\n{_log_tail(self.log_file)}")
            if self._port_open(self.admin_port):
                try:
                    self.fetch_status(timeout=5.0)
                    return
                except (urllib.error.URLError, OSError) as exc:
                    last_error = exc
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"tomcat not ready after {self.startup_timeout}s (last error: {last_error}); "
                          f"log tail ({self.log_file}):\n{_log_tail(self.log_file)}")

    def _port_open(self, port: int) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((self.host, port)) == 0

    def _startup_ms(self, offset: int) -> int | None:
        with contextlib.suppress(OSError):
            with open(self.log_file, "rb") as log:
                log.seek(offset)
                found = re.findall(rb"Server startup in \[([\d,.]+)\] milliseconds", log.read())
                if found:
                    return int(re.sub(rb"\D", b"", found[-1]))
        return None

    def stop(self) -> None:
        """Shut Tomcat down cleanly (SIGTERM: the JVM's shutdown hook stops Catalina), SIGKILL
        after ``stop_timeout`` seconds; waits until the JVM is gone."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def kill(self) -> int | None:
        """SIGKILL the JVM (a crash: no shutdown hook runs) and reap it; returns the old pid."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return proc.pid

    def restart(self) -> float:
        self.stop()
        return self.start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<TomcatServer {self.url} admin {self.admin_port} {state} {self.base_dir}>"
