// tests/StoreTests.cs: unit tests of src/store/KeyValueStore.cs, alone and under many threads.

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using KV;
using Xunit;

public class StoreTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>The value as text, read the way the server reads it: through TryRead, under the store's lock.</summary>
    public static string? Get(KeyValueStore store, string key)
    {
        var read = new StrongBox<string?>();
        return store.TryRead(Bytes(key), read, static (value,
            read) => read.Value = Encoding.UTF8.GetString(value)) ? read.Value : null;
    }

    /// <summary>A listing's reply as a conversation would receive it, without a connection.</summary>
    public sealed class CapturedReply(long budget = 0) : IReplyContext
    {
        private long reserved;
        public ArrayBufferWriter<byte> Written { get; } = new();
        public IBufferWriter<byte> Output => Written;
        public CancellationToken Cancellation { get; init; } = TestContext.Current.CancellationToken;
        public long ClientMemoryLimit => budget;
        public long Reserved => reserved;
        public int Flushes { get; private set; }
        public bool TryReserve(long bytes, bool makeRoom = false)
        {
            if (budget > 0 && reserved + bytes > budget) return false;
            reserved += bytes;
            return true;
        }
        public void Unreserve(long bytes) => reserved -= bytes;
        /// <summary>What a flush waits for: a client that does not read is one that never completes it.</summary>
        public Task Reading { get; set; } = Task.CompletedTask;
        public ValueTask FlushAsync()
        {
            Flushes++;
            return new ValueTask(Reading);
        }
        public void WriteError(string message) => ReplyWriter.Error(Written, message);
        /// <summary>Completed by the test when its client "sends" (a monitor then stops).</summary>
        public TaskCompletionSource Spoke { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task ClientSpeaksAsync() => Spoke.Task;
        public string? Evicted { get; private set; }
        public void Evict(string reason) => Evicted = reason;
        public string[] Lines => Encoding.UTF8.GetString(Written.WrittenSpan).Split('\n')[..^1];
    }

    /// <summary>The keys `list` answers, in its order: the reply's lines after `KEYS n`.</summary>
    public static async Task<string[]> ListAsync(KeyValueStore store, string? pattern = null)
    {
        var reply = new CapturedReply();
        var listing = new Listing(store, pattern is null ? null : RedisGlob.Compile(Bytes(pattern)).Matches,
            ReplyWriter.KeysHeader, ReplyWriter.Key);
        Assert.Null(await listing.RunAsync(reply));
        Assert.Equal(0, reply.Reserved);
        var lines = reply.Lines;
        Assert.Equal($"KEYS {lines.Length - 1}", lines[0]);
        return lines[1..];
    }

    [Fact]
    public async Task Set_get_remove_and_sorted_keys()
    {
        var store = new KeyValueStore();
        store.Set(Bytes("b"), Bytes("2"));
        store.Set(Bytes("a"), Bytes("1"));
        store.Set(Bytes("B"), Bytes("3"));
        store.Set(Bytes("a"), Bytes("one"));
        store.Set(Bytes("empty"), []);
        Assert.Equal("one", Get(store, "a"));
        Assert.Equal("", Get(store, "empty"));
        Assert.Null(Get(store, "A"));
        Assert.Equal(["B", "a", "b", "empty"], await ListAsync(store));
        Assert.Equal(["a", "b"], await ListAsync(store, "[a-z]"));
        Assert.True(store.Remove(Bytes("a")));
        Assert.False(store.Remove(Bytes("a")));
        Assert.Equal(3, store.Count);
    }

    [Fact]
    public async Task The_longest_key_and_a_large_value_are_kept_whole()
    {
        var store = new KeyValueStore();
        var key = string.Concat(Enumerable.Repeat("😀", Commands.MaxKeyCharacters));
        var value = new string('v', 1_000_000);
        store.Set(Bytes(key), Bytes(value));
        Assert.Equal(value, Get(store, key));
        Assert.Equal(key, Assert.Single(await ListAsync(store)));
    }

    [Fact]
    public void A_pair_with_a_slab_of_its_own_is_pinned_so_that_no_compacting_collection_copies_it()
    {
        // A pinned array is in the pinned object heap from its start, which GetGeneration tells as the oldest
        // generation; an array of this size that is not pinned starts in the youngest. (The heap's size, measured
        // before, moved with other tests' pinned buffers.)
        var table = new SlabTable();
        Put(table, "large", new string('v', 10_000));
        Assert.Equal(GC.MaxGeneration, GC.GetGeneration(table.At(table.Locate(Bytes("large")))!.Value.Slab));
        var prepared = KeyValueStore.Prepare(Bytes("queued"), new byte[10_000])!.Value;
        Assert.Equal(GC.MaxGeneration, GC.GetGeneration(prepared.Slab));
    }

    [Fact]
    public async Task Many_threads_lose_no_update_and_throw_nothing()
    {
        const int threads = 16, perThread = 5_000;
        var store = new KeyValueStore();
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < perThread; i++)
            {
                var own = $"t{t}-k{i}";
                store.Set(Bytes(own), Bytes($"v{i}"));
                Assert.Equal($"v{i}", Get(store, own));
                store.Set(Bytes($"shared-{i % 100}"), Bytes($"t{t}"));
                if (i % 2 == 1) Assert.True(store.Remove(Bytes(own)));
                if (i % 1000 == 0) Assert.NotEmpty(ListAsync(store).GetAwaiter().GetResult());
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);

        Assert.Equal(threads * perThread / 2 + 100, store.Count);
        for (var t = 0; t < threads; t++)
            for (var i = 0; i < perThread; i += 2)
                Assert.Equal($"v{i}", Get(store, $"t{t}-k{i}"));
        Assert.All(Enumerable.Range(0, 100), i => Assert.Matches("^t\\d+$", Get(store, $"shared-{i}")));
    }

    [Fact]
    public async Task Set_if_absent_stores_exactly_once_among_racing_threads_and_reports_the_old_value()
    {
        var store = new KeyValueStore();
        using var start = new Barrier(16);
        var wins = await Task.WhenAll(Enumerable.Range(0, 16).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return store.Set(Bytes("race"), Bytes($"t{t}"), SetCondition.IfAbsent, Expiry.Clear,
                out _) == SetResult.Stored;
        }, TaskCreationOptions.LongRunning)));
        Assert.Single(wins, won => won);
        Assert.Equal(SetResult.ConditionFailed, store.Set(Bytes("absent"), Bytes("x"), SetCondition.IfPresent,
            Expiry.Clear, out var none));
        Assert.Null(none);
        Assert.Equal(SetResult.Stored, store.Set(Bytes("race"), Bytes("new"), SetCondition.IfPresent, Expiry.Clear,
            out var old));
        Assert.StartsWith("t", Encoding.UTF8.GetString(old!));
        Assert.Equal("new", Get(store, "race"));
        Assert.True(store.Contains(Bytes("race")));
        Assert.False(store.Contains(Bytes("absent")));
    }

    [Fact]
    public void The_budget_refuses_a_set_that_would_pass_it_and_a_delete_makes_room()
    {
        var pairCost = 1 + 100 + KeyValueStore.EntryOverheadBytes;
        var store = new KeyValueStore(maxBytes: 3 * pairCost);
        var value = new byte[100];
        foreach (var key in new[] { "a", "b", "c" }) Assert.Equal(SetResult.Stored, store.Set(Bytes(key), value));
        Assert.Equal(3 * pairCost, store.AccountedBytes);
        Assert.Equal(SetResult.OutOfMemory, store.Set(Bytes("d"), value));
        Assert.Equal(SetResult.Stored, store.Set(Bytes("a"), value));
        Assert.Equal(SetResult.Stored, store.Set(Bytes("a"), new byte[10]));
        Assert.Equal(SetResult.OutOfMemory, store.Set(Bytes("a"), new byte[200]));
        Assert.Equal(new string('\0', 10), Get(store, "a"));
        Assert.True(store.Remove(Bytes("b")));
        Assert.Equal(SetResult.Stored, store.Set(Bytes("d"), value));
        Assert.Equal(3, store.Count);
        Assert.True(store.Remove(Bytes("a")) && store.Remove(Bytes("c")) && store.Remove(Bytes("d")));
        Assert.Equal(0, store.AccountedBytes);
    }

    private static string? Text(StoredPair? pair) => pair is { } found
        ? Encoding.UTF8.GetString(found.Value.Span) : null;

    private static StoredPair? Put(PairTable table, string key, string value)
    {
        var located = table.Locate(Bytes(key));
        var old = table.At(located);
        table.Store(located, Bytes(key), Bytes(value));
        return old;
    }

    /// <summary>Each table a store may have: the core's, and src/slabs's.</summary>
    internal static PairTable NewTable(string kind) => kind == "plain" ? new PlainTable() : new SlabTable();

    [Theory, InlineData("plain"), InlineData("slabs")]
    public void The_table_agrees_with_a_dictionary_through_a_hundred_thousand_random_puts_and_removes(string kind)
    {
        // Few distinct keys, so that the table grows, wraps around its end, shifts entries back on removal and
        // compacts its slabs often; some values are large enough for a slab of their own.
        var random = new Random(7);
        var table = NewTable(kind);
        var model = new Dictionary<string, string>();
        for (var step = 0; step < 100_000; step++)
        {
            var key = $"k{random.Next(step < 50_000 ? 3000 : 300)}";
            if (random.Next(3) == 0)
            {
                Assert.Equal(model.Remove(key, out var value) ? value : null, Text(table.Remove(Bytes(key))));
            }
            else
            {
                var value = random.Next(100) == 0 ? new string('v', 9000 + step % 100) : $"v{step}";
                Assert.Equal(model.TryGetValue(key, out var was) ? was : null, Text(Put(table, key, value)));
                model[key] = value;
            }
            Assert.Equal(model.Count, table.Count);
        }
        foreach (var (key, value) in model) Assert.Equal(value, Text(table.Find(Bytes(key))));
        var walked = new KeyList();
        var cursor = new TableCursor();
        while (table.Walk(cursor, 100, walked)) { }
        walked.SortDistinct();
        Assert.Equal(model.Keys.Order(StringComparer.Ordinal), Enumerable.Range(0,
            walked.Count).Select(i => Encoding.UTF8.GetString(walked[i])));
        Assert.Null(table.Find(Bytes("absent")));
    }

    /// <summary>
    /// A hundred walks open when the table grows (a hundred SCANs left open) share one copy of the keys they had not
    /// reached, where a copy each cost walks times keys; each still finds every key present from its start to its end.
    /// </summary>
    [Theory, InlineData("plain"), InlineData("slabs")]
    public void Walks_open_when_the_table_grows_share_one_copy_and_each_finds_every_key(string kind)
    {
        var table = NewTable(kind);
        for (var i = 0; i < 1000; i++) Put(table, $"k{i}", "v");
        var walks = Enumerable.Range(0, 100).Select(_ => new TableCursor()).ToList();
        var found = walks.Select(_ => new KeyList()).ToList();
        foreach (var walk in walks) table.Attach(walk);
        for (var w = 0; w < walks.Count; w++) table.Walk(walks[w], w, found[w]);
        var capacity = table.Capacity;
        for (var i = 1000; table.Capacity == capacity; i++) Put(table, $"k{i}", "v");
        Assert.All(walks, walk => Assert.Same(walks[0].Grown, walk.Grown));
        for (var w = 0; w < walks.Count; w++)
        {
            while (table.Walk(walks[w], 64, found[w])) { }
            found[w].SortDistinct();
            var keys = Enumerable.Range(0,
                found[w].Count).Select(i => Encoding.UTF8.GetString(found[w][i])).ToHashSet();
            Assert.True(Enumerable.Range(0, 1000).All(i => keys.Contains($"k{i}")), $"walk {w} missed a key");
        }
    }

    [Fact]
    public void A_walk_across_a_growth_reads_a_key_renamed_in_place_before_it_as_a_key_never_as_other_bytes()
    {
        // The growth lists slots whose keys are read later; a rename in place moves its pair's start in its slab.
        var table = new SlabTable();
        Put(table, "big", new string('v', 20_000));
        for (var i = 0; table.Count < 10_000; i++) Put(table, $"k{i}", "v");
        var walk = new TableCursor();
        var found = new KeyList();
        table.Attach(walk);
        table.Walk(walk, 1, found);
        var capacity = table.Capacity;
        var next = table.Count;
        while (table.Capacity == capacity) Put(table, $"k{next++}", "v");
        Assert.True(table.CanRekey(Bytes("big"), "a-longer-name-for-big".Length));
        table.Rekey(Bytes("big"), Bytes("a-longer-name-for-big"));
        while (table.Walk(walk, 4096, found)) { }
        var stored = Enumerable.Range(0, next).Select(i => $"k{i}").Concat(["big", "a-longer-name-for-big"])
            .ToHashSet();
        var keys = Enumerable.Range(0, found.Count).Select(i => Encoding.UTF8.GetString(found[i])).ToList();
        Assert.All(keys, key => Assert.Contains(key, stored));
        Assert.True(Enumerable.Range(0, 10_000 - 1).All(i => keys.Contains($"k{i}")), "the walk missed a key");
    }

    [Fact]
    public void A_walk_across_a_growth_finds_every_key_kept_though_overwrites_compact_the_slabs_before_it_is_read()
    {
        // Enough keys that the growth's list is not read whole by the time the overwrites below compact a slab.
        var table = new SlabTable();
        var next = 0;
        while (table.Count < 600_000) Put(table, $"k{next++}", "v");
        var walk = new TableCursor();
        var found = new KeyList();
        var present = next;
        table.Attach(walk);
        table.Walk(walk, 1, found);
        var capacity = table.Capacity;
        while (table.Capacity == capacity) Put(table, $"k{next++}", "v");
        // The first keys share the first slabs: overwriting them empties those, which are compacted and reused.
        for (var round = 0; round < 3; round++)
            for (var i = 0; i < 20_000; i += 2) Put(table, $"k{i}", $"overwritten in round {round}");
        while (table.Walk(walk, 4096, found)) { }
        var keys = Enumerable.Range(0, found.Count).Select(i => Encoding.UTF8.GetString(found[i])).ToHashSet();
        Assert.True(Enumerable.Range(0, present).All(i => keys.Contains($"k{i}")), "the walk missed a key");
        Assert.All(keys, key => Assert.StartsWith("k", key));
    }

    [Fact]
    public void Overwritten_and_removed_pairs_are_compacted_away_and_the_slabs_reused()
    {
        var table = new SlabTable();
        for (var i = 0; i < 10_000; i++) Put(table, $"key{i}", $"first {i}");

        // Overwriting every key, round after round, fills new slabs as fast as it empties old ones: once warm, the
        // emptied slabs are reused, and the rounds allocate (almost) nothing.
        for (var i = 0; i < 10_000; i++) Put(table, $"key{i}", $"round 0 of {i:D5}");
        var keys = Enumerable.Range(0, 10_000).Select(i => Bytes($"key{i}")).ToArray();
        var values = Enumerable.Range(1, 10).Select(round => Enumerable.Range(0,
            10_000).Select(i => Bytes($"round {round} of {i:D5}")).ToArray()).ToArray();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var round = 1; round <= 10; round++)
            for (var i = 0; i < 10_000; i++) table.Store(table.Locate(keys[i]), keys[i], values[round - 1][i]);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4 * SlabTable.SlabBytes, $"{allocated} bytes allocated by 100,000 overwrites");

        // Removing nine keys in ten leaves the last round's slabs a tenth alive: compaction moves that tenth into one.
        for (var i = 0; i < 10_000; i++)
            if (i % 10 != 0) Assert.NotNull(table.Remove(Bytes($"key{i}")));
        Assert.True(table.BytesHeld <= 2 * SlabTable.SlabBytes,
            $"{table.BytesHeld} bytes of slabs held for 1,000 pairs");
        for (var i = 0; i < 10_000; i += 10) Assert.Equal($"round 10 of {i:D5}", Text(table.Find(Bytes($"key{i}"))));
        Assert.Equal(1_000, table.Count);
    }

    [Fact]
    public void Under_any_churn_the_slabs_hold_at_most_half_again_the_live_bytes()
    {
        var table = new SlabTable();
        var model = new Dictionary<string, int>();
        var random = new Random(5);
        for (var step = 0; step < 300_000; step++)
        {
            var key = $"k{random.Next(20_000)}";
            if (random.Next(4) == 0)
            {
                if (table.Remove(Bytes(key)) is not null) model.Remove(key);
            }
            else
            {
                var value = new string('v', random.Next(1, 400));
                Put(table, key, value);
                model[key] = StoredPair.HeaderBytes + key.Length + value.Length;
            }
            if (step % 1000 != 0) continue;
            long live = model.Values.Sum();
            // Dead bytes stay under half the live ones, beside the slab being filled and a few kept for reuse.
            Assert.InRange(table.BytesHeld, live, live * 3 / 2 + 2 * SlabTable.SlabBytes);
        }
    }

    [Fact]
    public void A_million_pairs_take_their_bytes_and_six_more_in_the_slabs()
    {
        var table = new SlabTable();
        var value = new string('v', 100);
        for (var i = 0; i < 1_000_000; i++) Put(table, $"key:{i:D12}", value);
        var pairBytes = 1_000_000L * (StoredPair.HeaderBytes + 16 + 100);
        Assert.InRange(table.BytesHeld, pairBytes, pairBytes + pairBytes / 100);
    }

    [Fact]
    public void A_value_grown_by_append_is_given_room_and_the_next_appends_write_into_it_in_place()
    {
        var table = new SlabTable();
        var key = Bytes("grown");
        table.Store(table.Locate(key), key, new byte[10_000], spare: 5_000);
        var held = table.BytesHeld;
        Assert.True(table.TryExtend(table.Locate(key), Enumerable.Repeat((byte)7, 4_000).ToArray()));
        Assert.False(table.TryExtend(table.Locate(key), new byte[1_001]));
        Assert.True(table.TryExtend(table.Locate(key), Enumerable.Repeat((byte)7, 1_000).ToArray()));
        Assert.Equal(held, table.BytesHeld);
        var value = table.Find(key)!.Value.Value.Span;
        Assert.Equal(15_000, value.Length);
        Assert.True(value[..10_000].IndexOfAnyExcept((byte)0) < 0 && value[10_000..].IndexOfAnyExcept((byte)7) < 0);
        // A small pair with another after it in the slab has no room of its own.
        Put(table, "small", "a");
        Put(table, "after", "b");
        Assert.False(table.TryExtend(table.Locate(Bytes("small")), Bytes("c")));
        Assert.Equal("a", Text(table.Find(Bytes("small"))));
    }

    [Fact]
    public void Appends_of_any_size_build_the_value_keep_its_deadline_and_count_every_byte()
    {
        var store = new KeyValueStore(maxBytes: 64 << 20);
        var key = Bytes("log");
        var expected = new List<byte>(Bytes("start"));
        store.Set(key, Bytes("start"), SetCondition.Always, Expiry.At(store.Now + 3_600_000));
        var random = new Random(3);
        for (var i = 0; i < 400; i++)
        {
            var chunk = new byte[random.Next(1, i % 50 == 0 ? 200_000 : 30_000)];
            random.NextBytes(chunk);
            expected.AddRange(chunk);
            Assert.Equal(expected.Count, store.Append(key, chunk));
        }
        var read = new StrongBox<byte[]>();
        Assert.True(store.TryRead(key, read, static (value, box) => box.Value = value.ToArray()));
        Assert.Equal(expected.ToArray(), read.Value);
        Assert.NotNull(store.DeadlineOf(key).Deadline);
        Assert.Equal(KeyValueStore.PairCost(key.Length, expected.Count, withDeadline: true), store.AccountedBytes);
        // Room to grow into (so that the next append copies only itself), and no more than half the value again,
        // beside the slab being filled, where "start" was.
        Assert.InRange(store.PairBytes, StoredPair.HeaderBytes + key.Length + expected.Count + SlabTable.SlabBytes + 1,
            expected.Count * 3 / 2 + 2 * SlabTable.SlabBytes);
        Assert.Null(store.Append(key, new byte[64 << 20]));
        Assert.Equal(10, store.Append(Bytes("other"), new byte[10]));
    }
}

