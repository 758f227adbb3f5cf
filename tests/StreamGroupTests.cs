// tests/StreamGroupTests.cs: streams' consumer groups and XREAD: each entry delivered to exactly one consumer, also
// under many concurrent consumers in every threading model; the pending entries, acknowledged, read again,
// claimed; blocked readers woken by XADD, and ended when their stream or group goes; XINFO.

using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Xunit;

public class StreamGroupTests
{
    /// <summary>The IDs in a reply, in order (an entry's ID is a bulk string of digits, a dash, digits).</summary>
    private static List<string> Ids(string reply) =>
        [.. Regex.Matches(reply, @"\$(\d+-\d+)").Select(match => match.Groups[1].Value)];

    [Fact]
    public async Task A_group_gives_each_entry_to_one_consumer_and_keeps_it_pending_until_acknowledged()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        Assert.Equal("+OK", await c.AskAsync("XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM"));
        Assert.Equal("-BUSYGROUP Consumer Group name already exists",
            await c.AskAsync("XGROUP", "CREATE", "jobs", "workers", "$"));
        for (var i = 1; i <= 3; i++) await c.AskAsync("XADD", "jobs", $"{i}-0", "job", $"j{i}");

        Assert.Equal("*1[*2[$jobs,*2[*2[$1-0,*2[$job,$j1]],*2[$2-0,*2[$job,$j2]]]]]",
            await c.AskAsync("XREADGROUP", "GROUP", "workers", "alice", "COUNT", "2", "STREAMS", "jobs", ">"));
        Assert.Equal("*1[*2[$jobs,*1[*2[$3-0,*2[$job,$j3]]]]]",
            await c.AskAsync("XREADGROUP", "GROUP", "workers", "bob", "STREAMS", "jobs", ">"));
        Assert.Equal("*-1[]", await c.AskAsync("XREADGROUP", "GROUP", "workers", "bob", "STREAMS", "jobs", ">"));
        Assert.Equal("*4[:3,$1-0,$3-0,*2[*2[$alice,$2],*2[$bob,$1]]]", await c.AskAsync("XPENDING", "jobs", "workers"));

        // Alice's history: what she was given and has not acknowledged, counted as delivered once more.
        Assert.Equal(":1", await c.AskAsync("XACK", "jobs", "workers", "1-0", "9-0"));
        Assert.Equal(["2-0"], Ids(await c.AskAsync("XREADGROUP", "GROUP", "workers", "alice", "STREAMS", "jobs", "0")));
        Assert.Matches(@"^\*1\[\*4\[\$2-0,\$alice,:\d+,:2\]\]$",
            await c.AskAsync("XPENDING", "jobs", "workers", "-", "+", "10", "alice"));
        // A deleted entry stays pending, and reads back with nil fields.
        await c.AskAsync("XDEL", "jobs", "2-0");
        Assert.Equal("*1[*2[$jobs,*1[*2[$2-0,*-1[]]]]]",
            await c.AskAsync("XREADGROUP", "GROUP", "workers", "alice", "STREAMS", "jobs", "0"));

