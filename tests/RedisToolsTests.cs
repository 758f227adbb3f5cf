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
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"localhost:{Server.RespPort}");
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
        var refused = await Assert.ThrowsAsync<RedisServerException>(() => db.StringSetAsync("se bad key", "v"));
        Assert.Contains(Errors.KeyHasWhitespace, refused.Message);
    }

    [Fact]
    public async Task Fifty_concurrent_tasks_of_200_operations_get_every_reply_right()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"localhost:{Server.RespPort}");
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
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"localhost:{Server.RespPort}");
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
        Assert.SkipUnless(Tool.Installed("redis-benchmark"), "redis-benchmark is not installed (apt-get install redis-tools)");
        await using var server = InProcessServer.Start("--resp-port", "0");
        var output = await Tool.RunAsync("redis-benchmark", "-p", server.RespPort.ToString(), "-t", "set,get,ping", "-n", "100000", "-P", "16", "-q", "-r", "1000");
        Assert.DoesNotContain("ERR", output);
        foreach (var test in new[] { "PING_INLINE", "PING_MBULK", "SET", "GET" })
            Assert.Matches($@"(^|\r|\n){test}: [\d.]+ requests per second", output);
        await using var connection = await server.ConnectAsync();
        var keys = Assert.IsType<Reply.Keys>(await connection.AskAsync("list")).Names;
        Assert.InRange(keys.Length, 500, 1000);
        Assert.All(keys, key => Assert.Matches(@"^key:\d{12}$", key));
    }
}

/// <summary>A program from the machine's packages, run to its end.</summary>
public static class Tool
{
    public static bool Installed(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(folder => File.Exists(Path.Combine(folder, name)));

    /// <summary>Runs the tool and returns its standard output without the final newline; a failure fails the test.</summary>
    public static async Task<string> RunAsync(string name, params string[] arguments)
    {
        var info = new ProcessStartInfo(name, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(Programs.Timeout());
        var errors = process.StandardError.ReadToEndAsync(Programs.Timeout());
        await process.WaitForExitAsync(Programs.Timeout());
        Assert.True(process.ExitCode == 0, $"{name} exited {process.ExitCode}: {await errors}");
        return (await output).TrimEnd('\n');
    }
}
