// src/types/StreamGroups.cs: feature: a stream's consumer groups, as the stream holds them. A group shares a stream's
// entries among its consumers: it remembers the last ID it delivered, and its pending entries (Redis's PEL): each
// entry delivered and not yet acknowledged, with its owner, when it was last delivered and how many times. Each
// consumer keeps its own share of them in ID order, so that XREADGROUP with an ID reads one consumer's history
// again, and a pending entry whose owner died can be claimed by another (XCLAIM, XAUTOCLAIM). Not thread-safe: the
// store's lock is held around every use.

namespace KV;

/// <summary>An entry delivered to a consumer and not acknowledged yet.</summary>
public sealed class PendingEntry(Consumer owner, long deliveredAt)
{
    public Consumer Owner { get; set; } = owner;

    /// <summary>When it was last delivered, in ms since 1970: its idle time is counted from then.</summary>
    public long DeliveredAt { get; set; } = deliveredAt;

    public long Deliveries { get; set; } = 1;
}

/// <summary>A consumer of a group: its name, when it was last seen, and the entries it owes an XACK for.</summary>
public sealed class Consumer(byte[] name, long now)
{
    public byte[] Name => name;

    /// <summary>When it last read or claimed, in ms since 1970 (XINFO CONSUMERS's idle).</summary>
    public long SeenAt { get; set; } = now;

    public SortedSet<StreamId> Pending { get; } = [];
}

public sealed class ConsumerGroup(StreamId lastDelivered, long entriesRead)
{
    /// <summary>What a group, a consumer and a pending entry cost beyond their names, by --max-memory's measure.
    /// </summary>
    public const int GroupBytes = 128, ConsumerBytes = 96, PendingBytes = 96;

    private readonly SortedSet<StreamId> order = [];
    private readonly Dictionary<StreamId, PendingEntry> pending = [];

    /// <summary>The greatest ID delivered with `>` (or set by XGROUP SETID, XCLAIM's LASTID).</summary>
    public StreamId LastDelivered { get; set; } = lastDelivered;

    /// <summary>How many entries the group has read, -1 when unknown (XGROUP SETID to an arbitrary ID).</summary>
    public long EntriesRead { get; set; } = entriesRead;

    public Dictionary<byte[], Consumer> Consumers { get; } = new(KeyBytes.Comparer);

    public long Bytes { get; private set; } = GroupBytes;

    /// <summary>The stream that holds the group, told of every change in its size (StreamValue.AddGroup).</summary>
    internal StreamValue? Owner { get; set; }

    private void Charge(long delta)
    {
        Bytes += delta;
        Owner?.GroupBytesChanged(delta);
    }

    public int PendingCount => order.Count;

    /// <summary>The pending entries in ID order from `from` on (XPENDING, XAUTOCLAIM).</summary>
    public IEnumerable<(StreamId Id, PendingEntry Entry)> PendingFrom(StreamId from) =>
        order.GetViewBetween(from, StreamId.Max).Select(id => (id, pending[id]));

    public PendingEntry? PendingOf(StreamId id) => pending.GetValueOrDefault(id);

    /// <summary>The first and last pending IDs (XPENDING's summary); only when something is pending.</summary>
    public (StreamId First, StreamId Last) PendingSpan => (order.Min, order.Max);

    /// <summary>The consumers in the order of their names' bytes, as Redis lists them.</summary>
    public List<Consumer> ConsumersByName() => [.. Consumers.Values.OrderBy(c => c.Name,
        Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)))];

    /// <summary>The consumer of this name, made when absent (`made` says so: Redis then announces it).</summary>
    public Consumer Join(ReadOnlySpan<byte> name, long now, out bool made)
    {
        made = !Consumers.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(name, out var consumer);
        if (!made)
        {
            consumer!.SeenAt = now;
            return consumer;
        }
        consumer = new Consumer(name.ToArray(), now);
        Consumers.Add(consumer.Name, consumer);
        Charge(ConsumerBytes + name.Length);
        return consumer;
    }

    /// <summary>Removes the consumer and its pending entries; how many it had, null when there was none.</summary>
    public int? Leave(ReadOnlySpan<byte> name)
    {
        if (!Consumers.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(name, out _, out var consumer)) return null;
        var owed = consumer.Pending.Count;
        foreach (var id in consumer.Pending.ToList()) Acknowledge(id);
        Charge(-(ConsumerBytes + name.Length));
        return owed;
    }

    /// <summary>
    /// The entry goes to `to` now, delivered once: a new pending entry, or one already pending (the group's last ID
    /// was set back) taken over from its owner and counted from one again, as Redis does.
    /// </summary>
    public PendingEntry Deliver(StreamId id, Consumer to, long now)
    {
        if (pending.TryGetValue(id, out var entry))
        {
            MoveTo(id, entry, to);
            entry.DeliveredAt = now;
            entry.Deliveries = 1;
            return entry;
        }
        entry = new PendingEntry(to, now);
        pending.Add(id, entry);
        order.Add(id);
        to.Pending.Add(id);
        Charge(PendingBytes);
        return entry;
    }

    /// <summary>A pending entry given to another consumer (XCLAIM): its count and time are the caller's.</summary>
    public void MoveTo(StreamId id, PendingEntry entry, Consumer to)
    {
        if (entry.Owner == to) return;
        entry.Owner.Pending.Remove(id);
        to.Pending.Add(id);
        entry.Owner = to;
    }

    /// <summary>XACK: the entry is no longer pending; false when it was not.</summary>
    public bool Acknowledge(StreamId id)
    {
        if (!pending.Remove(id, out var entry)) return false;
        order.Remove(id);
        entry.Owner.Pending.Remove(id);
        Charge(-PendingBytes);
        return true;
    }

    /// <summary>A copy that shares nothing with this group (COPY, a script's undo log).</summary>
    public ConsumerGroup Copy()
    {
        var copy = new ConsumerGroup(LastDelivered, EntriesRead);
        foreach (var consumer in Consumers.Values) copy.Join(consumer.Name, consumer.SeenAt, out _);
        foreach (var id in order)
        {
            var entry = pending[id];
            var copied = copy.Deliver(id, copy.Consumers[entry.Owner.Name], entry.DeliveredAt);
            copied.Deliveries = entry.Deliveries;
        }
        return copy;
    }
}
