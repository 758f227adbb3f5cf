// src/types/TypeCommands.cs: feature: what the commands of every kind (lists, hashes, sets, sorted sets) share:
// a command run as one step of the store, Redis's errors for their arguments, and a new object stored under a
// key within --max-memory. Each kind's commands are in a file of their own beside this one.

using System.Buffers;
using System.Globalization;

namespace KV;

public static class TypeCommands
{
    public const string NotAnInteger = "value is not an integer or out of range";
    public const string NotAFloat = "value is not a valid float";
    public const string Syntax = "syntax error";
    public const string MustBePositive = "value is out of range, must be positive";

    /// <summary>
    /// A RESP row whose code runs as one step of the store: no other client's request lands between its reads and
    /// its writes, and a key of another kind is refused (WRONGTYPE) before anything changes.
    /// </summary>
    public static RespCommand Row(string name, int arity, string summary,
        Action<RespSession, RespArguments, IBufferWriter<byte>> run, bool writes = false) =>
        new(name, arity, summary, (session, args, output) => session.Store.Atomically((session, args, output, run),
            static step => step.run(step.session, step.args, step.output))) { Writes = writes };

    /// <summary>An integer argument, or Redis's error written and false.</summary>
    public static bool Integer(RespArguments args, int index, IBufferWriter<byte> output, out long value)
    {
        if (RequestParser.TryParseInteger(args[index], out value)) return true;
        RespReply.Error(output, NotAnInteger);
        return false;
    }

    /// <summary>A count that must be positive (LPOP's, SPOP's): Redis's two errors.</summary>
    public static bool PositiveCount(RespArguments args, int index, IBufferWriter<byte> output, out long value)
    {
        if (!Integer(args, index, output, out value)) return false;
        if (value >= 0) return true;
        RespReply.Error(output, MustBePositive);
        return false;
    }

    /// <summary>LPOP's, SPOP's and ZPOPMIN's optional count (1 without one); false with Redis's error written.
    /// </summary>
    public static bool PopCount(RespArguments args, IBufferWriter<byte> output, out long count)
    {
        count = 1;
        if (args.Count > 3)
        {
            RespReply.Error(output, Syntax);
            return false;
        }
        return args.Count < 3 || PositiveCount(args, 2, output, out count);
    }

    /// <summary>A float as Redis reads one (inf, -inf, +inf included; nan refused).</summary>
    public static bool TryDouble(ReadOnlySpan<byte> text, out double value) => RespCounters.TryDouble(text, out value);

    /// <summary>A float argument, or Redis's error written and false.</summary>
    public static bool Double(RespArguments args, int index, IBufferWriter<byte> output, out double value)
    {
        if (TryDouble(args[index], out value)) return true;
        RespReply.Error(output, NotAFloat);
        return false;
    }

    /// <summary>A score as Redis 7.0 writes one (printf's %.17g): 17 significant digits, inf and -inf.</summary>
    public static string Format(double value) => value switch
    {
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        _ => value.ToString("G17", CultureInfo.InvariantCulture).Replace("E+", "e+").Replace("E-", "e-"),
    };

    /// <summary>A number as INCRBYFLOAT and HINCRBYFLOAT store it: plain digits, never an exponent.</summary>
    public static string FormatDecimal(double value) => RespCounters.FormatDecimal(value);

    /// <summary>A score: a bulk string in RESP2, a double in RESP3.</summary>
    public static void Score(IBufferWriter<byte> output, double value, int protocol)
    {
        if (protocol >= 3) RespReply.Line(output, ',', Format(value));
        else RespReply.Bulk(output, Format(value));
    }

    /// <summary>The object at the key, made and stored when absent (the first LPUSH); null when out of memory.
    /// </summary>
    public static T? FindOrAdd<T>(KeyValueStore store, ReadOnlySpan<byte> key, IBufferWriter<byte> output)
        where T : StoredObject, new()
    {
        if (store.Find<T>(key, forChange: true) is { } found) return found;
        if (RequestParser.KeyProblem(key) is { } problem)
        {
            RespReply.Error(output, problem);
            return null;
        }
        var made = new T();
        if (store.Add(key, made) == SetResult.Stored) return made;
        RespReply.Error(output, RespCommands.OutOfMemory, prefix: "OOM");
        return null;
    }

    /// <summary>Whether `moreBytes` fit --max-memory; else Redis's OOM error written.</summary>
    public static bool Fits(KeyValueStore store, long moreBytes, IBufferWriter<byte> output)
    {
        if (store.Fits(moreBytes)) return true;
        RespReply.Error(output, RespCommands.OutOfMemory, prefix: "OOM");
        return false;
    }

    /// <summary>An error a step returned: Redis's OOM keeps its own prefix.</summary>
    public static void Refuse(IBufferWriter<byte> output, string error)
    {
        if (error.StartsWith("OOM ", StringComparison.Ordinal)) RespReply.Error(output, error[4..], prefix: "OOM");
        else RespReply.Error(output, error);
    }

    /// <summary>
    /// After a change: announced as `happened` (Redis's event: `lpush`, `hset`; none when null), then the object
    /// recounted, or removed when it was left empty (announced as `del`), as Redis does.
    /// </summary>
    public static void Changed(KeyValueStore store, ReadOnlySpan<byte> key, StoredObject value, bool empty,
        string? happened)
    {
        if (happened is not null) Announce(store, key, value, happened);
        if (empty) store.Delete(key);
        else store.Recount(value);
    }

