// src/types/HashCommands.cs: feature: Redis 7.0's hash commands over RESP, each one step of the store
// (TypeCommands.Row): HSET, HSETNX, HMSET, HGET, HMGET, HGETALL, HDEL, HEXISTS, HLEN, HKEYS, HVALS, HINCRBY,
// HINCRBYFLOAT, HSTRLEN, HRANDFIELD, HSCAN. A hash left empty is removed, as Redis removes it.

using System.Buffers;
using System.Globalization;
using System.Text;

namespace KV;

public static class HashCommands
{
    public static RespCommand[] Rows =>
    [
        TypeCommands.Row("hset", -4, "HSET key field value [field value ...]: how many fields are new", Set,
            writes: true),
        TypeCommands.Row("hmset", -4, "HMSET key field value [field value ...]: HSET, answered OK", Set, writes: true),
        TypeCommands.Row("hsetnx", 4, "HSETNX key field value: set only a new field; 1 if set, 0 if not", SetIfNew,
            writes: true),
        TypeCommands.Row("hget", 3, "HGET key field: the field's value, or nil", Get),
        TypeCommands.Row("hmget", -3, "HMGET key field [field ...]: the values, nil for a missing one", MultiGet),
        TypeCommands.Row("hgetall", 2, "every field and value (a map in RESP3)", GetAll),
        TypeCommands.Row("hkeys", 2, "every field", GetAll),
        TypeCommands.Row("hvals", 2, "every value", GetAll),
        TypeCommands.Row("hdel", -3, "HDEL key field [field ...]: how many were removed", Delete, writes: true),
        TypeCommands.Row("hexists", 3, "HEXISTS key field: 1 if the field exists, else 0", Exists),
        TypeCommands.Row("hlen", 2, "how many fields the hash has", Length),
        TypeCommands.Row("hstrlen", 3, "HSTRLEN key field: the length of the field's value", StrLen),
        TypeCommands.Row("hincrby", 4, "HINCRBY key field increment: add to the integer in the field", IncrBy,
            writes: true),
        TypeCommands.Row("hincrbyfloat", 4, "HINCRBYFLOAT key field increment: add to the number in the field",
            IncrByFloat, writes: true),
        TypeCommands.Row("hrandfield", -2, "HRANDFIELD key [count [WITHVALUES]]: fields at random", RandomFields),
        TypeCommands.Row("hscan", -3, "HSCAN key cursor [MATCH pattern] [COUNT n]: the fields, in slices",
            (session, args, output) => TypeCommands.Scan(session, args, output,
                session.Store.Find<HashValue>(args[1])?.Fields.SelectMany(p => new[] { p.Field.ToArray(),
                    p.Value.ToArray() }), pairs: true)),
    ];

