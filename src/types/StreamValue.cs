// src/types/StreamValue.cs: feature: a stream, as the store holds it: entries in the order of their IDs
// (milliseconds-sequence, always growing), each a list of fields and values, and its consumer groups
// (StreamGroups.cs). Append, find an ID by binary search, read a range either way, trim, delete. Not thread-safe:
// the store's lock is held around every use.

namespace KV;

/// <summary>A stream entry's ID: milliseconds, then a sequence number within the millisecond.</summary>
public readonly record struct StreamId(ulong Ms, ulong Seq) : IComparable<StreamId>
{
    public static readonly StreamId Min = new(0, 0);
    public static readonly StreamId Max = new(ulong.MaxValue, ulong.MaxValue);

    public int CompareTo(StreamId other) => Ms != other.Ms ? Ms.CompareTo(other.Ms) : Seq.CompareTo(other.Seq);
    public static bool operator <(StreamId a, StreamId b) => a.CompareTo(b) < 0;
    public static bool operator >(StreamId a, StreamId b) => a.CompareTo(b) > 0;
    public static bool operator <=(StreamId a, StreamId b) => a.CompareTo(b) <= 0;
    public static bool operator >=(StreamId a, StreamId b) => a.CompareTo(b) >= 0;
    public override string ToString() => $"{Ms}-{Seq}";

    /// <summary>The ID right before this one (0-0 stays 0-0).</summary>
    public StreamId Previous => Seq > 0 ? this with { Seq = Seq - 1 } : Ms > 0 ? new StreamId(Ms - 1, ulong.MaxValue)
        : this;

    /// <summary>The ID right after this one; null after the greatest.</summary>
    public StreamId? Next => Seq < ulong.MaxValue ? this with { Seq = Seq + 1 }
        : Ms < ulong.MaxValue ? new StreamId(Ms + 1, 0) : null;
}

public sealed class StreamValue : StoredObject
{
    /// <summary>What an entry costs beyond its fields' bytes: its ID, its arrays and its place in the list.</summary>
    public const int EntryOverheadBytes = 64;

    private readonly List<(StreamId Id, byte[][] Fields)> entries = [];
    private long bytes;

    public override string Kind => "stream";
    public override string Encoding => "stream";
    public override long Bytes => bytes + 64 + groupBytes;
    public int Count => entries.Count;
    public IReadOnlyList<(StreamId Id, byte[][] Fields)> Entries => entries;

    /// <summary>The greatest ID ever added, also after its entry was deleted: a new one must be greater.</summary>
    public StreamId Last { get; private set; }

    /// <summary>How many entries were ever added (XINFO's entries-added).</summary>
    public long Added { get; private set; }

    /// <summary>The greatest ID deleted by XDEL (XINFO's max-deleted-entry-id).</summary>
    public StreamId MaxDeleted { get; private set; }

    /// <summary>The consumer groups by name (AddGroup, RemoveGroup change them).</summary>
    public IReadOnlyDictionary<byte[], ConsumerGroup> Groups => groups;

    private readonly Dictionary<byte[], ConsumerGroup> groups = new(KeyBytes.Comparer);

    /// <summary>What the groups hold, kept as they change, so that a write never sums them.</summary>
    private long groupBytes;

    public void AddGroup(byte[] name, ConsumerGroup group)
    {
        groups.Add(name, group);
        group.Owner = this;
        groupBytes += group.Bytes + name.Length;
    }

    public void RemoveGroup(byte[] name)
    {
        if (!groups.Remove(name, out var group)) return;
        group.Owner = null;
        groupBytes -= group.Bytes + name.Length;
    }

    internal void GroupBytesChanged(long delta) => groupBytes += delta;

    /// <summary>Where the first entry with an ID greater than `id` is (Count when none is).</summary>
    public int FirstAfter(StreamId id)
    {
        int low = 0, high = entries.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (entries[middle].Id <= id) low = middle + 1;
            else high = middle;
        }
        return low;
    }

    /// <summary>The fields of the entry with this ID; null when it is not (or no longer) there.</summary>
    public byte[][]? FieldsOf(StreamId id) => IndexOf(id) is var at and >= 0 ? entries[at].Fields : null;

    /// <summary>Where the entry with this ID is; -1 when there is none.</summary>
    private int IndexOf(StreamId id)
    {
        var at = FirstAfter(id) - 1;
        return at >= 0 && entries[at].Id == id ? at : -1;
    }

    public static long CostOf(IEnumerable<int> fieldBytes) => fieldBytes.Sum() + EntryOverheadBytes;

    public void Add(StreamId id, byte[][] fields)
    {
        entries.Add((id, fields));
        Last = id;
        Added++;
        bytes += CostOf(fields.Select(f => f.Length + 24));
    }

    /// <summary>Removes the entry with this ID; false when there is none.</summary>
    public bool Delete(StreamId id)
    {
        var at = IndexOf(id);
        if (at < 0) return false;
        RemoveAt(at);
        if (id > MaxDeleted) MaxDeleted = id;
        return true;
    }

    private void RemoveAt(int at)
    {
        bytes -= CostOf(entries[at].Fields.Select(f => f.Length + 24));
        entries.RemoveAt(at);
    }

    /// <summary>Keeps the newest `keep` entries (MAXLEN); how many went.</summary>
    public int TrimTo(long keep) => RemoveFirst((int)Math.Max(0, entries.Count - keep));

    /// <summary>Removes the entries older than `id` (MINID); how many went.</summary>
    public int TrimBefore(StreamId id) => RemoveFirst(entries.TakeWhile(e => e.Id < id).Count());

    private int RemoveFirst(int count)
    {
        for (var i = 0; i < count; i++) bytes -= CostOf(entries[i].Fields.Select(f => f.Length + 24));
        entries.RemoveRange(0, count);
        return count;
    }

    public override StoredObject Copy()
    {
        var copy = new StreamValue();
        foreach (var (id, fields) in entries) copy.Add(id, fields);
        (copy.Last, copy.Added, copy.MaxDeleted) = (Last, Added, MaxDeleted);
        foreach (var (name, group) in groups) copy.AddGroup(name, group.Copy());
        return copy;
    }
}
