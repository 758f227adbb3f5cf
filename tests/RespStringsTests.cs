// tests/RespStringsTests.cs: the rest of Redis's string commands over KV's RESP port (MGET, MSET, MSETNX, GETDEL,
// GETSET, GETEX, APPEND, STRLEN, TYPE, RENAME, RENAMENX, FLUSHDB), raw and through StackExchange.Redis with its
// defaults, read back over KV's own protocol where it matters.

using KV;
using StackExchange.Redis;
using Xunit;

public class RespStringsTests
{
    [Fact]
    public async Task Rename_copy_and_mset_check_the_memory_budget_before_anything_moves()
    {
        // 10,000 bytes: a pair costs its key, its value and KeyValueStore.EntryOverheadBytes.
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-memory", "10000");
        await using var c = await server.ConnectRespAsync();
        var value = new string('v', 4000);
        Assert.Equal("+OK", await c.AskAsync("SET", "a", value));
        Assert.Equal("+OK", await c.AskAsync("SET", "f", new string('f', 5800)));
        // 150 bytes left: a longer name costs more than that, the same name's length nothing.
        var longName = new string('k', 256);
        const string Oom = "-OOM command not allowed when used memory > 'maxmemory'.";
        Assert.Equal(Oom, await c.AskAsync("RENAME", "a", longName));
        Assert.Equal(":0", await c.AskAsync("EXISTS", longName));
        Assert.Equal("$" + value, await c.AskAsync("GET", "a"));
        Assert.Equal("+OK", await c.AskAsync("RENAME", "a", "b"));
        Assert.Equal(Oom, await c.AskAsync("COPY", "b", "c"));
        Assert.Equal(":0", await c.AskAsync("EXISTS", "c"));
        Assert.Equal(Oom, await c.AskAsync("MSET", "x", "1", "y", new string('y', 200)));
        Assert.Equal(":0", await c.AskAsync("EXISTS", "x", "y"));
        Assert.Equal("+OK", await c.AskAsync("MSET", "x", "1", "y", "2"));
        Assert.Equal("$" + value, await c.AskAsync("GET", "b"));
    }

    [Fact]
    public async Task The_string_commands_answer_as_redis_does()
    {
        var clock = ManualClock.StartingNow();
        await using var server = InProcessServer.StartWithClock(clock, "--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("MSET", "a", "1", "b", "two words"));
        Assert.Equal("*3[$1,$two words,$nil]", await c.AskAsync("MGET", "a", "b", "absent"));
        Assert.Equal("-ERR wrong number of arguments for 'mset' command", await c.AskAsync("MSET", "a", "1", "b"));
        Assert.Equal("-ERR " + Errors.KeyEmpty, await c.AskAsync("MSET", "ok", "1", "", "2"));
        Assert.Equal("$nil", await c.AskAsync("GET", "ok"));
        Assert.Equal(":0", await c.AskAsync("MSETNX", "new", "1", "a", "x"));
        Assert.Equal("$nil", await c.AskAsync("GET", "new"));
        Assert.Equal(":1", await c.AskAsync("MSETNX", "new", "1", "other", "2"));
        Assert.Equal(":5", await c.AskAsync("APPEND", "a", "2345"));
        Assert.Equal(":3", await c.AskAsync("APPEND", "fresh", "abc"));
        Assert.Equal("-ERR " + Errors.KeyEmpty, await c.AskAsync("APPEND", "", "x"));
        Assert.Equal(":5", await c.AskAsync("STRLEN", "a"));
        Assert.Equal(":0", await c.AskAsync("STRLEN", "absent"));
        Assert.Equal("+string", await c.AskAsync("TYPE", "a"));
        Assert.Equal("+none", await c.AskAsync("TYPE", "absent"));
        Assert.Equal("$12345", await c.AskAsync("GETSET", "a", "reset"));
        Assert.Equal("$reset", await c.AskAsync("GETDEL", "a"));
        Assert.Equal("$nil", await c.AskAsync("GETDEL", "a"));

        Assert.Equal("+OK", await c.AskAsync("SET", "session", "s", "EX", "100"));
        Assert.Equal("+OK", await c.AskAsync("RENAME", "session", "renamed"));
        Assert.Equal(":100", await c.AskAsync("TTL", "renamed"));
        Assert.Equal("-ERR no such key", await c.AskAsync("RENAME", "session", "x"));
        Assert.Equal(":0", await c.AskAsync("RENAMENX", "renamed", "b"));
        Assert.Equal(":1", await c.AskAsync("RENAMENX", "renamed", "session"));
        Assert.Equal(":0", await c.AskAsync("RENAMENX", "session", "session"));
        Assert.Equal("$s", await c.AskAsync("GETEX", "session", "PERSIST"));
        Assert.Equal(":-1", await c.AskAsync("TTL", "session"));
        Assert.Equal("$s", await c.AskAsync("GETEX", "session", "PX", "500"));
        Assert.Equal("-ERR syntax error", await c.AskAsync("GETEX", "session", "EX", "1", "PERSIST"));
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal("$nil", await c.AskAsync("GETEX", "session"));

        await using var kv = await server.ConnectAsync();
        Assert.Equal(new Reply.Value("two words"), await kv.AskAsync("get b"));
        Assert.Equal("+OK", await c.AskAsync("FLUSHDB"));
        Assert.Equal(":0", await c.AskAsync("DBSIZE"));
        Assert.Empty(Assert.IsType<Reply.Keys>(await kv.AskAsync("list")).Names);
        Assert.Equal("-ERR syntax error", await c.AskAsync("FLUSHALL", "NOW"));
        Assert.Equal("+OK", await c.AskAsync("FLUSHALL", "ASYNC"));
    }

    [Fact]
    public async Task Stack_exchange_redis_with_its_defaults_uses_expiry_and_many_keys_at_once()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var redis = await RedisClient.ConnectAsync(server.RespPort);
        var db = redis.GetDatabase();
        Assert.True(await db.StringSetAsync("se-session", "token", TimeSpan.FromMinutes(5)));
        Assert.InRange((await db.KeyTimeToLiveAsync("se-session"))!.Value, TimeSpan.FromMinutes(4.9),
            TimeSpan.FromMinutes(5));
        Assert.True(await db.KeyExpireAsync("se-session", TimeSpan.FromMinutes(10)));
        Assert.True(await db.KeyPersistAsync("se-session"));
        Assert.Null(await db.KeyTimeToLiveAsync("se-session"));
        Assert.True(await db.StringSetAsync([new("se-a", "1"), new("se-b", "2")]));
        Assert.Equal(["1", "2", null], (await db.StringGetAsync(["se-a", "se-b", "se-none"])).Select(v => (string?)v));
        Assert.Equal(3, await db.StringIncrementAsync("se-a", 2));
        Assert.Equal("3", (string?)await db.StringGetDeleteAsync("se-a"));
        Assert.Equal(2, await db.StringAppendAsync("se-b", "x"));
        Assert.True(await db.KeyRenameAsync("se-b", "se-c"));
        Assert.Equal("2x", await server.StoredAsync("se-c"));
        // IServer.Keys pages through SCAN.
        Assert.Equal(["se-c", "se-session"], redis.GetServers()[0].Keys(pattern: "se-*",
            pageSize: 1).Select(k => (string)k!).Order());
    }

