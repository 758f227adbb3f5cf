// src/types/ChunkGrowth.cs: feature: how the packed structures' arrays grow (a list's first chunk, a sorted set's
// first block, a table's chunks being filled): doubling, to at least the power of two that holds what is needed,
// and to a whole one at the most, so that a small collection costs little and a large one is made of whole chunks.

using System.Numerics;

namespace KV;

internal static class ChunkGrowth
{
    /// <summary>The next size after `current` that holds `needed` bytes, at most `whole`.</summary>
    public static int Next(int current, int needed, int whole) =>
        Math.Min(whole, Math.Max(2 * current, (int)BitOperations.RoundUpToPowerOf2((uint)needed)));
}