public class LargeRenameTests
{
    private static byte[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    /// <summary>A value whose every byte depends on its place, so a shift by any amount shows.</summary>
    private static byte[] Patterned(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 31 + 7))];

    private static byte[]? Read(KeyValueStore store, string key)
    {
        byte[]? copy = null;
        store.TryRead(Bytes(key), 0, (value, _) => copy = value.ToArray());
        return copy;
    }

    /// <summary>Where the value of `key` lies in memory (its slab is its own, pinned: the collector moves it not).
    /// </summary>
    private static unsafe nint AddressOf(KeyValueStore store, string key)
    {
        var at = new StrongBox<nint>();
        store.TryRead(Bytes(key), at, static (value, at) =>
            at.Value = (nint)Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(value)));
        return at.Value;
    }

    [Fact]
    public void A_large_value_moves_to_a_longer_a_shorter_or_a_taken_key_in_place_byte_for_byte()
    {
        var store = new KeyValueStore();
        var value = Patterned(300_000);
        store.Set(Bytes("big"), value, expiry: Expiry.At(store.Now + 100_000));
        store.Set(Bytes("taken"), Bytes("small"));
        var before = store.AccountedBytes;
        var at = AddressOf(store, "big");
        foreach (var (from, to) in new[] { ("big", "a-much-longer-name"), ("a-much-longer-name", "b"), ("b", "taken") })
        {
            Assert.True(store.TryMoveString(Bytes(from), Bytes(to)), $"{from} -> {to}");
            Assert.False(store.Contains(Bytes(from)));
            Assert.Equal(value, Read(store, to));
            // Not a byte of the value moved: only the header and the key were written, before it.
            Assert.Equal(at, AddressOf(store, to));
            Assert.True(store.DeadlineOf(Bytes(to)).Deadline > store.Now);
        }
        // What the budget counts follows the keys: the big value under a key one byte longer than "big", and no
        // trace of what "taken" held.
        Assert.Equal(before + 2 * ("taken".Length - "big".Length) - KeyValueStore.PairCost(5, 5, false),
            store.AccountedBytes);
        Assert.Equal(1, store.Count);
        // A small value is copied as before: TryMoveString leaves it to the caller.
        store.Set(Bytes("small"), Bytes("v"));
        Assert.False(store.TryMoveString(Bytes("small"), Bytes("other")));
        Assert.Equal("v", StoreTests.Get(store, "small"));
    }
}

