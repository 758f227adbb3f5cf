// src/resp/RespStrings.cs: the rest of Redis's string and key commands that clients send: DEL, EXISTS, MGET, MSET,
// MSETNX, GETDEL, GETSET, GETEX, APPEND, STRLEN, TYPE, RENAME, RENAMENX, FLUSHDB and FLUSHALL, with Redis's replies
// and error texts. Each is one step of the store (StoreSteps.cs), so none can be split by another client's request.
// What is stored follows KV's rules, as SET's does: a pair KV's own protocol could not carry back is refused.

using System.Buffers;

namespace KV;

public static class RespStrings
{
    /// <summary>MGET key [key ...]: every value read in one step, so that no write lands between two of them.</summary>
    public static void MGet(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        session.Store.Atomically((session, args, output), static request =>
        {
            var (session, args, output) = request;
            RespReply.ArrayHeader(output, args.Count - 1);
            for (var i = 1; i < args.Count; i++)
                if (!session.Store.TryReadString(args[i], output,
                    static (value, output) => RespReply.Bulk(output, value)))
                    RespReply.Null(output, session.Protocol);
        });

    /// <summary>MSET and MSETNX key value [key value ...]: all pairs or none.</summary>
    public static void MSet(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var onlyIfNoneExist = args.Is(0, "msetnx"u8);
        if (args.Count % 2 == 0)
        {
            RespCommands.WrongArity(output, onlyIfNoneExist ? "msetnx" : "mset");
            return;
        }
        var pairs = new List<(byte[] Key, byte[] Value)>(args.Count / 2);
        for (var i = 1; i < args.Count; i += 2)
        {
            var (key, value) = (args[i].ToArray(), args[i + 1].ToArray());
            if (RequestParser.KeyProblem(key) is { } problem)
            {
                RespReply.Error(output, problem);
                return;
            }
            pairs.Add((key, value));
        }
        var result = session.Store.SetMany(pairs, onlyIfNoneExist);
        if (result == SetResult.OutOfMemory) RespReply.Error(output, RespCommands.OutOfMemory, prefix: "OOM");
        else if (onlyIfNoneExist) RespReply.Integer(output, result == SetResult.Stored ? 1 : 0);
        else RespReply.Ok(output);
    }

    public static void GetDel(RespSession session, RespArguments args,
        IBufferWriter<byte> output) => BulkOrNull(session, output, session.Store.Take(args[1]));

    /// <summary>
    /// GETSET key value: SET ... GET, the old value back (and the deadline cleared, as SET clears it).
    /// </summary>
    public static void GetSet(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var key = args[1];
        var value = args[2];
        if (RequestParser.KeyProblem(key) is { } problem)
        {
            RespReply.Error(output, problem);
            return;
        }
        if (session.Store.Set(key, value, SetCondition.Always, Expiry.Clear, out var previous) == SetResult.OutOfMemory)
        {
            RespReply.Error(output, RespCommands.OutOfMemory, prefix: "OOM");
            return;
        }
        session.Store.AnnounceSet(key, Expiry.Clear);
        BulkOrNull(session, output, previous);
    }

    /// <summary>
    /// GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]: the value, and its deadline set or removed in the same step.
    /// </summary>
    public static void GetEx(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        Expiry? change = null;
        for (var i = 2; i < args.Count; i++)
        {
            if (change is not null) { RespReply.Error(output, "syntax error"); return; }
            if (args.Is(i, "persist"u8)) change = Expiry.Clear;
            else if (!args.Is(i, "keepttl"u8) && RespExpiry.TryReadSetOption(session, args, ref i, out var expiry,
                out var error))
            {
                if (error is not null)
                {
                    RespReply.Error(output, error.Replace("'set'", "'getex'"));
                    return;
                }
                change = expiry;
            }
            else { RespReply.Error(output, "syntax error"); return; }
        }
        BulkOrNull(session, output, session.Store.GetAndExpire(args[1], change));
    }

    public static void Append(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var key = args[1];
        var suffix = args[2];
        if (RequestParser.KeyProblem(key) is { } problem) RespReply.Error(output, problem);
        else if (session.Store.Append(key, suffix) is not { } length)
            RespReply.Error(output, RespCommands.OutOfMemory, prefix: "OOM");
        else
        {
            session.Store.Announce(KeyEventClass.String, "append", key);
            RespReply.Integer(output, length);
        }
    }

    public static void StrLen(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var length = new System.Runtime.CompilerServices.StrongBox<int>();
        session.Store.TryRead(args[1], length, static (value, length) => length.Value = value.Length);
        RespReply.Integer(output, length.Value);
    }

    /// <summary>TYPE key: every value of KV's is a string; `none` for a missing key.</summary>
    public static void Type(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        RespReply.Line(output, '+', session.Store.KindOf(args[1]) ?? "none");

    /// <summary>RENAME and RENAMENX key newkey: the value and its deadline move in one step.</summary>
    public static void Rename(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var onlyIfAbsent = args.Is(0, "renamenx"u8);
        if (RequestParser.KeyProblem(args[2]) is { } problem)
        {
            RespReply.Error(output, problem);
            return;
        }
        switch (session.Store.Rename(args[1], args[2], onlyIfAbsent))
        {
            case RenameResult.NoSuchKey: RespReply.Error(output, "no such key"); break;
            case RenameResult.OutOfMemory: RespReply.Error(output, RespCommands.OutOfMemory, prefix: "OOM"); break;
            case RenameResult.TargetExists: RespReply.Integer(output, 0); break;
            default:
                if (onlyIfAbsent) RespReply.Integer(output, 1);
                else RespReply.Ok(output);
                break;
        }
    }

    /// <summary>FLUSHDB and FLUSHALL [ASYNC|SYNC]: one database, so both empty it, at once.</summary>
    public static void Flush(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Count > 2 || (args.Count == 2 && !args.Is(1, "async"u8) && !args.Is(1, "sync"u8)))
        {
            RespReply.Error(output, "syntax error");
            return;
        }
        session.Store.Clear();
        RespReply.Ok(output);
    }

    /// <summary>
    /// COPY source destination [REPLACE]: 1 when copied (with the deadline), 0 when the destination exists.
    /// </summary>
    public static void Copy(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var replace = false;
        for (var i = 3; i < args.Count; i++)
        {
            if (args.Is(i, "replace"u8)) replace = true;
            else if (args.Is(i, "db"u8) && i + 1 < args.Count)
            {
                // One database: DB 0 is this one; another number is out of range, anything else not a number.
                if (!RequestParser.TryParseInteger(args[++i], out var db))
                    RespReply.Error(output, "value is not an integer or out of range");
                else if (db != 0) RespReply.Error(output, "DB index is out of range");
                else continue;
                return;
            }
            else
            {
                RespReply.Error(output, "syntax error");
                return;
            }
        }
        if (RequestParser.KeyProblem(args[2]) is { } problem)
        {
            RespReply.Error(output, problem);
            return;
        }
        if (args[1].SequenceEqual(args[2]))
        {
            RespReply.Error(output, "source and destination objects are the same");
            return;
        }
        switch (session.Store.Copy(args[1], args[2], replace))
        {
            case RenameResult.OutOfMemory: RespReply.Error(output, RespCommands.OutOfMemory, prefix: "OOM"); break;
            case RenameResult.Renamed: RespReply.Integer(output, 1); break;
            default: RespReply.Integer(output, 0); break;
        }
    }

    /// <summary>
    /// GETRANGE key start end: the bytes from start to end, both included, negative counting from the end.
    /// </summary>
    public static void GetRange(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!RequestParser.TryParseInteger(args[2], out var start) || !RequestParser.TryParseInteger(args[3],
            out var end))
        {
            RespReply.Error(output, "value is not an integer or out of range");
            return;
        }
        var range = (Start: start, End: end);
        if (!session.Store.TryRead(args[1], (output, range), static (value, state) =>
        {
            // Redis's rules (t_string.c): both from the end and crossed is empty; then each clamped into the value.
            var (from, to) = state.range;
            if (from < 0 && to < 0 && from > to)
            {
                RespReply.Bulk(state.output, ReadOnlySpan<byte>.Empty);
                return;
            }
            if (from < 0) from = Math.Max(0, value.Length + from);
            if (to < 0) to = Math.Max(0, value.Length + to);
            to = Math.Min(to, value.Length - 1);
            if (from > to || value.Length == 0) RespReply.Bulk(state.output, ReadOnlySpan<byte>.Empty);
            else RespReply.Bulk(state.output, value[(int)from..(int)(to + 1)]);
        }))
            RespReply.Bulk(output, ReadOnlySpan<byte>.Empty);
    }

    private static void BulkOrNull(RespSession session, IBufferWriter<byte> output, byte[]? value)
    {
        if (value is null) RespReply.Null(output, session.Protocol);
        else RespReply.Bulk(output, value);
    }

    /// <summary>DEL and UNLINK key [key ...]: how many existed, all removed in one step.</summary>
    public static void Delete(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        RespReply.Integer(output, CountInOneStep(session.Store, args, static (store, key) => store.Delete(key)));

    /// <summary>EXISTS key [key ...]: how many exist, counted in one step.</summary>
    public static void Exists(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        RespReply.Integer(output, CountInOneStep(session.Store, args, static (store, key) => store.Contains(key)));

    private delegate bool KeyStep(KeyValueStore store, ReadOnlySpan<byte> key);

    /// <summary>How many of the keys `step` says yes to, all taken in one step of the store.</summary>
    private static int CountInOneStep(KeyValueStore store, RespArguments args, KeyStep step) =>
        store.Atomically((store, args, step), static request =>
        {
            var (store, args, step) = request;
            var counted = 0;
            for (var i = 1; i < args.Count; i++) if (step(store, args[i])) counted++;
            return counted;
        });
}
