// src/slabs/SlabTable.cs: the store's table when this feature is part of the server (SlabsRegistration), written for
// one job: hold a million pairs in as few bytes as a table can. (Without it, the core's PlainTable: an array a pair.)
//
// The pairs are not objects. Each is a run of bytes, [key length: 2][value length: 4][key][value], packed
// one after another into 64 KiB slabs, so that a pair costs its bytes and 6 more: no object header (24 bytes
// a pair, a seventh of a 16 + 100-byte pair) and no padding. A slot of the table is one long, the pair's
// slab and offset and 24 bits of its key's hash, which rule out almost every other key without reading
// the slab, and give the pair's place when the table grows: a growth never reads a key. Open addressing with
// linear probing; removal shifts the following entries back instead of leaving tombstones, so a lookup stops
// at the first empty slot. The table grows by half when three quarters full.
//
// A slab is filled front to back: a pair that is replaced or removed leaves dead bytes behind. A slab whose
// live bytes fall under two thirds has its live pairs copied to the slab being filled and is dropped, so dead
// bytes are at most half the live ones, and --max-memory, which counts live bytes, bounds the slabs too (at
// one and a half times); a dropped slab is kept for reuse, so that a stream of overwrites allocates nothing.
// So a pair's bytes are valid only until the next change: every reader copies them under the store's lock.
// A pair over 8 KiB gets a slab of its own (a value grown by APPEND, with room after it to grow into, so that the
// next appends write in place: SlabTable.InPlace.cs). Not thread-safe: KeyValueStore holds its lock
// around every call.
// The key length's top bit marks a pair that has a deadline (Deadlines.cs keeps when): only those pairs ever
// make the store look a deadline up. The next marks an object's handle; the third, a pair used since eviction last
// looked at it.

using System.Buffers.Binary;

namespace KV;

internal sealed partial class SlabTable : PairTable
{
    /// <summary>
    /// Under the 85,000 bytes at which an array goes to the large object heap, so the GC compacts slabs like any
    /// object.
    /// </summary>
    public const int SlabBytes = 64 * 1024;

    /// <summary>Freed slabs kept for reuse; what a mass delete frees beyond them goes to the GC.</summary>
    private const int FreeSlabsKept = 32;

    /// <summary>
    /// A pair larger than this gets a slab of its own (a slab's unused end stays under an eighth), pinned so that no
    /// compacting collection copies it while every thread waits; the shared slabs stay movable, to be packed.
    /// </summary>
    private const int OwnSlabAbove = OwnArrayAbove;

    // A slot: [hash: 24 bits][slab index + 1: 24 bits][offset: 16 bits]; 0 is empty.
    private long[] slots = new long[16];
    private byte[]?[] slabs = new byte[]?[16];
    private int[] used = new int[16];
    private int[] live = new int[16];
    private readonly Stack<int> freeIndexes = new();
    private readonly Stack<byte[]> freeSlabs = new();
    private int slabIndexes;
    private int filling = -1;

    /// <summary>
    /// The keys the walks open at the last growth had not reached, while some are still to be read from their slabs
    /// (ReadGrown); null once all are.
    /// </summary>
    private GrownKeys? unread;

    /// <summary>The keys ReadGrown reads at a store or a removal, so that a list is soon read whole.</summary>
    private const int GrownReadPerChange = 256;

    private int count;
    private long slabBytesHeld;

    public override int Count => count;
    public override int Capacity => slots.Length;

    /// <summary>The bytes of every slab the table holds, live or dead.</summary>
    public override long BytesHeld => slabBytesHeld;

    public override int Locate(ReadOnlySpan<byte> key)
    {
        var hash = Hash(key);
        var tag = Tag(hash);
        for (var at = Home(hash, slots.Length); ; at = Next(at))
        {
            var slot = slots[at];
            if (slot == 0) return ~at;
            if ((slot & TagMask) == tag && PairAt(slot).KeySpan.SequenceEqual(key)) return at;
        }
    }

    public override StoredPair? InSlot(int slot) => slots[slot] is var held and not 0 ? PairAt(held) : null;

    /// <summary>
    /// As PairTable.Store; `spare` is kept after a pair large enough for a slab of its own, and a `prepared` array
    /// that holds this very pair becomes its slab as it is.
    /// </summary>
    public override void Store(int located, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool hasDeadline = false,
        bool holdsObject = false, int spare = 0, byte[]? prepared = null)
    {
        RequireAllowed(key);
        if (unread is { } grown) ReadGrown(grown.Keys.Count + GrownReadPerChange);
        // A key that is there already has its tag in its slot: only a new key is hashed again.
        var slot = Append(key, value, located >= 0 ? slots[located] & TagMask : Tag(Hash(key)), hasDeadline,
            holdsObject, spare, prepared);
        if (located >= 0)
        {
            var old = slots[located];
            slots[located] = slot;
            Release(old);
            return;
        }
        if (FullForOneMore)
        {
            Grow();
            located = Locate(key);
        }
        slots[~located] = slot;
        count++;
    }

