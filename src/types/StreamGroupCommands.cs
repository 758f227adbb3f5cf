// src/types/StreamGroupCommands.cs: feature: a stream's consumer groups over RESP, with Redis 7.0's replies, errors
// and keyspace events: XGROUP makes and removes groups and consumers, XACK acknowledges, XPENDING lists what is
// pending, XCLAIM and XAUTOCLAIM hand a dead consumer's entries to a live one, XINFO describes a stream, its groups
// and its consumers (StreamClaims.cs, StreamInfo.cs). Reading through a group is XREADGROUP (StreamReads.cs). Each
// command is one step of the store.

using System.Buffers;

namespace KV;

public static class StreamGroupCommands
{
    private const string NeedsKey = "The XGROUP subcommand requires the key to exist. Note that for CREATE you may "
        + "want to use the MKSTREAM option to create an empty stream automatically.";

    public static RespCommand[] Rows =>
    [
        TypeCommands.Row("xgroup", -2, "XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER key group ...: a "
            + "stream's consumer groups; XGROUP HELP", Group, writes: true),
        TypeCommands.Row("xack", -4, "XACK key group id [id ...]: how many pending entries were acknowledged", Ack,
            writes: true),
        TypeCommands.Row("xpending", -3, "XPENDING key group [[IDLE ms] start end count [consumer]]: what is pending",
            Pending),
        TypeCommands.Row("xclaim", -6, "XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] "
            + "[RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]: pending entries given to the consumer", StreamClaims.Claim,
            writes: true),
        TypeCommands.Row("xautoclaim", -6, "XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]: "
            + "the entries pending longest given to the consumer, and a cursor", StreamClaims.AutoClaim, writes: true),
        TypeCommands.Row("xinfo", -2, "XINFO STREAM key | GROUPS key | CONSUMERS key group: what a stream holds; "
            + "XINFO HELP", StreamInfo.Info),
    ];

    /// <summary>Redis's NOGROUP of XGROUP and XINFO CONSUMERS: the group at args[3] of the key at args[2].</summary>
    internal static void NoSuchGroup(IBufferWriter<byte> output, RespArguments args) =>
        RespReply.Error(output, $"No such consumer group '{args.Text(3)}' for key name '{args.Text(2)}'", "NOGROUP");

    private static void NoGroup(IBufferWriter<byte> output, RespArguments args) =>
        RespReply.Error(output, $"No such key '{args.Text(1)}' or consumer group '{args.Text(2)}'", "NOGROUP");

    /// <summary>The group named at args[2] of the stream at args[1], or null with NOGROUP written.</summary>
    internal static (StreamValue Stream, ConsumerGroup Group)? Find(KeyValueStore store, RespArguments args,
        IBufferWriter<byte> output, bool forChange = false)
    {
        if (store.Find<StreamValue>(args[1], forChange) is { } stream && stream.Groups.TryGetValue(args[2].ToArray(),
            out var group)) return (stream, group);
        NoGroup(output, args);
        return null;
    }

