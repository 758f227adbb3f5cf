// src/types/ListCommands.cs: feature: Redis 7.0's list commands over RESP, each one step of the store
// (TypeCommands.Row): LPUSH, RPUSH and their X forms, LPOP and RPOP with a count, LLEN, LRANGE, LINDEX, LSET,
// LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP. A list left empty is removed, as Redis removes it; a push
// onto a key that clients wait on wakes them when the step ends (BlockingPops).

using System.Buffers;

namespace KV;

public static class ListCommands
{
    public static RespCommand[] Rows =>
    [
        TypeCommands.Row("lpush", -3, "LPUSH key element [element ...]: add to the head; the new length", Push,
            writes: true),
        TypeCommands.Row("rpush", -3, "RPUSH key element [element ...]: add to the tail; the new length", Push,
            writes: true),
        TypeCommands.Row("lpushx", -3, "LPUSH only onto a list that exists: the new length, 0 without one", Push,
            writes: true),
        TypeCommands.Row("rpushx", -3, "RPUSH only onto a list that exists: the new length, 0 without one", Push,
            writes: true),
        TypeCommands.Row("lpop", -2, "LPOP key [count]: take from the head; nil when there is none", Pop,
            writes: true),
        TypeCommands.Row("rpop", -2, "RPOP key [count]: take from the tail; nil when there is none", Pop,
            writes: true),
        TypeCommands.Row("llen", 2, "the list's length, 0 without the key", Length),
        TypeCommands.Row("lrange", 4, "LRANGE key start stop: the elements from one index to another (negative: "
            + "from the end)",
            Range),
        TypeCommands.Row("lindex", 3, "LINDEX key index: the element there, or nil", Index),
        TypeCommands.Row("lset", 4, "LSET key index element: replace the element there", SetAt, writes: true),
        TypeCommands.Row("linsert", 5, "LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot",
            Insert, writes: true),
        TypeCommands.Row("lrem", 4, "LREM key count element: remove that many equal to it (0: all; negative: from the "
            + "tail)", Remove, writes: true),
        TypeCommands.Row("ltrim", 4, "LTRIM key start stop: keep only that range", Trim, writes: true),
        TypeCommands.Row("lpos", -3, "LPOS key element [RANK r] [COUNT n] [MAXLEN m]: where the element is", Position),
        TypeCommands.Row("lmove", 5, "LMOVE source destination LEFT|RIGHT LEFT|RIGHT: pop from one, push onto the "
            + "other", Move, writes: true),
        TypeCommands.Row("rpoplpush", 3, "RPOPLPUSH source destination: LMOVE ... RIGHT LEFT", Move, writes: true),
        TypeCommands.Row("lmpop", -4, "LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT n]: pop from the first list that "
            + "has elements", MultiPop, writes: true),
    ];

    private static void Push(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var store = session.Store;
        var left = args[0][0] is (byte)'l' or (byte)'L';
        var onlyIfExists = args[0].Length == 6;
        var more = 0L;
        for (var i = 2; i < args.Count; i++) more += ListValue.CostOf(args[i].Length);
        if (!TypeCommands.Fits(store, more, output)) return;
        var list = onlyIfExists ? store.Find<ListValue>(args[1], forChange: true)
            : TypeCommands.FindOrAdd<ListValue>(store, args[1], output);
        if (list is null)
        {
            if (onlyIfExists) RespReply.Integer(output, 0);
            return;
        }
        for (var i = 2; i < args.Count; i++) list.Push(args[i], left);
        TypeCommands.Changed(store, args[1], list, empty: false, left ? "lpush" : "rpush");
        RespReply.Integer(output, list.Count);
    }

