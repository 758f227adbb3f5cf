// src/types/StreamReads.cs: feature: XREAD and XREADGROUP: the entries after an ID in one or more streams; with a
// group, the entries it has not delivered yet (`>`) shared out among its consumers, each pending until XACK, or a
// consumer's own pending entries read again (an ID). BLOCK waits for new entries as BLPOP waits for an element
// (BlockingPops.Block): holding no thread, the waiters served in the order they came, when the step that added
// entries ends. Every key, group and ID is checked before anything is read or delivered, as Redis does.

using System.Buffers;

namespace KV;

public static class StreamReads
{
    /// <summary>What a blocked read takes at most without COUNT, as in Redis: a low ID must not bring a whole stream.
    /// </summary>
    private const long BlockedCount = 1000;

    public static RespCommand[] Rows =>
    [
        TypeCommands.Row("xread", -4, "XREAD [COUNT n] [BLOCK ms] STREAMS key [key ...] id|$ [id ...]: the entries "
            + "after each ID, waiting for some with BLOCK", Read),
        TypeCommands.Row("xreadgroup", -7, "XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS "
            + "key [key ...] >|id [id ...]: new entries for the consumer (>), or its pending ones", Read, writes: true),
    ];

    /// <summary>A read's arguments; Group and Consumer are null for XREAD. Count 0 is no limit.</summary>
    private sealed record Reading(byte[]? Group, byte[]? Consumer, long Count, TimeSpan? Block, bool NoAck,
        byte[][] Keys, byte[][] Ids);

    /// <summary>The entries one stream gives a read: an entry's fields are null when it was deleted since.</summary>
    private sealed record Served(byte[] Key, List<(StreamId Id, byte[][]? Fields)> Entries);

    private static Reading? Parse(RespArguments args, bool grouped, IBufferWriter<byte> output)
    {
        byte[]? group = null, consumer = null;
        long count = 0;
        TimeSpan? block = null;
        var noAck = false;
        for (var i = 1; i < args.Count; i++)
        {
            var more = args.Count - i - 1;
            if (args.Is(i, "block"u8) && more > 0)
            {
                if (!RequestParser.TryParseInteger(args[++i], out var milliseconds))
                {
                    RespReply.Error(output, "timeout is not an integer or out of range");
                    return null;
                }
                if (milliseconds < 0)
                {
                    RespReply.Error(output, "timeout is negative");
                    return null;
                }
                block = milliseconds == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(milliseconds);
            }
            else if (args.Is(i, "count"u8) && more > 0)
            {
                if (!TypeCommands.Integer(args, ++i, output, out count)) return null;
                count = Math.Max(0, count);
            }
            else if (args.Is(i, "streams"u8) && more > 0)
            {
                if (more % 2 != 0)
                {
                    RespReply.Error(output, "Unbalanced XREAD list of streams: for each stream key an ID or '$' must "
                        + "be specified.");
                    return null;
                }
                var keys = Enumerable.Range(i + 1, more / 2).Select(k => args[k].ToArray()).ToArray();
                var ids = Enumerable.Range(i + 1 + more / 2, more / 2).Select(k => args[k].ToArray()).ToArray();
                if (grouped && group is null)
                {
                    RespReply.Error(output, "Missing GROUP option for XREADGROUP");
                    return null;
                }
                return new Reading(group, consumer, count, block, noAck, keys, ids);
            }
            else if (args.Is(i, "group"u8) && more >= 2 && grouped)
            {
                (group, consumer) = (args[i + 1].ToArray(), args[i + 2].ToArray());
                i += 2;
            }
            else if ((args.Is(i, "group"u8) && more >= 2) || args.Is(i, "noack"u8))
            {
                if (!grouped)
                {
                    RespReply.Error(output, $"The {args.Text(i).ToUpperInvariant()} option is only supported by "
                        + "XREADGROUP. You called XREAD instead.");
                    return null;
                }
                noAck = true;
            }
            else break;
        }
        RespReply.Error(output, TypeCommands.Syntax);
        return null;
    }

    private static void Read(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (Parse(args, args.Is(0, "xreadgroup"u8), output) is not { } reading) return;
        var store = session.Store;
        // What each read must come after: an ID, the stream's last for `$`, null for a group's `>`.
        var after = new StreamId?[reading.Keys.Length];
        for (var i = 0; i < reading.Keys.Length; i++)
        {
            var stream = store.Find<StreamValue>(reading.Keys[i]);
            if (Refusal(reading, reading.Keys[i], stream, reading.Ids[i], out after[i]) is { } refusal)
            {
                RespReply.Error(output, refusal.Message, refusal.Prefix);
                return;
            }
        }
        var protocol = session.Protocol;
        var served = new List<Served>();
        for (var i = 0; i < reading.Keys.Length; i++)
        {
            if (Take(store, reading, reading.Keys[i], after[i], reading.Count, out var error) is { } found)
                served.Add(found);
            if (error is null) continue;
            RespReply.Error(output, error, "OOM");
            return;
        }
        if (served.Count > 0) Write(output, served, protocol);
        else if (reading.Block is not { } timeout) RespReply.NullArray(output, protocol);
        else
        {
            var count = reading.Count > 0 ? reading.Count : BlockedCount;
            BlockingPops.Block(session, reading.Keys, timeout, output, none => RespReply.NullArray(none, protocol),
                (store, key) =>
                {
                    if (reading.Group is not null && Gone(store, key, reading.Group) is var (message, prefix))
                        return Reply(w => RespReply.Error(w, message, prefix));
                    var i = Array.FindIndex(reading.Keys, named => named.AsSpan().SequenceEqual(key));
                    if (Take(store, reading, key, after[i], count, out var error) is not { } found)
                        return error is null ? null : Reply(w => RespReply.Error(w, error, "OOM"));
                    return Reply(w => Write(w, [found], protocol));
                });
        }
    }

