// tests/EvictionTests.cs: --max-memory-policy and CONFIG SET maxmemory-policy: past the budget, keys go as the
// policy says (the least recently used, a random one, the soonest to expire), as the step ends; noeviction and a
// volatile policy with nothing to evict refuse the write; each eviction is counted and announced.

using System.Text;
using KV;
using Xunit;

public class EvictionTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Value(int length) => new('v', length);

    /// <summary>A store of `budget` bytes under `policy`.</summary>
    private static KeyValueStore Store(long budget, EvictionPolicy policy) => new(budget) { Policy = policy };

    [Fact]
    public void Under_allkeys_lru_the_keys_read_between_writes_stay_and_the_others_go()
    {
        var store = Store(200_000, EvictionPolicy.AllKeysLru);
        for (var i = 0; i < 50; i++) Assert.Equal(SetResult.Stored, store.Set(Bytes($"hot{i}"), Bytes(Value(100))));
        for (var i = 0; i < 20_000; i++)
        {
            Assert.Equal(SetResult.Stored, store.Set(Bytes($"cold{i}"), Bytes(Value(100))));
            for (var j = 0; j < 50; j++) StoreTests.Get(store, $"hot{j}");
            Assert.InRange(store.AccountedBytes, 1, 200_000);
        }
        var hotKept = Enumerable.Range(0, 50).Count(i => store.Contains(Bytes($"hot{i}")));
        var coldKept = Enumerable.Range(0, 20_000).Count(i => store.Contains(Bytes($"cold{i}")));
        // A random choice would keep about a twentieth of the hot keys: a second chance keeps nearly all of them.
        Assert.InRange(hotKept, 45, 50);
        Assert.InRange(coldKept, 1000, 1600);
        Assert.Equal(20_050 - store.Count, store.Evicted);
    }

    [Fact]
    public void Volatile_ttl_evicts_the_key_whose_deadline_comes_first_and_never_one_without()
    {
        var store = Store(0, EvictionPolicy.VolatileTtl);
        var now = store.Now;
        store.Set(Bytes("later"), Bytes("1"), expiry: Expiry.At(now + 300_000));
        store.Set(Bytes("soonest"), Bytes("1"), expiry: Expiry.At(now + 100_000));
        store.Set(Bytes("kept"), Bytes("1"));
        store.Set(Bytes("middle"), Bytes("1"), expiry: Expiry.At(now + 200_000));
        store.MaxBytes = store.AccountedBytes - 1;
        Assert.False(store.Contains(Bytes("soonest")));
        Assert.True(store.Contains(Bytes("later")) && store.Contains(Bytes("middle")) && store.Contains(Bytes("kept")));

        // Every key with a deadline gone, and still past the budget: the rest stays, and a write is refused.
        store.MaxBytes = 1;
        Assert.Equal(1, store.Count);
        Assert.True(store.Contains(Bytes("kept")));
        Assert.Equal(SetResult.OutOfMemory, store.Set(Bytes("new"), Bytes("1")));
        Assert.Equal(3, store.Evicted);
    }

    [Theory]
    [InlineData(EvictionPolicy.VolatileLru)]
    [InlineData(EvictionPolicy.VolatileRandom)]
    public void A_volatile_policy_evicts_only_keys_with_a_deadline(EvictionPolicy policy)
    {
        var store = Store(0, policy);
        for (var i = 0; i < 100; i++)
            store.Set(Bytes($"k{i}"), Bytes(Value(50)), expiry: i % 2 == 0 ? Expiry.At(store.Now + 100_000) : default);
        store.MaxBytes = store.AccountedBytes;
        var stored = 0;
        while (stored < 1_000 && store.Set(Bytes($"new{stored}"), Bytes(Value(50))) == SetResult.Stored) stored++;
        // Every key with a deadline made room, and only they did: then the store is full, and says so.
        Assert.Equal(50, store.Evicted);
        Assert.InRange(stored, 50, 150);
        Assert.All(Enumerable.Range(0, 50), i => Assert.True(store.Contains(Bytes($"k{2 * i + 1}"))));
        Assert.All(Enumerable.Range(0, 50), i => Assert.False(store.Contains(Bytes($"k{2 * i}"))));
        Assert.True(store.Full);
    }

    [Fact]
    public void A_volatile_policy_with_no_key_to_evict_refuses_the_write_at_once()
    {
        var store = Store(0, EvictionPolicy.VolatileLru);
        store.Set(Bytes("kept"), Bytes(Value(100)));
        store.MaxBytes = store.AccountedBytes;
        Assert.Equal(SetResult.OutOfMemory, store.Set(Bytes("new"), Bytes(Value(100))));
        Assert.False(store.Contains(Bytes("new")));
        Assert.Equal(store.MaxBytes, store.AccountedBytes);
    }

    [Fact]
    public void A_write_larger_than_the_whole_budget_is_refused_and_evicts_nothing()
    {
        var store = Store(10_000, EvictionPolicy.VolatileTtl);
        for (var i = 0; i < 10; i++)
            store.Set(Bytes($"k{i}"), Bytes(Value(100)), expiry: Expiry.At(store.Now + 100_000));
        Assert.Equal(SetResult.OutOfMemory, store.Set(Bytes("huge"), Bytes(Value(10_001))));
        Assert.Equal(10, store.Count);
        Assert.Equal(0, store.Evicted);
        // One that fits the budget alone: stored, and the others (with deadlines, it has none) make room for it.
        Assert.Equal(SetResult.Stored, store.Set(Bytes("large"), Bytes(Value(9_000))));
        Assert.True(store.Contains(Bytes("large")));
        Assert.InRange(store.AccountedBytes, 9_000, 10_000);
    }

    [Fact]
    public void Inside_one_step_nothing_is_evicted_until_it_ends()
    {
        var store = Store(0, EvictionPolicy.AllKeysLru);
        for (var i = 0; i < 10; i++) store.Set(Bytes($"k{i}"), Bytes(Value(100)));
        store.MaxBytes = store.AccountedBytes;
        store.Atomically(store, s =>
        {
            for (var i = 0; i < 5; i++) Assert.Equal(SetResult.Stored, s.Set(Bytes($"n{i}"), Bytes(Value(100))));
            // A command in the middle of its work finds every key it read still there.
            Assert.Equal(15, s.CountHeld);
            Assert.Equal(0, s.Evicted);
        });
        Assert.Equal(10, store.Count);
        Assert.Equal(5, store.Evicted);
    }

    [Fact]
    public async Task Config_set_maxmemory_policy_evicts_announces_and_counts_over_resp()
    {
        await using var server = InProcessServer.Start("--resp-port", "0");
        await using var c = await server.ConnectRespAsync();
        await using var subscriber = await server.ConnectRespAsync();
        Assert.Equal("*2[$maxmemory-policy,$noeviction]", await c.AskAsync("CONFIG", "GET", "maxmemory-policy"));
        Assert.StartsWith("-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - unknown policy " +
            "'allkeys-lfu' (expected noeviction, allkeys-lru,", await c.AskAsync("CONFIG", "SET", "maxmemory-policy",
            "allkeys-lfu"));
        Assert.Equal("+OK", await c.AskAsync("CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LRU",
            "notify-keyspace-events", "Ee"));
        Assert.Equal("*3[$psubscribe,$*,:1]", await subscriber.AskAsync("PSUBSCRIBE", "*"));
        await c.AskAsync("RPUSH", "list", "a", "b");
        Assert.Equal("+OK", await c.AskAsync("CONFIG", "SET", "maxmemory", "1"));
        Assert.Equal("*4[$pmessage,$*,$__keyevent@0__:evicted,$list]", await subscriber.ReadAsync());
        Assert.Equal(":0", await c.AskAsync("DBSIZE"));
        var info = await c.AskAsync("INFO");
        Assert.Contains("maxmemory_policy:allkeys-lru", info);
        Assert.Contains("evicted_keys:1", info);
        // A write larger than the budget itself is refused, not stored and evicted.
        Assert.StartsWith("-OOM ", await c.AskAsync("SET", "k", "v"));
    }

    [Fact]
    public async Task The_option_names_the_policy_at_start_and_a_cache_full_of_writes_keeps_taking_them()
    {
        Assert.Throws<FormatException>(() => ServerOptions.Parse(["0", "--max-memory-policy", "lru"]));
        await using var server = InProcessServer.Start("--max-memory", "64000", "--max-memory-policy",
            "allkeys-random");
        await using var client = await server.ConnectAsync();
        for (var i = 0; i < 2_000; i++)
            Assert.IsType<Reply.Ok>(await client.AskAsync($"set key{i} {Value(100)}"));
        var stats = Assert.IsType<Reply.Stats>(await client.AskAsync("stats")).Figures;
        Assert.Equal("allkeys-random", stats.Single(f => f.Name == "max_memory_policy").Value);
        Assert.InRange(long.Parse(stats.Single(f => f.Name == "evicted_keys").Value), 1_000, 2_000);
        Assert.InRange(long.Parse(stats.Single(f => f.Name == "stored_bytes").Value), 1, 64_000);
    }
}
