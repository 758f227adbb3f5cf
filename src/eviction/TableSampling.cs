// src/eviction/TableSampling.cs: what eviction asks of the table and of the deadlines: a pair's use since it was last
// looked at (the header's Used bit, set when a pair is written), a pair at random, a deadline at random.
// Not thread-safe: the store holds its lock around every call.

namespace KV;

internal static class TableSampling
{
    /// <summary>The pair at what Locate found was used: its second chance against eviction is back.</summary>
    public static void MarkUsed(this PairTable table, int located)
    {
        var pair = table.At(located)!.Value;
        if (!pair.Used) pair.Mark(StoredPair.UsedFlag, true);
    }

    /// <summary>Whether the pair at what Locate found was used since this was last asked; it is not from now on.
    /// </summary>
    public static bool TakeUse(this PairTable table, int located)
    {
        var pair = table.At(located)!.Value;
        if (!pair.Used) return false;
        pair.Mark(StoredPair.UsedFlag, false);
        return true;
    }

    /// <summary>
    /// A slot holding a pair, at random (a sample for eviction); -1 when empty. Random slots are tried until one is
    /// held, so that every pair is as likely (the first held after a random slot would favour those after a gap); a
    /// table emptied by deletes (it never shrinks) is searched from the last one tried.
    /// </summary>
    public static int RandomHeld(this PairTable table, Random random)
    {
        if (table.Count == 0) return -1;
        var at = random.Next(table.Capacity);
        for (var tries = 1; table.InSlot(at) is null && tries < RandomTries; tries++) at = random.Next(table.Capacity);
        while (table.InSlot(at) is null) at = at + 1 == table.Capacity ? 0 : at + 1;
        return at;
    }

    private const int RandomTries = 32;
}

internal sealed partial class Deadlines
{
    /// <summary>The key of the `index`th deadline in no particular order (a sample for eviction).</summary>
    public byte[] KeyAt(int index) => heap[index].Key;
}
