// src/types/SortedSetOrder.cs: feature: a sorted set's members in order, by score and then by their bytes, packed
// as Redis packs a list: each entry [score: 8][member length: varint][member] in blocks of 4 KiB, the blocks in a
// list, so that a million members cost about their bytes, not a tree node each. A block is found by binary search
// on its first entry, then read front to back; an insert splits a full block where the entry goes, a removal
// merges a block with its neighbour once both fit in one. A rank is the counts of the blocks before, then a walk
// in one block. Members are handed out as views, valid until the order next changes. Not thread-safe.

using System.Buffers.Binary;
using System.Numerics;

namespace KV;

internal sealed class SortedSetOrder
{
    /// <summary>A block's bytes, unless one entry needs more: small to rewrite, large enough to pack.</summary>
    public const int BlockBytes = 4096;

    /// <summary>A set's first block: a set of a few members costs a few dozen bytes, not a whole block.</summary>
    private const int FirstBlockBytes = 64;

    private sealed class Block(int capacity)
    {
        public byte[] Data = new byte[capacity];
        public int Used;
        public int Count;
    }

    private readonly List<Block> blocks = [];

    public int Count { get; private set; }

    /// <summary>The bytes of the blocks and what each costs beside them.</summary>
    public long BytesHeld { get; private set; }

    public static int SizeOf(int memberLength) => sizeof(double) + Varint.Size(memberLength) + memberLength;

    public void Insert(double score, ReadOnlySpan<byte> member)
    {
        var size = SizeOf(member.Length);
        if (blocks.Count == 0) AddBlock(0, Math.Max(FirstBlockBytes, size), small: true);
        var index = FindBlock(score, member);
        var block = blocks[index];
        var at = Position(block, score, member, exact: false);
        // A block smaller than a whole one (a small set's) grows, doubling, before it splits.
        if (block.Used + size > block.Data.Length && block.Data.Length < BlockBytes)
        {
            var grown = new byte[ChunkGrowth.Next(block.Data.Length, block.Used + size, BlockBytes)];
            block.Data.AsSpan(0, block.Used).CopyTo(grown);
            BytesHeld += grown.Length - block.Data.Length;
            block.Data = grown;
        }
        if (block.Used + size > block.Data.Length)
        {
            // Full: what lies after the new entry's place moves to a block of its own, then the entry goes at the
            // end of this one, or, when even that is too small (a member of kilobytes), into a block between.
            if (at < block.Used)
            {
                var tail = AddBlock(index + 1, block.Used - at);
                block.Data.AsSpan(at, block.Used - at).CopyTo(tail.Data);
                tail.Used = block.Used - at;
                tail.Count = CountEntries(tail.Data, tail.Used);
                block.Used = at;
                block.Count -= tail.Count;
            }
            if (block.Used + size > block.Data.Length)
            {
                block = AddBlock(index + 1, size);
                at = 0;
            }
        }
        block.Data.AsSpan(at, block.Used - at).CopyTo(block.Data.AsSpan(at + size));
        Write(block.Data, at, score, member);
        block.Used += size;
        block.Count++;
        Count++;
    }

    /// <summary>Removes the member with this score; false when it is not there.</summary>
    public bool Remove(double score, ReadOnlySpan<byte> member)
    {
        if (blocks.Count == 0) return false;
        var index = FindBlock(score, member);
        var block = blocks[index];
        var at = Position(block, score, member, exact: true);
        if (at < 0) return false;
        var size = SizeOf(member.Length);
        block.Data.AsSpan(at + size, block.Used - at - size).CopyTo(block.Data.AsSpan(at));
        block.Used -= size;
        block.Count--;
        Count--;
        if (block.Count == 0) RemoveBlock(index);
        else if (!(index + 1 < blocks.Count && TryMerge(index)) && index > 0) TryMerge(index - 1);
        return true;
    }

    /// <summary>The entry at a rank from the lowest.</summary>
    public (double Score, ReadOnlyMemory<byte> Member) At(int rank) => Walk(rank, reverse: false).First();

    /// <summary>The member's rank from the lowest; -1 when it is not there with this score.</summary>
    public int RankOf(double score, ReadOnlySpan<byte> member)
    {
        if (blocks.Count == 0) return -1;
        var index = FindBlock(score, member);
        var at = Position(blocks[index], score, member, exact: true);
        if (at < 0) return -1;
        var rank = CountEntries(blocks[index].Data, at);
        for (var i = 0; i < index; i++) rank += blocks[i].Count;
        return rank;
    }

    /// <summary>
    /// The entries from a rank on, counted from the lowest (or, reversed, from the highest) and walked that way. The
    /// order must not change during the walk.
    /// </summary>
    public IEnumerable<(double Score, ReadOnlyMemory<byte> Member)> Walk(int skip, bool reverse)
    {
        if (skip >= Count) yield break;
        var index = reverse ? blocks.Count - 1 : 0;
        while (skip >= blocks[index].Count)
        {
            skip -= blocks[index].Count;
            index += reverse ? -1 : 1;
        }
        foreach (var entry in WalkFrom(index, reverse ? blocks[index].Count - 1 - skip : skip, reverse))
            yield return entry;
    }

