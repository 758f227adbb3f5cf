// src/types/SortedSetRanges.cs: feature: the ranges of a sorted set, as ZRANGE and its older forms name them: by
// rank, by score (`(` for an open end, -inf and +inf), by member (`[a`, `(a`, `-`, `+`), either way round, with
// LIMIT; and the commands that read or remove a range: ZRANGE, ZRANGESTORE, ZRANGEBYSCORE, ZREVRANGE,
// ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZCOUNT, ZLEXCOUNT, ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX.

using System.Buffers;

namespace KV;

public enum RangeBy { Rank, Score, Lex }

/// <summary>One end of a range by score or by member.</summary>
public readonly record struct RangeEnd(double Score, byte[]? Member, bool Open, int Infinite)
{
    /// <summary>Whether a member is past this end as a lower bound (false: it is below or outside).</summary>
    public bool Below(double score, ReadOnlySpan<byte> member, RangeBy by) => by == RangeBy.Score
        ? Open ? score > Score : score >= Score
        : Infinite < 0 || (Infinite == 0 && (Open ? member.SequenceCompareTo(Member) > 0
            : member.SequenceCompareTo(Member) >= 0));

    /// <summary>Whether a member is within this end as an upper bound.</summary>
    public bool Above(double score, ReadOnlySpan<byte> member, RangeBy by) => by == RangeBy.Score
        ? Open ? score < Score : score <= Score
        : Infinite > 0 || (Infinite == 0 && (Open ? member.SequenceCompareTo(Member) < 0
            : member.SequenceCompareTo(Member) <= 0));
}

/// <summary>What a range command asked for.</summary>
public sealed record RangeQuery(RangeBy By, bool Reverse, long Start, long Stop, RangeEnd Min, RangeEnd Max,
    long Offset, long Limit)
{
    /// <summary>
    /// The members in the range, in the order asked for, as views of the set: valid until it next changes.
    /// </summary>
    public List<(double Score, ReadOnlyMemory<byte> Member)> Select(SortedSetValue? set)
    {
        var found = new List<(double, ReadOnlyMemory<byte>)>();
        if (set is null) return found;
        if (By == RangeBy.Rank)
        {
            if (!TypeCommands.Clamp(Start, Stop, set.Count, out var from, out var to)) return found;
            found.AddRange(set.Walk(from, Reverse).Take(to - from + 1));
            return found;
        }
        var skip = Offset;
        // By score, the walk starts at the near end's score; by member, at the set's end (all scores alike).
        var walk = By == RangeBy.Score ? set.WalkFromScore(Reverse ? Max.Score : Min.Score, Reverse)
            : set.Walk(0, Reverse);
        foreach (var (score, member) in walk)
        {
            var inside = Min.Below(score, member.Span, By) && Max.Above(score, member.Span, By);
            if (!inside)
            {
                // Past the far end in the walk's direction: nothing further can be in the range.
                if (Reverse ? !Min.Below(score, member.Span, By) : !Max.Above(score, member.Span, By)) break;
                continue;
            }
            if (skip-- > 0) continue;
            if (Limit >= 0 && found.Count >= Limit) break;
            found.Add((score, member));
        }
        return found;
    }
}

public static class SortedSetRanges
{
    public static RespCommand[] Rows =>
    [
        TypeCommands.Row("zrange", -4, "ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] "
            + "[WITHSCORES]: a range of members", Range),
        TypeCommands.Row("zrangestore", -5, "ZRANGESTORE destination key min max [BYSCORE|BYLEX] [REV] [LIMIT ...]: "
            + "ZRANGE stored; its size", Range, writes: true),
        TypeCommands.Row("zrangebyscore", -4, "ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]", Range),
        TypeCommands.Row("zrevrangebyscore", -4, "ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]",
            Range),
        TypeCommands.Row("zrevrange", -4, "ZREVRANGE key start stop [WITHSCORES]: by rank, highest first", Range),
        TypeCommands.Row("zrangebylex", -4, "ZRANGEBYLEX key min max [LIMIT offset count]: by member", Range),
        TypeCommands.Row("zrevrangebylex", -4, "ZREVRANGEBYLEX key max min [LIMIT offset count]", Range),
        TypeCommands.Row("zcount", 4, "ZCOUNT key min max: how many have a score in the range", Count),
        TypeCommands.Row("zlexcount", 4, "ZLEXCOUNT key min max: how many members are in the range", Count),
        TypeCommands.Row("zremrangebyrank", 4, "ZREMRANGEBYRANK key start stop: how many were removed", RemoveRange,
            writes: true),
        TypeCommands.Row("zremrangebyscore", 4, "ZREMRANGEBYSCORE key min max: how many were removed", RemoveRange,
            writes: true),
        TypeCommands.Row("zremrangebylex", 4, "ZREMRANGEBYLEX key min max: how many were removed", RemoveRange,
            writes: true),
    ];

