// src/store/PairTable.Rekey.cs: a large pair given another key in place (RENAME), so that a value of hundreds of
// megabytes is not copied under the store's lock. A pair over 8 KiB has a slab of its own, with room after it for a
// longer key: its value moves within the slab by the difference in the keys' lengths, its slot is taken out of the
// table and put back where the new key hashes. Not thread-safe: KeyValueStore holds its lock around every call.

using System.Buffers.Binary;

namespace KV;

internal sealed partial class PairTable
{
    /// <summary>
    /// Gives the pair at `source` the key `target`, in place, once CanRekey said it may: its slab is its own and has
    /// room for the key (a large value: its bytes move by the difference in the keys' lengths, within the slab, and
    /// are never copied elsewhere). `target` must be absent.
    /// </summary>
    public void Rekey(ReadOnlySpan<byte> source, ReadOnlySpan<byte> target)
    {
        var located = Locate(source);
        var slot = slots[located];
        var index = SlabIndex(slot);
        var pair = PairAt(slot);
        var growth = target.Length - pair.KeyLength;
        Detach(located);
        var valueAt = StoredPair.HeaderBytes + pair.KeyLength;
        pair.Slab.AsSpan(valueAt, pair.ValueLength).CopyTo(pair.Slab.AsSpan(valueAt + growth));
        target.CopyTo(pair.Slab.AsSpan(StoredPair.HeaderBytes));
        BinaryPrimitives.WriteUInt16LittleEndian(pair.Slab, (ushort)(target.Length | (pair.Header & StoredPair.Flags)));
        used[index] += growth;
        live[index] += growth;
        slots[~Locate(target)] = Tag(Hash(target)) | (slot & ~TagMask);
        Count++;
    }

    /// <summary>Whether Rekey can give the pair a key of `targetLength` bytes in place.</summary>
    public bool CanRekey(ReadOnlySpan<byte> source, int targetLength)
    {
        var located = Locate(source);
        if (located < 0 || targetLength > MaxKeyBytes) return false;
        var slot = slots[located];
        var index = SlabIndex(slot);
        var pair = PairAt(slot);
        return index != filling && Offset(slot) == 0 && pair.Size == used[index]
            && pair.Slab.Length - used[index] >= targetLength - pair.KeyLength;
    }
}
