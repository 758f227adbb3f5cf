// src/KeyValueStore.cs: the data. One hash table (PairTable) guarded by one lock, shared by every connection.
//
// The server includes it; the client does not (it never holds data). The lock is the whole synchronisation
// story of KV: one `lock` statement you can point at, held for a lookup, an insert or a removal only.

namespace KV;

public enum SetCondition { Always, IfAbsent, IfPresent }

public enum SetResult { Stored, ConditionFailed, OutOfMemory }

/// <summary>
/// The data: one hash table guarded by one lock, with short critical sections: every allocation, copy and
/// sort happens outside it. Keys and values are UTF-8 bytes, what the wire carries (half the size of a .NET
/// string), so a `get` copies bytes straight into the reply; lookups take a span of the request line, so a
/// `get` allocates nothing.
///
/// Memory: each pair is ONE array, [key length: 2 bytes][key][value], and the table (PairTable) holds that
/// array alone, in one reference a slot: a lookup by key finds the whole pair. One object per pair instead of
/// two saves an object header (24 bytes) a pair; the table's 8 bytes a slot, against a Dictionary's 28, saved
/// 33 MB at a million keys. A pair is never changed once stored, so a reader may use it after the lock is
/// released.
/// </summary>
public sealed class KeyValueStore
{
    /// <summary>
    /// What a pair costs beyond its key and value, as measured: the array's header and length (24), the 2-byte
    /// key length and padding (up to 8), and the table's slots (8 bytes, at a load of 1/2 to 3/4).
    /// </summary>
    public const int EntryOverheadBytes = 48;

    /// <summary>A table this large leaves its old array (megabytes) to the GC's rarest collection when it grows.</summary>
    private const int LargeTableSlots = 1 << 18;

    private readonly Lock gate = new();
    private readonly PairTable pairs = new();
    private readonly long maxBytes;
    private long accounted;

    /// <param name="maxBytes">The budget for AccountedBytes (--max-memory); 0 is unlimited. A set past it is refused; nothing is evicted.</param>
    public KeyValueStore(long maxBytes = 0) => this.maxBytes = maxBytes;

    public int Count { get { lock (gate) return pairs.Count; } }
    public long MaxBytes => maxBytes;

    /// <summary>The bytes the store holds, by the measure --max-memory limits: each pair's bytes plus EntryOverheadBytes.</summary>
    public long AccountedBytes { get { lock (gate) return accounted; } }

    private static long Cost(byte[] pair) => pair.Length + EntryOverheadBytes;

    /// <summary>The cast matters: a bare null would convert to an empty ReadOnlyMemory (through byte[]), not to "none".</summary>
    private static ReadOnlyMemory<byte>? ValueOf(byte[]? pair) => pair is null ? (ReadOnlyMemory<byte>?)null : Pair.Value(pair);

    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlyMemory<byte> value)
    {
        byte[]? pair;
        lock (gate) pair = pairs.Find(key);
        value = pair is null ? default : Pair.Value(pair);
        return pair is not null;
    }

    public SetResult Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Set(key, value, SetCondition.Always, out _);

    /// <summary>
    /// Stores the pair unless the condition fails or the budget would be passed, in one critical section, so
    /// that `SET k v NX` between two clients stores exactly once. `previous` is the value that was there.
    /// </summary>
    public SetResult Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, SetCondition condition, out ReadOnlyMemory<byte>? previous)
    {
        var pair = Pair.Create(key, value);
        bool grew;
        lock (gate)
        {
            if (condition != SetCondition.Always)
            {
                var existing = pairs.Find(key);
                if (condition == SetCondition.IfAbsent ? existing is not null : existing is null)
                {
                    previous = ValueOf(existing);
                    return SetResult.ConditionFailed;
                }
            }
            // Store first (one lookup on the common path), and undo in the rare case the budget is passed.
            var capacity = pairs.Capacity;
            var old = pairs.Put(pair);
            previous = ValueOf(old);
            var freed = old is null ? 0 : Cost(old);
            if (maxBytes > 0 && accounted - freed + Cost(pair) > maxBytes && Cost(pair) > freed)
            {
                if (old is null) pairs.Remove(key);
                else pairs.Put(old);
                return SetResult.OutOfMemory;
            }
            accounted += Cost(pair) - freed;
            grew = pairs.Capacity != capacity && pairs.Capacity >= LargeTableSlots;
        }
        if (grew) ReleaseOldTable();
        return SetResult.Stored;
    }

    /// <summary>
    /// The table has just grown: its old array (8 MB at a million keys) is garbage in the large object heap,
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

    /// <summary>Every key in byte (code point) order. Copies the references under the lock; sorts outside it.</summary>
    public ReadOnlyMemory<byte>[] SortedKeys()
    {
        byte[][] snapshot;
        lock (gate) snapshot = pairs.ToArray();
        var keys = Array.ConvertAll(snapshot, Pair.Key);
        Array.Sort(keys, static (a, b) => a.Span.SequenceCompareTo(b.Span));
        return keys;
    }
}
