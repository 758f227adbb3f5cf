// tests/ExpiryTests.cs: keys with a deadline, on a clock the test moves (no test sleeps): the store's lazy and
// active removal, the memory they give back, KV's `setex`, `expire`, `ttl`, `persist`, and RESP's time commands.

using System.Text;
using KV;
using Xunit;

/// <summary>A clock that moves only when the test says so.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset now = start;
    public static ManualClock StartingNow() => new(DateTimeOffset.UtcNow);
    public override DateTimeOffset GetUtcNow() => now;
    public void Advance(TimeSpan by) => now += by;
}

public class ExpiryStoreTests
{
    /// <summary>
    /// Deadlines set, moved and removed at random, checked against a plain model after every step: the earliest is
    /// always the one due first, and a moved or removed deadline is never found again (each moves to its place in
    /// the heap, or leaves it, at once).
    /// </summary>
    [Fact]
    public void The_earliest_deadline_is_found_after_any_sets_moves_and_removals()
    {
        var random = new Random(7);
        var deadlines = new Deadlines();
        var model = new Dictionary<string, long>();
        for (var step = 0; step < 20_000; step++)
        {
            var key = $"k{random.Next(300)}";
            var bytes = Encoding.ASCII.GetBytes(key);
            if (random.Next(4) == 0)
                Assert.Equal(model.Remove(key), deadlines.Remove(bytes));
            else
            {
                var at = random.Next(1_000);
                Assert.Equal(!model.ContainsKey(key), deadlines.Set(bytes, at));
                model[key] = at;
            }
            Assert.Equal(model.Count, deadlines.Count);
            Assert.Equal(model.TryGetValue(key, out var set), deadlines.TryGet(bytes, out var found));
            Assert.Equal(set, found);
            var earliest = model.Count == 0 ? long.MaxValue : model.Values.Min();
            Assert.Equal(model.Count > 0, deadlines.TryPeekDue(earliest, out var due));
            if (model.Count > 0) Assert.Equal(earliest, model[Encoding.ASCII.GetString(due)]);
            Assert.False(deadlines.TryPeekDue(earliest - 1, out _));
            if (step % 500 != 0) continue;
            // Now and then every key falls due: they come out in order, all of them, and are put back.
            var drained = new List<long>();
            while (deadlines.TryPeekDue(long.MaxValue, out var next))
            {
                drained.Add(model[Encoding.ASCII.GetString(next)]);
                deadlines.Remove(next);
            }
            Assert.Equal(model.Values.Order(), drained);
            foreach (var (k, at) in model) deadlines.Set(Encoding.ASCII.GetBytes(k), at);
        }
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void A_key_is_gone_for_every_read_the_moment_its_deadline_passes()
    {
        var clock = ManualClock.StartingNow();
        var store = new KeyValueStore(time: clock);
        store.Set(Bytes("session"), Bytes("s"), SetCondition.Always, Expiry.At(store.Now + 10_000));
        store.Set(Bytes("kept"), Bytes("k"));
        clock.Advance(TimeSpan.FromMilliseconds(9_999));
        Assert.Equal("s", StoreTests.Get(store, "session"));
        Assert.Equal(2, store.Count);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(StoreTests.Get(store, "session"));
        Assert.False(store.Contains(Bytes("session")));
        Assert.Equal(1, store.Count);
        Assert.Equal((false, null), store.DeadlineOf(Bytes("session")));
        Assert.Equal("k", StoreTests.Get(store, "kept"));
    }

    [Fact]
    public void Counting_the_keys_removes_a_bounded_batch_of_those_due_not_all_of_them_in_one_hold()
    {
        // Ten thousand keys fall due together: DBSIZE or `stats` must not hold the lock to remove them all.
        var clock = ManualClock.StartingNow();
        var store = new KeyValueStore(time: clock);
        for (var i = 0; i < 10_000; i++)
            store.Set(Bytes($"due{i}"), Bytes("v"), SetCondition.Always, Expiry.At(store.Now + 1_000));
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(10_000 - 4096, store.Count);
        Assert.Equal(10_000 - 2 * 4096, store.Count);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public async Task The_servers_own_timers_never_wait_for_a_long_hold_of_the_lock()
    {
        var clock = ManualClock.StartingNow();
        var store = new KeyValueStore(time: clock);
        for (var i = 0; i < 10; i++) store.Set(Bytes($"temp{i}"), Bytes("v"), SetCondition.Always,
            Expiry.At(store.Now + 1_000));
        clock.Advance(TimeSpan.FromSeconds(2));
        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // Another client's long step (an EXEC) holds the lock until the test lets it go.
        var hold = Task.Run(() => store.Atomically(0, _ =>
        {
            holding.Set();
            release.Wait();
        }));
        holding.Wait();
        // The active cycle's step and the memory keeper's read, each on a thread of its own: neither waits for it.
        var expiry = Task.Run(() => store.RemoveExpired(256));
        var slabs = Task.Run(() => store.PairBytes);
        var both = Task.WhenAll(expiry, slabs);
        var first = await Task.WhenAny(both, Task.Delay(TimeSpan.FromSeconds(30)));
        release.Set();
        await hold;
        Assert.True(first == both, "a timer's step waited for the lock");
        Assert.Equal(0, await expiry);
        Assert.Equal(10, store.RemoveExpired(256));
    }

    [Fact]
    public async Task A_listing_never_shows_an_expired_key_and_the_memory_comes_back_without_a_read()
    {
        var clock = ManualClock.StartingNow();
        var store = new KeyValueStore(time: clock);
        var empty = store.AccountedBytes;
        for (var i = 0; i < 10_000; i++) store.Set(Bytes($"temp{i}"), Bytes("v"), SetCondition.Always,
            Expiry.At(store.Now + 1_000 + i));
        store.Set(Bytes("forever"), Bytes("v"));
        clock.Advance(TimeSpan.FromMilliseconds(1_000 + 4_999));
        // Nobody reads the expired keys: the active removal finds them all, the next to go always first.
        var removed = 0;
        while (store.RemoveExpired(256) is var batch and > 0) removed += batch;
        Assert.Equal(5_000, removed);
        Assert.Equal(5_000 + 1, (await StoreTests.ListAsync(store)).Length);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        // Due but not yet removed: a listing skips it all the same.
        Assert.Equal(4_999 + 1, (await StoreTests.ListAsync(store)).Length);
        clock.Advance(TimeSpan.FromHours(1));
        while (store.RemoveExpired(256) > 0) { }
        Assert.Equal(["forever"], await StoreTests.ListAsync(store));
        Assert.Equal((0, 0L), store.Expiring);
        Assert.Equal(empty + "forever".Length + 1 + KeyValueStore.EntryOverheadBytes, store.AccountedBytes);
    }

    [Fact]
    public void A_plain_set_clears_the_deadline_keepttl_and_incr_keep_it_and_persist_removes_it()
    {
        var clock = ManualClock.StartingNow();
        var store = new KeyValueStore(time: clock);
        var key = Bytes("k");
        store.Set(key, Bytes("1"), SetCondition.Always, Expiry.At(store.Now + 5_000));
        store.Set(key, Bytes("2"), SetCondition.Always, Expiry.KeepExisting);
        Assert.Equal(store.Now + 5_000, store.DeadlineOf(key).Deadline);
        Assert.Equal(IncrementResult.Done, store.Increment(key, 1, out _));
        Assert.Equal(store.Now + 5_000, store.DeadlineOf(key).Deadline);
        store.Set(key, Bytes("4"));
        Assert.Equal((true, null), store.DeadlineOf(key));
        Assert.True(store.Expire(key, store.Now + 1_000));
        Assert.True(store.Persist(key));
        Assert.False(store.Persist(key));
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal("4", StoreTests.Get(store, "k"));
        Assert.Null(store.Expire(Bytes("absent"), store.Now + 1_000));
    }

    [Theory]
    [InlineData(ExpireCondition.IfNone, false, true)]
    [InlineData(ExpireCondition.IfNone, true, false)]
    [InlineData(ExpireCondition.IfSome, false, false)]
    [InlineData(ExpireCondition.IfSome, true, true)]
    [InlineData(ExpireCondition.IfLater, false, false)]
    [InlineData(ExpireCondition.IfSooner, false, true)]
    [InlineData(ExpireCondition.IfSomeAndSooner, false, false)]
    public void Expire_conditions_follow_redis_no_deadline_counting_as_never(ExpireCondition condition,
        bool hasDeadline, bool applies)
    {
        var store = new KeyValueStore(time: ManualClock.StartingNow());
        var key = Bytes("k");
        store.Set(key, Bytes("v"), SetCondition.Always, hasDeadline ? Expiry.At(store.Now + 60_000) : Expiry.Clear);
        Assert.Equal(applies, store.Expire(key, store.Now + 30_000, condition));
    }

    [Fact]
    public void A_deadline_pushed_back_on_every_request_does_not_grow_without_bound()
    {
        var clock = ManualClock.StartingNow();
        var store = new KeyValueStore(time: clock);
        var key = Bytes("session");
        store.Set(key, Bytes("v"));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 200_000; i++) store.Expire(key, store.Now + 3_600_000 + i);
        // Each push leaves an old heap entry; rebuilt when they outnumber the live ones, so a few kilobytes stay.
        Assert.Equal((1, 3_600_000 + 199_999L), store.Expiring);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 50_000_000);
    }
}