    /// <summary>A score's end: `(` opens it; -inf and +inf; null when it is not a float.</summary>
    private static RangeEnd? ScoreEnd(ReadOnlySpan<byte> text)
    {
        var open = !text.IsEmpty && text[0] == '(';
        return TypeCommands.TryDouble(open ? text[1..] : text, out var score) ? new(score, null, open, 0) : null;
    }

    /// <summary>A member's end: `[` closed, `(` open, `-` and `+` the ends; null otherwise.</summary>
    private static RangeEnd? LexEnd(ReadOnlySpan<byte> text)
    {
        if (text.SequenceEqual("-"u8)) return new(0, null, false, -1);
        if (text.SequenceEqual("+"u8)) return new(0, null, false, 1);
        if (text.IsEmpty || (text[0] != '[' && text[0] != '(')) return null;
        return new(0, text[1..].ToArray(), text[0] == '(', 0);
    }

    /// <summary>Reads `min max` (or `max min` reversed) as `by` names them; false with Redis's error written.</summary>
    private static bool Ends(RespArguments args, int at, RangeBy by, bool reverse, IBufferWriter<byte> output,
        out RangeEnd min, out RangeEnd max)
    {
        var low = reverse ? args[at + 1] : args[at];
        var high = reverse ? args[at] : args[at + 1];
        min = max = default;
        if (by == RangeBy.Lex)
        {
            if (LexEnd(low) is not { } lexMin || LexEnd(high) is not { } lexMax)
            {
                RespReply.Error(output, "min or max not valid string range item");
                return false;
            }
            (min, max) = (lexMin, lexMax);
            return true;
        }
        if (ScoreEnd(low) is not { } scoreMin || ScoreEnd(high) is not { } scoreMax)
        {
            RespReply.Error(output, "min or max is not a float");
            return false;
        }
        (min, max) = (scoreMin, scoreMax);
        return true;
    }

