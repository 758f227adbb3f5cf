// src/types/StreamCommands.cs: feature: a stream's own commands over RESP, each one step of the store
// (TypeCommands.Row): XADD (with NOMKSTREAM, MAXLEN and MINID), XLEN, XRANGE, XREVRANGE, XDEL, XTRIM; and what the
// reads and groups beside it share: an ID read, an entry written. IDs are Redis's: `ms-seq`, `*` for the next one,
// `-` and `+` for the ends, `(` for an open end.

using System.Buffers;
using System.Globalization;
using System.Text;

namespace KV;

public static class StreamCommands
{
    internal const string InvalidId = "Invalid stream ID specified as stream command argument";

    public static RespCommand[] Rows =>
    [
        TypeCommands.Row("xadd", -5, "XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] n] *|id field value [field value ...]: "
            + "the new entry's ID", Add, writes: true),
        TypeCommands.Row("xlen", 2, "how many entries the stream has", (session, args, output) =>
            RespReply.Integer(output, session.Store.Find<StreamValue>(args[1])?.Count ?? 0)),
        TypeCommands.Row("xrange", -4, "XRANGE key start end [COUNT n]: entries from the oldest", Range),
        TypeCommands.Row("xrevrange", -4, "XREVRANGE key end start [COUNT n]: entries from the newest", Range),
        TypeCommands.Row("xdel", -3, "XDEL key id [id ...]: how many were deleted", Delete, writes: true),
        TypeCommands.Row("xtrim", -4, "XTRIM key MAXLEN|MINID [=|~] n: how many were removed", Trim, writes: true),
    ];

