// src/types/HashValue.cs: feature: a hash, as the store holds it: fields and their values in one dictionary keyed
// by the field's bytes. Not thread-safe: the store's lock is held around every use.

namespace KV;

public sealed class HashValue : StoredObject
{
    /// <summary>What a field costs beyond its bytes and its value's: two arrays' headers and the dictionary's entry.
    /// </summary>
    public const int FieldOverheadBytes = 72;

    private readonly Dictionary<byte[], byte[]> fields = new(KeyBytes.Comparer);
    private long bytes;

    public override string Encoding => "hashtable";
    public override string Kind => "hash";
    public override long Bytes => bytes + 64;
    public int Count => fields.Count;
    public Dictionary<byte[], byte[]> Fields => fields;

    public static long CostOf(int fieldBytes, int valueBytes) => fieldBytes + valueBytes + FieldOverheadBytes;

    public byte[]? Get(ReadOnlySpan<byte> field) =>
        fields.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(field, out var value) ? value : null;

    /// <summary>Sets the field; true when it is new.</summary>
    public bool Set(ReadOnlySpan<byte> field, byte[] value)
    {
        var lookup = fields.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (lookup.TryGetValue(field, out var old))
        {
            bytes += value.Length - old.Length;
            lookup[field] = value;
            return false;
        }
        lookup[field] = value;
        bytes += CostOf(field.Length, value.Length);
        return true;
    }

    public bool Remove(ReadOnlySpan<byte> field)
    {
        if (!fields.GetAlternateLookup<ReadOnlySpan<byte>>().Remove(field, out var key, out var value)) return false;
        bytes -= CostOf(key.Length, value.Length);
        return true;
    }

    public override StoredObject Copy()
    {
        var copy = new HashValue();
        foreach (var (field, value) in fields) copy.Set(field, value);
        return copy;
    }
}
