# src/bench/attacks.py: the attacks of docs/security-and-limits.md's "Every attack, measured together", one run for
# a server, so that anyone can measure every row again, on KV's models and on Redis, the same way.
#
# Each row starts a fresh server pinned to core 0 (KV with --resp-port 7401; Redis on 7401), fills it if the row
# needs it, then attacks it from core 1 while another process, at realtime priority on core 1 (so that it measures
# the server's wait and not its own wait for the core), sends a PING every 20 ms. VmRSS is sampled every 100 ms,
# and read again 5 s after the attacker has left. Needs python3, redis-cli, redis-benchmark, taskset and chrt, and
# root for chrt. A Python script, not a C# one: the attacks are a few lines of sockets each, run from outside.
#
#   dll=$(dotnet build KVServer.cs -t:Build -getProperty:TargetPath | tail -1)
#   sudo taskset -c 1 python3 src/bench/attacks.py pool=$dll [ROW ...]     # or loops=$dll, or redis
import re, socket, subprocess, sys, threading, time

KV, RESP = 7400, 7401
MODEL = "pool"  # the server attacked: pool or loops (KV), or redis; from the command line


def resp(*words):
    words = [w if isinstance(w, bytes) else str(w).encode() for w in words]
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)


def connect(port=RESP):
    return socket.create_connection(("127.0.0.1", port))


def call(s, *words):
    s.sendall(resp(*words))
    return s.recv(1 << 16)


