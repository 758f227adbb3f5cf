// src/types/SortedSetCommands.cs: feature: Redis 7.0's sorted set commands over RESP but the ranges
// (SortedSetRanges), each one step of the store (TypeCommands.Row): ZADD with NX, XX, GT, LT, CH and INCR, ZINCRBY,
// ZREM, ZSCORE, ZMSCORE, ZCARD, ZRANK, ZREVRANK, ZPOPMIN, ZPOPMAX, ZRANDMEMBER, ZSCAN, and ZUNION, ZINTER, ZDIFF
// with their STORE forms. A sorted set left empty is removed, as Redis removes it.

using System.Buffers;

namespace KV;

public static class SortedSetCommands
{
    public static RespCommand[] Rows =>
    [
        TypeCommands.Row("zadd", -4, "ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]: how many "
            + "were added", Add, writes: true),
        TypeCommands.Row("zincrby", 4, "ZINCRBY key increment member: the member's new score", Add, writes: true),
        TypeCommands.Row("zrem", -3, "ZREM key member [member ...]: how many were removed", Remove, writes: true),
        TypeCommands.Row("zscore", 3, "ZSCORE key member: the score, or nil", (session, args, output) =>
            Score(output, session.Store.Find<SortedSetValue>(args[1])?.Score(args[2]), session.Protocol)),
        TypeCommands.Row("zmscore", -3, "ZMSCORE key member [member ...]: each score, or nil", MultiScore),
        TypeCommands.Row("zcard", 2, "how many members the sorted set has", (session, args, output) =>
            RespReply.Integer(output, session.Store.Find<SortedSetValue>(args[1])?.Count ?? 0)),
        TypeCommands.Row("zrank", 3, "ZRANK key member: its place from the lowest score, or nil", Rank),
        TypeCommands.Row("zrevrank", 3, "ZREVRANK key member: its place from the highest score, or nil", Rank),
        TypeCommands.Row("zpopmin", -2, "ZPOPMIN key [count]: take the lowest", Pop, writes: true),
        TypeCommands.Row("zpopmax", -2, "ZPOPMAX key [count]: take the highest", Pop, writes: true),
        TypeCommands.Row("zmpop", -4, "ZMPOP numkeys key [key ...] MIN|MAX [COUNT n]: pop from the first sorted set "
            + "with members", MultiPop, writes: true),
        TypeCommands.Row("zintercard", -3, "ZINTERCARD numkeys key [key ...] [LIMIT n]: the size of ZINTER",
            InterCard),
        TypeCommands.Row("zrandmember", -2, "ZRANDMEMBER key [count [WITHSCORES]]: members at random", RandomMembers),
        TypeCommands.Row("zscan", -3, "ZSCAN key cursor [MATCH pattern] [COUNT n]: members and scores, in slices",
            (session, args, output) => TypeCommands.Scan(session, args, output,
                session.Store.Find<SortedSetValue>(args[1])?.Ordered.SelectMany(e => new[]
                    { e.Member, System.Text.Encoding.ASCII.GetBytes(TypeCommands.Format(e.Score)) }), pairs: true)),
        TypeCommands.Row("zunion", -3, "ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] "
            + "[WITHSCORES]", Combine),
        TypeCommands.Row("zinter", -3, "ZINTER numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] [WITHSCORES]",
            Combine),
        TypeCommands.Row("zdiff", -3, "ZDIFF numkeys key [key ...] [WITHSCORES]", Combine),
        TypeCommands.Row("zunionstore", -4, "ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] "
            + "[AGGREGATE ...]: its size", Combine, writes: true),
        TypeCommands.Row("zinterstore", -4, "ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] "
            + "[AGGREGATE ...]: its size", Combine, writes: true),
        TypeCommands.Row("zdiffstore", -4, "ZDIFFSTORE destination numkeys key [key ...]: its size", Combine,
            writes: true),
    ];

    private static void Score(IBufferWriter<byte> output, double? score, int protocol)
    {
        if (score is { } value) TypeCommands.Score(output, value, protocol);
        else RespReply.Null(output, protocol);
    }