    private static void Range(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var name = args.Text(0).ToLowerInvariant();
        var storing = name == "zrangestore";
        var keyAt = storing ? 2 : 1;
        var by = name.Contains("byscore") ? RangeBy.Score : name.Contains("bylex") ? RangeBy.Lex : RangeBy.Rank;
        var reverse = name.StartsWith("zrev", StringComparison.Ordinal);
        var modern = name is "zrange" or "zrangestore";
        bool withScores = false, limited = false;
        long offset = 0, limit = -1;
        for (var i = keyAt + 3; i < args.Count; i++)
        {
            if (modern && args.Is(i, "byscore"u8)) by = RangeBy.Score;
            else if (modern && args.Is(i, "bylex"u8)) by = RangeBy.Lex;
            else if (modern && args.Is(i, "rev"u8)) reverse = true;
            else if (!storing && args.Is(i, "withscores"u8) && (modern || by != RangeBy.Lex)) withScores = true;
            else if ((modern || by != RangeBy.Rank) && args.Is(i, "limit"u8) && i + 2 < args.Count)
            {
                if (!TypeCommands.Integer(args, i + 1, output, out offset)
                    || !TypeCommands.Integer(args, i + 2, output, out limit)) return;
                limited = true;
                i += 2;
            }
            else
            {
                RespReply.Error(output, TypeCommands.Syntax);
                return;
            }
        }
        if (limited && by == RangeBy.Rank)
        {
            RespReply.Error(output,
                "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
            return;
        }
        if (withScores && by == RangeBy.Lex)
        {
            RespReply.Error(output, "syntax error, WITHSCORES not supported in combination with BYLEX");
            return;
        }
        long start = 0, stop = 0;
        RangeEnd min = default, max = default;
        if (by == RangeBy.Rank)
        {
            if (!TypeCommands.Integer(args, keyAt + 1, output, out start)
                || !TypeCommands.Integer(args, keyAt + 2, output, out stop)) return;
        }
        else if (!Ends(args, keyAt + 1, by, reverse, output, out min, out max)) return;
        var query = new RangeQuery(by, reverse, start, stop, min, max, offset < 0 ? long.MaxValue : offset,
            limit < 0 ? -1 : limit);
        var found = query.Select(session.Store.Find<SortedSetValue>(args[keyAt]));
        if (storing)
        {
            var made = new SortedSetValue();
            foreach (var (score, member) in found) made.Set(member.Span, score);
            if (SetCommands.StoreResult(session.Store, args[1], made, made.Count == 0, output, "zrangestore"))
                RespReply.Integer(output, made.Count);
            return;
        }
        WriteMembers(output, found, withScores, session.Protocol);
    }

    /// <summary>Members, with their scores when asked: flat in RESP2, a pair each in RESP3.</summary>
    public static void WriteMembers(IBufferWriter<byte> output, List<(double Score, byte[] Member)> found,
        bool withScores, int protocol, bool flat = false) =>
        WriteMembers(output, [.. found.Select(f => (f.Score, (ReadOnlyMemory<byte>)f.Member))], withScores, protocol,
            flat);

    /// <summary>The same, for members as views of a set (a range's).</summary>
    public static void WriteMembers(IBufferWriter<byte> output, List<(double Score, ReadOnlyMemory<byte> Member)> found,
        bool withScores, int protocol, bool flat = false)
    {
        var pairs = withScores && protocol >= 3 && !flat;
        RespReply.ArrayHeader(output, found.Count * (withScores && !pairs ? 2 : 1));
        foreach (var (score, member) in found)
        {
            if (OutputBuffer.Cut(output)) return;
            if (pairs) RespReply.ArrayHeader(output, 2);
            RespReply.Bulk(output, member.Span);
            if (withScores) TypeCommands.Score(output, score, protocol);
        }
    }

    private static void Count(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var by = args.Is(0, "zlexcount"u8) ? RangeBy.Lex : RangeBy.Score;
        if (!Ends(args, 2, by, reverse: false, output, out var min, out var max)) return;
        var query = new RangeQuery(by, false, 0, 0, min, max, 0, -1);
        RespReply.Integer(output, query.Select(session.Store.Find<SortedSetValue>(args[1])).Count);
    }

    private static void RemoveRange(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var name = args.Text(0).ToLowerInvariant();
        var by = name.EndsWith("rank", StringComparison.Ordinal) ? RangeBy.Rank
            : name.EndsWith("score", StringComparison.Ordinal) ? RangeBy.Score : RangeBy.Lex;
        long start = 0, stop = 0;
        RangeEnd min = default, max = default;
        if (by == RangeBy.Rank)
        {
            if (!TypeCommands.Integer(args, 2, output, out start) || !TypeCommands.Integer(args, 3, output, out stop))
                return;
        }
        else if (!Ends(args, 2, by, reverse: false, output, out min, out max)) return;
        var store = session.Store;
        var set = store.Find<SortedSetValue>(args[1]);
        var found = new RangeQuery(by, false, start, stop, min, max, 0, -1).Select(set);
        if (set is not null && found.Count > 0)
        {
            store.Find<SortedSetValue>(args[1], forChange: true);
            // Copied first: each removal moves the bytes the views point at.
            foreach (var member in found.Select(f => f.Member.ToArray()).ToList()) set.Remove(member);
            TypeCommands.Changed(store, args[1], set, set.Count == 0, name);
        }
        RespReply.Integer(output, found.Count);
    }
}