def together(work, count):
    """Runs `work` on `count` threads at once and waits for all of them."""
    threads = [threading.Thread(target=work) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def fill(lines):
    subprocess.run(["taskset", "-c", "1", "redis-cli", "-p", str(RESP), "--pipe"], input=lines,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ping(port):
    """The measuring process: a PING every 20 ms until its standard input closes, then n/p50/p99/max in ms."""
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    p = connect(port)
    p.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    while not done.is_set():
        started = time.perf_counter()
        p.sendall(b"PING\r\n")
        answer = b""
        while not answer.endswith(b"\r\n"):
            answer += p.recv(64)
        rtts.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)
    rtts.sort()
    n = len(rtts)
    print(f"ping n={n} p50={rtts[n // 2]:.1f} p99={rtts[int(n * 0.99)]:.1f} max={rtts[-1]:.1f} ms", flush=True)


# The rows: each a (client budget, fill, attack) whose attack returns what it saw.

def scan_fill():
    fill(b"".join(b"SET key:%d value-%d\r\n" % (i, i) for i in range(1_010_000)))


def scan():
    """160 `SCAN 0 COUNT 1` left open on 1.01M keys, then 2,000 more keys so that the table grows under them."""
    cursors = [connect() for _ in range(160)]
    for s in cursors:
        call(s, "SCAN", 0, "COUNT", 1)
    fill(b"".join(b"SET key:%d value-%d\r\n" % (i, i) for i in range(1_010_000, 1_012_000)))
    time.sleep(3)
    return "160 cursors open across the growth"


def big_patterns():
    """150 PSUBSCRIBE patterns of 1 MB on one connection."""
    s, refused = connect(), 0
    for i in range(150):
        s.sendall(resp("PSUBSCRIBE", b"%d" % i + b"x" * 1_000_000))
        refused += s.recv(4096).startswith(b"-")
    s.close()
    return f"{refused} of 150 refused"


def many_patterns():
    """100,000 patterns on one connection, 1,000 a request, then the connection closes."""
    s, started = connect(), time.time()
    for base in range(0, 100_000, 1000):
        s.sendall(resp("PSUBSCRIBE", *[b"pat:%d:*" % i for i in range(base, base + 1000)]))
        confirmed = 0
        while confirmed < 1000:
            confirmed += s.recv(1 << 20).count(b"psubscribe")
    subscribed = time.time() - started
    s.close()
    started, other = time.time(), connect()
    while not call(other, "PUBSUB", "NUMPAT").startswith(b":0"):
        pass
    return f"subscribed in {subscribed:.2f} s, forgotten {time.time() - started:.3f} s after the close"


def watch():
    """300 connections each WATCH 10,000 keys of 256 bytes, 1,000 a request (--max-client-memory 64mb)."""
    answers = []

    def watcher(i):
        s = connect()
        for part in range(10):
            keys = [(b"%03d-%05d-" % (i, part * 1000 + k)).ljust(256, b"k") for k in range(1000)]
            s.sendall(resp("WATCH", *keys))
            answers.append(s.recv(200))
            if not answers[-1].startswith(b"+OK"):
                break
        time.sleep(5)
    numbers = iter(range(300))
    together(lambda: watcher(next(numbers)), 300)
    watched = sum(a.startswith(b"+OK") for a in answers)
    return f"{watched} requests watched, {len(answers) - watched} refused"


def long_transaction():
    """MULTI, 100,000 SETs of 10 KB, EXEC."""
    s, value = connect(), b"v" * 10_000
    s.sendall(resp("MULTI") + b"".join(resp("SET", b"k%d" % i, value) for i in range(100_000)))
    answered = 0
    while answered < 5 + 100_000 * 9:
        answered += len(s.recv(1 << 20))
    started, reply = time.time(), b""
    s.sendall(resp("EXEC"))
    while reply.count(b"\r\n") < 100_001:
        reply += s.recv(1 << 20)
    return f"EXEC {time.time() - started:.2f} s"


def unread_fill():
    call(connect(), "SET", "big", b"b" * 1_000_000)


def unread_transaction():
    """MULTI, 10,000 GETs of a 1 MB value, EXEC, the reply never read."""
    s = connect()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(resp("MULTI") + resp("GET", "big") * 10_000 + resp("EXEC"))
    time.sleep(12)
    return "reply left unread for 12 s"


def inline():
    """8 connections, each sending 1 MB inline lines full of quotes for 15 s (a new connection when one is closed)."""
    stop, answered = time.time() + 15, [0]

    def sender():
        line = b'SET k "' + b'a\\"' * 350_000 + b'"\r\n'
        while time.time() < stop:
            s = connect()
            try:
                s.sendall(line)
                s.recv(200)
                answered[0] += 1
            except OSError:
                pass
            s.close()
    together(sender, 8)
    return f"{answered[0]} lines answered"


def append():
    """200 APPENDs of 1 MB to one key."""
    s, chunk, started = connect(), b"a" * 1_000_000, time.time()
    for _ in range(200):
        call(s, "APPEND", "grow", chunk)
    return f"200 appends in {time.time() - started:.1f} s"


def deadlines_fill():
    fill(b"".join(b"SET d:%d v PX 3600000\r\n" % i for i in range(1_000_000)))


def pexpire():
    """PEXPIRE of one key again and again, 100 a batch, for 10 s, beside 1M other deadlines."""
    s, stop, sent = connect(), time.time() + 10, 0
    batch = resp("PEXPIRE", "d:7", 3_000_000) * 100
    while time.time() < stop:
        s.sendall(batch)
        answered = 0
        while answered < 100 * 4:
            answered += len(s.recv(1 << 16))
        sent += 100
    return f"{sent} PEXPIREs"


def monitors():
    """8 monitors reading, and redis-benchmark -c 50 -P 16 -t get, for 20 s."""
    readers = [subprocess.Popen(["taskset", "-c", "1", "redis-cli", "-p", str(RESP), "monitor"],
                                stdout=subprocess.DEVNULL) for _ in range(8)]
    time.sleep(0.5)
    out = subprocess.run(["taskset", "-c", "1", "timeout", "20", "redis-benchmark", "-p", str(RESP), "-c", "50", "-P",
                          "16", "-t", "get", "-n", "100000000", "-q"], capture_output=True, text=True).stdout
    for reader in readers:
        reader.kill()
    rates = re.findall(r"rps=([0-9.]+)", out.replace("\r", "\n"))
    return f"{float(rates[-1]) if rates else 0:,.0f} GETs a second"


def slow_patterns():
    """2,000 patterns `*` + 512 `?` + `X<n>`, then 20 publishers to a 1 KB channel for 15 s."""
    s = connect()
    for base in range(0, 2000, 100):
        s.sendall(resp("PSUBSCRIBE", *[b"*" + b"?" * 512 + b"X%d" % i for i in range(base, base + 100)]))
        confirmed = 0
        while confirmed < 100:
            confirmed += s.recv(1 << 20).count(b"psubscribe")
    stop, published, channel = time.time() + 15, [0], b"c" * 1024

    def publisher():
        p = connect()
        while time.time() < stop:
            call(p, "PUBLISH", channel, "m")
            published[0] += 1
    together(publisher, 20)
    return f"{published[0]} publishes in 15 s"


def glob_fill():
    fill(b"".join(resp("SET", b"k:%d:" % i + b"a" * 1000, "v") for i in range(20_000)))


def scan_match():
    """4 connections SCAN 20,000 1 KB keys with MATCH *a*a*...*b COUNT 1000, over and over for 15 s."""
    stop, scans = time.time() + 15, [0]

    def scanner():
        s, cursor = connect(), b"0"
        while time.time() < stop:
            s.sendall(resp("SCAN", cursor, "MATCH", b"*a" * 16 + b"*b", "COUNT", 1000))
            reply = b""
            while True:
                reply += s.recv(1 << 16)
                parts = reply.split(b"\r\n")
                if len(parts) >= 4 and parts[0] == b"*2":
                    keys = int(parts[3][1:]) if parts[3].startswith(b"*") else 0
                    if len(parts) >= 5 + 2 * keys:
                        break
            cursor = parts[2]
            scans[0] += 1
    together(scanner, 4)
    return f"{scans[0]} SCANs"


def name(n):
    """Six characters of base 36: 142,000 of them and their spaces fit a line of 1 MB."""
    digits = b"0123456789abcdefghijklmnopqrstuvwxyz"
    return bytes(digits[n // 36 ** i % 36] for i in range(5, -1, -1))


def subscribe_lines():
    """A line `subscribe` of 142,000 new channels, again and again for 45 s (--max-client-memory 64mb)."""
    redis = MODEL == "redis"
    s, stop, lines, refused, first = connect(RESP if redis else KV), time.time() + 45, 0, 0, 0
    while time.time() < stop:
        names = [name(first + k) for k in range(142_000)]
        first += 142_000
        s.sendall(resp("SUBSCRIBE", *names) if redis else b"subscribe " + b" ".join(names) + b"\n")
        reply = b""
        while not (reply.count(b"subscribe") >= 142_000 if redis else b"\n" in reply):
            more = s.recv(1 << 20)
            if not more:
                return f"{lines} lines, {refused} refused, then closed"
            reply += more
        lines += 1
        refused += b"ERR" in reply
    return f"{lines} lines, {refused} refused"


def due_fill():
    fill(b"".join(b"SET e:%d v PX 12000\r\n" % i for i in range(1_000_000)))


def due():
    """A million keys whose deadlines fall together, then DBSIZE and INFO."""
    time.sleep(12.5)
    s, started = connect(), time.time()
    size = call(s, "DBSIZE").strip().decode()
    call(s, "INFO")
    return f"DBSIZE {size} and INFO in {(time.time() - started) * 1000:.1f} ms"


def rename_fill():
    s = connect()
    for _ in range(203):
        call(s, "APPEND", "huge", b"r" * 1_000_000)


def rename():
    """RENAME of a 203 MB value, twice."""
    s, started = connect(), time.time()
    call(s, "RENAME", "huge", "huge2")
    first, started = time.time() - started, time.time()
    call(s, "RENAME", "huge2", "h")
    return f"RENAME {first * 1000:.1f} and {(time.time() - started) * 1000:.1f} ms"


ROWS = {
    "scan": (None, scan_fill, scan), "big-patterns": (None, None, big_patterns),
    "many-patterns": (None, None, many_patterns), "watch": ("64mb", None, watch),
    "long-transaction": (None, None, long_transaction), "unread-transaction": (None, unread_fill, unread_transaction),
    "inline": (None, None, inline), "append": (None, None, append), "pexpire": (None, deadlines_fill, pexpire),
    "monitors": (None, None, monitors), "slow-patterns": (None, None, slow_patterns),
    "scan-match": (None, glob_fill, scan_match), "subscribe-lines": ("64mb", None, subscribe_lines),
    "due": (None, due_fill, due), "rename": (None, rename_fill, rename),
}


def start(model, dll, budget):
    subprocess.run("pkill -9 -f '^dotnet .*KVServer'; pkill -9 redis-server", shell=True)
    time.sleep(0.5)
    if model == "redis":
        command = ["redis-server", "--port", str(RESP), "--save", "", "--appendonly", "no"]
        command += ["--maxmemory-clients", budget] if budget else []
    else:
        command = ["dotnet", dll, str(KV), "--bind", "127.0.0.1", "--resp-port", str(RESP), "--threading", model]
        command += ["--max-client-memory", budget] if budget else []
    server = subprocess.Popen(["taskset", "-c", "0"] + command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            warm = connect()  # a first PING compiles KV's path, which is no attack's doing
            for _ in range(3):
                warm.sendall(b"PING\r\n")
                warm.recv(64)
            warm.close()
            # A moment for the start's own growth (its first compilations) to settle, so that it is not counted as
            # the attack's.
            time.sleep(2.5)
            return server
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def resident(pid):
    try:
        return next(int(line.split()[1]) >> 10 for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS"))
    except (OSError, StopIteration):
        return 0


def run(model, dll, row):
    budget, prepare, attack = ROWS[row]
    server = start(model, dll, budget)
    if prepare:
        prepare()
    before = resident(server.pid)
    peak, sampling = [before], [True]

    def sample():
        while sampling[0]:
            peak[0] = max(peak[0], resident(server.pid))
            time.sleep(0.1)
    threading.Thread(target=sample, daemon=True).start()
    pinger = subprocess.Popen(["taskset", "-c", "1", "chrt", "-f", "50", sys.executable, __file__, "--ping",
                               str(RESP)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    try:
        seen = attack()
    except OSError as error:
        seen = f"the attack ended: {error!r}"
    pinger.stdin.close()
    pinged = pinger.stdout.read().strip()
    time.sleep(5)
    after = resident(server.pid)
    sampling[0] = False
    state = "up" if server.poll() is None else "DOWN"
    print(f"{model} | {row} | {pinged} | RSS {before} -> {peak[0]} -> {after} MB | {seen} | server {state}", flush=True)
    server.kill()
    server.wait()


if __name__ == "__main__":
    if sys.argv[1] == "--ping":
        ping(int(sys.argv[2]))
    else:
        MODEL, _, dll = sys.argv[1].partition("=")
        for row in sys.argv[2:] or list(ROWS):
            run(MODEL, dll, row)