public class PreparedPairTests
{
    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Whether the value stored under `key` lies where `slab` holds it: the store kept that very array.
    /// </summary>
    private static bool StoredIn(KeyValueStore store, string key, byte[] slab)
    {
        var inSlab = new StrongBox<bool>();
        var at = StoredPair.HeaderBytes + key.Length;
        store.TryRead(Bytes(key), (slab, at, inSlab), static (value, state) => state.inSlab.Value =
            Unsafe.AreSame(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(value),
                ref state.slab[state.at]));
        return inSlab.Value;
    }

    [Fact]
    public void A_prepared_large_pair_is_kept_in_its_own_slab_and_anything_else_is_copied()
    {
        var value = Bytes(new string('v', 100_000));
        Assert.Null(KeyValueStore.Prepare(Bytes("s"), Bytes("small")));
        var store = new KeyValueStore();
        var prepared = KeyValueStore.Prepare(Bytes("k"), value)!.Value;
        Assert.Equal(SetResult.Stored, store.SetAnnounced(Bytes("k"), prepared.Value.Span, SetCondition.Always,
            Expiry.Clear, false, out _, prepared.Slab));
        Assert.True(StoredIn(store, "k", prepared.Slab));
        // The budget counts it as any pair of that size, and a deadline can be given to it.
        Assert.Equal(KeyValueStore.PairCost(1, value.Length, false), store.AccountedBytes);
        Assert.True(store.Expire(Bytes("k"), store.Now + 100_000));
        Assert.Equal(new string('v', 100_000), StoreTests.Get(store, "k"));
        // Renamed in place to a longer key, with the room a prepared pair keeps after it.
        Assert.True(store.TryMoveString(Bytes("k"), Bytes("a-longer-key")));
        Assert.True(StoredIn(store, "a-longer-key", prepared.Slab));
        Assert.Equal(new string('v', 100_000), StoreTests.Get(store, "a-longer-key"));
        Assert.True(store.TryMoveString(Bytes("a-longer-key"), Bytes("k")));
        Assert.Equal(new string('v', 100_000), StoreTests.Get(store, "k"));

        // A slab prepared for another key, or a value that is not read from the slab, is copied, not taken.
        var other = KeyValueStore.Prepare(Bytes("x"), value)!.Value;
        store.SetAnnounced(Bytes("y"), other.Value.Span, SetCondition.Always, Expiry.Clear, false, out _, other.Slab);
        Assert.False(StoredIn(store, "y", other.Slab));
        store.SetAnnounced(Bytes("x"), value, SetCondition.Always, Expiry.Clear, false, out _, other.Slab);
        Assert.False(StoredIn(store, "x", other.Slab));
        Assert.Equal(new string('v', 100_000), StoreTests.Get(store, "y"));
        Assert.Equal(new string('v', 100_000), StoreTests.Get(store, "x"));
    }