    private static void Add(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = args.Is(0, "zincrby"u8);
        var at = 2;
        for (var options = !incr; options && at < args.Count; at++)
        {
            if (args.Is(at, "nx"u8)) nx = true;
            else if (args.Is(at, "xx"u8)) xx = true;
            else if (args.Is(at, "gt"u8)) gt = true;
            else if (args.Is(at, "lt"u8)) lt = true;
            else if (args.Is(at, "ch"u8)) ch = true;
            else if (args.Is(at, "incr"u8)) incr = true;
            else break;
        }
        var pairs = args.Count - at;
        if (pairs <= 0 || pairs % 2 != 0)
        {
            RespReply.Error(output, TypeCommands.Syntax);
            return;
        }
        if (nx && xx)
        {
            RespReply.Error(output, "XX and NX options at the same time are not compatible");
            return;
        }
        if ((gt && lt) || (nx && (gt || lt)))
        {
            RespReply.Error(output, "GT, LT, and/or NX options at the same time are not compatible");
            return;
        }
        if (incr && pairs > 2)
        {
            RespReply.Error(output, "INCR option supports a single increment-element pair");
            return;
        }
        var scores = new double[pairs / 2];
        var more = 0L;
        for (var i = 0; i < scores.Length; i++)
        {
            if (!TypeCommands.Double(args, at + 2 * i, output, out scores[i])) return;
            more += SortedSetValue.CostOf(args[at + 2 * i + 1].Length);
        }
        var store = session.Store;
        var set = store.Find<SortedSetValue>(args[1]);
        if (set is null && xx)
        {
            if (incr) RespReply.Null(output, session.Protocol);
            else RespReply.Integer(output, 0);
            return;
        }
        if (!TypeCommands.Fits(store, more, output)) return;
        set ??= TypeCommands.FindOrAdd<SortedSetValue>(store, args[1], output);
        if (set is null) return;
        store.Find<SortedSetValue>(args[1], forChange: true);
        long added = 0, changed = 0;
        double? result = null;
        for (var i = 0; i < scores.Length; i++)
        {
            var member = args[at + 2 * i + 1];
            var old = set.Score(member);
            var score = incr ? (old ?? 0) + scores[i] : scores[i];
            if (double.IsNaN(score))
            {
                RespReply.Error(output, "resulting score is not a number (NaN)");
                TypeCommands.Changed(store, args[1], set, set.Count == 0, happened: null);
                return;
            }
            if ((nx && old is not null) || (xx && old is null) || (old is { } o && ((gt && score <= o)
                || (lt && score >= o)))) continue;
            result = score;
            if (old is null) added++;
            else if (old != score) changed++;
            set.Set(member, score);
        }
        TypeCommands.Changed(store, args[1], set, set.Count == 0,
            added + changed == 0 ? null : incr ? "zincr" : "zadd");
        if (incr) Score(output, result, session.Protocol);
        else RespReply.Integer(output, ch ? added + changed : added);
    }

    private static void Remove(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var store = session.Store;
        var removed = 0;
        if (store.Find<SortedSetValue>(args[1]) is { } set)
        {
            for (var i = 2; i < args.Count; i++)
                if (set.Score(args[i]) is not null && (removed > 0
                    || store.Find<SortedSetValue>(args[1], forChange: true) is not null) && set.Remove(args[i]))
                    removed++;
            if (removed > 0) TypeCommands.Changed(store, args[1], set, set.Count == 0, "zrem");
        }
        RespReply.Integer(output, removed);
    }

    private static void MultiScore(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var set = session.Store.Find<SortedSetValue>(args[1]);
        RespReply.ArrayHeader(output, args.Count - 2);
        for (var i = 2; i < args.Count; i++) Score(output, set?.Score(args[i]), session.Protocol);
    }

    private static void Rank(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var rank = session.Store.Find<SortedSetValue>(args[1])?.Rank(args[2], fromHighest: args.Is(0, "zrevrank"u8));
        if (rank is { } place) RespReply.Integer(output, place);
        else RespReply.Null(output, session.Protocol);
    }

