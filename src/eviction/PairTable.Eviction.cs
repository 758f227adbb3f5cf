// src/eviction/PairTable.Eviction.cs: what eviction asks of the table and of the deadlines: a pair's use since it
// was last looked at (the header's Used bit, set when a pair is written), a pair at random, a deadline at random.
// Not thread-safe: the store holds its lock around every call.

namespace KV;

internal sealed partial class PairTable
{
    /// <summary>The pair at what Locate found was used: its second chance against eviction is back.</summary>
    public void MarkUsed(int located)
    {
        var pair = PairAt(slots[located]);
        if (!pair.Used) pair.Mark(StoredPair.UsedFlag, true);
    }

    /// <summary>Whether the pair at what Locate found was used since this was last asked; it is not from now on.
    /// </summary>
    public bool TakeUse(int located)
    {
        var pair = PairAt(slots[located]);
        if (!pair.Used) return false;
        pair.Mark(StoredPair.UsedFlag, false);
        return true;
    }

    /// <summary>
    /// A slot holding a pair, at random (a sample for eviction); -1 when empty. Random slots are tried until one is
    /// held, so that every pair is as likely (the first held after a random slot would favour those after a gap); a
    /// table emptied by deletes (it never shrinks) is searched from the last one tried.
    /// </summary>
    public int RandomHeld(Random random)
    {
        if (Count == 0) return -1;
        var at = random.Next(slots.Length);
        for (var tries = 1; slots[at] == 0 && tries < RandomTries; tries++) at = random.Next(slots.Length);
        while (slots[at] == 0) at = Next(at);
        return at;
    }

    private const int RandomTries = 32;
}

internal sealed partial class Deadlines
{
    /// <summary>The key of the `index`th deadline in no particular order (a sample for eviction).</summary>
    public byte[] KeyAt(int index) => heap[index].Key;
}