    public override StoredPair? Remove(ReadOnlySpan<byte> key)
    {
        if (unread is { } grown) ReadGrown(grown.Keys.Count + GrownReadPerChange);
        var hole = Locate(key);
        if (hole < 0) return null;
        var removed = Detach(hole);
        var pair = PairAt(removed);
        Release(removed);
        return pair;
    }

    /// <summary>Takes the slot at `hole` out of the table, its bytes left where they are; returns the slot.</summary>
    private long Detach(int hole)
    {
        var removed = slots[hole];
        for (var next = Next(hole); slots[next] is var moving and not 0; next = Next(next))
        {
            if (Stays(hole, next, HomeOf(moving, slots.Length))) continue;
            Moving(hole, next, PairAt(moving).KeySpan);
            slots[hole] = moving;
            hole = next;
        }
        slots[hole] = 0;
        count--;
        return removed;
    }

    private const long TagMask = unchecked((long)0xFFFF_FF00_0000_0000);

    /// <summary>The most slabs a slot can name: a 24-bit index (a tebibyte of full slabs).</summary>
    private const int MaxSlabs = (1 << 24) - 1;

    private static long Tag(int hash) => (long)((uint)hash >> 8) << 40;
    private static int SlabIndex(long slot) => (int)((slot >> 16) & 0xFF_FFFF) - 1;
    private static int Offset(long slot) => (int)(slot & 0xFFFF);
    private StoredPair PairAt(long slot) => new(slabs[SlabIndex(slot)]!, Offset(slot));

