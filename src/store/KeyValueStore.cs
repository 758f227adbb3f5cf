// src/store/KeyValueStore.cs: the data. One hash table (PairTable) guarded by one lock, shared by every connection.
//
// The server includes it; the client does not (it never holds data). The lock is the whole synchronisation
// story of KV: one `lock` statement you can point at, held for a lookup, an insert or a removal only.

using System.Buffers;

namespace KV;

public enum SetCondition { Always, IfAbsent, IfPresent }

public enum SetResult { Stored, ConditionFailed, OutOfMemory }

public enum IncrementResult { Done, NotAnInteger, Overflow, OutOfMemory }

/// <summary>
/// The data: one hash table guarded by one lock, with short critical sections: a lookup, a copy of the pair
/// into the table's slab or of a value into a reply, a removal, one slice of a listing; sorting happens outside it. Keys and values
/// are UTF-8 bytes, what the wire carries (half the size of a .NET string), so a `get` copies bytes straight
/// into the reply; lookups take a span of the request line, so a `get` and a `set` allocate nothing.
///
/// Memory: the pairs are packed into 64 KiB slabs (PairTable), not one object each, and the table holds 8
/// bytes a slot. Slabs are compacted and reused, so a pair's bytes are valid only under the lock: TryRead
/// hands a value to the code that copies it into the reply, a listing copies the keys a slice at a time.
/// </summary>
public sealed class KeyValueStore
{
    /// <summary>
    /// What a pair costs beyond its key and value: its 6-byte header in the slab, the table's slot (8 bytes, at a
    /// load of 1/2 to 3/4: up to 16), and a share of the slabs' unused ends.
    /// </summary>
    public const int EntryOverheadBytes = 24;

    /// <summary>A table this large leaves its old array (megabytes) to the GC's rarest collection when it grows.</summary>
    private const int LargeTableSlots = 1 << 18;

    private readonly Lock gate = new();
    private readonly PairTable pairs = new();
    private readonly long maxBytes;
    private long accounted;

    /// <param name="maxBytes">The budget for AccountedBytes (--max-memory); 0 is unlimited. A set past it is refused; nothing is evicted.</param>
    public KeyValueStore(long maxBytes = 0) => this.maxBytes = maxBytes;

    public int Count { get { lock (gate) return pairs.Count; } }

    /// <summary>The bytes of the slabs the pairs are packed in, live and dead: what the store really takes, but for its table.</summary>
    public long SlabBytes { get { lock (gate) return pairs.SlabBytesHeld; } }

    /// <summary>The table's slots: it grew when this changed.</summary>
    public int Capacity { get { lock (gate) return pairs.Capacity; } }
    public long MaxBytes => maxBytes;

    /// <summary>The bytes the store holds, by the measure --max-memory limits: each key and value plus EntryOverheadBytes.</summary>
    public long AccountedBytes { get { lock (gate) return accounted; } }

    private static long Cost(int keyBytes, int valueBytes) => keyBytes + valueBytes + EntryOverheadBytes;
    private static long Cost(StoredPair pair) => Cost(pair.KeyLength, pair.ValueLength);

    /// <summary>
    /// Hands the key's value to `read` under the lock, which copies it where it goes (into a reply): the value's
    /// bytes are the table's, and may be moved and reused once the lock is released. False when there is none.
    /// </summary>
    public bool TryRead<TState>(ReadOnlySpan<byte> key, TState state, ReadOnlySpanAction<byte, TState> read)
    {
        lock (gate)
        {
            if (pairs.Find(key) is not { } pair) return false;
            read(pair.Value.Span, state);
            return true;
        }
    }

