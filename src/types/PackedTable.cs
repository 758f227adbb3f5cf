// src/types/PackedTable.cs: feature: the table under a hash (field -> value), a set (member) and a sorted set
// (member -> score), written to hold a million entries in about their bytes, as Redis's listpacks and dicts do.
//
// An entry is not an object but a run of bytes, [key length: varint][payload length: varint][key][payload],
// packed one after another into chunks; a slot of the table is one long, the entry's chunk and offset and 16 bits
// of its key's hash, which rule out almost every other key without reading the chunk. Open addressing with linear
// probing, removal by shifting the following slots back (no tombstones); the table grows by half when two
// thirds full (past that, probes lengthen fast: HSET and SADD measured much slower) and shrinks when an
// eighth. Chunks start small, so that a hash of three fields costs little, and double up to 64 KiB; an entry over
// 8 KiB gets a chunk of its own. A replaced or removed entry leaves dead bytes; a chunk whose live bytes fall under
// two thirds has its live entries moved to the chunk being filled. So an entry's bytes are valid until the next
// change: readers copy them out under the store's lock. Not thread-safe.

namespace KV;

internal sealed class PackedTable
{
    /// <summary>A shared chunk's largest size: offsets fit 16 bits, and the array stays off the large object heap.
    /// </summary>
    private const int MaxChunkBytes = 64 * 1024;

    private const int FirstChunkBytes = 64;

    /// <summary>An entry larger than this gets a chunk of its own: a chunk's unused end stays under an eighth.
    /// </summary>
    private const int OwnChunkAbove = MaxChunkBytes / 8;

    private const int MinSlots = 4;

    private struct Chunk
    {
        public byte[]? Bytes;
        public int Used;
        public int Live;
    }

    // A slot: [hash tag: 16 bits][chunk index + 1: 32 bits][offset: 16 bits]; 0 is empty.
    private long[] slots = new long[MinSlots];
    private Chunk[] chunks = new Chunk[1];
    private int chunkIndexes;
    private Stack<int>? freeIndexes;
    private int filling = -1;
    private long liveBytes;

    public int Count { get; private set; }

    /// <summary>The bytes of the chunks and the slots: what the table costs, but for a few small objects.</summary>
    public long BytesHeld { get; private set; } = MinSlots * sizeof(long);

    /// <summary>An entry's place: its chunk, where its key starts, and the two lengths.</summary>
    public readonly record struct Entry(byte[] Chunk, int KeyAt, int KeyLength, int PayloadLength)
    {
        public ReadOnlySpan<byte> Key => Chunk.AsSpan(KeyAt, KeyLength);
        public ReadOnlyMemory<byte> KeyMemory => Chunk.AsMemory(KeyAt, KeyLength);
        public Span<byte> Payload => Chunk.AsSpan(KeyAt + KeyLength, PayloadLength);
        public ReadOnlyMemory<byte> PayloadMemory => Chunk.AsMemory(KeyAt + KeyLength, PayloadLength);
    }

    /// <summary>The bytes an entry of these lengths takes in a chunk.</summary>
    public static int SizeOf(int keyLength, int payloadLength) =>
        Varint.Size(keyLength) + Varint.Size(payloadLength) + keyLength + payloadLength;

    public bool TryGet(ReadOnlySpan<byte> key, out Entry entry)
    {
        var at = Locate(key, Hash(key));
        entry = at >= 0 ? EntryAt(slots[at]) : default;
        return at >= 0;
    }

