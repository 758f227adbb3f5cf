// src/store/KeyValueStore.Walk.cs: a walk over every key that holds the store's lock a slice of the table at a
// time, for `list`, KEYS (src/server/Listing.cs) and SCAN: start it, continue it, and always end it. The table's
// cursor (TableCursor, below) is told of the keys that move under it, so a key present from the walk's start to its
// end is seen.

namespace KV;

public sealed partial class KeyValueStore
{
    /// <summary>
    /// The slots a listing walks in one hold of the lock: a few hundred microseconds of copying at most.
    /// </summary>
    public const int ListingSliceSlots = 4096;

    /// <summary>
    /// A walk over every key that holds the lock a slice at a time (Listing): start it, continue it, and always end it.
    /// </summary>
    public TableCursor StartListing()
    {
        var cursor = new TableCursor();
        using (Hold()) pairs.Attach(cursor);
        return cursor;
    }

    /// <summary>
    /// Copies the next slice's keys (`slots` of the table: ListingSliceSlots, or SCAN's COUNT) into `keys`; false when
    /// the walk is over.
    /// </summary>
    public bool ContinueListing(TableCursor cursor, KeyList keys, int slots = ListingSliceSlots)
    {
        using (Hold())
        {
            var now = Now;
            return pairs.Walk(cursor, slots, keys, key => deadlines.TryGet(key, out var deadline) && deadline <= now);
        }
    }

    public void EndListing(TableCursor cursor)
    {
        using (Hold()) pairs.Detach(cursor);
    }
}

/// <summary>
/// A question about a key, asked under the store's lock: whether its deadline has passed, whether it exists, whether
/// it matches a listing's pattern.
/// </summary>
public delegate bool KeyFilter(ReadOnlySpan<byte> key);

/// <summary>
/// Where a walk over the table is (int.MaxValue once the table has grown under it), and the keys it has been given:
/// those a removal moved from ahead of it to behind it, and, when the table grew, where it is in the keys it had not
/// reached.
/// </summary>
public sealed class TableCursor
{
    public int Position;
    public KeyList Moved { get; } = new();
    public GrownKeys? Grown;
    public int GrownNext;
}

/// <summary>
/// The keys of a table that grew, in its old order from the first walk's place, shared by the walks: those read from
/// the table so far (Keys), and, where a table reads them later, the slots of the rest (Unread, from Keys.Count on).
/// </summary>
public sealed class GrownKeys(int expected = 0)
{
    public KeyList Keys { get; } = new(expected);

    internal List<long> Unread { get; } = new(expected);

    /// <summary>Each key's slot in the old table, ascending: where a walk at a given slot begins.</summary>
    public List<int> Slots { get; } = new(expected);
}