    public SetResult Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetCondition condition = SetCondition.Always) =>
        Set(key, value, condition, wantPrevious: false, out _);

    /// <summary>As Set, and `previous` is a copy of the value that was there (SET ... GET).</summary>
    public SetResult Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetCondition condition, out byte[]? previous) =>
        Set(key, value, condition, wantPrevious: true, out previous);

    /// <summary>
    /// Stores the pair unless the condition fails or the budget would be passed, in one critical section, so
    /// that `SET k v NX` between two clients stores exactly once. `previous` is the value that was there.
    /// </summary>
    private SetResult Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetCondition condition, bool wantPrevious, out byte[]? previous)
    {
        bool grew;
        lock (gate)
        {
            var located = pairs.Locate(key);
            var existing = pairs.At(located);
            previous = wantPrevious ? existing?.Value.ToArray() : null;
            if (condition != SetCondition.Always && (condition == SetCondition.IfAbsent ? existing is not null : existing is null))
                return SetResult.ConditionFailed;
            if (!TryStore(located, existing, key, value, out grew)) return SetResult.OutOfMemory;
        }
        if (grew) ReleaseOldTable();
        return SetResult.Stored;
    }

    /// <summary>
    /// Adds `delta` to the integer stored at the key (a missing key counts from 0), read and written in one
    /// critical section: two clients that increment at once both count, which a `get` then a `set` cannot promise.
    /// </summary>
    public IncrementResult Increment(ReadOnlySpan<byte> key, long delta, out long result)
    {
        result = 0;
        bool grew;
        lock (gate)
        {
            var located = pairs.Locate(key);
            var existing = pairs.At(located);
            var current = 0L;
            if (existing is { } pair && !RequestParser.TryParseInteger(pair.Value.Span, out current)) return IncrementResult.NotAnInteger;
            if (delta > 0 ? current > long.MaxValue - delta : current < long.MinValue - delta) return IncrementResult.Overflow;
            result = current + delta;
            Span<byte> digits = stackalloc byte[20];
            result.TryFormat(digits, out var length, provider: System.Globalization.CultureInfo.InvariantCulture);
            if (!TryStore(located, existing, key, digits[..length], out grew)) return IncrementResult.OutOfMemory;
        }
        if (grew) ReleaseOldTable();
        return IncrementResult.Done;
    }

    /// <summary>Under the lock: stores the pair where Locate found its place, unless the budget would be passed.</summary>
    private bool TryStore(int located, StoredPair? existing, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out bool grewLarge)
    {
        grewLarge = false;
        var freed = existing is { } old ? Cost(old) : 0;
        var cost = Cost(key.Length, value.Length);
        if (maxBytes > 0 && cost > freed && accounted - freed + cost > maxBytes) return false;
        var capacity = pairs.Capacity;
        pairs.Store(located, key, value);
        accounted += cost - freed;
        grewLarge = pairs.Capacity != capacity && pairs.Capacity >= LargeTableSlots;
        return true;
    }

    /// <summary>
    /// The table has just grown: its old array (megabytes, for a large table) is garbage in the large object heap,
    /// which only a full collection frees. Ask for it now, once per growth of a large table, instead of letting
    /// the resident memory carry it until the GC gets round to it.
    /// </summary>
    private static void ReleaseOldTable() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);

    public bool Contains(ReadOnlySpan<byte> key)
    {
        lock (gate) return pairs.Find(key) is not null;
    }

    public bool Remove(ReadOnlySpan<byte> key)
    {
        lock (gate)
        {
            if (pairs.Remove(key) is not { } pair) return false;
            accounted -= Cost(pair);
            return true;
        }
    }

    /// <summary>The slots a listing walks in one hold of the lock: a few hundred microseconds of copying at most.</summary>
    public const int ListingSliceSlots = 4096;

    /// <summary>How many listings may work at once: one for every two cores, so they never take every pool thread.</summary>
    public SemaphoreSlim ListingSlots { get; } = new(Math.Max(1, Environment.ProcessorCount / 2));

    /// <summary>
    /// How many listings may be gathering their keys at once (a few more than work at once); the others wait
    /// their turn to begin, so that the keys gathered at once are a few listings' worth, not one for every client.
    /// </summary>
    public SemaphoreSlim ListingsGathering { get; } = new(Math.Max(2, Environment.ProcessorCount));

    /// <summary>A walk over every key that holds the lock a slice at a time (Listing): start it, continue it, and always end it.</summary>
    public TableCursor StartListing()
    {
        var cursor = new TableCursor();
        lock (gate) pairs.Attach(cursor);
        return cursor;
    }

    /// <summary>Copies the next slice's keys into `keys`; false when the walk is over.</summary>
    public bool ContinueListing(TableCursor cursor, KeyList keys)
    {
        lock (gate) return pairs.Walk(cursor, ListingSliceSlots, keys);
    }

    public void EndListing(TableCursor cursor)
    {
        lock (gate) pairs.Detach(cursor);
    }
}
