// src/slabs/SlabTable.InPlace.cs: what the table does in place for APPEND and RENAME, for a pair over 8 KiB, which
// has a slab of its own, so that a large value is not copied under the store's lock:
// - grown in place (TryExtend): a value grown by APPEND is given room after it, so the next appends write there;
// - given another key in place (Rekey): the slab keeps room after the pair for a longer key, the value moves within it
//   by the difference in the keys' lengths, and the slot is put back where the new key hashes.
// Not thread-safe: KeyValueStore holds its lock around every call.

using System.Buffers.Binary;

namespace KV;

internal sealed partial class SlabTable
{
    /// <summary>
    /// Adds `suffix` to the value of the pair at what Locate found, in place, when the pair is the last in its slab
    /// and the slab has room after it (a value given spare room by Store); false, nothing changed, when not.
    /// </summary>
    public override bool TryExtend(int located, ReadOnlySpan<byte> suffix)
    {
        var index = SlabIndex(slots[located]);
        var pair = PairAt(slots[located]);
        if (pair.Offset + pair.Size != used[index] || pair.Slab.Length - used[index] < suffix.Length) return false;
        suffix.CopyTo(pair.Slab.AsSpan(used[index]));
        BinaryPrimitives.WriteInt32LittleEndian(pair.Slab.AsSpan(pair.Offset + 2), pair.ValueLength + suffix.Length);
        used[index] += suffix.Length;
        live[index] += suffix.Length;
        return true;
    }

    /// <summary>
    /// Gives the pair at `source` the key `target`, in place, once CanRekey said it may: its slab is its own and has
    /// room for the key (a large value: its bytes move by the difference in the keys' lengths, within the slab, and
    /// are never copied elsewhere). `target` must be absent.
    /// </summary>
    public override void Rekey(ReadOnlySpan<byte> source, ReadOnlySpan<byte> target)
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
        count++;
    }

    /// <summary>Whether Rekey can give the pair a key of `targetLength` bytes in place.</summary>
    public override bool CanRekey(ReadOnlySpan<byte> source, int targetLength)
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
