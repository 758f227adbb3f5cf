// src/pubsub/PubSubHub.cs: publish and subscribe, one set of channels for both protocols (a server's, kept as a
// feature's state by its ServerActivity). A message published on one
// reaches the subscribers on both: each subscriber's own PushQueue takes it, and its own conversation writes it in
// its protocol as its client reads. `publish` never waits for anyone: posting is a copy into a queue; a subscriber
// whose unread messages would pass its bound (or the clients' memory budget) is closed with
// `subscriber fell behind: N bytes of messages unread`, while the publisher and the other subscribers go on.
//
// The hub's lock covers the subscription tables only; the fan-out happens outside it, over a snapshot, so a
// publish holds nobody up for longer than it takes to find its subscribers. A subscriber is a connection mode
// (IConnectionMode, src/server/ClientSession.cs): its messages go before each reply, and in KV's protocol it may
// only manage its subscriptions.

using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KV;

/// <summary>One message as a subscriber receives it: through a channel, or a pattern (RESP's PSUBSCRIBE).</summary>
public sealed record PushedMessage(byte[] Channel, byte[] Message, byte[]? Pattern)
{
    public long Footprint { get; } = 96 + Channel.Length + Message.Length + (Pattern?.Length ?? 0);
}

public sealed class PubSubHub(ServerActivity activity)
{
    /// <summary>The server's hub.</summary>
    public static PubSubHub Of(ServerActivity activity) => activity.Feature(static activity => new PubSubHub(activity));

    private readonly Lock gate = new();
    private readonly Dictionary<byte[], List<Subscriber>> channels = new(KeyBytes.Comparer);
    // A pattern once, however many subscribe to it: a publish matches it once, and a subscriber's leaving finds its
    // entry by name instead of scanning every pattern (a scan for each made forgetting many quadratic). Its
    // first subscriber is in the entry itself, so that the usual pattern, with one, costs no list.
    private readonly Dictionary<byte[], (RedisGlob Glob, Subscriber First, List<Subscriber>? More)> patterns =
        new(KeyBytes.Comparer);
    private long published, dropped;

    public long Published => Interlocked.Read(ref published);
    public long SubscribersDropped => Interlocked.Read(ref dropped);
    public int ChannelCount { get { lock (gate) return channels.Count; } }
    /// <summary>The patterns subscribed to, each once however many subscribers have it (PUBSUB NUMPAT).</summary>
    public int PatternCount { get { lock (gate) return patterns.Count; } }