    [Theory, InlineData("plain"), InlineData("slabs")]
    public void Either_table_takes_a_prepared_large_pair_as_it_is_and_marks_its_deadline(string kind)
    {
        var table = StoreTests.NewTable(kind);
        var value = Bytes(new string('v', 100_000));
        var prepared = PairTable.Prepare(Bytes("k"), value)!.Value;
        table.Store(table.Locate(Bytes("k")), Bytes("k"), prepared.Value.Span, hasDeadline: true,
            prepared: prepared.Slab);
        var stored = table.Find(Bytes("k"))!.Value;
        Assert.Same(prepared.Slab, stored.Slab);
        Assert.True(stored.HasDeadline);
        Assert.Equal(value, stored.Value.ToArray());
    }

    [Fact]
    public void A_queued_set_carries_its_large_value_in_a_prepared_slab_taken_once()
    {
        var value = Bytes(new string('v', 100_000));
        var argument = PreparedValue.Argument(Bytes("k"), value);
        Assert.Equal(value, argument.ToArray());
        var slab = PreparedValue.Take(argument);
        Assert.NotNull(slab);
        Assert.Null(PreparedValue.Take(argument));
        var store = new KeyValueStore();
        store.SetAnnounced(Bytes("k"), argument.FirstSpan, SetCondition.Always, Expiry.Clear, false, out _, slab);
        Assert.True(StoredIn(store, "k", slab));
        var small = PreparedValue.Argument(Bytes("k"), Bytes("small"));
        Assert.Null(PreparedValue.Take(small));
        Assert.Equal("small", Encoding.UTF8.GetString(small.ToArray()));
    }
}