        Assert.Equal("-NOGROUP No such key 'jobs' or consumer group 'nobody' in XREADGROUP with GROUP option",
            await c.AskAsync("XREADGROUP", "GROUP", "nobody", "x", "STREAMS", "jobs", ">"));
        Assert.StartsWith("-ERR The $ ID is meaningless",
            await c.AskAsync("XREADGROUP", "GROUP", "workers", "x", "STREAMS", "jobs", "$"));
        Assert.Equal(":1", await c.AskAsync("XGROUP", "DELCONSUMER", "jobs", "workers", "bob"));
        Assert.Equal("*4[:1,$2-0,$2-0,*1[*2[$alice,$1]]]", await c.AskAsync("XPENDING", "jobs", "workers"));
        Assert.Equal("*1[*12[$name,$workers,$consumers,:1,$pending,:1,$last-delivered-id,$3-0,$entries-read,:3,"
            + "$lag,:0]]", await c.AskAsync("XINFO", "GROUPS", "jobs"));
    }

    [Fact]
    public async Task A_consumer_claims_what_another_left_pending_and_deleted_entries_leave_the_list()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await c.AskAsync("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM");
        for (var i = 1; i <= 4; i++) await c.AskAsync("XADD", "s", $"{i}-0", "f", $"v{i}");
        Assert.Equal(4, Ids(await c.AskAsync("XREADGROUP", "GROUP", "g", "dead", "STREAMS", "s", ">")).Count);

        // Not idle long enough: nothing moves. Idle enough (an hour's IDLE given): claimed, counted as delivered.
        Assert.Equal("*0[]", await c.AskAsync("XCLAIM", "s", "g", "live", "3600000", "1-0"));
        Assert.Equal("*1[$1-0]", await c.AskAsync("XCLAIM", "s", "g", "live", "0", "1-0", "JUSTID"));
        Assert.Equal("*1[*4[$1-0,$live,:0,:1]]", Regex.Replace(await c.AskAsync("XPENDING", "s", "g", "-", "+", "1"),
            @":\d+,:1\]", ":0,:1]"));
        Assert.Equal("*1[*2[$1-0,*2[$f,$v1]]]", await c.AskAsync("XCLAIM", "s", "g", "live", "0", "1-0"));
        Assert.Matches(@",:2\]\]$", await c.AskAsync("XPENDING", "s", "g", "-", "+", "1"));

        // XAUTOCLAIM walks the list: deleted entries leave it and are named, the cursor says where to go on.
        await c.AskAsync("XDEL", "s", "2-0");
        Assert.Equal("*3[$4-0,*1[$3-0],*1[$2-0]]",
            await c.AskAsync("XAUTOCLAIM", "s", "g", "live", "0", "2-0", "COUNT", "2", "JUSTID"));
        Assert.Equal("*3[$0-0,*1[$4-0],*0[]]",
            await c.AskAsync("XAUTOCLAIM", "s", "g", "live", "0", "4-0", "JUSTID"));
        Assert.Equal("*4[:3,$1-0,$4-0,*1[*2[$live,$3]]]", await c.AskAsync("XPENDING", "s", "g"));
        Assert.Equal("-ERR COUNT must be > 0", await c.AskAsync("XAUTOCLAIM", "s", "g", "x", "0", "0", "COUNT", "0"));
        // FORCE makes an entry no one was given pending, to the claimer.
        await c.AskAsync("XADD", "s", "5-0", "f", "v5");
        Assert.Equal("*1[$5-0]", await c.AskAsync("XCLAIM", "s", "g", "other", "0", "5-0", "FORCE", "JUSTID"));
        // COPY copies the groups too, apart from the original's.
        Assert.Equal(":1", await c.AskAsync("COPY", "s", "t"));
        Assert.Equal(":4", await c.AskAsync("XACK", "t", "g", "1-0", "3-0", "4-0", "5-0"));
        Assert.StartsWith("*4[:4,", await c.AskAsync("XPENDING", "s", "g"));
        // What the groups hold is counted as they change: pending entries and a consumer cost, and are given back.
        var before = long.Parse((await c.AskAsync("MEMORY", "USAGE", "s"))[1..]);
        await c.AskAsync("XADD", "s", "6-0", "f", "v6");
        var added = long.Parse((await c.AskAsync("MEMORY", "USAGE", "s"))[1..]);
        // The group's last ID is still 4-0 (FORCE moved no ID): `>` gives the newcomer 5-0 again, and 6-0.
        Assert.Equal(["5-0", "6-0"], Ids(await c.AskAsync("XREADGROUP", "GROUP", "g", "newcomer", "STREAMS", "s",
            ">")));
        Assert.True(long.Parse((await c.AskAsync("MEMORY", "USAGE", "s"))[1..]) > added);
        Assert.Equal(":2", await c.AskAsync("XACK", "s", "g", "5-0", "6-0"));
        await c.AskAsync("XGROUP", "DELCONSUMER", "s", "g", "newcomer");
        Assert.Equal(added - KV.ConsumerGroup.PendingBytes,
            long.Parse((await c.AskAsync("MEMORY", "USAGE", "s"))[1..]));
        Assert.True(added > before);
    }

    [Fact]
    public async Task A_blocked_reader_is_woken_by_xadd_and_ended_when_its_stream_or_group_goes()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await using var first = await server.ConnectRespAsync();
        await using var second = await server.ConnectRespAsync();
        await c.AskAsync("XADD", "s", "1-0", "f", "old");
        await c.AskAsync("XGROUP", "CREATE", "s", "g", "$");

        // Two consumers wait for one entry each; two entries in one transaction: one each, in the order they blocked.
        await first.SendAsync(RespConnection.Request("XREADGROUP", "GROUP", "g", "a", "COUNT", "1", "BLOCK", "0",
            "STREAMS", "s", ">"));
        await WaitForBlockedAsync(c, 1);
        await second.SendAsync(RespConnection.Request("XREADGROUP", "GROUP", "g", "b", "COUNT", "1", "BLOCK", "0",
            "STREAMS", "s", ">"));
        await WaitForBlockedAsync(c, 2);
        await c.AskAsync("MULTI");
        await c.AskAsync("XADD", "s", "2-0", "f", "new");
        await c.AskAsync("XADD", "s", "3-0", "f", "newer");
        await c.AskAsync("EXEC");
        Assert.Equal(["2-0"], Ids(await first.ReadAsync()));
        Assert.Equal(["3-0"], Ids(await second.ReadAsync()));

        // XREAD from `$` waits for what comes after it, even if the stream is deleted and made again.
        await first.SendAsync(RespConnection.Request("XREAD", "BLOCK", "0", "STREAMS", "s", "$"));
        await WaitForBlockedAsync(c, 1);
        await c.AskAsync("DEL", "s");
        await c.AskAsync("XADD", "s", "4-0", "f", "again");
        Assert.Equal("*1[*2[$s,*1[*2[$4-0,*2[$f,$again]]]]]", await first.ReadAsync());

        // A group reader ends when its key goes, or its group.
        await c.AskAsync("XGROUP", "CREATE", "s", "g", "$");
        await first.SendAsync(RespConnection.Request("XREADGROUP", "GROUP", "g", "a", "BLOCK", "0", "STREAMS", "s",
            ">"));
        await WaitForBlockedAsync(c, 1);
        await c.AskAsync("SET", "s", "a string now");
        Assert.Equal("-UNBLOCKED the stream key no longer exists", await first.ReadAsync());
        await c.AskAsync("DEL", "s");
        await c.AskAsync("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM");
        await first.SendAsync(RespConnection.Request("XREADGROUP", "GROUP", "g", "a", "BLOCK", "0", "STREAMS", "s",
            ">"));
        await WaitForBlockedAsync(c, 1);
        Assert.Equal(":1", await c.AskAsync("XGROUP", "DESTROY", "s", "g"));
        Assert.Equal("-NOGROUP the consumer group this client was blocked on no longer exists",
            await first.ReadAsync());
        // With a timeout and nothing coming: nil.
        Assert.Equal("*-1[]", await first.AskAsync("XREAD", "BLOCK", "50", "STREAMS", "s", "$"));
    }

    /// <summary>Until INFO says `count` clients are blocked: the server's own account, not a guess at timing.
    /// </summary>
    private static async Task WaitForBlockedAsync(RespConnection c, int count)
    {
        while (!(await c.AskAsync("INFO", "clients")).Contains($"blocked_clients:{count}\r\n"))
            await Task.Delay(5, TestContext.Current.CancellationToken);
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Many_consumers_reading_as_entries_arrive_get_each_exactly_once(string threading)
    {
        const int Entries = 2_000, Consumers = 8;
        await using var server = InProcessServer.Start("--resp-port", "0", "--threading", threading);
        await using var producer = await server.ConnectRespAsync();
        await producer.AskAsync("XGROUP", "CREATE", "q", "g", "$", "MKSTREAM");
        var received = new ConcurrentBag<string>();
        var produced = Task.Run(async () =>
        {
            for (var i = 0; i < Entries; i++) await producer.AskAsync("XADD", "q", "*", "n", $"{i}");
        }, TestContext.Current.CancellationToken);
        var consumers = Enumerable.Range(0, Consumers).Select(n => Task.Run(async () =>
        {
            await using var c = await server.ConnectRespAsync();
            while (received.Count < Entries)
            {
                var ids = Ids(await c.AskAsync("XREADGROUP", "GROUP", "g", $"c{n}", "COUNT", "7", "BLOCK", "20",
                    "STREAMS", "q", ">"));
                foreach (var id in ids) received.Add(id);
                if (ids.Count > 0) Assert.Equal($":{ids.Count}", await c.AskAsync(["XACK", "q", "g", .. ids]));
            }
        }, TestContext.Current.CancellationToken)).ToList();
        await produced;
        await Task.WhenAll(consumers);
        Assert.Equal(Entries, received.Count);
        Assert.Equal(Entries, received.Distinct().Count());
        Assert.Equal("*4[:0,$nil,$nil,*-1[]]", await producer.AskAsync("XPENDING", "q", "g"));
    }
}