    [Fact]
    public async Task Stack_exchange_redis_asking_for_resp3_gets_it()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var redis = await RedisClient.ConnectAsync(server.RespPort, ",protocol=resp3");
        Assert.Equal(RedisProtocol.Resp3, redis.GetServers()[0].Protocol);
        var db = redis.GetDatabase();
        Assert.True(await db.StringSetAsync("r3-a", "one", TimeSpan.FromMinutes(1)));
        Assert.Equal("one", (string?)await db.StringGetAsync("r3-a"));
        Assert.True((await db.StringGetAsync("r3-none")).IsNull);
        Assert.Equal(["one", null], (await db.StringGetAsync(["r3-a", "r3-none"])).Select(v => (string?)v));
    }

    [Fact]
    public async Task Command_count_list_and_docs_read_the_resp_table()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal($":{RespCommands.All.Length}", await c.AskAsync("COMMAND", "COUNT"));
        Assert.StartsWith($"*{RespCommands.All.Length}[$ping,", await c.AskAsync("COMMAND", "LIST"));
        Assert.Equal("*2[$incr,*6[$summary,$add 1 to the integer at the key (a missing key counts from 0): the new " +
            "value,$since,$1.0.0,$group,$kv]]",
            await c.AskAsync("COMMAND", "DOCS", "incr", "nosuch"));
    }

    [Fact]
    public async Task Copy_getrange_and_time_answer_as_redis_does()
    {
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_000_123));
        await using var server = InProcessServer.StartWithClock(clock, "--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("SET", "src", "Hello, world", "EX", "100"));
        Assert.Equal(":1", await c.AskAsync("COPY", "src", "dst"));
        Assert.Equal(":100", await c.AskAsync("TTL", "dst"));
        Assert.Equal(":0", await c.AskAsync("COPY", "src", "dst"));
        Assert.Equal(":1", await c.AskAsync("COPY", "src", "dst", "REPLACE"));
        Assert.Equal(":0", await c.AskAsync("COPY", "absent", "dst"));
        Assert.Equal("-ERR DB index is out of range", await c.AskAsync("COPY", "src", "dst", "DB", "1"));
        Assert.Equal("-ERR value is not an integer or out of range", await c.AskAsync("COPY", "src", "dst", "DB", "x"));
        Assert.Equal("$Hello", await c.AskAsync("GETRANGE", "src", "0", "4"));
        Assert.Equal("$world", await c.AskAsync("GETRANGE", "src", "-5", "-1"));
        Assert.Equal("$Hello, world", await c.AskAsync("GETRANGE", "src", "0", "4294967297"));
        // Both ends before the start: each is clamped to the first byte, as Redis clamps them; crossed, empty.
        Assert.Equal("$H", await c.AskAsync("GETRANGE", "src", "-4294967296", "-4294967295"));
        Assert.Equal("$", await c.AskAsync("GETRANGE", "src", "-1", "-5"));
        Assert.Equal("-ERR source and destination objects are the same", await c.AskAsync("COPY", "src", "src"));
        Assert.Equal("-ERR source and destination objects are the same",
            await c.AskAsync("COPY", "src", "src", "REPLACE"));
        Assert.Equal("$", await c.AskAsync("GETRANGE", "src", "5", "2"));
        Assert.Equal("$", await c.AskAsync("GETRANGE", "absent", "0", "-1"));
        Assert.Equal("*2[$1796000000,$123000]", await c.AskAsync("TIME"));
        var cpuAndClients = await c.AskAsync("INFO", "cpu", "CLIENTS");
        Assert.Matches("used_cpu_user:\\d+\\.\\d{6}", cpuAndClients);
        Assert.Contains("connected_clients:1", cpuAndClients);
        Assert.DoesNotContain("used_memory", cpuAndClients);
    }
}
