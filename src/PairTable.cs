// src/PairTable.cs: the hash table under the store, written for its one job: hold a million pairs in as
// few bytes as a table can. Each slot is one reference to a pair array, [key length][key][value]; the key
// is read from the pair itself, so nothing else is kept a slot.
//
// Open addressing with linear probing: a key's home slot comes from its hash, and a collision takes the
// next free slot. Removal shifts the following entries back instead of leaving tombstones, so a lookup
// stops at the first empty slot. The table grows by half when three quarters full. At a million keys it
// takes 8 bytes a slot, 11 to 16 MB, where .NET's HashSet takes 20 (hash, next, reference, bucket) and
// its capacity doubles. Not thread-safe: KeyValueStore holds its lock around every call.

using System.Buffers.Binary;

namespace KV;

/// <summary>One stored pair: [key length, 2 bytes little-endian][key][value]. Never changed once stored.</summary>
internal static class Pair
{
    /// <summary>
    /// The 2-byte length holds any key the command table allows: at most MaxKeyCharacters characters of at
    /// most 4 UTF-8 bytes each. Should the table ever allow more than a ushort holds, this stops compiling.
    /// </summary>
    private const ushort MaxKeyBytes = Commands.MaxKeyCharacters * 4;

    public static byte[] Create(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (key.Length > MaxKeyBytes) throw new ArgumentException($"a key of {key.Length} bytes is longer than the table allows", nameof(key));
        var pair = GC.AllocateUninitializedArray<byte>(2 + key.Length + value.Length);
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

internal sealed class PairTable
{
    private byte[]?[] slots = new byte[]?[16];

    public int Count { get; private set; }

    /// <summary>The slots the table has now: it grew when this changed.</summary>
    public int Capacity => slots.Length;

    public byte[]? Find(ReadOnlySpan<byte> key)
    {
        var at = IndexOf(key);
        return at >= 0 ? slots[at] : null;
    }

    /// <summary>Stores the pair, in place of the one with the same key if there is one, which it returns.</summary>
    public byte[]? Put(byte[] pair)
    {
        var at = IndexOf(Pair.KeySpan(pair));
        if (at >= 0)
        {
            var old = slots[at];
            slots[at] = pair;
            return old;
        }
        if ((Count + 1) * 4L > slots.Length * 3L)
        {
            Grow();
            at = IndexOf(Pair.KeySpan(pair));
        }
        slots[~at] = pair;
        Count++;
        return null;
    }

    /// <summary>Removes the pair with this key, and returns it; null when there is none.</summary>
    public byte[]? Remove(ReadOnlySpan<byte> key)
    {
        var hole = IndexOf(key);
        if (hole < 0) return null;
        var removed = slots[hole];
        // Shift back every following entry that may move: one whose home is not between the hole and itself.
        for (var next = Next(hole); slots[next] is { } moving; next = Next(next))
        {
            var home = Home(Pair.KeySpan(moving), slots.Length);
            var stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (stays) continue;
            slots[hole] = moving;
            hole = next;
        }
        slots[hole] = null;
        Count--;
        return removed;
    }

    /// <summary>Every pair, in no order.</summary>
    public byte[][] ToArray()
    {
        var all = new byte[Count][];
        var n = 0;
        foreach (var pair in slots) if (pair is not null) all[n++] = pair;
        return all;
    }

    /// <summary>The slot that holds the key, or the bitwise complement of the empty slot where it would go.</summary>
    private int IndexOf(ReadOnlySpan<byte> key)
    {
        for (var at = Home(key, slots.Length); ; at = Next(at))
        {
            if (slots[at] is not { } pair) return ~at;
            if (Pair.KeySpan(pair).SequenceEqual(key)) return at;
        }
    }

    private int Next(int at) => at + 1 == slots.Length ? 0 : at + 1;

    /// <summary>
    /// Where a key's search starts: its hash scaled to the table (multiply and shift, no division). HashCode
    /// is seeded per process, so nobody can choose keys that all land in one place.
    /// </summary>
    private static int Home(ReadOnlySpan<byte> key, int length)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return (int)(((ulong)(uint)hash.ToHashCode() * (ulong)length) >> 32);
    }

    private void Grow()
    {
        var old = slots;
        slots = new byte[]?[old.Length + old.Length / 2];
        foreach (var pair in old)
        {
            if (pair is null) continue;
            var at = Home(Pair.KeySpan(pair), slots.Length);
            while (slots[at] is not null) at = Next(at);
            slots[at] = pair;
        }
    }
}