    private static void Pop(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Count > 3)
        {
            RespCommands.WrongArity(output, args.Text(0).ToLowerInvariant());
            return;
        }
        if (!TypeCommands.PopCount(args, output, out var count)) return;
        var store = session.Store;
        if (store.Find<ListValue>(args[1], forChange: true) is not { } list)
        {
            if (args.Count == 3) RespReply.NullArray(output, session.Protocol);
            else RespReply.Null(output, session.Protocol);
            return;
        }
        var left = args[0][0] is (byte)'l' or (byte)'L';
        if (args.Count == 2) RespReply.Bulk(output, list.Pop(left));
        else
        {
            var taken = (int)Math.Min(count, list.Count);
            RespReply.ArrayHeader(output, taken);
            for (var i = 0; i < taken; i++) RespReply.Bulk(output, list.Pop(left));
        }
        TypeCommands.Changed(store, args[1], list, list.Count == 0, left ? "lpop" : "rpop");
    }

    /// <summary>
    /// Takes one element from an end of the list at `key`, in the caller's step: KV's `lpop` and `blpop`, and a
    /// BLPOP served; null when there is none.
    /// </summary>
    public static byte[]? TakeOne(KeyValueStore store, ReadOnlySpan<byte> key, bool left)
    {
        if (store.Find<ListValue>(key, forChange: true) is not { } list) return null;
        var element = list.Pop(left);
        TypeCommands.Changed(store, key, list, list.Count == 0, left ? "lpop" : "rpop");
        return element;
    }

    private static void Length(RespSession session, RespArguments args, IBufferWriter<byte> output) =>
        RespReply.Integer(output, session.Store.Find<ListValue>(args[1])?.Count ?? 0);

    private static void Range(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TypeCommands.Integer(args, 2, output, out var start)
            || !TypeCommands.Integer(args, 3, output, out var stop)) return;
        var list = session.Store.Find<ListValue>(args[1]);
        if (list is null || !TypeCommands.Clamp(start, stop, list.Count, out var from, out var to))
        {
            RespReply.EmptyArray(output);
            return;
        }
        RespReply.ArrayHeader(output, to - from + 1);
        foreach (var element in list.Slice(from, to))
        {
            if (OutputBuffer.Cut(output)) return;
            RespReply.Bulk(output, element);
        }
    }

    /// <summary>An index as LINDEX and LSET read it: negative from the end; false when outside the list.</summary>
    private static bool Within(long index, int count, out int at)
    {
        if (index < 0) index += count;
        at = (int)Math.Clamp(index, -1, int.MaxValue);
        return index >= 0 && index < count;
    }

    private static void Index(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TypeCommands.Integer(args, 2, output, out var index)) return;
        if (session.Store.Find<ListValue>(args[1]) is { } list && Within(index, list.Count, out var at))
            RespReply.Bulk(output, list[at]);
        else RespReply.Null(output, session.Protocol);
    }

    private static void SetAt(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TypeCommands.Integer(args, 2, output, out var index)) return;
        var store = session.Store;
        if (store.Find<ListValue>(args[1]) is not { } list) RespReply.Error(output, "no such key");
        else if (!Within(index, list.Count, out var at)) RespReply.Error(output, "index out of range");
        else if (TypeCommands.Fits(store, args[3].Length - list[at].Length, output))
        {
            store.Find<ListValue>(args[1], forChange: true);
            list[at] = args[3].ToArray();
            TypeCommands.Changed(store, args[1], list, empty: false, "lset");
            RespReply.Ok(output);
        }
    }

    private static void Insert(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var before = args.Is(2, "before"u8);
        if (!before && !args.Is(2, "after"u8))
        {
            RespReply.Error(output, TypeCommands.Syntax);
            return;
        }
        var store = session.Store;
        if (store.Find<ListValue>(args[1]) is not { } list)
        {
            RespReply.Integer(output, 0);
            return;
        }
        var pivot = args[3].ToArray();
        var at = IndexesOf(list.Slice(0, list.Count - 1), pivot, 1).FirstOrDefault(-1);
        if (at < 0) RespReply.Integer(output, -1);
        else if (TypeCommands.Fits(store, ListValue.CostOf(args[4].Length), output))
        {
            store.Find<ListValue>(args[1], forChange: true);
            list.Insert(before ? at : at + 1, args[4].ToArray());
            TypeCommands.Changed(store, args[1], list, empty: false, "linsert");
            RespReply.Integer(output, list.Count);
        }
    }

    private static void Remove(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TypeCommands.Integer(args, 2, output, out var count)) return;
        var store = session.Store;
        if (store.Find<ListValue>(args[1]) is not { } list)
        {
            RespReply.Integer(output, 0);
            return;
        }
        var element = args[3];
        var fromTail = count < 0;
        var limit = count == 0 ? long.MaxValue : Math.Abs(count);
        var wanted = element.ToArray();
        var matches = (fromTail ? IndexesOf(list.Backward(), wanted, limit).Select(n => list.Count - 1 - n)
            : IndexesOf(list.Slice(0, list.Count - 1), wanted, limit)).ToList();
        if (matches.Count > 0)
        {
            store.Find<ListValue>(args[1], forChange: true);
            // From the highest index down, so that each removal leaves the others' indexes as they were.
            matches.Sort();
            for (var m = matches.Count - 1; m >= 0; m--) list.RemoveAt(matches[m]);
            TypeCommands.Changed(store, args[1], list, list.Count == 0, "lrem");
        }
        RespReply.Integer(output, matches.Count);
    }

    private static void Trim(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TypeCommands.Integer(args, 2, output, out var start)
            || !TypeCommands.Integer(args, 3, output, out var stop)) return;
        var store = session.Store;
        if (store.Find<ListValue>(args[1], forChange: true) is { } list)
        {
            if (TypeCommands.Clamp(start, stop, list.Count, out var from, out var to)) list.Keep(from, to);
            else list.Keep(0, -1);
            TypeCommands.Changed(store, args[1], list, list.Count == 0, "ltrim");
        }
        RespReply.Ok(output);
    }

    private static void Position(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        long rank = 1, count = -1, maxLength = 0;
        for (var i = 3; i < args.Count; i += 2)
        {
            if (i + 1 >= args.Count)
            {
                RespReply.Error(output, TypeCommands.Syntax);
                return;
            }
            if (args.Is(i, "rank"u8))
            {
                if (!TypeCommands.Integer(args, i + 1, output, out rank)) return;
                if (rank == 0 || rank == long.MinValue)
                {
                    RespReply.Error(output, "RANK can't be zero: use 1 to start from the first match, 2 from the "
                        + "second ... or use negative to start from the end of the list");
                    return;
                }
            }
            else if (args.Is(i, "count"u8))
            {
                if (!TypeCommands.Integer(args, i + 1, output, out count)) return;
                if (count < 0)
                {
                    RespReply.Error(output, "COUNT can't be negative");
                    return;
                }
            }
            else if (args.Is(i, "maxlen"u8))
            {
                if (!TypeCommands.Integer(args, i + 1, output, out maxLength)) return;
                if (maxLength < 0)
                {
                    RespReply.Error(output, "MAXLEN can't be negative");
                    return;
                }
            }
            else
            {
                RespReply.Error(output, TypeCommands.Syntax);
                return;
            }
        }
        var list = session.Store.Find<ListValue>(args[1]);
        var wanted = count == 0 ? long.MaxValue : Math.Max(count, 1);
        var skip = Math.Abs(rank) - 1;
        var element = args[2].ToArray();
        var walk = list is null ? [] : rank > 0 ? list.Slice(0, list.Count - 1) : list.Backward();
        var found = IndexesOf(maxLength == 0 ? walk : walk.Take((int)Math.Min(maxLength, int.MaxValue)), element,
                long.MaxValue)
            .Skip((int)Math.Min(skip, int.MaxValue)).Take((int)Math.Min(wanted, int.MaxValue))
            .Select(n => (long)(rank > 0 ? n : list!.Count - 1 - n)).ToList();
        if (count < 0)
        {
            if (found.Count > 0) RespReply.Integer(output, found[0]);
            else RespReply.Null(output, session.Protocol);
            return;
        }
        RespReply.ArrayHeader(output, found.Count);
        foreach (var at in found) RespReply.Integer(output, at);
    }

    /// <summary>Where `element` is in a walk of the list (counted from the walk's start), the first `limit` times.
    /// </summary>
    private static IEnumerable<int> IndexesOf(IEnumerable<byte[]> walk, byte[] element, long limit)
    {
        var n = 0;
        var seen = 0L;
        foreach (var item in walk)
        {
            if (seen >= limit) yield break;
            if (item.AsSpan().SequenceEqual(element))
            {
                seen++;
                yield return n;
            }
            n++;
        }
    }

    /// <summary>LEFT or RIGHT: true for LEFT; null (and a syntax error written) for anything else.</summary>
    public static bool? Side(RespArguments args, int index, IBufferWriter<byte> output)
    {
        if (args.Is(index, "left"u8)) return true;
        if (args.Is(index, "right"u8)) return false;
        RespReply.Error(output, TypeCommands.Syntax);
        return null;
    }

    private static void Move(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        bool fromLeft = false, toLeft = true;
        if (args.Count == 5 && (Side(args, 3, output) is not { } from || Side(args, 4, output) is not { } to)) return;
        if (args.Count == 5) (fromLeft, toLeft) = (args.Is(3, "left"u8), args.Is(4, "left"u8));
        var moved = MoveOne(session.Store, args[1], args[2], fromLeft, toLeft, out var error);
        if (error is not null) TypeCommands.Refuse(output, error);
        else if (moved is not null) RespReply.Bulk(output, moved);
        else RespReply.Null(output, session.Protocol);
    }

    /// <summary>
    /// LMOVE's step, also BLMOVE's when it is served: the element moved, or null when the source has none, or
    /// `error` says why nothing moved. A destination of another kind throws (WRONGTYPE) before anything moves.
    /// </summary>
    public static byte[]? MoveOne(KeyValueStore store, ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination,
        bool fromLeft, bool toLeft, out string? error)
    {
        error = null;
        if (store.Find<ListValue>(source) is not { } list) return null;
        var element = list[fromLeft ? 0 : list.Count - 1];
        if (store.Find<ListValue>(destination) is null)
        {
            error = RequestParser.KeyProblem(destination);
            var cost = KeyValueStore.PairCost(destination.Length, sizeof(int), withDeadline: false)
                + new ListValue().Bytes + ListValue.CostOf(element.Length);
            if (error is null && !store.Fits(cost)) error = "OOM " + RespCommands.OutOfMemory;
            if (error is not null) return null;
        }
        store.Find<ListValue>(source, forChange: true);
        list.Pop(fromLeft);
        // The push first, as Redis announces it; a source that is the destination is not left empty by it.
        if (store.Find<ListValue>(destination, forChange: true) is not { } target)
            store.Add(destination, target = new ListValue());
        target.Push(element, toLeft);
        TypeCommands.Changed(store, destination, target, empty: false, toLeft ? "lpush" : "rpush");
        TypeCommands.Changed(store, source, list, list.Count == 0, fromLeft ? "lpop" : "rpop");
        return element;
    }

    private static void MultiPop(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (BlockingPops.ReadMultiPop(args, 1, output) is not var (keys, left, count)) return;
        if (!PopFirst(session.Store, keys, left, count, session.Protocol, output))
            RespReply.NullArray(output, session.Protocol);
    }

    /// <summary>
    /// LMPOP's step: up to `count` elements of the first key that holds a list, as [key, [elements]]; false (nothing
    /// written) when none does.
    /// </summary>
    public static bool PopFirst(KeyValueStore store, IReadOnlyList<byte[]> keys, bool left, long count, int protocol,
        IBufferWriter<byte> output)
    {
        foreach (var key in keys)
        {
            if (store.Find<ListValue>(key, forChange: false) is not { } list) continue;
            store.Find<ListValue>(key, forChange: true);
            var taken = (int)Math.Min(count, list.Count);
            RespReply.ArrayHeader(output, 2);
            RespReply.Bulk(output, key);
            RespReply.ArrayHeader(output, taken);
            for (var i = 0; i < taken; i++) RespReply.Bulk(output, list.Pop(left));
            TypeCommands.Changed(store, key, list, list.Count == 0, left ? "lpop" : "rpop");
            return true;
        }
        return false;
    }
}
