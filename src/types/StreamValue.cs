// src/types/StreamValue.cs: feature: a stream, as the store holds it: entries in the order of their IDs
// (milliseconds-sequence, always growing), each a list of fields and values. Enough of Redis's streams for the job
// queues that keep results in one (RQ): append, read a range either way, trim, delete. No consumer groups. Not
// thread-safe: the store's lock is held around every use.

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
}

public sealed class StreamValue : StoredObject
{
    /// <summary>What an entry costs beyond its fields' bytes: its ID, its arrays and its place in the list.</summary>
    public const int EntryOverheadBytes = 64;

    private readonly List<(StreamId Id, byte[][] Fields)> entries = [];
    private long bytes;

    public override string Kind => "stream";
    public override string Encoding => "stream";
    public override long Bytes => bytes + 64;
    public int Count => entries.Count;
    public IReadOnlyList<(StreamId Id, byte[][] Fields)> Entries => entries;

    /// <summary>The greatest ID ever added, also after its entry was deleted: a new one must be greater.</summary>
    public StreamId Last { get; private set; }

    public static long CostOf(IEnumerable<int> fieldBytes) => fieldBytes.Sum() + EntryOverheadBytes;

    public void Add(StreamId id, byte[][] fields)
    {
        entries.Add((id, fields));
        Last = id;
        bytes += CostOf(fields.Select(f => f.Length + 24));
    }

    /// <summary>Removes the entry with this ID; false when there is none.</summary>
    public bool Delete(StreamId id)
    {
        var at = entries.BinarySearch((id, []), Comparer<(StreamId Id, byte[][] Fields)>.Create(
            (a, b) => a.Id.CompareTo(b.Id)));
        if (at < 0) return false;
        RemoveAt(at);
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
        copy.Last = Last;
        return copy;
    }
}
