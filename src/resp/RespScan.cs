// src/resp/RespScan.cs: SCAN cursor [MATCH pattern] [COUNT n] [TYPE t], and MEMORY USAGE, which `redis-cli --scan`,
// `--bigkeys` and `--memkeys` use. Redis's guarantee holds: a key present for the whole iteration is returned (maybe
// twice). Redis keeps no state and finds its way back from the cursor's number; KV's table moves keys when it grows
// and when a removal shifts its neighbours back, so a SCAN here is the store's walk that listings use (TableCursor:
// given the keys that move behind it), kept by the connection, and the cursor is its number. A connection keeps a
// few walks at once; the oldest is let go past MaxOpen, and all of them when the connection ends.

using System.Buffers;
using System.Globalization;

namespace KV;

public static class RespScan
{
    /// <summary>
    /// The most walks one connection keeps: enough for a tool that scans in parallel, bounded like anything a client
    /// makes the server hold.
    /// </summary>
    public const int MaxOpen = 16;

    /// <summary>
    /// The options of SCAN (and of HSCAN, SSCAN, ZSCAN) from `from`: MATCH, COUNT (10 without it, 100,000 at most),
    /// and TYPE where `typed`; false with Redis's error written.
    /// </summary>
    public static bool ReadOptions(RespArguments args, int from, bool typed, IBufferWriter<byte> output,
        out RedisGlob? pattern, out int count, out string? kind)
    {
        (pattern, count, kind) = (null, 10, null);
        for (var i = from; i < args.Count; i++)
        {
            if (i + 1 >= args.Count)
            {
                RespReply.Error(output, "syntax error");
                return false;
            }
            if (args.Is(i, "match"u8))
            {
                if (args[++i].Length > RedisGlob.MaxPatternBytes)
                {
                    RespReply.Error(output, $"pattern longer than {RedisGlob.MaxPatternBytes} bytes");
                    return false;
                }
                pattern = RedisGlob.Compile(args[i]);
            }
            else if (args.Is(i, "count"u8))
            {
                if (!RequestParser.TryParseInteger(args[++i], out var asked) || asked < 1)
                {
                    RespReply.Error(output, asked < 1 && RequestParser.TryParseInteger(args[i],
                        out _) ? "syntax error" : "value is not an integer or out of range");
                    return false;
                }
                count = (int)Math.Min(asked, 100_000);
            }
            else if (typed && args.Is(i, "type"u8)) kind = args.Text(++i).ToLowerInvariant();
            else
            {
                RespReply.Error(output, "syntax error");
                return false;
            }
        }
        return true;
    }

    public static void Scan(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!ulong.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            RespReply.Error(output, "invalid cursor");
            return;
        }
        if (!ReadOptions(args, 2, typed: true, output, out var pattern, out var count, out var kind)) return;
        var scans = session.Scans;
        TableCursor cursor;
        if (number == 0)
        {
            if (scans.Count >= MaxOpen)
            {
                var oldest = scans.Keys.Min();
                session.Store.EndListing(scans[oldest]);
                scans.Remove(oldest);
            }
            cursor = session.Store.StartListing();
            number = ++session.LastScan;
            scans[number] = cursor;
        }
        else if (!scans.TryGetValue(number, out cursor!))
        {
            RespReply.Error(output,
                "invalid cursor (a KV cursor belongs to the connection that began the scan, which keeps its last few)");
            return;
        }
        var keys = new KeyList();
        // COUNT is a hint of how much work to do, as in Redis: about that many keys' worth of the table (load 1/2 to
        // 3/4).
        var more = session.Store.ContinueListing(cursor, keys, count * 2);
        if (!more)
        {
            session.Store.EndListing(cursor);
            scans.Remove(number);
        }
        var shown = new List<int>(keys.Count);
        for (var i = 0; i < keys.Count; i++)
            if ((pattern is null || pattern.Matches(keys[i]))
                && (kind is null || session.Store.KindOf(keys[i]) == kind)) shown.Add(i);
        RespReply.ArrayHeader(output, 2);
        RespReply.Bulk(output, more ? number.ToString(CultureInfo.InvariantCulture) : "0");
        RespReply.ArrayHeader(output, shown.Count);
        foreach (var i in shown) RespReply.Bulk(output, keys[i]);
    }

    /// <summary>Every walk of the connection let go (when it ends).</summary>
    public static void EndAll(RespSession session)
    {
        foreach (var cursor in session.Scans.Values) session.Store.EndListing(cursor);
        session.Scans.Clear();
    }

    /// <summary>
    /// MEMORY USAGE key [SAMPLES n]: the bytes --max-memory counts for it; nil without the key. MEMORY HELP too.
    /// </summary>
    public static void Memory(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Is(1, "usage"u8) && args.Count is 3 or 5)
        {
            if (session.Store.MemoryUsage(args[2]) is { } bytes) RespReply.Integer(output, bytes);
            else RespReply.Null(output, session.Protocol);
        }
        else RespReply.Error(output,
            $"unknown subcommand or wrong number of arguments for '{args.Text(1)}'. KV answers MEMORY USAGE key only.");
    }

    /// <summary>
    /// OBJECT ENCODING key: how the value is held (the value's own name for it: a list is a `quicklist`, a sorted
    /// set `blocks`); nil without the key. OBJECT HELP too.
    /// </summary>
    public static void Object(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Is(1, "encoding"u8) && args.Count == 3)
        {
            if (session.Store.EncodingOf(args[2]) is { } encoding) RespReply.Bulk(output, encoding);
            else RespReply.Null(output, session.Protocol);
        }
        else if (args.Is(1, "help"u8) && args.Count == 2)
            RespReply.Help(output, "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "ENCODING <key>",
                "    Return how the value at <key> is held.", "HELP", "    Print this help.");
        else RespReply.UnknownSubcommand(output, args.Text(1), "OBJECT");
    }
}
