// src/store/PairTable.cs: the hash table under the store, as the store uses it. The core's own is PlainTable, an
// array of pairs; a feature may give the store another by setting `New` (src/slabs packs the pairs into shared
// slabs, for memory). The store names no table but this one.
//
// Whatever the table, a pair is laid out as StoredPair says: [key length and flags: 2][value length: 4][key][value].
// A reader gets a StoredPair, valid until the table next changes: the store copies out of it under its lock.
// A walk (TableCursor) may last across many holds of the lock: the table tells it of the keys a removal moves from
// ahead of it to behind it, and, when it grows, lists the keys the walks had not reached, so that a key present from
// a walk's start to its end is seen. Not thread-safe: KeyValueStore holds its lock around every call.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KV;

internal abstract class PairTable
{
    /// <summary>Makes the table every store starts with (and a flush starts again with).</summary>
    public static Func<PairTable> New { get; set; } = static () => new PlainTable();

    /// <summary>A pair larger than this is written into an array of its own before the lock (Prepare).</summary>
    protected const int OwnArrayAbove = 8 * 1024;

    /// <summary>What an array of its own keeps free for a longer key (RENAME in place): after a prepared pair, before
    /// the pair in a slab of its own (src/slabs).</summary>
    protected const int KeyRoom = 64;

    /// <summary>
    /// The 2-byte key length holds any key the command table allows: at most MaxKeyCharacters characters of at
    /// most 4 UTF-8 bytes each, below the header's flag bits. A longer allowed key stops this compiling.
    /// </summary>
    protected const ushort MaxKeyBytes = Commands.MaxKeyCharacters * 4;

    private const uint BelowFlags = (uint)(StoredPair.UsedFlag - 1 - MaxKeyBytes);

    private readonly List<TableCursor> cursors = [];

    public abstract int Count { get; }

    /// <summary>The slots the table has now: it grew when this changed.</summary>
    public abstract int Capacity { get; }

    /// <summary>The bytes the table keeps its pairs in, live or dead: what the pairs cost the process.</summary>
    public abstract long BytesHeld { get; }

    /// <summary>
    /// The slot that holds the key, or the bitwise complement of the empty slot where it would go. Valid until the next
    /// change.
    /// </summary>
    public abstract int Locate(ReadOnlySpan<byte> key);

    /// <summary>The pair in a slot; null when it is empty.</summary>
    public abstract StoredPair? InSlot(int slot);

    /// <summary>The pair at what Locate returned, if it found one.</summary>
    public StoredPair? At(int located) => located >= 0 ? InSlot(located) : null;

    public StoredPair? Find(ReadOnlySpan<byte> key) => At(Locate(key));

    /// <summary>
    /// Stores the pair at what Locate just returned for this key, in place of the one there, if any; `spare` bytes
    /// after it for TryExtend, where the table keeps such room. A `prepared` array (Prepare) that holds this very
    /// pair, `value` read from it, may be taken as it is.
    /// </summary>
    public abstract void Store(int located, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool hasDeadline = false,
        bool holdsObject = false, int spare = 0, byte[]? prepared = null);

    /// <summary>Whether one more key would fill the table past three quarters, the load at which it grows.</summary>
    protected bool FullForOneMore => (Count + 1) * 4L > Capacity * 3L;

    /// <summary>Removes the pair with this key, and returns it; null when there is none.</summary>
    public abstract StoredPair? Remove(ReadOnlySpan<byte> key);

    /// <summary>Marks the pair at what Locate found as having a deadline, or not, in place.</summary>
    public void MarkDeadline(int located, bool hasDeadline) =>
        At(located)!.Value.Mark(StoredPair.DeadlineFlag, hasDeadline);

    /// <summary>Adds `suffix` to the pair's value in place, where the table kept room for it; false when not.</summary>
    public virtual bool TryExtend(int located, ReadOnlySpan<byte> suffix) => false;

    /// <summary>Whether Rekey can give the pair a key of `targetLength` bytes in place, without copying its value.
    /// </summary>
    public virtual bool CanRekey(ReadOnlySpan<byte> source, int targetLength) => false;

    /// <summary>Gives the pair at `source` the key `target` in place, once CanRekey said it may.</summary>
    public virtual void Rekey(ReadOnlySpan<byte> source, ReadOnlySpan<byte> target) =>
        throw new InvalidOperationException("this table renames no pair in place");

    /// <summary>Starts a walk over the table that may last across many holds of the store's lock.</summary>
    public void Attach(TableCursor cursor) => cursors.Add(cursor);

    public void Detach(TableCursor cursor) => cursors.Remove(cursor);