public class ExpiryCommandTests
{
    [Fact]
    public async Task Setex_expire_ttl_and_persist_over_kvs_protocol()
    {
        var clock = ManualClock.StartingNow();
        await using var server = InProcessServer.StartWithClock(clock);
        await using var client = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await client.AskAsync("setex session 10 a value with  spaces"));
        Assert.Equal(new Reply.Ttl(10), await client.AskAsync("ttl session"));
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(new Reply.Ttl(6), await client.AskAsync("ttl session"));
        Assert.Equal(new Reply.Value("a value with  spaces"), await client.AskAsync("get session"));
        Assert.IsType<Reply.Ok>(await client.AskAsync("set plain v"));
        Assert.Equal(new Reply.Ttl(null), await client.AskAsync("ttl plain"));
        Assert.IsType<Reply.Ok>(await client.AskAsync("expire plain 5"));
        Assert.IsType<Reply.Ok>(await client.AskAsync("persist plain"));
        clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(new Reply.Error("key 'session' not found"), await client.AskAsync("get session"));
        Assert.Equal(new Reply.Error("key 'session' not found"), await client.AskAsync("ttl session"));
        Assert.Equal(new Reply.Error("key 'session' not found"), await client.AskAsync("expire session 5"));
        Assert.Equal(new Reply.Value("v"), await client.AskAsync("get plain"));
        Assert.Equal(["plain"], Assert.IsType<Reply.Keys>(await client.AskAsync("list")).Names);
    }

    [Theory]
    [InlineData("setex k 0 v",
        "the seconds '0' are not a whole number from 1 to 3153600000 (usage: setex KEY SECONDS VALUE)")]
    [InlineData("setex k -5 v",
        "the seconds '-5' are not a whole number from 1 to 3153600000 (usage: setex KEY SECONDS VALUE)")]
    [InlineData("setex k 10", "wrong arguments for 'setex' (usage: setex KEY SECONDS VALUE)")]
    [InlineData("expire k", "wrong arguments for 'expire' (usage: expire KEY SECONDS)")]
    [InlineData("expire k 3153600001",
        "the seconds '3153600001' are not a whole number from 1 to 3153600000 (usage: expire KEY SECONDS)")]
    [InlineData("ttl k extra", "wrong arguments for 'ttl' (usage: ttl KEY)")]
    public void Bad_times_are_refused_before_they_are_sent(string line, string error) =>
        Assert.Equal(error, Assert.IsType<LineParse.Invalid>(Request.Parse(line)).Error);

    [Fact]
    public void Setex_takes_its_value_as_set_does()
    {
        var request = Assert.IsType<LineParse.Valid>(Request.Parse("setex k 60  two spaces ")).Request;
        Assert.Equal(("k", " two spaces ", 60L), (request.Key, request.Value, request.Amount));
    }

    [Fact]
    public async Task Resp_time_commands_answer_as_redis_does()
    {
        var clock = ManualClock.StartingNow();
        await using var server = InProcessServer.StartWithClock(clock, "--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.Equal("+OK", await c.AskAsync("SET", "a", "1", "EX", "100"));
        Assert.Equal(":100", await c.AskAsync("TTL", "a"));
        Assert.Equal(":100000", await c.AskAsync("PTTL", "a"));
        Assert.Equal($":{(now + 100_000) / 1000}", await c.AskAsync("EXPIRETIME", "a"));
        Assert.Equal("+OK", await c.AskAsync("SET", "a", "2", "KEEPTTL"));
        Assert.Equal(":100", await c.AskAsync("TTL", "a"));
        Assert.Equal("+OK", await c.AskAsync("SET", "a", "3"));
        Assert.Equal(":-1", await c.AskAsync("TTL", "a"));
        Assert.Equal(":-2", await c.AskAsync("TTL", "absent"));
        Assert.Equal("+OK", await c.AskAsync("SETEX", "b", "10", "v"));
        Assert.Equal("+OK", await c.AskAsync("PSETEX", "c", "1500", "v"));
        Assert.Equal("+OK", await c.AskAsync("SET", "d", "v", "PXAT", $"{now + 2_000}"));
        Assert.Equal(":0", await c.AskAsync("EXPIRE", "b", "100", "NX"));
        Assert.Equal(":1", await c.AskAsync("EXPIRE", "b", "100", "XX", "GT"));
        Assert.Equal(":0", await c.AskAsync("EXPIRE", "b", "50", "GT"));
        Assert.Equal(":1", await c.AskAsync("PEXPIRE", "b", "50000", "LT"));
        Assert.Equal(":0", await c.AskAsync("EXPIRE", "a", "50", "GT"));
        Assert.Equal(":1", await c.AskAsync("EXPIREAT", "a", $"{now / 1000 + 500}"));
        Assert.Equal(":1", await c.AskAsync("PERSIST", "a"));
        Assert.Equal(":0", await c.AskAsync("PERSIST", "a"));
        Assert.Equal("-ERR NX and XX, GT or LT options at the same time are not compatible", await c.AskAsync("EXPIRE",
            "a", "5", "NX", "XX"));
        Assert.Equal("-ERR GT and LT options at the same time are not compatible", await c.AskAsync("EXPIRE", "a", "5",
            "GT", "LT"));
        Assert.Equal("-ERR Unsupported option FOO", await c.AskAsync("EXPIRE", "a", "5", "FOO"));
        Assert.Equal("-ERR invalid expire time in 'setex' command", await c.AskAsync("SETEX", "e", "-1", "v"));
        Assert.Equal("-ERR invalid expire time in 'set' command", await c.AskAsync("SET", "e", "v", "EX",
            "9223372036854775807"));
        Assert.Equal("-ERR value is not an integer or out of range", await c.AskAsync("EXPIRE", "a", "soon"));

        clock.Advance(TimeSpan.FromMilliseconds(2_000));
        Assert.Equal("$nil", await c.AskAsync("GET", "c"));
        Assert.Equal("$nil", await c.AskAsync("GET", "d"));
        Assert.Equal(":2", await c.AskAsync("DBSIZE"));
        Assert.Equal("*2[$a,$b]", await c.AskAsync("KEYS", "*"));
        // A deadline already past deletes the key, as Redis's EXPIRE does.
        Assert.Equal(":1", await c.AskAsync("EXPIRE", "a", "-1"));
        Assert.Equal(":0", await c.AskAsync("EXISTS", "a"));
        Assert.Contains("db0:keys=1,expires=1,avg_ttl=", await c.AskAsync("INFO", "keyspace"));
    }
}
