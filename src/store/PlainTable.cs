// src/store/PlainTable.cs: the core's hash table: each pair an array of its own, as StoredPair lays it out, and the
// table an array of those. Open addressing with linear probing: a key's search starts at the slot its hash names
// and goes on to the next until it finds the key or an empty slot. A removal shifts the pairs after it back instead
// of leaving a tombstone, so a search can stop at the first empty slot. It grows by half when three quarters full.
// (src/slabs packs small pairs into shared slabs instead: no array header a pair.)

namespace KV;

internal sealed class PlainTable : PairTable
{
    private byte[]?[] slots = new byte[]?[16];
    private int count;
    private long bytesHeld;

    public override int Count => count;
    public override int Capacity => slots.Length;
    public override long BytesHeld => bytesHeld;

    public override int Locate(ReadOnlySpan<byte> key)
    {
        for (var at = Home(key, slots.Length); ; at = Next(at))
        {
            if (slots[at] is not { } pair) return ~at;
            if (KeyOf(pair).SequenceEqual(key)) return at;
        }
    }

    public override StoredPair? InSlot(int slot) => slots[slot] is { } pair ? new StoredPair(pair, 0) : null;

    public override void Store(int located, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool hasDeadline = false,
        bool holdsObject = false, int spare = 0, byte[]? prepared = null)
    {
        RequireAllowed(key);
        byte[] pair;
        if (prepared is not null && !holdsObject && Holds(prepared, key, value))
        {
            pair = prepared;
            StoredPair.WriteHeader(pair, 0, key.Length, value.Length, hasDeadline, holdsObject);
        }
        else
        {
            pair = GC.AllocateUninitializedArray<byte>(StoredPair.HeaderBytes + key.Length + value.Length);
            StoredPair.Write(pair, 0, key, value, hasDeadline, holdsObject);
        }
        bytesHeld += pair.Length;
        if (located >= 0)
        {
            bytesHeld -= slots[located]!.Length;
            slots[located] = pair;
            return;
        }
        if (FullForOneMore)
        {
            Grow();
            located = Locate(key);
        }
        slots[~located] = pair;
        count++;
    }

    public override StoredPair? Remove(ReadOnlySpan<byte> key)
    {
        var hole = Locate(key);
        if (hole < 0) return null;
        var removed = slots[hole]!;
        for (var next = Next(hole); slots[next] is { } moving; next = Next(next))
        {
            if (Stays(hole, next, Home(KeyOf(moving), slots.Length))) continue;
            Moving(hole, next, KeyOf(moving));
            slots[hole] = moving;
            hole = next;
        }
        slots[hole] = null;
        count--;
        bytesHeld -= removed.Length;
        return new StoredPair(removed, 0);
    }

    private void Grow()
    {
        ListForWalks((grown, from) =>
        {
            for (var at = from; at < slots.Length; at++)
                if (slots[at] is { } pair)
                {
                    grown.Keys.Add(KeyOf(pair));
                    grown.Slots.Add(at);
                }
        });
        var old = slots;
        slots = new byte[]?[old.Length + old.Length / 2];
        foreach (var pair in old)
        {
            if (pair is null) continue;
            var at = Home(KeyOf(pair), slots.Length);
            while (slots[at] is not null) at = Next(at);
            slots[at] = pair;
        }
    }

    private static ReadOnlySpan<byte> KeyOf(byte[] pair) => new StoredPair(pair, 0).KeySpan;

    /// <summary>Where a key's search starts: its hash scaled to the table (multiply and shift, no division).</summary>
    private static int Home(ReadOnlySpan<byte> key, int length) => (int)((uint)Hash(key) * (ulong)length >> 32);

    private int Next(int at) => at + 1 == slots.Length ? 0 : at + 1;
}
