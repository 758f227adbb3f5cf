// tests/RedisToolsTests.cs: Redis's own tools and the most used .NET client library, unchanged and with their
// default settings, against KV's RESP port: StackExchange.Redis, redis-cli and redis-benchmark. What they
// store is read back over KV's own protocol. Without redis-tools installed the tool tests are skipped, saying so.

using System.Diagnostics;
using KV;
using StackExchange.Redis;
using Xunit;

public class RedisToolsTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private InProcessServer Server => shared.Server;

    [Fact]
    public async Task StackExchange_redis_with_default_options_sets_gets_deletes_and_checks()
    {
        await using var redis = await RedisClient.ConnectAsync(Server.RespPort);
        var db = redis.GetDatabase();
        Assert.True(await db.StringSetAsync("se-a", "one"));
        Assert.Equal("one", (string?)await db.StringGetAsync("se-a"));
        Assert.False(await db.StringSetAsync("se-a", "two", when: When.NotExists));
        Assert.True(await db.StringSetAsync("se-b", "ñ 😀\tx", when: When.NotExists));
        Assert.True(await db.KeyExistsAsync("se-a"));
        Assert.True(await db.KeyDeleteAsync("se-a"));
        Assert.False(await db.KeyExistsAsync("se-a"));
        Assert.True((await db.StringGetAsync("se-missing")).IsNull);
        Assert.Null(await Server.StoredAsync("se-a"));
        Assert.Equal("ñ 😀\tx", await Server.StoredAsync("se-b"));
        byte[] binary = [0, 0xFF, (byte)'\n', (byte)' '];
        Assert.True(await db.StringSetAsync(binary, binary));
        Assert.Equal(binary, (byte[]?)await db.StringGetAsync(binary));
        var refused = await Assert.ThrowsAsync<RedisServerException>(() => db.StringSetAsync("", "v"));
        Assert.Contains(Errors.KeyEmpty, refused.Message);
    }

    [Fact]
    public async Task Fifty_concurrent_tasks_of_200_operations_get_every_reply_right()
    {
        await using var redis = await RedisClient.ConnectAsync(Server.RespPort);
        var db = redis.GetDatabase();
        var wrong = await Task.WhenAll(Enumerable.Range(0, 50).Select(async id =>
        {
            var random = new Random(id);
            var model = new Dictionary<string, string>();
            var mistakes = new List<string>();
            for (var i = 0; i < 200; i++)
            {
                var key = $"se-load{id}-{random.Next(10)}";
                switch (random.Next(3))
                {
                    case 0:
                        model[key] = $"v{i} {id}";
                        if (!await db.StringSetAsync(key, model[key])) mistakes.Add($"set {key}");
                        break;
                    case 1:
                        var value = (string?)await db.StringGetAsync(key);
                        if (value != model.GetValueOrDefault(key)) mistakes.Add($"get {key}: {value}");
                        break;
                    default:
                        if (await db.KeyDeleteAsync(key) != model.Remove(key)) mistakes.Add($"del {key}");
                        break;
                }
            }
            foreach (var (key, value) in model)
                if (await Server.StoredAsync(key) != value) mistakes.Add($"over KV {key}");
            return mistakes;
        }));
        Assert.Empty(wrong.SelectMany(w => w));
    }

    [Fact]
    public async Task A_batch_of_a_thousand_is_pipelined_and_read_back_over_kv()
    {
        await using var redis = await RedisClient.ConnectAsync(Server.RespPort);
        var db = redis.GetDatabase();
        var batch = db.CreateBatch();
        var sets = Enumerable.Range(0, 1000).Select(i => batch.StringSetAsync($"se-batch{i}", $"value {i}")).ToList();
        batch.Execute();
        Assert.All(await Task.WhenAll(sets), Assert.True);
        await using var connection = await Server.ConnectAsync();
        for (var i = 0; i < 1000; i += 97)
            Assert.Equal($"value {i}", Assert.IsType<Reply.Value>(await connection.AskAsync($"get se-batch{i}")).Text);
    }

    [Fact]
    public async Task Redis_cli_sets_gets_and_deletes_a_value_with_spaces_and_tabs()
    {
        Assert.SkipUnless(Tool.Installed("redis-cli"), "redis-cli is not installed (apt-get install redis-tools)");
        var port = Server.RespPort.ToString();
        Assert.Equal("OK", await Tool.RunAsync("redis-cli", "-p", port, "set", "cli-k", "two  spaces\tand a tab"));
        Assert.Equal("two  spaces\tand a tab", await Tool.RunAsync("redis-cli", "-p", port, "get", "cli-k"));
        Assert.Equal("two  spaces\tand a tab", await Server.StoredAsync("cli-k"));
        Assert.Equal("1", await Tool.RunAsync("redis-cli", "-p", port, "del", "cli-k"));
        Assert.Equal("", await Tool.RunAsync("redis-cli", "-p", port, "get", "cli-k"));
    }

    [Fact]
    public async Task Redis_benchmark_pipelined_finishes_without_errors_and_the_store_holds_its_keys()
    {
        Assert.SkipUnless(Tool.Installed("redis-benchmark"),
            "redis-benchmark is not installed (apt-get install redis-tools)");
        await using var server = InProcessServer.Start("--resp-port", "0");
        var output = await Tool.RunAsync("redis-benchmark", "-p", server.RespPort.ToString(), "-t", "set,get,ping",
            "-n", "100000", "-P", "16", "-q", "-r", "1000");
        Assert.DoesNotContain("ERR", output);
        foreach (var test in new[] { "PING_INLINE", "PING_MBULK", "SET", "GET" })
            Assert.Matches($@"(^|\r|\n){test}: [\d.]+ requests per second", output);
        await using var connection = await server.ConnectAsync();
        var keys = Assert.IsType<Reply.Keys>(await connection.AskAsync("list")).Names;
        Assert.InRange(keys.Length, 500, 1000);
        Assert.All(keys, key => Assert.Matches(@"^key:\d{12}$", key));
    }

    [Fact]
    public async Task Redis_cli_stat_shows_the_true_keys_clients_and_requests()
    {
        Assert.SkipUnless(Tool.Installed("redis-cli") && Tool.Installed("script"),
            "redis-cli (redis-tools) or script (bsdutils) is not installed");
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using (var client = await server.ConnectAsync())
            foreach (var key in new[] { "a", "b", "c" }) Assert.IsType<Reply.Ok>(await client.AskAsync($"set {key} 1"));
        var lines = await Tool.WatchAsync($"redis-cli -p {server.RespPort} --stat -i 0.1", line => line.StartsWith('3'),
            count: 3);
        Assert.Contains(lines, line => line.StartsWith("keys       mem      clients blocked requests"));
        var data = lines.Where(line => line.StartsWith('3')).ToList();
        // keys 3, the store's bytes, this one client, none blocked, the requests so far (+ since the line before),
        // connections.
        Assert.All(data, line => Assert.Matches(@"^3 +\d+B +1 +0 +\d+ \(\+\d+\) +\d+ *$", line));
        Assert.DoesNotContain(lines, line => line.Contains("-9223372036854775808"));
    }

    [Fact]
    public async Task Redis_cli_monitor_shows_a_request_made_over_kvs_protocol_in_redis_format()
    {
        Assert.SkipUnless(Tool.Installed("redis-cli") && Tool.Installed("script"),
            "redis-cli (redis-tools) or script (bsdutils) is not installed");
        await using var server = InProcessServer.Start("--resp-port", "0");
        var watching = Tool.WatchAsync($"redis-cli -p {server.RespPort} monitor", line => line.Contains("\"watched\""));
        await server.ExpectOutputAsync("connected .1 client.");
        await using var client = await server.ConnectAsync();
        // Until the monitor's `OK` has reached it, a request may come before the monitor is there: set again.
        while (!watching.IsCompleted)
        {
            Assert.IsType<Reply.Ok>(await client.AskAsync("set watched Zürich"));
            await Task.WhenAny(watching, Task.Delay(50, TestContext.Current.CancellationToken));
        }
        Assert.Matches(@"^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] ""set"" ""watched"" ""Z\\xc3\\xbcrich""$",
            (await watching).Last());
    }

    [Fact]
    public async Task Redis_cli_speaks_resp3_with_3()
    {
        Assert.SkipUnless(Tool.Installed("redis-cli"), "redis-cli is not installed (apt-get install redis-tools)");
        await using var server = InProcessServer.Start("--resp-port", "0");
        var port = server.RespPort.ToString();
        // A map, as redis-cli -3 prints one: a field and its value on a line.
        Assert.Contains("proto 3\nid ", await Tool.RunAsync("redis-cli", "-3", "-p", port, "hello", "3"));
        Assert.Equal("OK", await Tool.RunAsync("redis-cli", "-3", "-p", port, "set", "r3", "v", "EX", "60"));
        Assert.Equal("60", await Tool.RunAsync("redis-cli", "-3", "-p", port, "ttl", "r3"));
    }

    [Fact]
    public async Task Redis_py_pipelines_in_a_transaction_expires_and_retries_a_watched_update()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/python3") && Tool.Succeeds("/usr/bin/python3", "-c", "import redis"),
            "redis-py is not installed (apt-get install python3-redis)");
        await using var server = InProcessServer.Start("--resp-port", "0");
        const string Script = """
            import redis, sys
            r = redis.Redis(port=int(sys.argv[1]))
            p = r.pipeline()            # MULTI ... EXEC, redis-py's default
            p.set("py-tx", 1); p.incr("py-tx"); p.get("py-tx")
            print(p.execute())
            r.set("py-session", "s", ex=60); print(50 < r.ttl("py-session") <= 60)
            def bump(pipe):
                value = int(pipe.get("py-counter") or 0)
                pipe.multi(); pipe.set("py-counter", value + 1)
            for _ in range(3): r.transaction(bump, "py-counter")
            print(r.get("py-counter"), r.mget("py-tx", "py-none"), sorted(r.scan_iter("py-*")))
            """;
        var output = await Tool.RunAsync("/usr/bin/python3", "-c", Script, server.RespPort.ToString());
        Assert.Equal("[True, 2, b'2']\nTrue\nb'3' [b'2', None] [b'py-counter', b'py-session', b'py-tx']", output);
    }
}

