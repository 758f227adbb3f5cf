// src/store/Deadlines.cs: when keys expire. Only keys with a deadline are here: a pair carries one bit that says it
// has one (PairTable), so a key without a deadline never makes the store look here.
//
// Two structures over the same deadlines: a dictionary, to answer "when does this key expire?" (TTL, and the check
// every access to a marked key makes), and a heap ordered by deadline, so that the keys whose time has come are
// found without looking at any other: the next to expire is always on top. That is exact where Redis's active
// expiry samples twenty keys with a deadline at a time and stops when few of them had expired, leaving up to a
// quarter of the expired keys in memory; here every expired key is found, in O(log n) each, and the cost stays
// with the keys that expire. Each deadline knows its place in the heap, so a changed deadline moves there in
// O(log n) and a removed one leaves at once: a key whose deadline is pushed back on every request (a session)
// costs the same each time, with nothing left behind to clear up later in one long hold. Not thread-safe:
// KeyValueStore holds its lock around every call.

namespace KV;

internal sealed partial class Deadlines
{
    /// <summary>
    /// What a deadline costs beyond its key's bytes: its dictionary entry, its entry, the key's array, its heap slot.
    /// </summary>
    public const int OverheadBytes = 96;

    /// <summary>One key's deadline (ms since 1970) and where it is in the heap.</summary>
    private sealed class Entry(byte[] key, long at)
    {
        public readonly byte[] Key = key;
        public long At = at;
        public int Place;
    }

    private readonly Dictionary<byte[], Entry> entries = new(KeyBytes.Comparer);
    private readonly Dictionary<byte[], Entry>.AlternateLookup<ReadOnlySpan<byte>> bySpan;
    private Entry[] heap = new Entry[16];

    public Deadlines() => bySpan = entries.GetAlternateLookup<ReadOnlySpan<byte>>();

    public int Count => entries.Count;

    /// <summary>The key's deadline, in milliseconds since 1970.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, out long deadline)
    {
        var found = bySpan.TryGetValue(key, out var entry);
        deadline = found ? entry!.At : 0;
        return found;
    }

    /// <summary>Sets or moves the key's deadline; true when the key had none before.</summary>
    public bool Set(ReadOnlySpan<byte> key, long deadline)
    {
        if (bySpan.TryGetValue(key, out var entry))
        {
            var sooner = deadline < entry.At;
            entry.At = deadline;
            if (sooner) Up(entry.Place);
            else Down(entry.Place);
            return false;
        }
        entry = new Entry(key.ToArray(), deadline) { Place = entries.Count };
        entries.Add(entry.Key, entry);
        if (entry.Place == heap.Length) Array.Resize(ref heap, heap.Length * 2);
        heap[entry.Place] = entry;
        Up(entry.Place);
        return true;
    }

    /// <summary>Forgets the key's deadline; true when it had one.</summary>
    public bool Remove(ReadOnlySpan<byte> key)
    {
        if (!bySpan.Remove(key, out _, out var entry)) return false;
        // The last entry takes the place of the one that goes, and moves to where it belongs from there.
        var last = heap[entries.Count];
        heap[entries.Count] = null!;
        if (last != entry)
        {
            Put(last, entry.Place);
            Up(last.Place);
            Down(last.Place);
        }
        return true;
    }

    /// <summary>The key whose deadline is the earliest, if it is at or before `now`; it stays until removed.</summary>
    public bool TryPeekDue(long now, out byte[] key)
    {
        var due = entries.Count > 0 && heap[0].At <= now;
        key = due ? heap[0].Key : [];
        return due;
    }

    /// <summary>
    /// The time left on average, in milliseconds, for INFO's avg_ttl (0 when no key has a deadline); O(n), asked
    /// rarely.
    /// </summary>
    public long AverageRemaining(long now) => entries.Count == 0 ? 0
        : (long)entries.Values.Average(entry => Math.Max(0, entry.At - now));

    private void Put(Entry entry, int place)
    {
        heap[place] = entry;
        entry.Place = place;
    }

    private void Up(int place)
    {
        var entry = heap[place];
        while (place > 0 && heap[(place - 1) / 2] is var parent && parent.At > entry.At)
        {
            Put(parent, place);
            place = (place - 1) / 2;
        }
        Put(entry, place);
    }

    private void Down(int place)
    {
        var entry = heap[place];
        var count = entries.Count;
        while (2 * place + 1 < count)
        {
            var child = 2 * place + 1;
            if (child + 1 < count && heap[child + 1].At < heap[child].At) child++;
            if (heap[child].At >= entry.At) break;
            Put(heap[child], place);
            place = child;
        }
        Put(entry, place);
    }
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