    private static void Set(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Count % 2 != 0)
        {
            RespCommands.WrongArity(output, args.Text(0).ToLowerInvariant());
            return;
        }
        var store = session.Store;
        var more = 0L;
        for (var i = 2; i < args.Count; i += 2) more += HashValue.CostOf(args[i].Length, args[i + 1].Length);
        if (!TypeCommands.Fits(store, more, output)) return;
        if (TypeCommands.FindOrAdd<HashValue>(store, args[1], output) is not { } hash) return;
        var added = 0;
        for (var i = 2; i < args.Count; i += 2) if (hash.Set(args[i], args[i + 1])) added++;
        TypeCommands.Changed(store, args[1], hash, empty: false, "hset");
        if (args.Is(0, "hmset"u8)) RespReply.Ok(output);
        else RespReply.Integer(output, added);
    }

    private static void SetIfNew(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var store = session.Store;
        if (store.Find<HashValue>(args[1])?.Get(args[2]) is not null)
        {
            RespReply.Integer(output, 0);
            return;
        }
        if (!TypeCommands.Fits(store, HashValue.CostOf(args[2].Length, args[3].Length), output)) return;
        if (TypeCommands.FindOrAdd<HashValue>(store, args[1], output) is not { } hash) return;
        hash.Set(args[2], args[3]);
        TypeCommands.Changed(store, args[1], hash, empty: false, "hset");
        RespReply.Integer(output, 1);
    }

    private static void Get(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (session.Store.Find<HashValue>(args[1])?.Get(args[2]) is { } value) RespReply.Bulk(output, value.Span);
        else RespReply.Null(output, session.Protocol);
    }

    private static void MultiGet(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var hash = session.Store.Find<HashValue>(args[1]);
        RespReply.ArrayHeader(output, args.Count - 2);
        for (var i = 2; i < args.Count; i++)
            if (hash?.Get(args[i]) is { } value) RespReply.Bulk(output, value.Span);
            else RespReply.Null(output, session.Protocol);
    }

    private static void GetAll(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var hash = session.Store.Find<HashValue>(args[1]);
        var count = hash?.Count ?? 0;
        var keys = args.Is(0, "hkeys"u8);
        var values = args.Is(0, "hvals"u8);
        if (keys || values) RespReply.ArrayHeader(output, count);
        else RespReply.MapHeader(output, count, session.Protocol);
        if (hash is null) return;
        foreach (var (field, value) in hash.Fields)
        {
            if (OutputBuffer.Cut(output)) return;
            if (!values) RespReply.Bulk(output, field.Span);
            if (!keys) RespReply.Bulk(output, value.Span);
        }
    }

    private static void Delete(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var store = session.Store;
        var removed = 0;
        if (store.Find<HashValue>(args[1]) is { } hash)
        {
            for (var i = 2; i < args.Count; i++)
                if (hash.Get(args[i]) is not null && (removed > 0 || store.Find<HashValue>(args[1], forChange: true)
                    is not null) && hash.Remove(args[i])) removed++;
            if (removed > 0) TypeCommands.Changed(store, args[1], hash, hash.Count == 0, "hdel");
        }
        RespReply.Integer(output, removed);
    }

    private static void Exists(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        RespReply.Integer(output, session.Store.Find<HashValue>(args[1])?.Get(args[2]) is null ? 0 : 1);

    private static void Length(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        RespReply.Integer(output, session.Store.Find<HashValue>(args[1])?.Count ?? 0);

    private static void StrLen(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        RespReply.Integer(output, session.Store.Find<HashValue>(args[1])?.Get(args[2])?.Length ?? 0);

    private static void IncrBy(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TypeCommands.Integer(args, 3, output, out var delta)) return;
        var store = session.Store;
        var current = 0L;
        if (store.Find<HashValue>(args[1])?.Get(args[2]) is { } old
            && !RequestParser.TryParseInteger(old.Span, out current))
        {
            RespReply.Error(output, "hash value is not an integer");
            return;
        }
        if (delta > 0 ? current > long.MaxValue - delta : current < long.MinValue - delta)
        {
            RespReply.Error(output, "increment or decrement would overflow");
            return;
        }
        var result = current + delta;
        if (Store(session, args, Encoding.ASCII.GetBytes(result.ToString(CultureInfo.InvariantCulture)), output))
            RespReply.Integer(output, result);
    }

    private static void IncrByFloat(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TypeCommands.Double(args, 3, output, out var delta)) return;
        if (double.IsInfinity(delta))
        {
            RespReply.Error(output, "value is NaN or Infinity");
            return;
        }
        var store = session.Store;
        var current = 0d;
        if (store.Find<HashValue>(args[1])?.Get(args[2]) is { } old && !TypeCommands.TryDouble(old.Span, out current))
        {
            RespReply.Error(output, "hash value is not a float");
            return;
        }
        var result = current + delta;
        if (double.IsNaN(result) || double.IsInfinity(result))
        {
            RespReply.Error(output, "increment would produce NaN or Infinity");
            return;
        }
        var text = Encoding.ASCII.GetBytes(TypeCommands.FormatDecimal(result));
        if (Store(session, args, text, output)) RespReply.Bulk(output, text);
    }

    /// <summary>HINCRBY's and HINCRBYFLOAT's write: the field's new text; false (error written) past the budget.
    /// </summary>
    private static bool Store(RespSession session, RespArguments args, byte[] value, IBufferWriter<byte> output)
    {
        var store = session.Store;
        if (!TypeCommands.Fits(store, HashValue.CostOf(args[2].Length, value.Length), output)) return false;
        if (TypeCommands.FindOrAdd<HashValue>(store, args[1], output) is not { } hash) return false;
        hash.Set(args[2], value);
        TypeCommands.Changed(store, args[1], hash, empty: false, args.Text(0).ToLowerInvariant());
        return true;
    }

    private static void RandomFields(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var hash = session.Store.Find<HashValue>(args[1]);
        if (args.Count == 2)
        {
            if (hash is null) RespReply.Null(output, session.Protocol);
            else RespReply.Bulk(output, hash.Random().Field.Span);
            return;
        }
        var withValues = args.Count == 4 && args.Is(3, "withvalues"u8);
        if (args.Count > 4 || (args.Count == 4 && !withValues))
        {
            RespReply.Error(output, TypeCommands.Syntax);
            return;
        }
        if (!TypeCommands.Integer(args, 2, output, out var count)) return;
        var picked = TypeCommands.Pick(hash?.Fields.ToArray() ?? [], count);
        if (picked is null)
        {
            RespReply.Error(output, "value is out of range");
            return;
        }
        RespReply.ArrayHeader(output, picked.Count * (withValues && session.Protocol < 3 ? 2 : 1));
        foreach (var (field, value) in picked)
        {
            if (withValues && session.Protocol >= 3) RespReply.ArrayHeader(output, 2);
            RespReply.Bulk(output, field.Span);
            if (withValues) RespReply.Bulk(output, value.Span);
        }
    }
}
