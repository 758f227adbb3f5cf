// src/store/PairTable.LargePairs.cs: a pair over 8 KiB, which has a slab of its own, written into its slab before
// the lock is taken (Prepare), and the slab taken as it is when the pair is stored: a value is copied while the
// request waits (a transaction's SET, queued), as Redis keeps the request's own buffer, and so costs nothing under
// the lock when it is stored (EXEC). (src/resp's PairTable.InPlace.cs grows such a pair, or renames it, in place.)
// Prepare touches no table; KeyValueStore holds its lock around the rest.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KV;

internal sealed partial class PairTable
{
    /// <summary>
    /// A pair large enough for a slab of its own, written into one outside the store's lock, for Store to take as it
    /// is: the copy is made while the request is queued (a transaction's SET), and so costs nothing when it is
    /// stored (EXEC, under the lock). Null for a pair that would share a slab.
    /// </summary>
    public static StoredPair? Prepare(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var size = StoredPair.HeaderBytes + key.Length + value.Length;
        if (size <= OwnSlabAbove || key.Length > MaxKeyBytes || size > Array.MaxLength - KeyRoom) return null;
        return StoredPair.Write(GC.AllocateUninitializedArray<byte>(size + KeyRoom, pinned: true), 0, key, value);
    }

    /// <summary>
    /// Takes `prepared` as a slab of the table when it holds this pair (Holds), and returns the pair's slot without its
    /// tag; null when it does not.
    /// </summary>
    private long? TryAdopt(byte[] prepared, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool hasDeadline)
    {
        if (!Holds(prepared, key, value)) return null;
        var index = NewSlab(prepared.Length, prepared);
        StoredPair.WriteHeader(prepared, 0, key.Length, value.Length, hasDeadline, holdsObject: false);
        used[index] = live[index] = StoredPair.HeaderBytes + key.Length + value.Length;
        return (long)(index + 1) << 16;
    }

    /// <summary>Whether `prepared` holds this pair at its start, `value` read from that very slab.</summary>
    private static bool Holds(byte[] prepared, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        new StoredPair(prepared, 0) is var pair && pair.ValueLength == value.Length && !value.IsEmpty
        && Unsafe.AreSame(ref MemoryMarshal.GetReference(value), ref MemoryMarshal.GetReference(pair.Value.Span))
        && pair.KeySpan.SequenceEqual(key);
}