    /// <summary>An ID as XADD and the ranges read it; `high` fills a missing sequence with its greatest.</summary>
    internal static StreamId? ParseId(ReadOnlySpan<byte> text, bool high)
    {
        if (text.SequenceEqual("-"u8)) return StreamId.Min;
        if (text.SequenceEqual("+"u8)) return StreamId.Max;
        var dash = text.IndexOf((byte)'-');
        var msText = dash < 0 ? text : text[..dash];
        if (!ulong.TryParse(msText, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)) return null;
        if (dash < 0) return new StreamId(ms, high ? ulong.MaxValue : 0);
        return ulong.TryParse(text[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            ? new StreamId(ms, seq) : null;
    }

    /// <summary>MAXLEN or MINID, `=` or `~`, and the threshold at `at`; `next` is where the options end.</summary>
    private static bool TryTrimOption(RespArguments args, int at, out bool byLength, out string threshold,
        out int next)
    {
        byLength = args.Is(at, "maxlen"u8);
        threshold = "";
        next = at;
        if (!byLength && !args.Is(at, "minid"u8)) return false;
        var i = at + 1;
        if (i < args.Count && (args.Is(i, "="u8) || args.Is(i, "~"u8))) i++;
        if (i >= args.Count) return false;
        threshold = Word(args, i);
        next = i + 1;
        if (next + 1 < args.Count && args.Is(next, "limit"u8)) next += 2;
        return true;
    }

    private static int ApplyTrim(StreamValue stream, bool byLength, string threshold)
    {
        if (byLength) return stream.TrimTo(long.Parse(threshold, CultureInfo.InvariantCulture));
        return stream.TrimBefore(ParseId(Encoding.ASCII.GetBytes(threshold), high: false)!.Value);
    }

    private static bool ValidThreshold(bool byLength, string threshold, IBufferWriter<byte> output)
    {
        if (byLength ? long.TryParse(threshold, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            : ParseId(Encoding.ASCII.GetBytes(threshold), high: false) is not null) return true;
        RespReply.Error(output, byLength ? TypeCommands.NotAnInteger : InvalidId);
        return false;
    }

    private static void Add(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var at = 2;
        var noCreate = false;
        bool? byLength = null;
        var threshold = "";
        while (at < args.Count)
        {
            if (args.Is(at, "nomkstream"u8))
            {
                noCreate = true;
                at++;
            }
            else if (TryTrimOption(args, at, out var maxLength, out var limit, out var next))
            {
                if (!ValidThreshold(maxLength, limit, output)) return;
                (byLength, threshold, at) = (maxLength, limit, next);
            }
            else break;
        }
        if (at >= args.Count || (args.Count - at - 1) % 2 != 0 || args.Count - at - 1 == 0)
        {
            RespCommands.WrongArity(output, "xadd");
            return;
        }
        var store = session.Store;
        var stream = store.Find<StreamValue>(args[1]);
        if (stream is null && noCreate)
        {
            RespReply.Null(output, session.Protocol);
            return;
        }
        var last = stream?.Last ?? StreamId.Min;
        StreamId id;
        var idText = args[at];
        if (idText.SequenceEqual("*"u8))
        {
            var now = (ulong)Math.Max(0, store.Now);
            if (now > last.Ms) id = new StreamId(now, 0);
            else if (last.Next is { } next) id = next;
            else
            {
                RespReply.Error(output, "The stream has exhausted the last possible ID, unable to add more items");
                return;
            }
        }
        else if (idText.EndsWith("-*"u8) && ulong.TryParse(idText[..^2], NumberStyles.None,
            CultureInfo.InvariantCulture, out var ms))
            id = ms > last.Ms || stream is null ? new StreamId(ms, ms == 0 ? 1UL : 0UL)
                : new StreamId(ms, last.Seq + 1);
        else if (ParseId(idText, high: false) is { } given && !idText.SequenceEqual("-"u8)
            && !idText.SequenceEqual("+"u8)) id = given;
        else
        {
            RespReply.Error(output, InvalidId);
            return;
        }
        if (id == StreamId.Min)
        {
            RespReply.Error(output, "The ID specified in XADD must be greater than 0-0");
            return;
        }
        if (stream is not null && id <= last)
        {
            RespReply.Error(output, "The ID specified in XADD is equal or smaller than the target stream top item");
            return;
        }
        var fields = Enumerable.Range(at + 1, args.Count - at - 1).Select(i => args[i].ToArray()).ToArray();
        if (!TypeCommands.Fits(store, StreamValue.CostOf(fields.Select(f => f.Length + 24)), output)) return;
        stream = TypeCommands.FindOrAdd<StreamValue>(store, args[1], output);
        if (stream is null) return;
        stream.Add(id, fields);
        TypeCommands.Changed(store, args[1], stream, empty: false, "xadd");
        if (byLength is { } length && ApplyTrim(stream, length, threshold) > 0)
            TypeCommands.Changed(store, args[1], stream, empty: false, "xtrim");
        RespReply.Bulk(output, id.ToString());
    }

    private static void Range(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var reverse = args.Is(0, "xrevrange"u8);
        var (lowText, highText) = reverse ? (Word(args, 3), Word(args, 2)) : (Word(args, 2), Word(args, 3));
        var count = long.MaxValue;
        if (args.Count == 6 && args.Is(4, "count"u8))
        {
            if (!TypeCommands.Integer(args, 5, output, out count)) return;
        }
        else if (args.Count != 4)
        {
            RespReply.Error(output, TypeCommands.Syntax);
            return;
        }
        if (End(lowText, high: false) is not { } low || End(highText, high: true) is not { } high)
        {
            RespReply.Error(output, InvalidId);
            return;
        }
        // The range by binary search, written entry by entry: nothing the size of the stream is made.
        var stream = session.Store.Find<StreamValue>(args[1]);
        var (from, to) = stream is null || low > high ? (0, 0)
            : (low == StreamId.Min ? 0 : stream.FirstAfter(low.Previous), stream.FirstAfter(high));
        var taken = (int)Math.Min(Math.Max(0, to - from), Math.Clamp(count, 0, int.MaxValue));
        RespReply.ArrayHeader(output, taken);
        for (var i = 0; i < taken && !OutputBuffer.Cut(output); i++)
        {
            var (id, fields) = stream!.Entries[reverse ? to - 1 - i : from + i];
            WriteEntry(output, id, fields, session.Protocol);
        }
    }

    /// <summary>An ID where only an ID will do (not `-` or `+`), a missing sequence 0; null when it is not one.
    /// </summary>
    internal static StreamId? StrictId(ReadOnlySpan<byte> text) =>
        text.SequenceEqual("-"u8) || text.SequenceEqual("+"u8) ? null : ParseId(text, high: false);

    /// <summary>One entry as Redis writes it: its ID and its fields and values; a deleted one's fields are nil.
    /// </summary>
    internal static void WriteEntry(IBufferWriter<byte> output, StreamId id, byte[][]? fields, int protocol)
    {
        RespReply.ArrayHeader(output, 2);
        RespReply.Bulk(output, id.ToString());
        if (fields is null)
        {
            RespReply.NullArray(output, protocol);
            return;
        }
        RespReply.ArrayHeader(output, fields.Length);
        foreach (var field in fields) RespReply.Bulk(output, field);
    }

    /// <summary>An argument whole, as text (Text cuts it short for an error message).</summary>
    internal static string Word(RespArguments args, int index) => Encoding.ASCII.GetString(args[index]);

    /// <summary>A range's end: an ID, `-`, `+`, or `(` and an ID for an open end.</summary>
    internal static StreamId? End(string text, bool high)
    {
        var open = text.StartsWith('(');
        // `(-` and `(+` are no ends at all: Redis refuses them.
        if (open && text is "(-" or "(+") return null;
        if (ParseId(Encoding.ASCII.GetBytes(open ? text[1..] : text), high) is not { } id) return null;
        if (!open) return id;
        if (high) return id == StreamId.Min ? null : id.Previous;
        return id.Next;
    }

    private static void Delete(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var ids = new List<StreamId>();
        for (var i = 2; i < args.Count; i++)
        {
            if (ParseId(args[i], high: false) is not { } id)
            {
                RespReply.Error(output, InvalidId);
                return;
            }
            ids.Add(id);
        }
        var store = session.Store;
        var deleted = 0;
        if (store.Find<StreamValue>(args[1], forChange: true) is { } stream)
        {
            deleted = ids.Count(stream.Delete);
            TypeCommands.Changed(store, args[1], stream, empty: false, deleted > 0 ? "xdel" : null);
        }
        RespReply.Integer(output, deleted);
    }

    private static void Trim(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TryTrimOption(args, 2, out var byLength, out var threshold, out var next) || next != args.Count)
        {
            RespReply.Error(output, TypeCommands.Syntax);
            return;
        }
        if (!ValidThreshold(byLength, threshold, output)) return;
        var store = session.Store;
        var removed = 0;
        if (store.Find<StreamValue>(args[1], forChange: true) is { } stream)
        {
            removed = ApplyTrim(stream, byLength, threshold);
            TypeCommands.Changed(store, args[1], stream, empty: false, removed > 0 ? "xtrim" : null);
        }
        RespReply.Integer(output, removed);
    }
}