    /// <summary>
    /// Posts the message to every subscriber of the channel and of a matching pattern; how many it reached.
    /// </summary>
    public int Publish(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message)
    {
        Interlocked.Increment(ref published);
        List<(Subscriber, byte[]?)> receivers = [];
        Span<ulong> present = stackalloc ulong[4];
        RedisGlob.Present(channel, present);
        lock (gate)
        {
            if (channels.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var subscribed))
                foreach (var subscriber in subscribed) receivers.Add((subscriber, null));
            foreach (var (pattern, (glob, first, more)) in patterns)
                if (glob.Matches(channel, present))
                {
                    receivers.Add((first, pattern));
                    foreach (var subscriber in more ?? []) receivers.Add((subscriber, pattern));
                }
        }
        if (receivers.Count == 0) return 0;
        var (channelBytes, messageBytes) = (channel.ToArray(), message.ToArray());
        foreach (var (subscriber, pattern) in receivers) subscriber.Post(new PushedMessage(channelBytes, messageBytes,
            pattern));
        return receivers.Count;
    }

    /// <summary>Adds the subscription; false when the subscriber had it already.</summary>
    internal bool Subscribe(Subscriber subscriber, byte[] channel)
    {
        lock (gate)
        {
            if (!channels.TryGetValue(channel, out var list)) channels[channel] = list = [];
            if (list.Contains(subscriber)) return false;
            list.Add(subscriber);
            return true;
        }
    }

    internal bool Unsubscribe(Subscriber subscriber, byte[] channel)
    {
        lock (gate) return RemoveFromChannel(subscriber, channel);
    }

    /// <summary>Under the lock: the subscriber leaves the channel, and a channel left with none is forgotten.</summary>
    private bool RemoveFromChannel(Subscriber subscriber, byte[] channel)
    {
        if (!channels.TryGetValue(channel, out var list) || !list.Remove(subscriber)) return false;
        if (list.Count == 0) channels.Remove(channel);
        return true;
    }

    /// <summary>Adds the pattern, compiled outside the lock; the subscriber has checked that it is new.</summary>
    internal void SubscribePattern(Subscriber subscriber, byte[] pattern)
    {
        var glob = RedisGlob.Compile(pattern);
        lock (gate)
        {
            ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(patterns, pattern, out var existed);
            if (existed) (entry.More ??= []).Add(subscriber);
            else entry = (glob, subscriber, null);
        }
    }

    /// <summary>Forgets the subscriber's channels and patterns named, in one hold of the lock.</summary>
    internal void UnsubscribeAll(Subscriber subscriber, IEnumerable<byte[]> channelsOf, IEnumerable<byte[]> patternsOf)
    {
        lock (gate)
        {
            foreach (var channel in channelsOf) RemoveFromChannel(subscriber, channel);
            foreach (var pattern in patternsOf) RemoveFromPattern(subscriber, pattern);
        }
    }

    internal bool UnsubscribePattern(Subscriber subscriber, byte[] pattern)
    {
        lock (gate) return RemoveFromPattern(subscriber, pattern);
    }

    /// <summary>Under the lock: the subscriber leaves the pattern, and a pattern left with none is forgotten.</summary>
    private bool RemoveFromPattern(Subscriber subscriber, byte[] pattern)
    {
        ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(patterns, pattern);
        if (Unsafe.IsNullRef(ref entry)) return false;
        if (entry.First != subscriber) return entry.More?.Remove(subscriber) == true;
        if (entry.More is not { Count: > 0 } more) patterns.Remove(pattern);
        else
        {
            entry.First = more[^1];
            more.RemoveAt(more.Count - 1);
        }
        return true;
    }

    /// <summary>
    /// The channels with at least one subscriber, matching the pattern if one is given (PUBSUB CHANNELS).
    /// </summary>
    public List<byte[]> Channels(RedisGlob? pattern)
    {
        lock (gate) return [.. channels.Keys.Where(c => pattern is null || pattern.Matches(c))];
    }

    /// <summary>The subscribers of a channel (PUBSUB NUMSUB).</summary>
    public int Subscribers(ReadOnlySpan<byte> channel)
    {
        var byName = channels.GetAlternateLookup<ReadOnlySpan<byte>>();
        lock (gate) return byName.TryGetValue(channel, out var list) ? list.Count : 0;
    }

    /// <summary>
    /// A subscriber closed for falling behind: counted here, and among the connections closed by a limit.
    /// </summary>
    internal void CountDropped()
    {
        Interlocked.Increment(ref dropped);
        activity.ClosedByLimit();
    }
}

/// <summary>
/// One connection's subscriptions and the queue its messages wait in. Its deferred reply (Pump) writes them while the
/// connection has nothing else to answer, and is started again after each request while any subscription is left.
/// </summary>
public class Subscriber : IConnectionMode
{
    /// <summary>
    /// The most bytes of messages one subscriber may leave unread, as Redis's `client-output-buffer-limit pubsub`
    /// (32mb); and never more than a quarter of the clients' budget, so that one subscriber that does not read is
    /// closed before the budget it shares with the others is gone and they could no longer be given a message.
    /// </summary>
    public const long MaxUnreadBytes = 32L << 20;

    /// <summary>
    /// What a subscription holds beyond its name, for the clients' budget: its entries in this subscriber's set and
    /// in the hub's tables. A pattern also holds its compiled glob (RedisGlob.MostBytes).
    /// </summary>
    public const int SubscriptionOverheadBytes = 96;

    private readonly PubSubHub hub;
    private readonly PushQueue<PushedMessage> queue;
    private IReplyContext? connection;
    private bool opened;

    public Subscriber(PubSubHub hub, Action<IBufferWriter<byte>, PushedMessage> write)
    {
        this.hub = hub;
        queue = new(message => message.Footprint, write, FellBehind, hub.CountDropped);
    }

    public HashSet<byte[]> Channels { get; } = new(KeyBytes.Comparer);
    public HashSet<byte[]> Patterns { get; } = new(KeyBytes.Comparer);
    public int Count => Channels.Count + Patterns.Count;

    internal void Post(PushedMessage message) => queue.Post(message);

    /// <summary>Ready for messages, on the connection's own thread (its first subscription).</summary>
    public void Open(IReplyContext connection)
    {
        if (opened) return;
        var budget = connection.ClientMemoryLimit;
        queue.Open(connection, budget > 0 ? Math.Min(MaxUnreadBytes, budget / 4) : MaxUnreadBytes);
        this.connection = connection;
        opened = true;
    }

