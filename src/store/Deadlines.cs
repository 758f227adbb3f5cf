// src/store/Deadlines.cs: when keys expire. Only keys with a deadline are here: a pair carries one bit that says it
// has one (PairTable), so a key without a deadline never makes the store look here.
//
// Two structures over the same deadlines: a dictionary, to answer "when does this key expire?" (TTL, and the check
// every access to a marked key makes), and a heap ordered by deadline, so that the keys whose time has come are
// found without looking at any other: the next to expire is always on top. That is exact where Redis's active
// expiry samples twenty keys with a deadline at a time and stops when few of them had expired, leaving up to a
// quarter of the expired keys in memory; here every expired key is found, in O(log n) each, and the cost stays
// with the keys that expire. A changed deadline leaves its old heap entry behind, skipped when it comes up; when
// the stale entries outnumber the live ones the heap is rebuilt, so a key whose deadline is pushed back on every
// request (a session) cannot grow it without bound. Not thread-safe: KeyValueStore holds its lock around every call.

namespace KV;

internal sealed class Deadlines
{
    /// <summary>
    /// What a deadline costs beyond its key's bytes: its dictionary entry, the key's array, its heap entry.
    /// </summary>
    public const int OverheadBytes = 96;

    private readonly Dictionary<byte[], long> deadlines = new(KeyBytes.Comparer);
    private readonly Dictionary<byte[], long>.AlternateLookup<ReadOnlySpan<byte>> bySpan;
    private PriorityQueue<byte[], long> byTime = new();

    public Deadlines() => bySpan = deadlines.GetAlternateLookup<ReadOnlySpan<byte>>();

    public int Count => deadlines.Count;

    /// <summary>The key's deadline, in milliseconds since 1970.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, out long deadline) => bySpan.TryGetValue(key, out deadline);

    /// <summary>Sets or moves the key's deadline; true when the key had none before.</summary>
    public bool Set(ReadOnlySpan<byte> key, long deadline)
    {
        var added = !bySpan.TryGetValue(key, out var stored, out _);
        var array = added ? key.ToArray() : stored!;
        deadlines[array] = deadline;
        byTime.Enqueue(array, deadline);
        if (byTime.Count > 2 * deadlines.Count + 1024) Rebuild();
        return added;
    }

    /// <summary>Forgets the key's deadline; true when it had one.</summary>
    public bool Remove(ReadOnlySpan<byte> key) => bySpan.Remove(key);

    /// <summary>The key whose deadline is the earliest, if it is at or before `now`; it stays until removed.</summary>
    public bool TryPeekDue(long now, out byte[] key)
    {
        while (byTime.TryPeek(out key!, out var deadline) && deadline <= now)
        {
            // An entry left behind by a deadline that changed, or by a key that went: skipped.
            if (deadlines.TryGetValue(key, out var current) && current == deadline) return true;
            byTime.Dequeue();
        }
        return false;
    }

    /// <summary>
    /// The time left on average, in milliseconds, for INFO's avg_ttl (0 when no key has a deadline); O(n), asked
    /// rarely.
    /// </summary>
    public long AverageRemaining(long now) => deadlines.Count == 0 ? 0 : (long)deadlines.Values.Average(d => Math.Max(0,
        d - now));

    private void Rebuild() =>
        byTime = new PriorityQueue<byte[], long>(deadlines.Select(pair => (pair.Key, pair.Value)));
}

/// <summary>Keys as byte arrays in a dictionary, looked up by a span of a request without copying it.</summary>
internal sealed class KeyBytes : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly KeyBytes Comparer = new();

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
    public int GetHashCode(byte[] key) => GetHashCode(key.AsSpan());
    public bool Equals(ReadOnlySpan<byte> span, byte[] key) => span.SequenceEqual(key);
    public int GetHashCode(ReadOnlySpan<byte> span) => PairTable.Hash(span);
    public byte[] Create(ReadOnlySpan<byte> span) => span.ToArray();
}
