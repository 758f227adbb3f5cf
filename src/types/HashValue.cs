// src/types/HashValue.cs: feature: a hash, as the store holds it: each field and its value one entry of a
// PackedTable, [lengths][field][value] packed into chunks, so that a million fields cost about their bytes and a
// slot each, not two arrays and a set's entry. A field's value is handed out as a view, valid until the hash next
// changes. Not thread-safe: the store's lock is held around every use.

namespace KV;

public sealed class HashValue : StoredObject
{
    /// <summary>
    /// What a field costs beyond its bytes and its value's, at the most: the lengths, and the table's slot at its
    /// emptiest (just grown: four ninths full).
    /// </summary>
    public const int FieldOverheadBytes = 24;

    private PackedTable entries = new();
    private long bytes;

    public override string Encoding => "hashtable";
    public override string Kind => "hash";
    public override long Bytes => bytes + 64;
    public int Count => entries.Count;

    /// <summary>
    /// The fields and their values, in no particular order, as views of the table's bytes: valid until the hash next
    /// changes.
    /// </summary>
    public IEnumerable<(ReadOnlyMemory<byte> Field, ReadOnlyMemory<byte> Value)> Fields =>
        entries.Entries.Select(entry => (entry.KeyMemory, entry.PayloadMemory));

    public static long CostOf(int fieldBytes, int valueBytes) => fieldBytes + valueBytes + FieldOverheadBytes;

    /// <summary>The field's value, a view valid until the next change; null (not empty) when there is no such field.
    /// </summary>
    public ReadOnlyMemory<byte>? Get(ReadOnlySpan<byte> field) =>
        entries.TryGet(field, out var entry) ? entry.PayloadMemory : (ReadOnlyMemory<byte>?)null;

    /// <summary>A field and its value at random (HRANDFIELD), as views; the hash must not be empty.</summary>
    public (ReadOnlyMemory<byte> Field, ReadOnlyMemory<byte> Value) Random()
    {
        var entry = entries.Random(System.Random.Shared);
        return (entry.KeyMemory, entry.PayloadMemory);
    }

    /// <summary>Sets the field; true when it is new.</summary>
    public bool Set(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        var added = entries.Set(field, value, out var replaced);
        bytes += added ? CostOf(field.Length, value.Length) : value.Length - replaced;
        return added;
    }

    public bool Remove(ReadOnlySpan<byte> field)
    {
        if (!entries.TryGet(field, out var entry)) return false;
        bytes -= CostOf(field.Length, entry.PayloadLength);
        return entries.Remove(field);
    }

    public override StoredObject Copy() => new HashValue { entries = entries.Copy(), bytes = bytes };
}
