// src/types/SortedSetValue.cs: feature: a sorted set, as the store holds it: each member's score in a PackedTable
// (member -> 8 bytes), found at once, and the members in order (by score, then by their bytes) in a
// SortedSetOrder, so that the lowest and highest, a rank and a range by score are found without walking the rest.
// Both pack their entries as bytes: a member costs its bytes twice (once in each) and a few dozen more, not three
// objects. Members are handed out as views, valid until the set next changes, or as copies. Not thread-safe: the
// store's lock is held around every use.

using System.Buffers.Binary;

namespace KV;

public sealed class SortedSetValue : StoredObject
{
    /// <summary>
    /// What a member costs beyond its bytes (held twice), at the most: its score twice, its lengths, the table's slot
    /// just grown, and its share of a block half full.
    /// </summary>
    public const int MemberOverheadBytes = 48;

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

    private PackedTable scores = new();
    private SortedSetOrder ordered = new();
    private long bytes;

    public override string Encoding => "blocks";
    public override string Kind => "zset";
    public override long Bytes => bytes + 64;
    public int Count => scores.Count;

    /// <summary>Every member and its score, lowest first, as copies.</summary>
    public IEnumerable<(double Score, byte[] Member)> Ordered =>
        ordered.Walk(0, reverse: false).Select(entry => (entry.Score, entry.Member.ToArray()));

    /// <summary>
    /// The members from a rank on, from the lowest (or the highest) that way, as views valid until the set changes.
    /// </summary>
    public IEnumerable<(double Score, ReadOnlyMemory<byte> Member)> Walk(int skip, bool reverse) =>
        ordered.Walk(skip, reverse);

    /// <summary>
    /// The members from the first with a score at least `score` up (or the last with at most `score` down), as views.
    /// </summary>
    public IEnumerable<(double Score, ReadOnlyMemory<byte> Member)> WalkFromScore(double score, bool reverse) =>
        ordered.WalkFromScore(score, reverse);

    public static long CostOf(int memberBytes) => 2 * memberBytes + MemberOverheadBytes;

    public double? Score(ReadOnlySpan<byte> member) =>
        scores.TryGet(member, out var entry) ? BinaryPrimitives.ReadDoubleLittleEndian(entry.Payload) : null;

    /// <summary>Sets the member's score; true when the member is new.</summary>
    public bool Set(ReadOnlySpan<byte> member, double score)
    {
        Span<byte> payload = stackalloc byte[sizeof(double)];
        BinaryPrimitives.WriteDoubleLittleEndian(payload, score);
        if (Score(member) is { } old)
        {
            if (old.Equals(score)) return false;
            ordered.Remove(old, member);
            scores.Set(member, payload);
            ordered.Insert(score, member);
            return false;
        }
        scores.Set(member, payload);
        ordered.Insert(score, member);
        bytes += CostOf(member.Length);
        return true;
    }

    public bool Remove(ReadOnlySpan<byte> member)
    {
        if (Score(member) is not { } score) return false;
        ordered.Remove(score, member);
        scores.Remove(member);
        bytes -= CostOf(member.Length);
        return true;
    }

    /// <summary>Takes the lowest (or highest) member away.</summary>
    public (byte[] Member, double Score) PopEnd(bool lowest)
    {
        var (score, view) = ordered.Walk(0, reverse: !lowest).First();
        var member = view.ToArray();
        Remove(member);
        return (member, score);
    }

    /// <summary>The member at a rank from the lowest, as a view.</summary>
    public (double Score, ReadOnlyMemory<byte> Member) At(int rank) => ordered.At(rank);

    /// <summary>The member's place in the order from the lowest (or the highest), or null without it.</summary>
    public int? Rank(ReadOnlySpan<byte> member, bool fromHighest)
    {
        if (Score(member) is not { } score) return null;
        var below = ordered.RankOf(score, member);
        return fromHighest ? Count - 1 - below : below;
    }

    public override StoredObject Copy()
    {
        var copy = new SortedSetValue();
        foreach (var (score, member) in ordered.Walk(0, reverse: false)) copy.Set(member.Span, score);
        return copy;
    }
}
