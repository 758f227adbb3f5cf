// src/types/SortedSetValue.cs: feature: a sorted set, as the store holds it: each member's score in a dictionary,
// and the members in order (by score, then by their bytes) in a balanced tree, so that the lowest and highest and
// a range by score are found at once. A rank is counted by walking: the tree keeps no sizes. Not thread-safe: the
// store's lock is held around every use.

namespace KV;

public sealed class SortedSetValue : StoredObject
{
    /// <summary>What a member costs beyond its bytes: its array, the dictionary's entry and the tree's node.</summary>
    public const int MemberOverheadBytes = 96;

    /// <summary>Redis's order: by score, then by the members' bytes.</summary>
    public sealed class Order : IComparer<(double Score, byte[] Member)>
    {
        public static readonly Order Instance = new();

        public int Compare((double Score, byte[] Member) x, (double Score, byte[] Member) y)
        {
            var byScore = x.Score.CompareTo(y.Score);
            return byScore != 0 ? byScore : x.Member.AsSpan().SequenceCompareTo(y.Member);
        }
    }

    private readonly Dictionary<byte[], double> scores = new(KeyBytes.Comparer);
    private readonly SortedSet<(double Score, byte[] Member)> ordered = new(Order.Instance);
    private long bytes;

    public override string Encoding => "rbtree";
    public override string Kind => "zset";
    public override long Bytes => bytes + 64;
    public int Count => scores.Count;
    public SortedSet<(double Score, byte[] Member)> Ordered => ordered;

    public static long CostOf(int memberBytes) => memberBytes + MemberOverheadBytes;

    public double? Score(ReadOnlySpan<byte> member) =>
        scores.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(member, out var score) ? score : null;

    /// <summary>Sets the member's score; true when the member is new.</summary>
    public bool Set(ReadOnlySpan<byte> member, double score)
    {
        // A member already there keeps its array: only a new one is copied.
        if (scores.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(member, out var held, out var old))
        {
            if (old == score) return false;
            ordered.Remove((old, held));
            scores[held] = score;
            ordered.Add((score, held));
            return false;
        }
        var made = member.ToArray();
        scores[made] = score;
        ordered.Add((score, made));
        bytes += CostOf(made.Length);
        return true;
    }

    public bool Remove(ReadOnlySpan<byte> member)
    {
        if (!scores.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(member, out var key, out var score)) return false;
        ordered.Remove((score, key));
        bytes -= CostOf(key.Length);
        return true;
    }

    /// <summary>Takes the lowest (or highest) member away.</summary>
    public (byte[] Member, double Score) PopEnd(bool lowest)
    {
        var (score, member) = lowest ? ordered.Min : ordered.Max;
        Remove(member);
        return (member, score);
    }

    /// <summary>The member's place in the order from the lowest (or the highest), or null without it.</summary>
    public int? Rank(ReadOnlySpan<byte> member, bool fromHighest)
    {
        if (Score(member) is not { } score) return null;
        var key = scores.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(member, out var k, out _) ? k : null;
        var below = ordered.GetViewBetween(ordered.Min, (score, key!)).Count - 1;
        return fromHighest ? Count - 1 - below : below;
    }

    public override StoredObject Copy()
    {
        var copy = new SortedSetValue();
        foreach (var (member, score) in scores) copy.Set(member, score);
        return copy;
    }
}
