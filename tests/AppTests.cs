// tests/AppTests.cs: real applications against KV's RESP port, as their developers use them: Django's cache through
// django-redis and a Flask view cached by Flask-Caching, both storing pickles (bytes that are not UTF-8), redis-py's
// lock, limits' rate limiters, a Celery task on a worker and an RQ job. They run when Debian's packages are installed
// (.ci/run installs them); else they say they were skipped and why.

using Xunit;

public class AppTests
{
    /// <summary>
    /// Runs the Python script against a fresh server's RESP port (its first argument): what it printed. Skipped, saying
    /// why, when the module it tries is not installed.
    /// </summary>
    private static async Task<string> RunAsync(string module, string package, string script)
    {
        Assert.SkipUnless(File.Exists("/usr/bin/python3")
            && Tool.Succeeds("/usr/bin/python3", "-c", $"import {module}"),
            $"{module} is not installed (apt-get install {package})");
        await using var server = InProcessServer.Start("--resp-port", "0");
        return await Tool.RunAsync("/usr/bin/python3", "-c", script, server.RespPort.ToString());
    }

    [Fact]
    public async Task Django_caches_pickled_values_through_django_redis()
    {
        const string Module = "django_redis", Package = "python3-django-redis";
        // incr runs as a Lua script (EVAL) in django-redis.
        const string Script = """
            import sys, django
            from django.conf import settings
            settings.configure(CACHES={"default": {"BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{sys.argv[1]}/0"}})
            django.setup()
            from django.core.cache import cache
            cache.set("dict", {"name": "Zürich", "bytes": b"\x00\xff", "list": [1, 2.5]}, timeout=60)
            print(cache.get("dict"))
            print(0 < cache.ttl("dict") <= 60)
            cache.set_many({"a": "x\ny", "b": 2, "c": None})
            print(sorted(cache.get_many(["a", "b", "c", "absent"]).items()))
            cache.delete_many(["a", "b"])
            print(cache.get_many(["a", "b"]), cache.get("c", "default"), cache.has_key("dict"))
            cache.set("n", 1)
            print(cache.incr("n", 5), cache.decr("n"), cache.get("n"))
            """;
        var output = await RunAsync(Module, Package, Script);
        Assert.Equal("""
            {'name': 'Zürich', 'bytes': b'\x00\xff', 'list': [1, 2.5]}
            True
            [('a', 'x\ny'), ('b', 2), ('c', None)]
            OrderedDict() None True
            6 5 5
            """.ReplaceLineEndings("\n").TrimEnd('\n'), output);
    }

    [Fact]
    public async Task Flask_caching_runs_a_cached_view_once_for_two_requests()
    {
        const string Module = "flask_caching", Package = "python3-flask-caching";
        const string Script = """
            import sys
            from flask import Flask
            from flask_caching import Cache
            app = Flask(__name__)
            cache = Cache(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_HOST": "127.0.0.1",
                "CACHE_REDIS_PORT": int(sys.argv[1])})
            runs = 0
            @app.route("/")
            @cache.cached(timeout=60)
            def index():
                global runs
                runs += 1
                return f"run {runs}"
            client = app.test_client()
            print(client.get("/").data, client.get("/").data, runs)
            cache.set("pickled", {"k": (1, 2)})
            print(cache.get("pickled"), cache.get("absent"))
            """;
        var output = await RunAsync(Module, Package, Script);
        Assert.Equal("b'run 1' b'run 1' 1\n{'k': (1, 2)} None", output);
    }

    [Fact]
    public async Task Redis_py_s_lock_is_taken_refused_extended_and_released_by_its_scripts()
    {
        const string Module = "redis", Package = "python3-redis";
        const string Script = """
            import sys, redis
            r = redis.Redis(port=int(sys.argv[1]))
            lock = r.lock("resource", timeout=10)
            other = r.lock("resource", timeout=10)
            print(lock.acquire(blocking=False), other.acquire(blocking=False))
            print(lock.extend(5), 10 < r.pttl("resource") <= 15000, lock.owned(), other.owned())
            lock.release()
            print(r.exists("resource"), other.acquire(blocking=False))
            other.release()
            """;
        var output = await RunAsync(Module, Package, Script);
        Assert.Equal("True False\nTrue True True False\n0 True", output);
    }

