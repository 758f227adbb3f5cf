// tests/ScanTests.cs: SCAN over RESP: every key present for the whole iteration is returned while other clients add
// and delete keys; MATCH, COUNT, TYPE; cursors kept per connection and let go; redis-cli's --scan, --bigkeys,
// --memkeys.

using KV;
using Xunit;

public class ScanTests
{
    /// <summary>Every key a full SCAN returns, following the cursor to 0; `between` runs after each step.</summary>
    private static async Task<HashSet<string>> ScanAllAsync(RespConnection c, string[] options,
        Func<Task>? between = null)
    {
        var seen = new HashSet<string>();
        var cursor = "0";
        do
        {
            await c.SendAsync(RespConnection.Request(["SCAN", cursor, .. options]));
            var reply = await c.ReadAsync();
            // *2[$cursor,*n[$k1,$k2]]
            var inner = reply["*2[$".Length..^1];
            cursor = inner[..inner.IndexOf(',')];
            var list = inner[(inner.IndexOf(',') + 1)..];
            var keys = list[(list.IndexOf('[') + 1)..^1];
            if (keys.Length > 0) foreach (var key in keys.Split(',')) seen.Add(key[1..]);
            if (between is not null) await between();
        }
        while (cursor != "0");
        return seen;
    }

    [Fact]
    public async Task A_key_present_for_the_whole_scan_is_returned_while_others_come_and_go()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await using var churn = await server.ConnectRespAsync();
        for (var i = 0; i < 2_000; i++) Assert.Equal("+OK", await c.AskAsync("SET", $"stay{i}", "v"));
        // Between the scan's steps, keys come and go: adds grow the table under it (every key changes place), deletes
        // shift their neighbours back past its cursor.
        var next = 0;
        var seen = await ScanAllAsync(c, ["COUNT", "7"], async () =>
        {
            for (var i = 0; i < 8; i++, next++)
            {
                Assert.Equal("+OK", await churn.AskAsync("SET", $"come{next}", "v"));
                if (next % 2 == 0) Assert.Equal(":1", await churn.AskAsync("DEL", $"come{next}"));
            }
        });
        // The 2,000 keys fill the table to within 310 of growing: half the keys that come stay, so it grew under the
        // scan.
        Assert.True(next > 620, $"only {next} keys came and went during the scan");
        Assert.All(Enumerable.Range(0, 2_000), i => Assert.Contains($"stay{i}", seen));
    }

    [Fact]
    public async Task Match_count_and_type_narrow_what_is_returned_and_cursors_are_the_connections()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("MSET", "user:1", "a", "user:2", "b", "order:1", "c"));
        Assert.Equal(["user:1", "user:2"], (await ScanAllAsync(c, ["MATCH", "user:*", "COUNT", "1000"])).Order());
        Assert.Equal(3, (await ScanAllAsync(c, ["TYPE", "string"])).Count);
        Assert.Empty(await ScanAllAsync(c, ["TYPE", "list"]));
        Assert.Equal("-ERR invalid cursor", await c.AskAsync("SCAN", "x"));
        Assert.Equal("-ERR syntax error", await c.AskAsync("SCAN", "0", "COUNT"));
        Assert.Equal("-ERR syntax error", await c.AskAsync("SCAN", "0", "COUNT", "0"));
        // A cursor another connection began is not this one's.
        Assert.StartsWith("*2[$", await c.AskAsync("SCAN", "0", "COUNT", "1"));
        await using var other = await server.ConnectRespAsync();
        Assert.StartsWith("-ERR invalid cursor (a KV cursor belongs to the connection", await other.AskAsync("SCAN",
            "1"));
        Assert.Equal(":" + ("user:1".Length + 1 + KeyValueStore.EntryOverheadBytes), await c.AskAsync("MEMORY", "USAGE",
            "user:1"));
        Assert.Equal("$nil", await c.AskAsync("MEMORY", "USAGE", "absent"));
    }

    [Fact]
    public async Task A_connection_keeps_its_last_sixteen_scans_and_lets_the_oldest_go()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        for (var i = 0; i < 100; i++) Assert.Equal("+OK", await c.AskAsync("SET", $"k{i}", "v"));
        var cursors = new List<string>();
        for (var i = 0; i <= RespScan.MaxOpen; i++)
        {
            var reply = await c.AskAsync("SCAN", "0", "COUNT", "1");
            cursors.Add(reply["*2[$".Length..reply.IndexOf(',')]);
        }
        Assert.StartsWith("-ERR invalid cursor", await c.AskAsync("SCAN", cursors[0], "COUNT", "1"));
        Assert.StartsWith("*2[$", await c.AskAsync("SCAN", cursors[^1], "COUNT", "1"));
    }

    [Fact]
    public async Task Redis_cli_scans_and_finds_the_biggest_keys()
    {
        Assert.SkipUnless(Tool.Installed("redis-cli"), "redis-cli is not installed (apt-get install redis-tools)");
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        for (var i = 0; i < 300; i++) Assert.Equal("+OK", await c.AskAsync("SET", $"cli:{i}", new string('v', i)));
        var port = server.RespPort.ToString();
        var scanned = (await Tool.RunAsync("redis-cli", "-p", port, "--scan", "--pattern", "cli:1*")).Split('\n');
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"cli:{i}").Where(k => k.StartsWith("cli:1")).Order(),
            scanned.Order());
        var big = await Tool.RunAsync("redis-cli", "-p", port, "--bigkeys");
        Assert.Contains("Biggest string found '\"cli:299\"' has 299 bytes", big);
        Assert.Contains("300 strings with 44850 bytes", big);
        Assert.Matches("Biggest string found '\"cli:299\"' has \\d+ bytes", await Tool.RunAsync("redis-cli", "-p", port,
            "--memkeys"));
    }
}