/// <summary>A program from the machine's packages, run to its end.</summary>
public static class Tool
{
    public static bool Installed(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(folder => File.Exists(Path.Combine(folder,
            name)));

    /// <summary>
    /// Runs a command line on a pseudo-terminal (`script`, so that the tool writes as it would to a person, unbuffered)
    /// until `count` of its lines satisfy `wanted`, then stops it; returns every line it printed, without CRs.
    /// </summary>
    public static async Task<List<string>> WatchAsync(string commandLine, Func<string, bool> wanted, int count = 1)
    {
        var info = new ProcessStartInfo("script", ["-qfec", commandLine, "/dev/null"]) { RedirectStandardOutput = true,
            RedirectStandardInput = true };
        using var process = Process.Start(info)!;
        var lines = new List<string>();
        try
        {
            while (lines.Count(wanted) < count
                && await process.StandardOutput.ReadLineAsync(Programs.Timeout()) is { } line)
                lines.Add(line.TrimEnd('\r'));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
        Assert.True(lines.Count(wanted) >= count, $"'{commandLine}' printed:\n{string.Join('\n', lines)}");
        return lines;
    }

    /// <summary>Whether the program runs and exits 0 (a Python module is importable).</summary>
    public static bool Succeeds(string name, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(name, arguments) { RedirectStandardOutput = true,
            RedirectStandardError = true })!;
        process.WaitForExit(Programs.Patience);
        return process.HasExited && process.ExitCode == 0;
    }

    /// <summary>
    /// Runs the tool and returns its standard output without the final newline; a failure fails the test.
    /// </summary>
    public static async Task<string> RunAsync(string name, params string[] arguments)
    {
        var info = new ProcessStartInfo(name, arguments) { RedirectStandardOutput = true,
            RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(Programs.Timeout());
        var errors = process.StandardError.ReadToEndAsync(Programs.Timeout());
        await process.WaitForExitAsync(Programs.Timeout());
        Assert.True(process.ExitCode == 0, $"{name} exited {process.ExitCode}: {await errors}");
        return (await output).TrimEnd('\n');
    }
}