    /// <summary>
    /// Copies into `keys` the keys of up to `slotCount` slots from the cursor on, and those moved behind it since
    /// its last step, but those `expired` names; false when the walk has reached the end of the table.
    /// </summary>
    public bool Walk(TableCursor cursor, int slotCount, KeyList keys, KeyFilter? expired = null)
    {
        CopyLive(cursor.Moved, 0, cursor.Moved.Count, keys, expired);
        cursor.Moved.Clear();
        if (cursor.Grown is { } grown)
        {
            // The table grew under the walk: it goes on through the keys it had not reached, as many a step. (A list
            // of a table since flushed has only the keys read before: the rest went with the flush.)
            var wanted = (int)Math.Min(grown.Slots.Count, (long)cursor.GrownNext + slotCount);
            var reading = ReadGrown(grown, wanted);
            var last = Math.Min(grown.Keys.Count, wanted);
            CopyLive(grown.Keys, cursor.GrownNext, last, keys, expired);
            cursor.GrownNext = last;
            if (last < (reading ? grown.Slots.Count : grown.Keys.Count)) return true;
            cursor.Grown = null;
            return false;
        }
        var end = (int)Math.Min(Capacity, (long)cursor.Position + slotCount);
        for (var at = cursor.Position; at < end; at++)
            if (InSlot(at) is { } pair && !(pair.HasDeadline && expired is not null && expired(pair.KeySpan)))
                keys.Add(pair.KeySpan);
        cursor.Position = end;
        return cursor.Position < Capacity;
    }

    /// <summary>
    /// Makes sure the first `count` keys of a growth's list are read, where a table lists them before reading them;
    /// false when the list's unread keys are lost (the table was flushed), so the walk ends with those it has.
    /// </summary>
    protected virtual bool ReadGrown(GrownKeys grown, int count) => true;

    private static void CopyLive(KeyList from, int start, int end, KeyList keys, KeyFilter? expired)
    {
        for (var i = start; i < end; i++)
            if (expired is null || !expired(from[i])) keys.Add(from[i]);
    }

    /// <summary>
    /// A removal opened slot `hole`: whether the pair in slot `next` after it, whose search starts at `home`, stays
    /// where it is (its home is past the hole, going round the end of the table) or moves back into the hole, since a
    /// search for it would stop at the hole. The rule both tables shift pairs back by.
    /// </summary>
    protected static bool Stays(int hole, int next, int home) =>
        hole <= next ? home > hole && home <= next : home > hole || home <= next;

    /// <summary>A removal moves `key` from slot `from` back to `to`: a walk between them would miss it, so it is told.
    /// </summary>
    protected void Moving(int to, int from, ReadOnlySpan<byte> key)
    {
        foreach (var cursor in cursors)
            if (to < cursor.Position && from >= cursor.Position) cursor.Moved.Add(key);
    }

    /// <summary>
    /// The table is about to grow and every key to change place: the walks in progress are to go on through the keys
    /// they have not reached, from the first one's place on, listed once for all of them (a copy each would cost walks
    /// times keys). Null when no walk is in progress; else `list` fills the growth's list, and the walks are given it.
    /// </summary>
    protected GrownKeys? ListForWalks(Action<GrownKeys, int> list)
    {
        var walking = cursors.Where(cursor => cursor.Position < Capacity).ToList();
        if (walking.Count == 0) return null;
        var grown = new GrownKeys(Count);
        list(grown, walking.Min(cursor => cursor.Position));
        foreach (var cursor in walking)
        {
            cursor.Grown = grown;
            var found = grown.Slots.BinarySearch(cursor.Position);
            cursor.GrownNext = found >= 0 ? found : ~found;
            cursor.Position = int.MaxValue;
        }
        return grown;
    }

    /// <summary>
    /// A pair larger than OwnArrayAbove written into an array of its own outside the store's lock, for Store to take as
    /// it is: the copy is made while the request is queued (a transaction's SET), and costs nothing when it is stored
    /// (EXEC, under the lock). Pinned, so that no compacting collection copies it. Null for a smaller pair.
    /// </summary>
    public static StoredPair? Prepare(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var size = StoredPair.HeaderBytes + key.Length + value.Length;
        if (size <= OwnArrayAbove || key.Length > MaxKeyBytes || size > Array.MaxLength - KeyRoom) return null;
        return StoredPair.Write(GC.AllocateUninitializedArray<byte>(size + KeyRoom, pinned: true), 0, key, value);
    }

    /// <summary>Whether `prepared` holds this pair at its start, `value` read from that very array.</summary>
    protected static bool Holds(byte[] prepared, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        new StoredPair(prepared, 0) is var pair && pair.ValueLength == value.Length && !value.IsEmpty
        && Unsafe.AreSame(ref MemoryMarshal.GetReference(value), ref MemoryMarshal.GetReference(pair.Value.Span))
        && pair.KeySpan.SequenceEqual(key);

    protected static void RequireAllowed(ReadOnlySpan<byte> key)
    {
        if (key.Length > MaxKeyBytes) throw new ArgumentException($"a key of {key.Length} bytes is longer than the " +
            $"table allows", nameof(key));
    }

    /// <summary>HashCode is seeded per process, so nobody can choose keys that all land in one place.</summary>
    internal static int Hash(ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return hash.ToHashCode();
    }
}
