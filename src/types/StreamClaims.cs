// src/types/StreamClaims.cs: feature: XCLAIM and XAUTOCLAIM: a consumer takes over entries that another was given and
// never acknowledged (it died, or hangs), once they have been pending long enough. Redis 7.0's rules: an entry
// deleted from the stream meanwhile leaves the pending list instead of being claimed, a claim counts a delivery
// (not with JUSTID), and the claiming consumer is made by its first claim.

using System.Buffers;

namespace KV;

public static class StreamClaims
{
    /// <summary>How many pending entries XAUTOCLAIM looks at for each it may claim, as Redis.</summary>
    private const int AttemptsPerClaim = 10;

    private const long MaxAutoClaimCount = long.MaxValue / 16;

    /// <summary>An integer argument, or Redis's error with its own words written and false.</summary>
    private static bool Integer(RespArguments args, int index, string error, IBufferWriter<byte> output,
        out long value)
    {
        if (RequestParser.TryParseInteger(args[index], out value)) return true;
        RespReply.Error(output, error);
        return false;
    }

    /// <summary>The consumer that claims, made by its first claim (announced as Redis does).</summary>
    private static Consumer Claimer(KeyValueStore store, RespArguments args, StreamValue stream, ConsumerGroup group,
        long now)
    {
        var consumer = group.Join(args[3], now, out var made);
        if (made) TypeCommands.Announce(store, args[1], stream, "xgroup-createconsumer");
        return consumer;
    }

    public static void Claim(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var store = session.Store;
        if (StreamGroupCommands.Find(store, args, output, forChange: true) is not var (stream, group)) return;
        if (!Integer(args, 4, "Invalid min-idle-time argument for XCLAIM", output, out var minIdle)) return;
        var ids = new List<StreamId>();
        var at = 5;
        for (; at < args.Count && StreamCommands.StrictId(args[at]) is { } id; at++) ids.Add(id);
        var now = store.Now;
        bool force = false, justId = false;
        long retryCount = -1, deliveredAt = -1;
        var lastId = StreamId.Min;
        for (; at < args.Count; at++)
        {
            var more = at + 1 < args.Count;
            if (args.Is(at, "force"u8)) force = true;
            else if (args.Is(at, "justid"u8)) justId = true;
            else if (args.Is(at, "idle"u8) && more)
            {
                if (!Integer(args, ++at, "Invalid IDLE option argument for XCLAIM", output, out var idle)) return;
                deliveredAt = now - idle;
            }
            else if (args.Is(at, "time"u8) && more)
            {
                if (!Integer(args, ++at, "Invalid TIME option argument for XCLAIM", output, out deliveredAt)) return;
            }
            else if (args.Is(at, "retrycount"u8) && more)
            {
                if (!Integer(args, ++at, "Invalid RETRYCOUNT option argument for XCLAIM", output, out retryCount))
                    return;
            }
            else if (args.Is(at, "lastid"u8) && more)
            {
                if (StreamCommands.StrictId(args[++at]) is not { } last)
                {
                    RespReply.Error(output, StreamCommands.InvalidId);
                    return;
                }
                lastId = last;
            }
            else
            {
                RespReply.Error(output, $"Unrecognized XCLAIM option '{args.Text(at)}'");
                return;
            }
        }
        if (lastId > group.LastDelivered) group.LastDelivered = lastId;
        if (deliveredAt < 0 || deliveredAt > now) deliveredAt = now;
        Consumer? consumer = null;
        var claimed = new List<(StreamId Id, byte[][] Fields)>();
        foreach (var id in ids)
        {
            var entry = group.PendingOf(id);
            if (stream.FieldsOf(id) is not { } fields)
            {
                if (entry is not null) group.Acknowledge(id);
                continue;
            }
            var forced = force && entry is null;
            if (entry is null && !forced) continue;
            if (!forced && minIdle > 0 && now - entry!.DeliveredAt < minIdle) continue;
            consumer ??= Claimer(store, args, stream, group, now);
            // FORCE makes the entry pending, delivered once, and this claim counts as the next delivery, as in Redis.
            entry ??= group.Deliver(id, consumer, deliveredAt);
            group.MoveTo(id, entry, consumer);
            entry.DeliveredAt = deliveredAt;
            if (retryCount >= 0) entry.Deliveries = retryCount;
            else if (!justId) entry.Deliveries++;
            claimed.Add((id, fields));
        }
        TypeCommands.Changed(store, args[1], stream, empty: false, happened: null);
        RespReply.ArrayHeader(output, claimed.Count);
        foreach (var (id, fields) in claimed)
            if (justId) RespReply.Bulk(output, id.ToString());
            else StreamCommands.WriteEntry(output, id, fields, session.Protocol);
    }

    public static void AutoClaim(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!Integer(args, 4, "Invalid min-idle-time argument for XAUTOCLAIM", output, out var minIdle)) return;
        if (StreamCommands.End(StreamCommands.Word(args, 5), high: false) is not { } start)
        {
            RespReply.Error(output, StreamCommands.InvalidId);
            return;
        }
        long count = 100;
        var justId = false;
        for (var at = 6; at < args.Count; at++)
        {
            if (args.Is(at, "count"u8) && at + 1 < args.Count)
            {
                if (!RequestParser.TryParseInteger(args[++at], out count) || count is < 1 or > MaxAutoClaimCount)
                {
                    RespReply.Error(output, "COUNT must be > 0");
                    return;
                }
            }
            else if (args.Is(at, "justid"u8)) justId = true;
            else
            {
                RespReply.Error(output, TypeCommands.Syntax);
                return;
            }
        }
        var store = session.Store;
        if (StreamGroupCommands.Find(store, args, output, forChange: true) is not var (stream, group)) return;
        var now = store.Now;
        var attempts = count * AttemptsPerClaim;
        // The entries it may look at, and the one after them: the cursor for the next call (0-0 when none is left).
        var looked = group.PendingFrom(start).Take((int)Math.Min(attempts + 1, int.MaxValue)).ToList();
        Consumer? consumer = null;
        var claimed = new List<(StreamId Id, byte[][] Fields)>();
        var deleted = new List<StreamId>();
        var next = 0;
        for (; next < looked.Count && next < attempts && count > 0; next++)
        {
            var (id, entry) = looked[next];
            if (stream.FieldsOf(id) is not { } fields)
            {
                group.Acknowledge(id);
                deleted.Add(id);
                count--;
                continue;
            }
            if (minIdle > 0 && now - entry.DeliveredAt < minIdle) continue;
            consumer ??= Claimer(store, args, stream, group, now);
            group.MoveTo(id, entry, consumer);
            entry.DeliveredAt = now;
            if (!justId) entry.Deliveries++;
            claimed.Add((id, fields));
            count--;
        }
        TypeCommands.Changed(store, args[1], stream, empty: false, happened: null);
        RespReply.ArrayHeader(output, 3);
        RespReply.Bulk(output, (next < looked.Count ? looked[next].Id : StreamId.Min).ToString());
        RespReply.ArrayHeader(output, claimed.Count);
        foreach (var (id, fields) in claimed)
            if (justId) RespReply.Bulk(output, id.ToString());
            else StreamCommands.WriteEntry(output, id, fields, session.Protocol);
        RespReply.ArrayHeader(output, deleted.Count);
        foreach (var id in deleted) RespReply.Bulk(output, id.ToString());
    }
}