    private static void Pop(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!TypeCommands.PopCount(args, output, out var count)) return;
        var store = session.Store;
        var set = store.Find<SortedSetValue>(args[1], forChange: true);
        var taken = new List<(double Score, byte[] Member)>();
        var lowest = args.Is(0, "zpopmin"u8);
        while (set is { Count: > 0 } && taken.Count < count)
        {
            var (member, score) = set.PopEnd(lowest);
            taken.Add((score, member));
        }
        var happened = taken.Count == 0 ? null : lowest ? "zpopmin" : "zpopmax";
        if (set is not null) TypeCommands.Changed(store, args[1], set, set.Count == 0, happened);
        // Without a count, RESP3 has one flat pair, as RESP2 has, with a double for the score.
        SortedSetRanges.WriteMembers(output, taken, withScores: true, session.Protocol, flat: args.Count == 2);
    }

    /// <summary>ZMPOP's and BZMPOP's arguments from `at` (numkeys): the keys, MIN or MAX, the count.</summary>
    public static (byte[][] Keys, bool Lowest, long Count)? ReadMultiPop(RespArguments args, int at,
        IBufferWriter<byte> output) => TypeCommands.ReadMultiPop(args, at, output, "min"u8, "max"u8);

    private static void MultiPop(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (ReadMultiPop(args, 1, output) is not var (keys, lowest, count)) return;
        if (!PopFirst(session.Store, keys, lowest, count, session.Protocol, output))
            RespReply.NullArray(output, session.Protocol);
    }

    /// <summary>
    /// ZMPOP's step, also BZMPOP's when it is served: up to `count` members of the first key that holds a sorted set,
    /// as [key, [[member, score] ...]]; false (nothing written) when none does.
    /// </summary>
    public static bool PopFirst(KeyValueStore store, IReadOnlyList<byte[]> keys, bool lowest, long count,
        int protocol, IBufferWriter<byte> output)
    {
        foreach (var key in keys)
        {
            if (store.Find<SortedSetValue>(key, forChange: true) is not { } set) continue;
            var taken = new List<(double Score, byte[] Member)>();
            while (set.Count > 0 && taken.Count < count)
            {
                var (member, score) = set.PopEnd(lowest);
                taken.Add((score, member));
            }
            TypeCommands.Changed(store, key, set, set.Count == 0, lowest ? "zpopmin" : "zpopmax");
            RespReply.ArrayHeader(output, 2);
            RespReply.Bulk(output, key);
            RespReply.ArrayHeader(output, taken.Count);
            foreach (var (score, member) in taken)
            {
                RespReply.ArrayHeader(output, 2);
                RespReply.Bulk(output, member);
                TypeCommands.Score(output, score, protocol);
            }
            return true;
        }
        return false;
    }

    private static void InterCard(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (TypeCommands.ReadInterCard(args, output, "at least 1 input key is needed for 'zintercard' command")
            is not var (end, limit)) return;
        var keys = Enumerable.Range(2, end - 2).Select(i => args[i].ToArray()).ToList();
        var count = Of(session.Store, keys, [.. keys.Select(_ => 1d)], "sum", 'i').Count;
        RespReply.Integer(output, limit > 0 ? Math.Min(count, limit) : count);
    }

    private static void RandomMembers(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var set = session.Store.Find<SortedSetValue>(args[1]);
        if (args.Count == 2)
        {
            if (set is null) RespReply.Null(output, session.Protocol);
            else RespReply.Bulk(output, set.At(Random.Shared.Next(set.Count)).Member.Span);
            return;
        }
        var withScores = args.Count == 4 && args.Is(3, "withscores"u8);
        if (args.Count > 4 || (args.Count == 4 && !withScores))
        {
            RespReply.Error(output, TypeCommands.Syntax);
            return;
        }
        if (!TypeCommands.Integer(args, 2, output, out var count)) return;
        if (TypeCommands.Pick<(double Score, ReadOnlyMemory<byte> Member)>(set is null ? [] : [.. set.Walk(0, false)],
            count) is not { } picked)
        {
            RespReply.Error(output, TypeCommands.MustBePositive);
            return;
        }
        SortedSetRanges.WriteMembers(output, picked, withScores, session.Protocol);
    }

    private static void Combine(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var name = args.Text(0).ToLowerInvariant();
        var storing = name.EndsWith("store", StringComparison.Ordinal);
        var operation = name[1];
        var at = storing ? 2 : 1;
        if (!TypeCommands.Integer(args, at, output, out var numKeys)) return;
        if (numKeys <= 0 || numKeys > args.Count - at - 1)
        {
            RespReply.Error(output, numKeys <= 0 ? $"at least 1 input key is needed for '{name}' command"
                : TypeCommands.Syntax);
            return;
        }
        var keys = Enumerable.Range(at + 1, (int)numKeys).Select(i => args[i].ToArray()).ToList();
        var weights = Enumerable.Repeat(1d, keys.Count).ToArray();
        var aggregate = "sum";
        var withScores = false;
        for (var i = at + 1 + (int)numKeys; i < args.Count; i++)
        {
            if (operation != 'd' && args.Is(i, "weights"u8) && i + keys.Count < args.Count)
            {
                for (var w = 0; w < keys.Count; w++)
                    if (!TypeCommands.TryDouble(args[i + 1 + w], out weights[w]))
                    {
                        RespReply.Error(output, "weight value is not a float");
                        return;
                    }
                i += keys.Count;
            }
            else if (operation != 'd' && args.Is(i, "aggregate"u8) && i + 1 < args.Count
                && (args.Is(i + 1, "sum"u8) || args.Is(i + 1, "min"u8) || args.Is(i + 1, "max"u8)))
                aggregate = args.Text(++i).ToLowerInvariant();
            else if (!storing && args.Is(i, "withscores"u8)) withScores = true;
            else
            {
                RespReply.Error(output, TypeCommands.Syntax);
                return;
            }
        }
        var result = Of(session.Store, keys, weights, aggregate, operation);
        if (!storing)
        {
            var ordered = result.Select(p => (p.Value, p.Key)).ToList();
            ordered.Sort(SortedSetValue.Order.Instance);
            SortedSetRanges.WriteMembers(output, ordered, withScores, session.Protocol);
            return;
        }
        var made = new SortedSetValue();
        foreach (var (member, score) in result) made.Set(member, score);
        if (SetCommands.StoreResult(session.Store, args[1], made, made.Count == 0, output, name))
            RespReply.Integer(output, made.Count);
    }

    /// <summary>The members and scores of each source (a set's members score 1), weighted and combined.</summary>
    private static Dictionary<byte[], double> Of(KeyValueStore store, List<byte[]> keys, double[] weights,
        string aggregate, char operation)
    {
        var sources = keys.Select(key => store.KindOf(key) == "set"
            ? store.Find<SetValue>(key)!.Members.Select(m => (Member: m, Score: 1d)).ToList()
            : store.Find<SortedSetValue>(key)?.Ordered.Select(e => (e.Member, e.Score)).ToList() ?? []).ToList();
        var result = new Dictionary<byte[], double>(KeyBytes.Comparer);
        foreach (var (member, score) in sources[0]) result[member] = Weighted(score, weights[0]);
        for (var s = 1; s < sources.Count; s++)
        {
            var source = sources[s].ToDictionary(e => e.Member, e => Weighted(e.Score, weights[s]), KeyBytes.Comparer);
            if (operation == 'd') foreach (var member in source.Keys) result.Remove(member);
            else if (operation == 'i')
            {
                foreach (var member in result.Keys.ToList())
                    if (source.TryGetValue(member, out var score))
                        result[member] = Join(result[member], score, aggregate);
                    else result.Remove(member);
            }
            else
                foreach (var (member, score) in source)
                    result[member] = result.TryGetValue(member, out var had) ? Join(had, score, aggregate) : score;
        }
        return result;
    }

    /// <summary>A weighted score; 0 times infinity is 0, as Redis makes it.</summary>
    private static double Weighted(double score, double weight) => score * weight is var w && double.IsNaN(w) ? 0 : w;

    private static double Join(double a, double b, string aggregate) => aggregate switch
    {
        "min" => Math.Min(a, b),
        "max" => Math.Max(a, b),
        _ => a + b is var sum && double.IsNaN(sum) ? 0 : sum,
    };
}
