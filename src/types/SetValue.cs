// src/types/SetValue.cs: feature: a set, as the store holds it: each member one entry of a PackedTable with no
// payload, packed into chunks, so that a million members cost about their bytes and a slot each. Members are
// handed out as views, valid until the set next changes, or as copies. Not thread-safe: the store's lock is held
// around every use.

namespace KV;

public sealed class SetValue : StoredObject
{
    /// <summary>What a member costs beyond its bytes, at the most: its lengths, and the table's slot when the
    /// table has just grown.
    /// </summary>
    public const int MemberOverheadBytes = 20;

    private PackedTable members = new();
    private long bytes;

    public override string Encoding => "hashtable";
    public override string Kind => "set";
    public override long Bytes => bytes + 64;
    public int Count => members.Count;

    /// <summary>The members as views of the table's bytes, valid until the set next changes.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Views => members.Entries.Select(entry => entry.KeyMemory);

    /// <summary>The members as copies of their own, for a result that outlives a change.</summary>
    public IEnumerable<byte[]> Members => members.Entries.Select(entry => entry.Key.ToArray());

    public static long CostOf(int memberBytes) => memberBytes + MemberOverheadBytes;

    public bool Contains(ReadOnlySpan<byte> member) => members.TryGet(member, out _);

    public bool Add(ReadOnlySpan<byte> member)
    {
        if (!members.Set(member, [])) return false;
        bytes += CostOf(member.Length);
        return true;
    }

    public bool Remove(ReadOnlySpan<byte> member)
    {
        if (!members.Remove(member)) return false;
        bytes -= CostOf(member.Length);
        return true;
    }

    /// <summary>A member picked at random (SPOP, SRANDMEMBER), as a view; the set must not be empty.</summary>
    public ReadOnlyMemory<byte> Random() => members.Random(System.Random.Shared).KeyMemory;

    public override StoredObject Copy() => new SetValue { members = members.Copy(), bytes = bytes };
}