    private static long Cost(ReadOnlySpan<byte> name, bool pattern) =>
        SubscriptionOverheadBytes + name.Length + (pattern ? RedisGlob.MostBytes(name) : 0);

    /// <summary>
    /// KV's line `subscribe`: as TrySubscribe, for channels read one at a time off the request line, so that a refused
    /// line of a hundred thousand channels leaves no garbage behind: each name is copied once it is subscribed.
    /// False, and nothing subscribed, past the budget.
    /// </summary>
    public bool TrySubscribe(ChannelReader channels)
    {
        var known = Channels.GetAlternateLookup<ReadOnlySpan<byte>>();
        long asked = 0, added = 0;
        // A name repeated in the line is counted each time here, and given back below.
        foreach (var channel in channels)
            if (!known.Contains(channel)) asked += Cost(channel, pattern: false);
        if (connection?.TryReserve(asked) == false) return false;
        foreach (var channel in channels)
        {
            if (known.Contains(channel)) continue;
            var name = channel.ToArray();
            Channels.Add(name);
            hub.Subscribe(this, name);
            added += Cost(name, pattern: false);
        }
        connection?.Unreserve(asked - added);
        return true;
    }

    /// <summary>KV's line `unsubscribe` of one channel, as the line names it.</summary>
    public void Unsubscribe(ReadOnlySpan<byte> channel)
    {
        if (Channels.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var name))
            Unsubscribe(name, pattern: false);
    }

    /// <summary>
    /// Subscribes to the channels or the patterns of one request, counted against the clients' memory budget, all of
    /// them or none: null, and nothing subscribed, when they would pass it (one already there costs nothing more).
    /// Else the number of subscriptions after each name, for its confirmation.
    /// </summary>
    public int[]? TrySubscribe(IReadOnlyList<byte[]> names, bool pattern)
    {
        var set = pattern ? Patterns : Channels;
        var fresh = names.Where(name => !set.Contains(name)).Distinct(KeyBytes.Comparer);
        if (connection?.TryReserve(fresh.Sum(name => Cost(name, pattern))) == false) return null;
        var counts = new int[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            if (set.Add(names[i]))
                if (pattern) hub.SubscribePattern(this, names[i]);
                else hub.Subscribe(this, names[i]);
            counts[i] = Count;
        }
        return counts;
    }

    public void Unsubscribe(byte[] name, bool pattern)
    {
        if (!(pattern ? Patterns : Channels).Remove(name)) return;
        if (pattern) hub.UnsubscribePattern(this, name);
        else hub.Unsubscribe(this, name);
        connection?.Unreserve(Cost(name, pattern));
    }

    /// <summary>Every channel, or every pattern, forgotten in one hold of the hub; their memory back to the budget.
    /// </summary>
    public void UnsubscribeAll(bool patterns)
    {
        var names = patterns ? Patterns : Channels;
        hub.UnsubscribeAll(this, patterns ? [] : names, patterns ? names : []);
        connection?.Unreserve(names.Sum(name => Cost(name, patterns)));
        names.Clear();
    }

    public const string OverBudget =
        "subscriptions past the clients' memory budget (--max-client-memory): unsubscribe from some first";

    /// <summary>The deferred reply that writes the messages, until the client sends a request or leaves.</summary>
    public ValueTask<string?> WaitAsync(IReplyContext connection) => queue.PumpAsync(connection);

    /// <summary>A subscriber while it has a subscription.</summary>
    public bool Active => Count > 0;

    /// <summary>The messages waiting, written before the client's next reply.</summary>
    public void WriteOwed(IBufferWriter<byte> output) => queue.WriteQueued(output);

    /// <summary>In KV's protocol a subscriber may only manage its subscriptions, ping and leave.</summary>
    public bool Refuses(CommandSpec command, IBufferWriter<byte> output)
    {
        if (command.Kind is CommandKind.Subscribe or CommandKind.Unsubscribe or CommandKind.Ping or CommandKind.Exit)
            return false;
        ReplyWriter.Error(output, Errors.Subscribed);
        return true;
    }

    /// <summary>The connection ended: every subscription goes, and the queue's memory with it.</summary>
    public void Ended()
    {
        UnsubscribeAll(patterns: false);
        UnsubscribeAll(patterns: true);
        queue.Close();
    }

    public static string FellBehind(long bytes) => $"subscriber fell behind: {bytes} bytes of messages unread "
        + $"(a subscriber may leave at most {MaxUnreadBytes} bytes, or a quarter of --max-client-memory)";
}