    [Fact]
    public async Task Limits_fixed_window_rate_limiter_counts_hits_with_its_script()
    {
        const string Module = "limits", Package = "python3-limits";
        const string Script = """
            import sys
            from limits import storage, strategies, parse
            # The limiter holds its storage weakly: keep it here.
            store = storage.RedisStorage(f"redis://127.0.0.1:{sys.argv[1]}")
            limiter = strategies.FixedWindowRateLimiter(store)
            limit = parse("3/minute")
            print([limiter.hit(limit, "user") for _ in range(5)], limiter.get_window_stats(limit, "user")[1])
            """;
        var output = await RunAsync(Module, Package, Script);
        Assert.Equal("[True, True, True, False, False] 0", output);
    }

    [Fact]
    public async Task A_celery_task_runs_on_a_solo_worker_with_kv_as_broker_and_result_backend()
    {
        const string Module = "celery", Package = "python3-celery";
        // The broker's queue is a list the worker waits on with BRPOP; the result comes back through a key and a
        // channel.
        const string Script = """
            import os, subprocess, sys, tempfile
            port = sys.argv[1]
            folder = tempfile.mkdtemp()
            with open(os.path.join(folder, "kvjobs.py"), "w") as f:
                f.write(f"from celery import Celery\napp = Celery('kvjobs', broker='redis://127.0.0.1:{port}/0', "
                        f"backend='redis://127.0.0.1:{port}/0')\n@app.task\ndef add(a, b):\n    return a + b\n")
            sys.path.insert(0, folder)
            # Celery's command line reads NO_COLOR (which a test run may set) as an option of its own, and stops.
            environment = {name: value for name, value in os.environ.items() if name != "NO_COLOR"}
            worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "kvjobs", "worker", "--pool=solo",
                "--loglevel=WARNING"], cwd=folder, env=environment, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            try:
                from kvjobs import add
                print("celery", add.delay(2, 3).get(timeout=60))
            finally:
                worker.terminate()
                worker.wait(30)
            """;
        var output = await RunAsync(Module, Package, Script);
        Assert.Equal("celery 5", output);
    }

    [Fact]
    public async Task Limits_moving_window_rate_limiter_keeps_its_hits_in_a_list()
    {
        const string Module = "limits", Package = "python3-limits";
        // Its hits are a list (LPUSH, LTRIM, LINDEX) read and written by a Lua script.
        const string Script = """
            import sys
            from limits import storage, strategies, parse
            store = storage.RedisStorage(f"redis://127.0.0.1:{sys.argv[1]}")
            limiter = strategies.MovingWindowRateLimiter(store)
            limit = parse("3/minute")
            print([limiter.hit(limit, "user") for _ in range(5)], limiter.get_window_stats(limit, "user")[1])
            """;
        var output = await RunAsync(Module, Package, Script);
        Assert.Equal("[True, True, True, False, False] 0", output);
    }

    [Fact]
    public async Task An_rq_job_runs_on_a_simple_worker_and_its_result_comes_back()
    {
        const string Module = "rq", Package = "python3-rq";
        // RQ keeps jobs in hashes, queues in lists, workers in sets, registries in sorted sets, results in a stream.
        const string Script = """
            import sys
            from redis import Redis
            from rq import Queue, SimpleWorker
            connection = Redis(port=int(sys.argv[1]))
            queue = Queue("kv", connection=connection)
            job = queue.enqueue("operator.add", 2, 3)
            SimpleWorker([queue], connection=connection).work(burst=True, logging_level="WARNING")
            job.refresh()
            print("rq", job.get_status(), job.result)
            """;
        var output = await RunAsync(Module, Package, Script);
        Assert.Equal("rq finished 5", output);
    }
}