    private static void Group(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Count == 2 && args.Is(1, "help"u8))
        {
            RespReply.Help(output, "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CREATE <key> <groupname> <id|$> [MKSTREAM] [ENTRIESREAD entries_read]",
                "    Create a new consumer group (MKSTREAM: the empty stream too, if it does not exist).",
                "CREATECONSUMER <key> <groupname> <consumer>", "    Create a new consumer in the specified group.",
                "DELCONSUMER <key> <groupname> <consumer>", "    Remove the specified consumer.",
                "DESTROY <key> <groupname>", "    Remove the specified group.",
                "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
                "    Set the current group ID and entries_read counter.", "HELP", "    Print this help.");
            return;
        }
        var create = args.Is(1, "create"u8);
        var setId = args.Is(1, "setid"u8);
        var valid = create ? args.Count is >= 5 and <= 8 : setId ? args.Count is 5 or 7
            : args.Is(1, "destroy"u8) ? args.Count == 4
            : (args.Is(1, "createconsumer"u8) || args.Is(1, "delconsumer"u8)) && args.Count == 5;
        if (!valid)
        {
            RespReply.UnknownSubcommand(output, args.Text(1), "XGROUP");
            return;
        }
        var makeStream = false;
        long? entriesRead = null;
        for (var i = 5; i < args.Count; i++)
        {
            if (create && args.Is(i, "mkstream"u8)) makeStream = true;
            else if ((create || setId) && args.Is(i, "entriesread"u8) && i + 1 < args.Count)
            {
                if (!TypeCommands.Integer(args, ++i, output, out var read)) return;
                if (read < -1)
                {
                    RespReply.Error(output, "value for ENTRIESREAD must be positive or -1");
                    return;
                }
                entriesRead = read;
            }
            else
            {
                RespReply.UnknownSubcommand(output, args.Text(1), "XGROUP");
                return;
            }
        }
        var store = session.Store;
        var stream = store.Find<StreamValue>(args[2], forChange: true);
        var name = args[3].ToArray();
        if (stream is null && !makeStream)
        {
            RespReply.Error(output, NeedsKey);
            return;
        }
        var group = stream?.Groups.GetValueOrDefault(name);
        if (group is null && !create && !args.Is(1, "destroy"u8))
        {
            NoSuchGroup(output, args);
            return;
        }
        if (create) Create(store, args, stream, name, entriesRead, output);
        else if (setId) SetId(store, args, stream!, group!, entriesRead, output);
        else if (args.Is(1, "destroy"u8))
        {
            if (group is not null) stream!.RemoveGroup(name);
            Done(store, args, stream!, group is null ? null : "xgroup-destroy");
            RespReply.Integer(output, group is null ? 0 : 1);
        }
        else if (args.Is(1, "createconsumer"u8))
        {
            if (!TypeCommands.Fits(store, ConsumerGroup.ConsumerBytes + args[4].Length, output)) return;
            group!.Join(args[4], store.Now, out var made);
            Done(store, args, stream!, made ? "xgroup-createconsumer" : null);
            RespReply.Integer(output, made ? 1 : 0);
        }
        else
        {
            var owed = group!.Leave(args[4]);
            Done(store, args, stream!, owed is null ? null : "xgroup-delconsumer");
            RespReply.Integer(output, owed ?? 0);
        }
    }

    private static void Done(KeyValueStore store, RespArguments args, StreamValue stream, string? happened) =>
        TypeCommands.Changed(store, args[2], stream, empty: false, happened);

    /// <summary>
    /// An ID for CREATE and SETID: `$` is the stream's last; SETID also takes `-` and `+`, as Redis; null (error
    /// written) when it is not one.
    /// </summary>
    private static StreamId? GroupId(RespArguments args, StreamValue? stream, IBufferWriter<byte> output)
    {
        if (args.Is(4, "$"u8)) return stream?.Last ?? StreamId.Min;
        if ((args.Is(1, "setid"u8) ? StreamCommands.ParseId(args[4], high: false)
            : StreamCommands.StrictId(args[4])) is { } id) return id;
        RespReply.Error(output, StreamCommands.InvalidId);
        return null;
    }

    private static void Create(KeyValueStore store, RespArguments args, StreamValue? stream, byte[] name,
        long? entriesRead, IBufferWriter<byte> output)
    {
        if (GroupId(args, stream, output) is not { } id) return;
        if (stream?.Groups.ContainsKey(name) == true)
        {
            RespReply.Error(output, "Consumer Group name already exists", "BUSYGROUP");
            return;
        }
        if (!TypeCommands.Fits(store, ConsumerGroup.GroupBytes + name.Length, output)) return;
        stream ??= TypeCommands.FindOrAdd<StreamValue>(store, args[2], output);
        if (stream is null) return;
        // What the group has read, when it is known: all of it from `$`, none from the start, else unknown.
        var read = entriesRead ?? (args.Is(4, "$"u8) ? stream.Added : id == StreamId.Min ? 0 : -1);
        stream.AddGroup(name, new ConsumerGroup(id, read));
        Done(store, args, stream, "xgroup-create");
        RespReply.Ok(output);
    }

    private static void SetId(KeyValueStore store, RespArguments args, StreamValue stream, ConsumerGroup group,
        long? entriesRead, IBufferWriter<byte> output)
    {
        if (GroupId(args, stream, output) is not { } id) return;
        group.LastDelivered = id;
        group.EntriesRead = entriesRead ?? -1;
        Done(store, args, stream, "xgroup-setid");
        RespReply.Ok(output);
    }

    private static void Ack(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var ids = new List<StreamId>();
        for (var i = 3; i < args.Count; i++)
        {
            if (StreamCommands.StrictId(args[i]) is not { } id)
            {
                RespReply.Error(output, StreamCommands.InvalidId);
                return;
            }
            ids.Add(id);
        }
        var store = session.Store;
        var stream = store.Find<StreamValue>(args[1], forChange: true);
        var acknowledged = 0;
        if (stream is not null && stream.Groups.TryGetValue(args[2].ToArray(), out var group))
        {
            acknowledged = ids.Count(group.Acknowledge);
            TypeCommands.Changed(store, args[1], stream, empty: false, happened: null);
        }
        RespReply.Integer(output, acknowledged);
    }

    private static void Pending(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Count != 3 && args.Count is < 6 or > 9)
        {
            RespReply.Error(output, TypeCommands.Syntax);
            return;
        }
        long idle = 0, count = 0;
        var at = 3;
        if (args.Count >= 6 && args.Is(3, "idle"u8))
        {
            if (!TypeCommands.Integer(args, 4, output, out idle)) return;
            if (args.Count < 8)
            {
                RespReply.Error(output, TypeCommands.Syntax);
                return;
            }
            at = 5;
        }
        StreamId? start = null, end = null;
        if (args.Count >= 6)
        {
            if (!TypeCommands.Integer(args, at + 2, output, out count)) return;
            start = StreamCommands.End(StreamCommands.Word(args, at), high: false);
            end = StreamCommands.End(StreamCommands.Word(args, at + 1), high: true);
            if (start is null || end is null)
            {
                RespReply.Error(output, StreamCommands.InvalidId);
                return;
            }
        }
        if (Find(session.Store, args, output) is not var (_, group)) return;
        var now = session.Store.Now;
        if (start is null)
        {
            Summary(output, group, session.Protocol);
            return;
        }
        var owner = at + 3 < args.Count ? args[at + 3].ToArray() : null;
        if (owner is not null && !group.Consumers.ContainsKey(owner))
        {
            RespReply.EmptyArray(output);
            return;
        }
        var listed = group.PendingFrom(start.Value).TakeWhile(p => p.Id <= end!.Value)
            .Where(p => (owner is null || p.Entry.Owner.Name.AsSpan().SequenceEqual(owner))
                && now - p.Entry.DeliveredAt >= idle)
            .Take((int)Math.Clamp(count, 0, int.MaxValue)).ToList();
        RespReply.ArrayHeader(output, listed.Count);
        foreach (var (id, entry) in listed)
        {
            RespReply.ArrayHeader(output, 4);
            RespReply.Bulk(output, id.ToString());
            RespReply.Bulk(output, entry.Owner.Name);
            RespReply.Integer(output, Math.Max(0, now - entry.DeliveredAt));
            RespReply.Integer(output, entry.Deliveries);
        }
    }

    /// <summary>XPENDING's summary: how many, the first and last ID, and how many each consumer has.</summary>
    private static void Summary(IBufferWriter<byte> output, ConsumerGroup group, int protocol)
    {
        RespReply.ArrayHeader(output, 4);
        RespReply.Integer(output, group.PendingCount);
        if (group.PendingCount == 0)
        {
            RespReply.Null(output, protocol);
            RespReply.Null(output, protocol);
            RespReply.NullArray(output, protocol);
            return;
        }
        var (first, last) = group.PendingSpan;
        RespReply.Bulk(output, first.ToString());
        RespReply.Bulk(output, last.ToString());
        var owing = group.ConsumersByName().Where(c => c.Pending.Count > 0).ToList();
        RespReply.ArrayHeader(output, owing.Count);
        foreach (var consumer in owing)
        {
            RespReply.ArrayHeader(output, 2);
            RespReply.Bulk(output, consumer.Name);
            RespReply.Bulk(output, consumer.Pending.Count.ToString());
        }
    }

}