    public bool Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload) => Set(key, payload, out _);

    /// <summary>
    /// Stores the key with this payload, in place of the one there (`replaced`: its payload's length, else -1); true
    /// when the key is new. A payload of the same length as the one there is written over it.
    /// </summary>
    public bool Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload, out int replaced)
    {
        var hash = Hash(key);
        var at = Locate(key, hash);
        replaced = -1;
        if (at >= 0)
        {
            var old = slots[at];
            var held = EntryAt(old);
            replaced = held.PayloadLength;
            if (held.PayloadLength == payload.Length)
            {
                payload.CopyTo(held.Payload);
                return false;
            }
            slots[at] = Append(key, payload, old & TagMask);
            Release(old);
            return false;
        }
        if ((Count + 1) * 3L > slots.Length * 2L)
        {
            Resize(slots.Length + Math.Max(MinSlots, slots.Length / 2));
            at = Locate(key, hash);
        }
        slots[~at] = Append(key, payload, Tag(hash));
        Count++;
        return true;
    }

    public bool Remove(ReadOnlySpan<byte> key)
    {
        var hole = Locate(key, Hash(key));
        if (hole < 0) return false;
        var removed = slots[hole];
        // Shift back every following slot that may move: one whose home is not between the hole and itself.
        for (var next = Next(hole); slots[next] is var moving and not 0; next = Next(next))
        {
            var home = Home(Hash(EntryAt(moving).Key), slots.Length);
            var stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (stays) continue;
            slots[hole] = moving;
            hole = next;
        }
        slots[hole] = 0;
        Count--;
        Release(removed);
        if (slots.Length > MinSlots * 2 && Count * 8L < slots.Length)
        {
            Resize(Math.Max(MinSlots, Count * 2));
            // Most of the chunks' bytes dead or never used (the chunk being filled is never compacted): packed afresh.
            if (BytesHeld - slots.Length * (long)sizeof(long) > 4 * liveBytes + MaxChunkBytes / 4) Repack();
        }
        return true;
    }

    /// <summary>Every entry, in no particular order. The table must not change during the walk.</summary>
    public IEnumerable<Entry> Entries
    {
        get
        {
            for (var at = 0; at < slots.Length; at++)
                if (slots[at] != 0) yield return EntryAt(slots[at]);
        }
    }

    /// <summary>An entry at random, every one as likely; the table must not be empty.</summary>
    public Entry Random(Random random)
    {
        var at = random.Next(slots.Length);
        for (var tries = 1; slots[at] == 0 && tries < 32; tries++) at = random.Next(slots.Length);
        while (slots[at] == 0) at = Next(at);
        return EntryAt(slots[at]);
    }

    /// <summary>The entries packed afresh into chunks of their size.</summary>
    private void Repack()
    {
        var fresh = Copy();
        (slots, chunks, chunkIndexes, freeIndexes, filling, liveBytes, BytesHeld) =
            (fresh.slots, fresh.chunks, fresh.chunkIndexes, fresh.freeIndexes, fresh.filling, fresh.liveBytes,
                fresh.BytesHeld);
    }

    /// <summary>A table with the same entries, packed afresh, sharing nothing with this one.</summary>
    public PackedTable Copy()
    {
        var copy = new PackedTable();
        copy.Resize(slots.Length);
        foreach (var entry in Entries) copy.Set(entry.Key, entry.Payload);
        return copy;
    }

    private const long TagMask = unchecked((long)0xFFFF_0000_0000_0000);

    private static int Hash(ReadOnlySpan<byte> key) => PairTable.Hash(key);
    private static long Tag(int hash) => (long)(ushort)hash << 48;
    private static int ChunkIndex(long slot) => (int)((slot >> 16) & 0xFFFF_FFFF) - 1;
    private static int Offset(long slot) => (int)(slot & 0xFFFF);
    private static int Home(int hash, int length) => (int)(((ulong)(uint)hash * (ulong)length) >> 32);
    private int Next(int at) => at + 1 == slots.Length ? 0 : at + 1;

    /// <summary>The slot that holds the key, or the bitwise complement of the empty slot where it would go.</summary>
    private int Locate(ReadOnlySpan<byte> key, int hash)
    {
        var tag = Tag(hash);
        for (var at = Home(hash, slots.Length); ; at = Next(at))
        {
            var slot = slots[at];
            if (slot == 0) return ~at;
            if ((slot & TagMask) == tag && EntryAt(slot).Key.SequenceEqual(key)) return at;
        }
    }

    private Entry EntryAt(long slot)
    {
        var chunk = chunks[ChunkIndex(slot)].Bytes!;
        var at = Offset(slot);
        var keyLength = (int)Varint.Read(chunk.AsSpan(at), out var read);
        at += read;
        var payloadLength = (int)Varint.Read(chunk.AsSpan(at), out read);
        at += read;
        return new Entry(chunk, at, keyLength, payloadLength);
    }

    private static int SizeOf(Entry entry) => SizeOf(entry.KeyLength, entry.PayloadLength);

    private void Resize(int length)
    {
        var old = slots;
        slots = new long[length];
        BytesHeld += (length - old.Length) * (long)sizeof(long);
        foreach (var slot in old)
        {
            if (slot == 0) continue;
            var at = Home(Hash(EntryAt(slot).Key), slots.Length);
            while (slots[at] != 0) at = Next(at);
            slots[at] = slot;
        }
    }

    /// <summary>Copies the entry into the chunk being filled (or a chunk of its own) and returns its slot.</summary>
    private long Append(ReadOnlySpan<byte> key, ReadOnlySpan<byte> payload, long tag)
    {
        var size = SizeOf(key.Length, payload.Length);
        int index;
        if (size > OwnChunkAbove) index = NewChunk(size);
        else
        {
            if (filling < 0 || chunks[filling].Used + size > chunks[filling].Bytes!.Length) StartFilling(size);
            index = filling;
        }
        ref var chunk = ref chunks[index];
        var offset = chunk.Used;
        var at = offset;
        at += Varint.Write(chunk.Bytes.AsSpan(at), (uint)key.Length);
        at += Varint.Write(chunk.Bytes.AsSpan(at), (uint)payload.Length);
        key.CopyTo(chunk.Bytes.AsSpan(at));
        payload.CopyTo(chunk.Bytes.AsSpan(at + key.Length));
        chunk.Used += size;
        chunk.Live += size;
        liveBytes += size;
        return tag | (long)(index + 1) << 16 | (long)offset;
    }

    /// <summary>A new chunk to fill, twice the last one's size up to the largest, with room for `size` at least.
    /// </summary>
    private void StartFilling(int size)
    {
        var previous = filling;
        var last = previous >= 0 ? chunks[previous].Bytes!.Length : FirstChunkBytes / 2;
        filling = NewChunk(ChunkGrowth.Next(last, size, MaxChunkBytes));
        if (previous >= 0 && chunks[previous].Live == 0) Drop(previous);
    }

    private int NewChunk(int bytes)
    {
        if (freeIndexes is null || !freeIndexes.TryPop(out var index))
        {
            index = chunkIndexes++;
            if (index == chunks.Length) Array.Resize(ref chunks, index * 2);
        }
        chunks[index] = new Chunk { Bytes = GC.AllocateUninitializedArray<byte>(bytes) };
        BytesHeld += bytes;
        return index;
    }

    private void Drop(int index)
    {
        BytesHeld -= chunks[index].Bytes!.Length;
        chunks[index] = default;
        (freeIndexes ??= new()).Push(index);
    }

    /// <summary>An entry's bytes are dead: drop its chunk once all are, or move the rest out once a third are.
    /// </summary>
    private void Release(long slot)
    {
        var index = ChunkIndex(slot);
        var size = SizeOf(EntryAt(slot));
        chunks[index].Live -= size;
        liveBytes -= size;
        if (index == filling) return;
        if (chunks[index].Live == 0) Drop(index);
        else if (chunks[index].Live * 3 < chunks[index].Used * 2) Compact(index);
    }

    /// <summary>Moves the chunk's live entries to the chunk being filled, pointing their slots at them; drops it.
    /// </summary>
    private void Compact(int index)
    {
        for (var offset = 0; offset < chunks[index].Used;)
        {
            var slot = (long)(index + 1) << 16 | (long)offset;
            var entry = EntryAt(slot);
            var at = Locate(entry.Key, Hash(entry.Key));
            if (at >= 0 && (slots[at] & ~TagMask) == slot)
            {
                slots[at] = Append(entry.Key, entry.Payload, slots[at] & TagMask);
                liveBytes -= SizeOf(entry);
            }
            offset = entry.KeyAt + entry.KeyLength + entry.PayloadLength;
        }
        Drop(index);
    }
}