    /// <summary>Redis's event for a change to an object, in the class of its kind.</summary>
    public static void Announce(KeyValueStore store, ReadOnlySpan<byte> key, StoredObject value, string happened) =>
        store.Announce(value.Kind switch
        {
            "list" => KeyEventClass.List,
            "hash" => KeyEventClass.Hash,
            "set" => KeyEventClass.Set,
            "zset" => KeyEventClass.SortedSet,
            _ => KeyEventClass.Stream,
        }, happened, key);

    /// <summary>A range's ends as Redis reads them (negative from the end), clamped; false when it is empty.</summary>
    public static bool Clamp(long start, long stop, int count, out int from, out int to)
    {
        if (start < 0) start += count;
        if (stop < 0) stop += count;
        start = Math.Max(0, start);
        stop = Math.Min(stop, count - 1L);
        from = (int)Math.Min(start, int.MaxValue);
        to = (int)Math.Max(stop, -1);
        return start <= stop && start < count;
    }

    /// <summary>
    /// HRANDFIELD's, SRANDMEMBER's and ZRANDMEMBER's choice: a positive count picks that many distinct ones (all,
    /// when there are fewer), a negative one that many with repeats. Null for a count no reply could hold.
    /// </summary>
    public static List<T>? Pick<T>(IReadOnlyList<T> from, long count)
    {
        if (count == long.MinValue || Math.Abs(count) > int.MaxValue / 2) return null;
        if (from.Count == 0) return [];
        if (count < 0) return [.. Enumerable.Range(0, (int)-count).Select(_ => from[Random.Shared.Next(from.Count)])];
        var shuffled = from.ToArray();
        Random.Shared.Shuffle(shuffled);
        return [.. shuffled.Take((int)Math.Min(count, shuffled.Length))];
    }

    /// <summary>
    /// HSCAN, SSCAN and ZSCAN key cursor [MATCH pattern] [COUNT n]: KV answers every element in one reply with
    /// cursor 0, as Redis does for a small collection; `pairs` says the elements come as field and value.
    /// </summary>
    public static void Scan(RespSession session, RespArguments args, IBufferWriter<byte> output,
        IEnumerable<byte[]>? items, bool pairs)
    {
        if (!ulong.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            RespReply.Error(output, "invalid cursor");
            return;
        }
        if (!RespScan.ReadOptions(args, 3, typed: false, output, out var pattern, out _, out _)) return;
        var all = items?.ToList() ?? [];
        var shown = new List<byte[]>(all.Count);
        var step = pairs ? 2 : 1;
        for (var i = 0; i < all.Count; i += step)
            if (pattern is null || pattern.Matches(all[i])) shown.AddRange(all.Skip(i).Take(step));
        RespReply.ArrayHeader(output, 2);
        RespReply.Bulk(output, "0"u8);
        RespReply.ArrayHeader(output, shown.Count);
        foreach (var item in shown) RespReply.Bulk(output, item);
    }

    /// <summary>SINTERCARD's and ZINTERCARD's `numkeys key [key ...] [LIMIT n]`: where the keys end, and the limit (0:
    /// none); null with Redis's error written.</summary>
    public static (int End, long Limit)? ReadInterCard(RespArguments args, IBufferWriter<byte> output,
        string noKeys = "numkeys should be greater than 0")
    {
        // A numkeys that is not a number gets the words of one that is not positive, as in Redis.
        if (!RequestParser.TryParseInteger(args[1], out var numKeys)) numKeys = 0;
        if (numKeys <= 0 || numKeys > args.Count - 2)
        {
            RespReply.Error(output, numKeys <= 0 ? noKeys : "Number of keys can't be greater than number of args");
            return null;
        }
        var end = 2 + (int)numKeys;
        var limit = 0L;
        if (args.Count == end + 2 && args.Is(end, "limit"u8))
        {
            if (!RequestParser.TryParseInteger(args[end + 1], out limit)) limit = -1;
            if (limit < 0)
            {
                RespReply.Error(output, "LIMIT can't be negative");
                return null;
            }
        }
        else if (args.Count != end)
        {
            RespReply.Error(output, Syntax);
            return null;
        }
        return (end, limit);
    }

    /// <summary>
    /// LMPOP's and ZMPOP's `numkeys key [key ...] FIRST|SECOND [COUNT n]` from `at`: the keys, whether the side is
    /// `first` (LEFT, MIN), the count; null with Redis's error written.
    /// </summary>
    public static (byte[][] Keys, bool First, long Count)? ReadMultiPop(RespArguments args, int at,
        IBufferWriter<byte> output, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        // A numkeys that is not a number gets the words of one that is not positive, as in Redis.
        if (!RequestParser.TryParseInteger(args[at], out var numKeys)) numKeys = 0;
        if (numKeys <= 0 || numKeys > args.Count - at - 2)
        {
            RespReply.Error(output, numKeys <= 0 ? "numkeys should be greater than 0" : Syntax);
            return null;
        }
        var sideAt = at + 1 + (int)numKeys;
        var isFirst = args.Is(sideAt, first);
        var count = 1L;
        if (!isFirst && !args.Is(sideAt, second)) count = -1;
        else if (args.Count == sideAt + 3 && args.Is(sideAt + 1, "count"u8))
        {
            if (!RequestParser.TryParseInteger(args[sideAt + 2], out count) || count <= 0)
            {
                RespReply.Error(output, "count should be greater than 0");
                return null;
            }
        }
        else if (args.Count != sideAt + 1) count = -1;
        if (count < 0)
        {
            RespReply.Error(output, Syntax);
            return null;
        }
        return ([.. Enumerable.Range(at + 1, (int)numKeys).Select(i => args[i].ToArray())], isFirst, count);
    }
}