    /// <summary>
    /// Why a blocked group read ends in an error, as Redis ends it: its stream was deleted or replaced by another
    /// kind (an XADD would not bring the group back), or its group was destroyed. Null while both are there.
    /// </summary>
    private static (string Message, string Prefix)? Gone(KeyValueStore store, byte[] key, byte[] group) =>
        store.KindOf(key) != "stream" ? ("the stream key no longer exists", "UNBLOCKED")
        : !store.Find<StreamValue>(key)!.Groups.ContainsKey(group)
            ? ("the consumer group this client was blocked on no longer exists", "NOGROUP") : null;

    private static byte[] Reply(Action<IBufferWriter<byte>> write)
    {
        var reply = new ArrayBufferWriter<byte>();
        write(reply);
        return reply.WrittenSpan.ToArray();
    }

    /// <summary>Why the read of one key is refused (Redis's words and prefix), else null and what it reads after.
    /// </summary>
    private static (string Message, string Prefix)? Refusal(Reading reading, byte[] key, StreamValue? stream,
        byte[] id, out StreamId? after)
    {
        after = null;
        if (reading.Group is { } group && (stream is null || !stream.Groups.ContainsKey(group)))
            return ($"No such key '{Errors.Echo(key)}' or consumer group '{Errors.Echo(group)}' in XREADGROUP with "
                + "GROUP option", "NOGROUP");
        if (id.AsSpan().SequenceEqual("$"u8))
        {
            after = stream?.Last ?? StreamId.Min;
            return reading.Group is null ? null : ("The $ ID is meaningless in the context of XREADGROUP: you want to "
                + "read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. "
                + "The $ ID would just return an empty result set.", "ERR");
        }
        if (id.AsSpan().SequenceEqual(">"u8))
            return reading.Group is not null ? null
                : ("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                    "ERR");
        after = StreamCommands.StrictId(id);
        return after is null ? (StreamCommands.InvalidId, "ERR") : null;
    }

    /// <summary>
    /// Under the lock: what one stream gives the read now, null when nothing (a consumer's history is always given,
    /// empty or not). A group's read delivers what it takes: the group moves on, the entries become the consumer's
    /// pending ones (unless NOACK), and a consumer is made on its first read. `error` when that would pass the budget.
    /// </summary>
    private static Served? Take(KeyValueStore store, Reading reading, byte[] key, StreamId? after, long count,
        out string? error)
    {
        error = null;
        var limit = count > 0 ? (int)Math.Min(count, int.MaxValue) : int.MaxValue;
        if (store.Find<StreamValue>(key) is not { } stream) return null;
        if (reading.Group is null)
        {
            var from = stream.FirstAfter(after!.Value);
            return from == stream.Count ? null : new Served(key,
                [.. stream.Entries.Skip(from).Take(limit).Select(e => (e.Id, (byte[][]?)e.Fields))]);
        }
        // The group may have gone while the reader waited: it waits on, as for a stream of another kind.
        if (!stream.Groups.TryGetValue(reading.Group, out var group)) return null;
        var start = stream.FirstAfter(group.LastDelivered);
        if (after is null && start == stream.Count) return null;
        if (after is null && !reading.NoAck && !store.Fits(ConsumerGroup.PendingBytes * (long)Math.Min(limit,
            stream.Count - start)))
        {
            error = RespCommands.OutOfMemory;
            return null;
        }
        store.Find<StreamValue>(key, forChange: true);
        var now = store.Now;
        var consumer = group.Join(reading.Consumer!, now, out var made);
        if (made) TypeCommands.Announce(store, key, stream, "xgroup-createconsumer");
        var served = new Served(key, []);
        if (after is { } history)
        {
            var ids = history.Next is { } next ? consumer.Pending.GetViewBetween(next, StreamId.Max).Take(limit) : [];
            foreach (var id in ids.ToList())
            {
                var fields = stream.FieldsOf(id);
                served.Entries.Add((id, fields));
                if (fields is null || group.PendingOf(id) is not { } entry) continue;
                entry.DeliveredAt = now;
                entry.Deliveries++;
            }
        }
        else
            foreach (var (id, fields) in stream.Entries.Skip(start).Take(limit))
            {
                group.LastDelivered = id;
                if (group.EntriesRead >= 0) group.EntriesRead++;
                if (!reading.NoAck) group.Deliver(id, consumer, now);
                served.Entries.Add((id, fields));
            }
        TypeCommands.Changed(store, key, stream, empty: false, happened: null);
        return served;
    }

    /// <summary>The streams read, as Redis writes them: [key, entries] pairs, a map of them in RESP3.</summary>
    private static void Write(IBufferWriter<byte> output, List<Served> served, int protocol)
    {
        if (protocol == 3) RespReply.MapHeader(output, served.Count, protocol);
        else RespReply.ArrayHeader(output, served.Count);
        foreach (var (key, entries) in served)
        {
            if (protocol != 3) RespReply.ArrayHeader(output, 2);
            RespReply.Bulk(output, key);
            RespReply.ArrayHeader(output, entries.Count);
            foreach (var (id, fields) in entries)
            {
                if (OutputBuffer.Cut(output)) return;
                StreamCommands.WriteEntry(output, id, fields, protocol);
            }
        }
    }
}