    /// <summary>Copies the pair into the slab being filled (or a slab of its own) and returns its slot.</summary>
    private long Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long tag, bool hasDeadline,
        bool holdsObject, int spare = 0, byte[]? prepared = null)
    {
        var size = StoredPair.HeaderBytes + key.Length + value.Length;
        int index;
        if (prepared is not null && spare == 0 && TryAdopt(prepared, key, value, hasDeadline) is { } adopted)
            return tag | adopted;
        // A slab of its own keeps KeyRoom before its pair, so that RENAME to a longer key leaves the value where it is.
        var room = size > OwnSlabAbove && size <= Array.MaxLength - KeyRoom ? KeyRoom : 0;
        if (size > OwnSlabAbove) index = NewSlab((int)Math.Min(Array.MaxLength, (long)room + size + spare));
        else
        {
            if (filling < 0 || used[filling] + size > SlabBytes) StartFilling();
            index = filling;
        }
        used[index] += room;
        var offset = used[index];
        StoredPair.Write(slabs[index]!, offset, key, value, hasDeadline, holdsObject);
        used[index] += size;
        live[index] += size;
        return tag | (long)(index + 1) << 16 | (long)offset;
    }

    /// <summary>
    /// Takes a `prepared` array (PairTable.Prepare) as a slab of the table when it holds this pair, and returns the
    /// pair's slot without its tag; null when it does not. A value copied while its request was queued (a
    /// transaction's SET) so costs nothing under the lock when it is stored (EXEC).
    /// </summary>
    private long? TryAdopt(byte[] prepared, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool hasDeadline)
    {
        if (!Holds(prepared, key, value)) return null;
        var index = NewSlab(prepared.Length, prepared);
        StoredPair.WriteHeader(prepared, 0, key.Length, value.Length, hasDeadline, holdsObject: false);
        used[index] = live[index] = StoredPair.HeaderBytes + key.Length + value.Length;
        return (long)(index + 1) << 16;
    }

    private void StartFilling()
    {
        var previous = filling;
        filling = NewSlab(SlabBytes);
        // The slab left behind is compacted later, when a release finds it mostly dead; if all of it is dead already,
        // drop it now.
        if (previous >= 0 && live[previous] == 0) Drop(previous);
    }

    private int NewSlab(int bytes, byte[]? adopted = null)
    {
        if (!freeIndexes.TryPop(out var index))
        {
            if (slabIndexes == MaxSlabs) throw new InvalidOperationException("the table holds every slab it can name");
            index = slabIndexes++;
            if (index == slabs.Length)
            {
                Array.Resize(ref slabs, index * 2);
                Array.Resize(ref used, index * 2);
                Array.Resize(ref live, index * 2);
            }
        }
        slabs[index] = adopted ?? (bytes == SlabBytes && freeSlabs.TryPop(out var reused)
            ? reused : GC.AllocateUninitializedArray<byte>(bytes, pinned: bytes != SlabBytes));
        used[index] = live[index] = 0;
        slabBytesHeld += bytes;
        return index;
    }

    private void Drop(int index)
    {
        if (unread is not null) ReadGrown(int.MaxValue);
        var slab = slabs[index]!;
        slabBytesHeld -= slab.Length;
        // Kept for the next slab, up to a few: under a stream of overwrites, compaction frees a slab about as
        // often as appends fill one, and reusing it leaves the GC nothing to collect.
        if (slab.Length == SlabBytes && freeSlabs.Count < FreeSlabsKept) freeSlabs.Push(slab);
        slabs[index] = null;
        freeIndexes.Push(index);
    }

    /// <summary>A pair's bytes are dead: drop its slab once all are, or move the rest out once a third are.</summary>
    private void Release(long slot)
    {
        var index = SlabIndex(slot);
        live[index] -= PairAt(slot).Size;
        if (index == filling) return;
        if (live[index] == 0) Drop(index);
        else if (live[index] * 3 < used[index] * 2) Compact(index);
    }

    /// <summary>
    /// Copies the slab's live pairs to the slab being filled, pointing their slots at the copies, and drops it.
    /// </summary>
    private void Compact(int index)
    {
        if (unread is not null) ReadGrown(int.MaxValue);
        var slab = slabs[index]!;
        for (var offset = 0; offset < used[index];)
        {
            var pair = new StoredPair(slab, offset);
            var at = Locate(pair.KeySpan);
            var slot = at >= 0 ? slots[at] : 0;
            if (slot != 0 && SlabIndex(slot) == index && Offset(slot) == offset)
                slots[at] = Append(pair.KeySpan, pair.Value.Span, slot & TagMask, pair.HasDeadline, pair.HoldsObject);
            offset += pair.Size;
        }
        Drop(index);
    }

    /// <summary>
    /// Reads the keys of the last growth's list from their slabs, up to the `count`th: each where its slot was then,
    /// which stays true until a slab is compacted or dropped (both first read the list whole). A key removed or
    /// renamed since is read as its bytes still are, and a walk may give it, as a key removed during a walk may be.
    /// </summary>
    private void ReadGrown(int count)
    {
        var grown = unread!;
        for (var i = grown.Keys.Count; i < Math.Min(count, grown.Slots.Count); i++)
            grown.Keys.Add(PairAt(grown.Unread[i]).KeySpan);
        if (grown.Keys.Count < grown.Slots.Count) return;
        grown.Unread.Clear();
        grown.Unread.TrimExcess();
        unread = null;
    }

    private int Next(int at) => at + 1 == slots.Length ? 0 : at + 1;

    /// <summary>
    /// Where a key's search starts: the 24 bits of its hash a slot keeps, scaled to the table (multiply and shift, no
    /// division). So a slot knows its own home: the table grows, and removals shift pairs back, without reading a key.
    /// </summary>
    private static int Home(int hash, int length) => (int)(((ulong)((uint)hash & 0xFFFF_FF00) * (ulong)length) >> 32);

    private static int HomeOf(long slot, int length) => (int)((((ulong)slot >> 40 << 8) * (ulong)length) >> 32);

    /// <summary>As PairTable.ReadGrown: the list this table is reading is read up to `count`.</summary>
    protected override bool ReadGrown(GrownKeys grown, int count)
    {
        if (grown != unread) return grown.Unread.Count == 0;
        ReadGrown(count);
        return true;
    }

    private void Grow()
    {
        // The walks' list holds the slots now; each key is read from its slab later (ReadGrown), a few for each
        // change, since a million reads at random in the slabs would hold the lock for a tenth of a second.
        var grown = ListForWalks((list, from) =>
        {
            if (unread is not null) ReadGrown(int.MaxValue);
            for (var at = from; at < slots.Length; at++)
                if (slots[at] is var slot and not 0)
                {
                    list.Unread.Add(slot);
                    list.Slots.Add(at);
                }
        });
        if (grown is not null) unread = grown;
        var old = slots;
        slots = new long[old.Length + old.Length / 2];
        foreach (var slot in old)
        {
            if (slot == 0) continue;
            var at = HomeOf(slot, slots.Length);
            while (slots[at] != 0) at = Next(at);
            slots[at] = slot;
        }
    }
}
