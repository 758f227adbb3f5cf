// tests/ListingTests.cs: `list` and `KEYS` over many keys: what a listing guarantees while keys change under
// it, that it holds the lock a slice at a time, that its keys count against the clients' budget, that it
// holds nobody up, that a client that only stopped sending still gets it, and that a stop ends it.

using System.Net.Sockets;
using System.Text;
using KV;
using Xunit;

public class ListingTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>
    /// Stores `count` keys (`key:000000000000` on, unless named otherwise), pipelined over one connection, every OK
    /// read.
    /// </summary>
    private static async Task FillAsync(TestServer server, int count, Func<int, string>? key = null)
    {
        await using var loader = await server.ConnectAsync();
        await loader.SendAsync(string.Concat(Enumerable.Range(0,
            count).Select(i => $"set {key?.Invoke(i) ?? $"key:{i:D12}"} v\n")));
        for (var i = 0; i < count; i++) Assert.IsType<Reply.Ok>(await loader.ReadAsync());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3_000)]
    public void Every_key_present_throughout_is_listed_exactly_once_while_others_come_and_go(int addedEachSlice)
    {
        var store = new KeyValueStore();
        for (var i = 0; i < 20_000; i++) store.Set(Bytes($"stable{i}"), Bytes("v"));
        for (var i = 0; i < 100_000; i++) store.Set(Bytes($"churn{i}"), Bytes("v"));
        var churn = new Queue<int>(Enumerable.Range(0, 100_000).OrderBy(_ => Random.Shared.Next()));
        var cursor = store.StartListing();
        var walked = new KeyList();
        var (added, grew) = (0, 0);
        // Between two slices, other clients remove keys (which moves keys back across the cursor) and add keys (which
        // grows the table).
        while (store.ContinueListing(cursor, walked))
        {
            for (var i = 0; i < 2_000
                && churn.Count > 0; i++) Assert.True(store.Remove(Bytes($"churn{churn.Dequeue()}")));
            var capacity = store.Capacity;
            for (var i = 0; i < addedEachSlice; i++) store.Set(Bytes($"new{added++}"), Bytes("v"));
            if (store.Capacity != capacity) grew++;
        }
        store.EndListing(cursor);
        walked.SortDistinct();
        var listed = Enumerable.Range(0, walked.Count).Select(i => Encoding.UTF8.GetString(walked[i])).ToList();
        Assert.True(addedEachSlice == 0 ? grew == 0 : grew > 0, $"the table grew {grew} times during the walk");
        Assert.Equal(20_000, listed.Count(k => k.StartsWith("stable")));
        Assert.Equal(listed.Count, listed.Distinct().Count());
    }

    [Theory, InlineData("plain"), InlineData("slabs")]
    public void A_key_moved_behind_the_cursor_by_a_removal_is_still_listed(string kind)
    {
        PairTable table = kind == "plain" ? new PlainTable() : new SlabTable();
        for (var i = 0; i < 30_000; i++)
        {
            table.Store(table.Locate(Bytes($"stable{i}")), Bytes($"stable{i}"), Bytes("v"));
            table.Store(table.Locate(Bytes($"churn{i}")), Bytes($"churn{i}"), Bytes("v"));
        }
        var cursor = new TableCursor();
        table.Attach(cursor);
        var walked = new KeyList();
        // One slot at a time; a key just walked past is removed at once, so the keys after it in its run move back over
        // the cursor.
        bool more;
        do
        {
            var before = walked.Count;
            more = table.Walk(cursor, 1, walked);
            for (var i = before; i < walked.Count; i++)
                if (walked[i].StartsWith("churn"u8)) table.Remove(walked[i]);
        }
        while (more);
        walked.SortDistinct();
        var listed = Enumerable.Range(0, walked.Count).Select(i => Encoding.UTF8.GetString(walked[i])).ToList();
        Assert.Equal(30_000, listed.Count(k => k.StartsWith("stable")));
    }

    [Fact]
    public async Task A_listing_under_concurrent_changes_is_sorted_and_has_no_repeats()
    {
        var store = new KeyValueStore();
        for (var i = 0; i < 50_000; i++) store.Set(Bytes($"stable{i}"), Bytes("v"));
        using var stop = new CancellationTokenSource();
        var churn = Task.Run(() =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                store.Set(Bytes($"new{n}"), Bytes("v"));
                if (n % 2 == 0) store.Remove(Bytes($"new{n / 2}"));
            }
        }, TestContext.Current.CancellationToken);
        var listed = await StoreTests.ListAsync(store);
        await stop.CancelAsync();
        await churn;
        Assert.Equal(listed.Order(StringComparer.Ordinal), listed);
        Assert.Equal(listed.Length, listed.Distinct().Count());
        Assert.Equal(50_000, listed.Count(k => k.StartsWith("stable")));
    }

    [Fact]
    public void A_listing_holds_the_lock_for_one_slice_at_a_time()
    {
        var store = new KeyValueStore();
        for (var i = 0; i < 10 * KeyValueStore.ListingSliceSlots; i++) store.Set(Bytes($"k{i}"), Bytes("v"));
        var cursor = store.StartListing();
        var keys = new KeyList();
        var steps = 0;
        while (store.ContinueListing(cursor, keys))
        {
            steps++;
            Assert.InRange(keys.Count, 0, KeyValueStore.ListingSliceSlots * steps);
        }
        store.EndListing(cursor);
        Assert.True(steps >= 10, $"{steps} slices");
        Assert.Equal(10 * KeyValueStore.ListingSliceSlots, keys.Count);
    }

    [Fact]
    public async Task A_listing_that_does_not_fit_the_clients_budget_is_refused_naming_its_keys_and_the_budget()
    {
        var store = new KeyValueStore();
        for (var i = 0; i < 100_000; i++) store.Set(Bytes($"key:{i:D12}"), Bytes("v"));
        var reply = new StoreTests.CapturedReply(budget: 1 << 20);
        await new Listing(store, null, ReplyWriter.KeysHeader, ReplyWriter.Key).RunAsync(reply);
        Assert.Equal([$"ERROR: {Errors.ListingTooLarge(100_000, 1 << 20)}"], reply.Lines);
        Assert.Equal(0, reply.Reserved);

        // A pattern that keeps few keys fits, however many it reads.
        var few = new StoreTests.CapturedReply(budget: 1 << 20);
        await new Listing(store, RedisGlob.Compile("key:00000000009?"u8).Matches, ReplyWriter.KeysHeader,
            ReplyWriter.Key).RunAsync(few);
        Assert.Equal(11, few.Lines.Length);
        // The reply went out a block at a time as it was written.
        var all = new StoreTests.CapturedReply();
        await new Listing(store, null, ReplyWriter.KeysHeader, ReplyWriter.Key).RunAsync(all);
        Assert.True(all.Flushes >= 100_000 * 16 / (64 * 1024), $"{all.Flushes} flushes");
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Over_the_wire_list_and_keys_are_refused_past_the_budget_and_the_server_goes_on(string threading)
    {
        await using var server = InProcessServer.Start("--resp-port", "0", "--max-client-memory", "1mb", "--threading",
            threading);
        await FillAsync(server, 100_000);
        await using var c = await server.ConnectAsync();
        Assert.Equal(Errors.ListingTooLarge(100_000, 1 << 20),
            Assert.IsType<Reply.Error>(await c.AskAsync("list")).Message);
        await using var resp = await server.ConnectRespAsync();
        Assert.Equal("-ERR " + Errors.ListingTooLarge(100_000, 1 << 20), await resp.AskAsync("keys", "*"));
        Assert.StartsWith("*10[", await resp.AskAsync("keys", "key:00000000001?"));
        Assert.Equal($"-ERR pattern longer than {RedisGlob.MaxPatternBytes} bytes", await resp.AskAsync("keys",
            new string('*', RedisGlob.MaxPatternBytes + 1)));
        Assert.IsType<Reply.Pong>(await c.AskAsync("ping"));
    }

    [Fact]
    public async Task Twenty_long_listings_leave_threads_for_everyone_else()
    {
        // As few pool threads as the pool allows (one a core): listings that took a thread each for as long as they
        // work would leave a ping none.
        var threads = Environment.ProcessorCount;
        await using var server = await ServerProcess.StartAsync("0", "--threads", threads.ToString());
        await FillAsync(server, 200_000);

        // Twenty listings of megabytes each, none of them read until the ping is answered. (Whether the server is still
        // working on them by the time this thread asks is not asserted: that is a race with this thread, not a
        // property of the server; the listings are asked first, and must not take the threads a ping needs.)
        await using var listers = await server.ConnectManyAsync(20);
        foreach (var lister in listers) await lister.SendAsync("list\n");
        await using var bystander = await server.ConnectAsync();
        // The listings share a few slots in turn, and wait for them without a thread.
        Assert.IsType<Reply.Pong>(await bystander.AskAsync("ping"));
        var listed = await Task.WhenAll(
            listers.Select(async lister => Assert.IsType<Reply.Keys>(await lister.ReadAsync())));
        Assert.All(listed, keys => Assert.Equal(200_000, keys.Names.Length));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_client_that_stops_sending_after_list_still_gets_every_key(string threading)
    {
        await using var server = InProcessServer.Start("--threading", threading);
        await FillAsync(server, 100_000);
        // As `echo list | nc -N host port` does: the request, then the end of its sending side, then it reads.
        await using var halfClosed = await server.ConnectAsync();
        await halfClosed.SendAsync("list\n");
        halfClosed.Socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(100_000, Assert.IsType<Reply.Keys>(await halfClosed.ReadAsync()).Names.Length);
        Assert.True(await halfClosed.ClosedByServerAsync());
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_stop_ends_long_listings_within_its_deadline(string threading)
    {
        var server = InProcessServer.Start("--resp-port", "0", "--threading", threading);
        await FillAsync(server, 100_000, i => $"{new string('b', 200)}{i}");
        // A costly pattern: at each of a key's b's, the pattern's b's are matched up to the end of the run, then fail
        // at the c.
        var pattern = "*" + new string('b', RedisGlob.MaxPatternBytes - 2) + "c";
        var resp = new List<RespConnection>();
        for (var i = 0; i < 10; i++)
        {
            resp.Add(await server.ConnectRespAsync());
            await resp[^1].SendAsync(RespConnection.Request("keys", pattern));
        }
        await using var bystander = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await bystander.AskAsync("ping"));
        await server.DisposeAsync();
        foreach (var c in resp) Assert.True(await c.ClosedByServerAsync());
        Assert.DoesNotContain("still ending", server.Output);
        foreach (var c in resp) await c.DisposeAsync();
    }
}
