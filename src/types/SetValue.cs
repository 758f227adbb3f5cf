// src/types/SetValue.cs: feature: a set, as the store holds it: its members in one hash set keyed by their bytes.
// Not thread-safe: the store's lock is held around every use.

namespace KV;

public sealed class SetValue : StoredObject
{
    /// <summary>What a member costs beyond its bytes: its array's header and the hash set's entry.</summary>
    public const int MemberOverheadBytes = 48;

    private readonly HashSet<byte[]> members = new(KeyBytes.Comparer);
    private long bytes;

    public override string Encoding => "hashtable";
    public override string Kind => "set";
    public override long Bytes => bytes + 64;
    public int Count => members.Count;
    public HashSet<byte[]> Members => members;

    public static long CostOf(int memberBytes) => memberBytes + MemberOverheadBytes;

    public bool Contains(ReadOnlySpan<byte> member) =>
        members.GetAlternateLookup<ReadOnlySpan<byte>>().Contains(member);

    public bool Add(byte[] member)
    {
        if (!members.Add(member)) return false;
        bytes += CostOf(member.Length);
        return true;
    }

    public bool Remove(ReadOnlySpan<byte> member)
    {
        if (!members.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(member)) return false;
        bytes -= CostOf(member.Length);
        return true;
    }

    /// <summary>A member picked at random (SPOP, SRANDMEMBER): a walk to a random place, as a hash set has no index.
    /// </summary>
    public byte[] Random() => members.ElementAt(System.Random.Shared.Next(members.Count));

    public override StoredObject Copy()
    {
        var copy = new SetValue();
        foreach (var member in members) copy.Add(member);
        return copy;
    }
}
