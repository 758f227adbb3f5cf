// tests/TransactionTests.cs: MULTI, EXEC, DISCARD, WATCH over RESP, as redis-py's default pipeline and a lock built
// on WATCH use them: queued commands run together or not at all, and a WATCHed key changed from either protocol
// makes EXEC run nothing.

using System.Text;
using System.Net.Sockets;
using System.Net;
using KV;
using StackExchange.Redis;
using Xunit;

public class TransactionTests
{
    [Fact]
    public async Task Queued_commands_run_together_at_exec_and_a_refused_one_aborts_them_all()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("SET", "tx", "1"));
        Assert.Equal("+QUEUED", await c.AskAsync("INCR", "tx"));
        Assert.Equal("+QUEUED", await c.AskAsync("INCR", "text"));
        await using var kv = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await kv.AskAsync("set text abc"));
        Assert.Null(await server.StoredAsync("tx"));
        // A command that fails when it runs is an error in the array, as in Redis; the others run.
        Assert.Equal("*3[+OK,:2,-ERR value is not an integer or out of range]", await c.AskAsync("EXEC"));
        Assert.Equal("2", await server.StoredAsync("tx"));

        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("SET", "tx", "lost"));
        Assert.StartsWith("-ERR unknown command 'NOPE'", await c.AskAsync("NOPE"));
        Assert.Equal("-ERR wrong number of arguments for 'get' command", await c.AskAsync("GET"));
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", await c.AskAsync("EXEC"));
        Assert.Equal("2", await server.StoredAsync("tx"));

        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("-ERR MULTI calls can not be nested", await c.AskAsync("MULTI"));
        Assert.StartsWith("-ERR KEYS is not allowed inside a transaction", await c.AskAsync("KEYS", "*"));
        Assert.Equal("+OK", await c.AskAsync("DISCARD"));
        Assert.Equal("-ERR EXEC without MULTI", await c.AskAsync("EXEC"));
        Assert.Equal("-ERR DISCARD without MULTI", await c.AskAsync("DISCARD"));
    }

    [Fact]
    public async Task Large_values_queued_in_a_transaction_are_stored_whole_in_the_order_queued()
    {
        // A queued SET of a large value copies it into the slab the store keeps it in (PreparedValue): EXEC must
        // still see each SET's own value, its options and what was there before, byte for byte.
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        string Large(char fill, int length) => new(fill, length);
        Assert.Equal("+OK", await c.AskAsync("SET", "big", Large('0', 9_000)));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        foreach (var arguments in new[]
        {
            new[] { "SET", "big", Large('a', 20_000), "GET" }, ["SET", "big", Large('b', 30_000), "XX"],
            ["SET", "big", Large('c', 40_000), "NX"], ["SET", "other", Large('d', 50_000), "EX", "100"],
            ["SET", "big", Large('e', 60_000), "bad-option"], ["SET", "third", Large('f', 9_000)],
        })
            Assert.Equal("+QUEUED", await c.AskAsync(arguments));
        Assert.Equal("+QUEUED", await c.AskAsync("GET", "big"));
        Assert.Equal($"*7[${Large('0', 9_000)},+OK,$nil,+OK,-ERR syntax error,+OK,${Large('b', 30_000)}]",
            await c.AskAsync("EXEC"));
        Assert.Equal(Large('b', 30_000), await server.StoredAsync("big"));
        Assert.Equal(Large('d', 50_000), await server.StoredAsync("other"));
        Assert.InRange(int.Parse((await c.AskAsync("TTL", "other"))[1..]), 1, 100);
        Assert.Equal(Large('f', 9_000), await server.StoredAsync("third"));
    }

    [Fact]
    public void A_watched_key_outlives_the_bytes_of_the_watcher_that_first_watched_it()
    {
        // The table of watched keys is keyed by the first watcher's own copy of the key; once that watcher lets go,
        // the others' entry must not depend on those bytes (here overwritten, as memory the watcher no longer holds).
        var store = new KeyValueStore();
        var first = Encoding.UTF8.GetBytes("xxkeyxx");
        List<(ReadOnlyMemory<byte> Key, long Version)> seenByFirst = [], seenBySecond = [];
        WatchedKeys.Watch(store, [first.AsMemory(2, 3)], seenByFirst);
        WatchedKeys.Watch(store, [Encoding.UTF8.GetBytes("key")], seenBySecond);
        WatchedKeys.Unwatch(store, seenByFirst[0].Key);
        first.AsSpan().Fill((byte)'z');
        Assert.True(WatchedKeys.RunIfUnchanged(store, seenBySecond, () => { }));
        store.Set("key"u8, "changed"u8);
        Assert.False(WatchedKeys.RunIfUnchanged(store, seenBySecond, () => { }));
    }

    [Fact]
    public async Task A_key_whose_time_had_come_before_watch_is_no_change_at_exec_as_in_redis()
    {
        var clock = new ManualClock(DateTimeOffset.FromUnixTimeMilliseconds(1_796_000_000_000));
        await using var server = InProcessServer.StartWithClock(clock, "--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("SET", "lease", "held", "PX", "100"));
        clock.Advance(TimeSpan.FromSeconds(1));
        // Due, and not read since: WATCH removes it first, so its expiry is not a change made after WATCH.
        Assert.Equal("+OK", await c.AskAsync("WATCH", "lease"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("SET", "lease", "mine"));
        Assert.Equal("*1[+OK]", await c.AskAsync("EXEC"));
    }

    [Fact]
    public async Task A_watched_key_changed_from_either_protocol_makes_exec_run_nothing()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await using var kv = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await kv.AskAsync("set balance 10"));

        Assert.Equal("+OK", await c.AskAsync("WATCH", "balance"));
        Assert.Equal("$10", await c.AskAsync("GET", "balance"));
        Assert.IsType<Reply.Value>(await kv.AskAsync("incr balance 5"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("SET", "balance", "11"));
        Assert.Equal("*-1[]", await c.AskAsync("EXEC")); // the null array: nothing ran
        Assert.Equal("15", await server.StoredAsync("balance"));

        // Watched again, nobody else writes: EXEC runs.
        Assert.Equal("+OK", await c.AskAsync("WATCH", "balance"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("SET", "balance", "16"));
        Assert.Equal("*1[+OK]", await c.AskAsync("EXEC"));
        Assert.Equal("16", await server.StoredAsync("balance"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("-ERR WATCH inside MULTI is not allowed", await c.AskAsync("WATCH", "x"));
        Assert.Equal("+OK", await c.AskAsync("DISCARD"));

        // A flush changes a watched key that existed, and not one that did not, as in Redis.
        Assert.Equal("+OK", await c.AskAsync("WATCH", "absent"));
        Assert.Equal("+OK", await c.AskAsync("FLUSHALL"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("PING"));
        Assert.Equal("*1[+PONG]", await c.AskAsync("EXEC"));
        Assert.Equal("+OK", await c.AskAsync("SET", "x", "1"));
        Assert.Equal("+OK", await c.AskAsync("WATCH", "x"));
        Assert.Equal("+OK", await c.AskAsync("FLUSHDB"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("PING"));
        Assert.Equal("*-1[]", await c.AskAsync("EXEC"));
    }

    [Fact]
    public async Task Watch_then_multi_loses_no_update_where_get_then_set_does()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var redis =
            await RedisClient.ConnectAsync(server.RespPort);
        var db = redis.GetDatabase();
        await db.StringSetAsync("tx-counter", 0);
        // Twenty tasks, fifty increments each, by read, then a transaction that sets the value read plus one only if
        // the key has not changed (StackExchange.Redis's condition is WATCH with a check): retried until it commits.
        await Task.WhenAll(Enumerable.Range(0, 20).Select(async worker =>
        {
            for (var i = 0; i < 50; i++)
                while (true)
                {
                    var read = (long)await db.StringGetAsync("tx-counter");
                    var transaction = db.CreateTransaction();
                    transaction.AddCondition(Condition.StringEqual("tx-counter", read));
                    _ = transaction.StringSetAsync("tx-counter", read + 1);
                    if (await transaction.ExecuteAsync()) break;
                }
        }));
        Assert.Equal("1000", await server.StoredAsync("tx-counter"));
    }

    [Fact]
    public async Task A_transaction_counts_against_the_clients_memory_budget()
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-client-memory", "1mb");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        var value = new string('v', 100_000);
        string reply;
        var queued = 0;
        while ((reply = await c.AskAsync("SET", $"big{queued}", value)) == "+QUEUED") queued++;
        Assert.InRange(queued, 5, 11);
        Assert.StartsWith("-ERR the transaction is too large", reply);
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", await c.AskAsync("EXEC"));
        Assert.Equal("+PONG", await c.AskAsync("PING"));
        // What was queued is back: at most the block a connection reads into may still be counted while it works.
        Assert.InRange(server.Server.ClientMemory, 0, BufferPool.BlockSize);
    }

    [Fact]
    public async Task Hello_3_switches_the_connection_to_resp3_nulls_and_maps()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Matches(@"^%7\[\$server,\$kv,\$version,\$7\.0\.0,\$proto,:3,\$id,:\d+,\$mode,\$standalone,"
            + @"\$role,\$master,\$modules,\*0\[\]\]$", await c.AskAsync("HELLO", "3"));
        Assert.Equal("_", await c.AskAsync("GET", "absent"));
        Assert.Equal("*2[$1,_]", await c.AskAsync("MSET", "a", "1") is "+OK" ? await c.AskAsync("MGET", "a",
            "absent") : "");
        Assert.Equal("%1[$save,$]", await c.AskAsync("CONFIG", "GET", "save"));
        Assert.Equal("+OK", await c.AskAsync("WATCH", "a"));
        await using (var other = await server.ConnectRespAsync()) Assert.Equal(":2", await other.AskAsync("INCR", "a"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("GET", "a"));
        Assert.Equal("_", await c.AskAsync("EXEC"));
        Assert.StartsWith("*14[$server,$kv,$version,$7.0.0,$proto,:2,", await c.AskAsync("HELLO", "2"));
        Assert.Equal("$nil", await c.AskAsync("GET", "absent"));
        Assert.StartsWith("*10[+CONFIG <subcommand>", await c.AskAsync("CONFIG", "HELP"));
        Assert.StartsWith("*17[+CLIENT <subcommand>", await c.AskAsync("CLIENT", "HELP"));
    }

    [Fact]
    public async Task A_connection_watches_at_most_ten_thousand_keys_and_its_watches_go_when_it_ends()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using (var c = await server.ConnectRespAsync())
        {
            for (var batch = 0; batch < RespTransactions.MaxWatched / 1000; batch++)
                Assert.Equal("+OK", await c.AskAsync(["WATCH", .. Enumerable.Range(batch * 1000,
                    1000).Select(i => $"w{i}")]));
            Assert.StartsWith("-ERR too many watched keys", await c.AskAsync("WATCH", "one-more"));
            Assert.Equal("+OK", await c.AskAsync("UNWATCH"));
            Assert.Equal("+OK", await c.AskAsync("WATCH", "kept"));
        }
        // The connection is gone, and its WATCH with it: another's EXEC is not disturbed by a key it never watched.
        await using var other = await server.ConnectRespAsync();
        Assert.Equal("+OK", await other.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await other.AskAsync("SET", "kept", "1"));
        Assert.Equal("*1[+OK]", await other.AskAsync("EXEC"));
    }

    [Fact]
    public async Task Watched_keys_count_against_the_clients_budget_and_come_back_with_unwatch()
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-client-memory", "1mb");
        await using var c = await server.ConnectRespAsync();
        var before = server.Server.ClientMemory;
        static string[] Keys(int from, int count) =>
            [.. Enumerable.Range(from, count).Select(i => $"{i:D4}" + new string('k', 252))];
        // A thousand keys of 256 bytes hold some 640 KB (the connection's copy and the store's): within a megabyte.
        Assert.Equal("+OK", await c.AskAsync(["WATCH", .. Keys(0, 1000)]));
        var held = server.Server.ClientMemory - before;
        Assert.True(held >= 1000 * 640, $"{held} bytes");
        // A thousand more would pass it: refused, all of them. (What the connection's buffers hold of the request
        // itself comes and goes as they are read; the thousand refused keys would hold more than it.)
        Assert.Equal("-ERR watched keys past the clients' memory budget (--max-client-memory)",
            await c.AskAsync(["WATCH", .. Keys(1000, 1000)]));
        Assert.True(server.Server.ClientMemory - before - held < 1000 * 640, "the refused keys are held");
        Assert.Equal("+OK", await c.AskAsync("UNWATCH"));
        held = server.Server.ClientMemory - before;
        Assert.True(held < 1000 * 640, $"{held} bytes still held");
    }

    [Fact]
    public async Task An_exec_whose_reply_passes_the_budget_runs_and_closes_the_connection_with_the_reason()
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-client-memory", "4mb");
        await using var other = await server.ConnectRespAsync();
        Assert.Equal("+OK", await other.AskAsync("SET", "big", new string('v', 256 * 1024)));
        // A hundred GETs of 256 KB: a 25 MB reply, six times the budget, queued in a few kilobytes.
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, server.RespPort, Programs.Timeout());
        var requests = new List<byte>(RespConnection.Request("MULTI"));
        requests.AddRange(RespConnection.Request("SET", "marker", "ran"));
        for (var i = 0; i < 100; i++) requests.AddRange(RespConnection.Request("GET", "big"));
        requests.AddRange(RespConnection.Request("EXEC"));
        await socket.SendAsync(requests.ToArray(), Programs.Timeout());
        // Everything the server sends until it closes: the queueing's replies, what it kept of EXEC's, the reason.
        var received = await RawSocket.ReceiveUntilClosedAsync(socket);
        Assert.InRange(received.Length, 1, 6L << 20);
        var tail = Encoding.ASCII.GetString(received, received.Length - 200, 200);
        Assert.EndsWith($"-ERR {Conversation.ReplyTooLarge}\r\n", tail);
        // All or nothing: the transaction ran, though its reply was lost.
        Assert.Equal("$ran", await other.AskAsync("GET", "marker"));
    }

    [Fact]
    public async Task Config_set_maxmemory_changes_the_budget_and_a_full_store_refuses_a_transaction_that_writes()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await using var config = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("SET", "oom-x", "value"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("GET", "oom-x"));
        Assert.Equal("+OK", await config.AskAsync("CONFIG", "SET", "maxmemory", "1"));
        Assert.Equal("*2[$maxmemory,$1]", await config.AskAsync("CONFIG", "GET", "maxmemory"));
        // Only reads queued: EXEC runs; a write queued while there was room: refused whole.
        Assert.Equal("*1[$value]", await c.AskAsync("EXEC"));
        Assert.Equal("-OOM command not allowed when used memory > 'maxmemory'.", await c.AskAsync("SET", "oom-y",
            "1"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("-OOM command not allowed when used memory > 'maxmemory'.", await c.AskAsync("GET", "oom-x"));
        Assert.StartsWith("-EXECABORT Transaction discarded because of previous errors", await c.AskAsync("EXEC"));
        Assert.Equal("+OK", await config.AskAsync("CONFIG", "SET", "maxmemory", "1mb"));
        Assert.Equal("+OK", await c.AskAsync("MULTI"));
        Assert.Equal("+QUEUED", await c.AskAsync("SET", "oom-y", "1"));
        Assert.Equal("+OK", await config.AskAsync("CONFIG", "SET", "maxmemory", "1"));
        Assert.Equal("-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > "
            + "'maxmemory'.", await c.AskAsync("EXEC"));
        Assert.Equal("+OK", await config.AskAsync("CONFIG", "SET", "maxmemory", "0"));
        Assert.Equal("+OK", await c.AskAsync("SET", "oom-y", "1"));
        Assert.Equal("*2[$maxmemory-policy,$noeviction]", await config.AskAsync("CONFIG", "GET", "maxmemory-policy"));
        Assert.StartsWith("-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - unknown "
            + "policy 'allkeys-lfu'", await config.AskAsync("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"));
    }
}