    /// <summary>
    /// The entries from the first with a score at least `score` on, or, reversed, from the last with a score at most
    /// `score` down.
    /// </summary>
    public IEnumerable<(double Score, ReadOnlyMemory<byte> Member)> WalkFromScore(double score, bool reverse)
    {
        if (blocks.Count == 0) yield break;
        // The first entry past the score (reversed) or not below it: a block's first entry is read, then its rest.
        var index = FindBlock(score, reverse ? null : [], reverse);
        var block = blocks[index];
        var ordinal = 0;
        for (var at = 0; at < block.Used; at = Next(block.Data, at), ordinal++)
        {
            var held = ScoreAt(block.Data, at);
            if (reverse ? held > score : held >= score) break;
        }
        if (reverse) ordinal--;
        if (ordinal < 0)
        {
            if (--index < 0) yield break;
            ordinal = blocks[index].Count - 1;
        }
        else if (ordinal >= block.Count)
        {
            if (++index >= blocks.Count) yield break;
            ordinal = 0;
        }
        foreach (var entry in WalkFrom(index, ordinal, reverse)) yield return entry;
    }

    private IEnumerable<(double Score, ReadOnlyMemory<byte> Member)> WalkFrom(int index, int ordinal, bool reverse)
    {
        if (!reverse)
        {
            var at = 0;
            for (var i = 0; i < ordinal; i++) at = Next(blocks[index].Data, at);
            for (; index < blocks.Count; index++, at = 0)
                for (var data = blocks[index].Data; at < blocks[index].Used; at = Next(data, at))
                    yield return EntryAt(data, at);
            yield break;
        }
        // Backwards: a block's entries are found front to back first, their lengths being written before them.
        for (; index >= 0; index--)
        {
            var block = blocks[index];
            var offsets = new int[ordinal + 1];
            for (int i = 0, at = 0; i <= ordinal; i++, at = Next(block.Data, at)) offsets[i] = at;
            for (; ordinal >= 0; ordinal--) yield return EntryAt(block.Data, offsets[ordinal]);
            ordinal = index > 0 ? blocks[index - 1].Count - 1 : 0;
        }
    }

    private static (double Score, ReadOnlyMemory<byte> Member) EntryAt(byte[] data, int at)
    {
        var length = (int)Varint.Read(data.AsSpan(at + sizeof(double)), out var read);
        return (ScoreAt(data, at), data.AsMemory(at + sizeof(double) + read, length));
    }

    private static double ScoreAt(byte[] data, int at) => BinaryPrimitives.ReadDoubleLittleEndian(data.AsSpan(at));

    private static ReadOnlySpan<byte> MemberAt(byte[] data, int at)
    {
        var length = (int)Varint.Read(data.AsSpan(at + sizeof(double)), out var read);
        return data.AsSpan(at + sizeof(double) + read, length);
    }

    private static int Next(byte[] data, int at)
    {
        var length = (int)Varint.Read(data.AsSpan(at + sizeof(double)), out var read);
        return at + sizeof(double) + read + length;
    }

    /// <summary>Redis's order: by score, then by the members' bytes; a null member is above every member.</summary>
    private static int Compare(double score, ReadOnlySpan<byte> member, bool memberIsTop, byte[] data, int at)
    {
        var byScore = score.CompareTo(ScoreAt(data, at));
        if (byScore != 0) return byScore;
        return memberIsTop ? 1 : member.SequenceCompareTo(MemberAt(data, at));
    }

    /// <summary>The last block whose first entry is not above the given one (the first block when all are).</summary>
    private int FindBlock(double score, ReadOnlySpan<byte> member, bool memberIsTop = false)
    {
        int low = 0, high = blocks.Count - 1;
        while (low < high)
        {
            var middle = (low + high + 1) / 2;
            if (Compare(score, member, memberIsTop, blocks[middle].Data, 0) >= 0) low = middle;
            else high = middle - 1;
        }
        return low;
    }

    /// <summary>
    /// Where the entry is in the block (exact: -1 without it), or the offset of the first entry above it.
    /// </summary>
    private static int Position(Block block, double score, ReadOnlySpan<byte> member, bool exact)
    {
        var at = 0;
        for (; at < block.Used; at = Next(block.Data, at))
        {
            var order = Compare(score, member, false, block.Data, at);
            if (order == 0) return at;
            if (order < 0) break;
        }
        return exact ? -1 : at;
    }

    /// <summary>The entries that start before `end`.</summary>
    private static int CountEntries(byte[] data, int end)
    {
        var count = 0;
        for (var at = 0; at < end; at = Next(data, at)) count++;
        return count;
    }

    private Block AddBlock(int index, int atLeast, bool small = false)
    {
        var block = new Block(small ? (int)BitOperations.RoundUpToPowerOf2((uint)atLeast)
            : Math.Max(BlockBytes, atLeast));
        blocks.Insert(index, block);
        BytesHeld += block.Data.Length + BlockOverheadBytes;
        return block;
    }

    /// <summary>A block's object, its array's header and its place in the list.</summary>
    private const int BlockOverheadBytes = 64;

    private void RemoveBlock(int index)
    {
        BytesHeld -= blocks[index].Data.Length + BlockOverheadBytes;
        blocks.RemoveAt(index);
    }

    /// <summary>Moves the next block's entries into this one when both fit in it, and drops the next.</summary>
    private bool TryMerge(int index)
    {
        var (block, next) = (blocks[index], blocks[index + 1]);
        if (block.Used + next.Used > block.Data.Length / 2 + block.Data.Length / 4) return false;
        next.Data.AsSpan(0, next.Used).CopyTo(block.Data.AsSpan(block.Used));
        block.Used += next.Used;
        block.Count += next.Count;
        RemoveBlock(index + 1);
        return true;
    }

    private static void Write(byte[] data, int at, double score, ReadOnlySpan<byte> member)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(at), score);
        at += sizeof(double);
        at += Varint.Write(data.AsSpan(at), (uint)member.Length);
        member.CopyTo(data.AsSpan(at));
    }
}
