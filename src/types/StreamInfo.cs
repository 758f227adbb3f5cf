// src/types/StreamInfo.cs: feature: XINFO STREAM, GROUPS and CONSUMERS, in Redis 7.0's field names (maps in RESP3,
// flat arrays in RESP2), for the dashboards and queue libraries that watch a stream. KV's stream is no radix tree,
// so the radix-tree fields are left out, and FULL is not served; a group's lag is exact: the entries after the last
// one it was given.

using System.Buffers;

namespace KV;

public static class StreamInfo
{
    public static void Info(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var protocol = session.Protocol;
        if (args.Count == 2 && args.Is(1, "help"u8))
        {
            RespReply.Help(output, "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CONSUMERS <key> <groupname>", "    Show consumers of <groupname>.", "GROUPS <key>",
                "    Show the stream consumer groups.", "STREAM <key>", "    Show information about the stream.",
                "HELP", "    Print this help.");
            return;
        }
        var valid = args.Is(1, "consumers"u8) ? args.Count == 4
            : (args.Is(1, "groups"u8) || args.Is(1, "stream"u8)) && args.Count == 3;
        if (!valid)
        {
            if (args.Is(1, "stream"u8) && args.Count > 3 && args.Is(3, "full"u8))
                RespReply.Error(output,
                    "XINFO STREAM FULL is not served by KV (XINFO STREAM, GROUPS and CONSUMERS are)");
            else RespReply.UnknownSubcommand(output, args.Text(1), "XINFO");
            return;
        }
        if (session.Store.Find<StreamValue>(args[2]) is not { } stream)
        {
            RespReply.Error(output, "no such key");
            return;
        }
        var now = session.Store.Now;
        if (args.Is(1, "stream"u8)) Stream(output, stream, protocol);
        else if (args.Is(1, "groups"u8))
        {
            RespReply.ArrayHeader(output, stream.Groups.Count);
            foreach (var (name, group) in stream.Groups)
            {
                var lag = stream.Count - stream.FirstAfter(group.LastDelivered);
                RespReply.MapHeader(output, 6, protocol);
                Field(output, "name", w => RespReply.Bulk(w, name));
                Field(output, "consumers", w => RespReply.Integer(w, group.Consumers.Count));
                Field(output, "pending", w => RespReply.Integer(w, group.PendingCount));
                Field(output, "last-delivered-id", w => RespReply.Bulk(w, group.LastDelivered.ToString()));
                Field(output, "entries-read", w =>
                {
                    if (group.EntriesRead >= 0) RespReply.Integer(w, group.EntriesRead);
                    else RespReply.Null(w, protocol);
                });
                Field(output, "lag", w => RespReply.Integer(w, lag));
            }
        }
        else if (!stream.Groups.TryGetValue(args[3].ToArray(), out var group))
            StreamGroupCommands.NoSuchGroup(output, args);
        else
        {
            var consumers = group.ConsumersByName();
            RespReply.ArrayHeader(output, consumers.Count);
            foreach (var consumer in consumers)
            {
                RespReply.MapHeader(output, 3, protocol);
                Field(output, "name", w => RespReply.Bulk(w, consumer.Name));
                Field(output, "pending", w => RespReply.Integer(w, consumer.Pending.Count));
                Field(output, "idle", w => RespReply.Integer(w, Math.Max(0, now - consumer.SeenAt)));
            }
        }
    }

    private static void Field(IBufferWriter<byte> output, string name, Action<IBufferWriter<byte>> value)
    {
        RespReply.Bulk(output, name);
        value(output);
    }

    private static void Stream(IBufferWriter<byte> output, StreamValue stream, int protocol)
    {
        var entries = stream.Entries;
        RespReply.MapHeader(output, 8, protocol);
        Field(output, "length", w => RespReply.Integer(w, stream.Count));
        Field(output, "last-generated-id", w => RespReply.Bulk(w, stream.Last.ToString()));
        Field(output, "max-deleted-entry-id", w => RespReply.Bulk(w, stream.MaxDeleted.ToString()));
        Field(output, "entries-added", w => RespReply.Integer(w, stream.Added));
        Field(output, "recorded-first-entry-id", w =>
            RespReply.Bulk(w, (entries.Count > 0 ? entries[0].Id : StreamId.Min).ToString()));
        Field(output, "groups", w => RespReply.Integer(w, stream.Groups.Count));
        Field(output, "first-entry", w => Entry(w, entries.Count > 0 ? entries[0] : null, protocol));
        Field(output, "last-entry", w => Entry(w, entries.Count > 0 ? entries[^1] : null, protocol));
    }

    private static void Entry(IBufferWriter<byte> output, (StreamId Id, byte[][] Fields)? entry, int protocol)
    {
        if (entry is var (id, fields)) StreamCommands.WriteEntry(output, id, fields, protocol);
        else RespReply.Null(output, protocol);
    }
}
