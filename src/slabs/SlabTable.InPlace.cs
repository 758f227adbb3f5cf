// src/slabs/SlabTable.InPlace.cs: what the table does in place for APPEND and RENAME, for a pair over 8 KiB, which
// has a slab of its own, so that a large value is not copied under the store's lock:
// - grown in place (TryExtend): a value grown by APPEND is given room after it, so the next appends write there;
// - given another key in place (Rekey): the slab keeps room before the pair for a longer key, the header and the new
//   key are written just before the value, which does not move, and the slot is put back where the new key hashes.
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
    /// Gives the pair at `source` the key `target`, in place, once CanRekey said it may: its slab is its own, and the
    /// header and the new key are written just before the value, which stays where it is (a slab of its own keeps
    /// KeyRoom before its pair for a longer key; a prepared pair keeps it after, and its value moves there). `target`
    /// must be absent.
    /// </summary>
    public override void Rekey(ReadOnlySpan<byte> source, ReadOnlySpan<byte> target)
    {
        // The growth's list reads keys where their slots were: the pair's start is about to move.
        if (unread is not null) ReadGrown(int.MaxValue);
        var located = Locate(source);
        var slot = slots[located];
        var index = SlabIndex(slot);
        var pair = PairAt(slot);
        var growth = target.Length - pair.KeyLength;
        Detach(located);
        var offset = pair.Offset - growth;
        if (offset < 0)
        {
            // No room before it (a prepared pair, adopted as it was written): the value moves into the room after.
            offset = pair.Offset;
            var valueAt = offset + StoredPair.HeaderBytes + pair.KeyLength;
            pair.Slab.AsSpan(valueAt, pair.ValueLength).CopyTo(pair.Slab.AsSpan(valueAt + growth));
            used[index] += growth;
        }
        StoredPair.WriteHeader(pair.Slab, offset, target.Length, pair.ValueLength, pair.HasDeadline, pair.HoldsObject);
        target.CopyTo(pair.Slab.AsSpan(offset + StoredPair.HeaderBytes));
        live[index] += growth;
        slots[~Locate(target)] = Tag(Hash(target)) | (long)(index + 1) << 16 | (long)offset;
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
        var growth = targetLength - pair.KeyLength;
        return index != filling && pair.Size == live[index] && pair.Offset + pair.Size == used[index]
            && (pair.Offset >= growth || pair.Slab.Length - used[index] >= growth);
    }
}
