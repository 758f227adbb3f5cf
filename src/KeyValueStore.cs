// src/KeyValueStore.cs: the data. One Dictionary guarded by one lock, shared by every connection.
//
// The server includes it; the client does not (it never holds data). The lock is the whole synchronisation
// story of KV: one `lock` statement you can point at, held for a lookup, an insert or a removal only.

using System.Buffers.Binary;

namespace KV;

/// <summary>
/// The data: one Dictionary guarded by one lock, with short critical sections: every allocation, copy and
/// sort happens outside it. Keys and values are UTF-8 bytes, what the wire carries (half the size of a .NET
/// string), so a `get` copies bytes straight into the reply; lookups take a span of the request line, so a
/// `get` allocates nothing.
///
/// Memory: each pair is ONE array, [key length: 2 bytes][key][value], stored as both the Dictionary's key and
/// its value. One object per pair instead of two saves an object header (24 bytes) per pair: a million 16-byte
/// keys with 100-byte values went from 261 MB to 238 MB of server RSS. The comparer looks at the key part only.
/// A pair is never changed once stored, so a reader may use it after the lock is released.
/// </summary>
public enum SetCondition { Always, IfAbsent, IfPresent }

public enum SetResult { Stored, ConditionFailed, OutOfMemory }

public sealed class KeyValueStore
{
    /// <summary>
    /// What a pair costs beyond its own bytes, as measured: the array's header and length (24), the 2-byte
    /// key length, and the Dictionary's entry (24) and bucket (4, at its load) with their slack. A million
    /// 16-byte keys with 100-byte values cost 183 bytes a pair of server RSS; 2 + 116 + 64 is 182.
    /// </summary>
    public const int EntryOverheadBytes = 64;

    private readonly Lock gate = new();
    private readonly Dictionary<byte[], byte[]> pairs;
    private readonly Dictionary<byte[], byte[]>.AlternateLookup<ReadOnlySpan<byte>> byKey;
    private readonly long maxBytes;
    private long accounted;

    /// <param name="maxBytes">The budget for AccountedBytes (--max-memory); 0 is unlimited. A set past it is refused; nothing is evicted.</param>
    public KeyValueStore(long maxBytes = 0)
    {
        this.maxBytes = maxBytes;
        pairs = new Dictionary<byte[], byte[]>(KeyComparer.Instance);
        byKey = pairs.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int Count { get { lock (gate) return pairs.Count; } }
    public long MaxBytes => maxBytes;

    /// <summary>The bytes the store holds, by the measure --max-memory limits: each pair's bytes plus EntryOverheadBytes.</summary>
    public long AccountedBytes { get { lock (gate) return accounted; } }


    private static long Cost(byte[] pair) => pair.Length + EntryOverheadBytes;

    public bool TryGet(ReadOnlySpan<byte> key, out ReadOnlyMemory<byte> value)
    {
        byte[]? pair;
        lock (gate) byKey.TryGetValue(key, out pair);
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
        lock (gate)
        {
            // Remove, then add: the indexer would keep the old array as the key, and with it the old value.
            byte[]? old;
            var existed = condition == SetCondition.Always ? pairs.Remove(pair, out old) : pairs.TryGetValue(pair, out old);
            previous = existed ? Pair.Value(old!) : (ReadOnlyMemory<byte>?)null;
            var result = condition == SetCondition.IfAbsent && existed || condition == SetCondition.IfPresent && !existed ? SetResult.ConditionFailed
                : maxBytes > 0 && accounted - (existed ? Cost(old!) : 0) + Cost(pair) > maxBytes && Cost(pair) > (existed ? Cost(old!) : 0) ? SetResult.OutOfMemory
                : SetResult.Stored;
            if (result != SetResult.Stored)
            {
                if (existed && condition == SetCondition.Always) pairs.Add(old!, old!);
                return result;
            }
            if (existed)
            {
                if (condition != SetCondition.Always) pairs.Remove(pair);
                accounted -= Cost(old!);
            }
            pairs.Add(pair, pair);
            accounted += Cost(pair);
            return SetResult.Stored;
        }
    }

    public bool Contains(ReadOnlySpan<byte> key)
    {
        lock (gate) return byKey.ContainsKey(key);
    }

    public bool Remove(ReadOnlySpan<byte> key)
    {
        lock (gate)
        {
            if (!byKey.Remove(key, out var pair, out _)) return false;
            accounted -= Cost(pair);
            return true;
        }
    }

    /// <summary>Every key in byte (code point) order. Copies the references under the lock; sorts outside it.</summary>
    public ReadOnlyMemory<byte>[] SortedKeys()
    {
        byte[][] snapshot;
        lock (gate)
        {
            snapshot = new byte[pairs.Count][];
            pairs.Keys.CopyTo(snapshot, 0);
        }
        var keys = Array.ConvertAll(snapshot, Pair.Key);
        Array.Sort(keys, static (a, b) => a.Span.SequenceCompareTo(b.Span));
        return keys;
    }

    /// <summary>One stored pair: [key length, 2 bytes little-endian][key][value].</summary>
    private static class Pair
    {
        /// <summary>
        /// The 2-byte length holds any key the command table allows: at most MaxKeyCharacters characters of at
        /// most 4 UTF-8 bytes each. Should the table ever allow more than a ushort holds, this stops compiling.
        /// </summary>
        private const ushort MaxKeyBytes = Commands.MaxKeyCharacters * 4;

        public static byte[] Create(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            var pair = GC.AllocateUninitializedArray<byte>(2 + key.Length + value.Length);
            if (key.Length > MaxKeyBytes) throw new ArgumentException($"a key of {key.Length} bytes is longer than the table allows", nameof(key));
            BinaryPrimitives.WriteUInt16LittleEndian(pair, (ushort)key.Length);
            key.CopyTo(pair.AsSpan(2));
            value.CopyTo(pair.AsSpan(2 + key.Length));
            return pair;
        }

        private static int KeyLength(byte[] pair) => BinaryPrimitives.ReadUInt16LittleEndian(pair);
        public static ReadOnlyMemory<byte> Key(byte[] pair) => pair.AsMemory(2, KeyLength(pair));
        public static ReadOnlySpan<byte> KeySpan(byte[] pair) => pair.AsSpan(2, KeyLength(pair));
        public static ReadOnlyMemory<byte> Value(byte[] pair) => pair.AsMemory(2 + KeyLength(pair));
    }

    /// <summary>Compares and hashes the key part of a pair, or a key alone (the span of a request line).</summary>
    private sealed class KeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => Pair.KeySpan(x!).SequenceEqual(Pair.KeySpan(y!));
        public int GetHashCode(byte[] pair) => GetHashCode(Pair.KeySpan(pair));
        public bool Equals(ReadOnlySpan<byte> key, byte[] pair) => key.SequenceEqual(Pair.KeySpan(pair));

        /// <summary>Only an add through the span lookup would call this, and the store never adds that way.</summary>
        public byte[] Create(ReadOnlySpan<byte> key) => Pair.Create(key, []);

        /// <summary>HashCode is seeded per process, so nobody can choose keys that all collide.</summary>
        public int GetHashCode(ReadOnlySpan<byte> key)
        {
            var hash = new HashCode();
            hash.AddBytes(key);
            return hash.ToHashCode();
        }
    }
}
