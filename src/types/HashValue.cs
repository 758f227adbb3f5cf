// src/types/HashValue.cs: feature: a hash, as the store holds it. Each field and its value are packed into one
// array, [field length: 4][field][value], kept in a hash set that compares and hashes the field part only, so that a
// field costs one array and one set entry (a dictionary of a field array and a value array cost half as much again).
// An array is never changed once made: a new value is a new array, so a copy of the hash shares them all. Not
// thread-safe: the store's lock is held around every use.

using System.Buffers.Binary;

namespace KV;

public sealed class HashValue : StoredObject
{
    /// <summary>
    /// What a field costs beyond its bytes and its value's: its array's header and the field's length, the set's
    /// entry and its bucket.
    /// </summary>
    public const int FieldOverheadBytes = 48;

    private HashSet<byte[]> entries = new(FieldComparer.Instance);
    private long bytes;

    public override string Encoding => "hashtable";
    public override string Kind => "hash";
    public override long Bytes => bytes + 64;
    public int Count => entries.Count;

    /// <summary>The fields and their values, in no particular order, as views of the arrays that hold them.</summary>
    public IEnumerable<(ReadOnlyMemory<byte> Field, ReadOnlyMemory<byte> Value)> Fields => entries.Select(Split);

    public static long CostOf(int fieldBytes, int valueBytes) => fieldBytes + valueBytes + FieldOverheadBytes;

    /// <summary>The field's value; null (not an empty value) when there is no such field.</summary>
    public ReadOnlyMemory<byte>? Get(ReadOnlySpan<byte> field) =>
        entries.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(field, out var entry) ? Split(entry).Value
            : (ReadOnlyMemory<byte>?)null;

    /// <summary>Sets the field; true when it is new.</summary>
    public bool Set(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        var made = new byte[sizeof(int) + field.Length + value.Length];
        BinaryPrimitives.WriteInt32LittleEndian(made, field.Length);
        field.CopyTo(made.AsSpan(sizeof(int)));
        value.CopyTo(made.AsSpan(sizeof(int) + field.Length));
        if (entries.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(field, out var old))
        {
            entries.Remove(old);
            entries.Add(made);
            bytes += made.Length - old.Length;
            return false;
        }
        entries.Add(made);
        bytes += CostOf(field.Length, value.Length);
        return true;
    }

    public bool Remove(ReadOnlySpan<byte> field)
    {
        if (!entries.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(field, out var entry)) return false;
        entries.Remove(entry);
        bytes -= CostOf(field.Length, entry.Length - sizeof(int) - field.Length);
        return true;
    }

    /// <summary>A copy: the arrays are shared, since none is ever changed.</summary>
    public override StoredObject Copy() => new HashValue
    {
        entries = new HashSet<byte[]>(entries, FieldComparer.Instance),
        bytes = bytes,
    };

    private static (ReadOnlyMemory<byte> Field, ReadOnlyMemory<byte> Value) Split(byte[] entry)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(entry);
        return (entry.AsMemory(sizeof(int), length), entry.AsMemory(sizeof(int) + length));
    }

    /// <summary>Entries equal and hashed by their field alone; looked up by a field's bytes, without an array.
    /// </summary>
    private sealed class FieldComparer
        : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly FieldComparer Instance = new();

        private static ReadOnlySpan<byte> FieldOf(byte[] entry) =>
            entry.AsSpan(sizeof(int), BinaryPrimitives.ReadInt32LittleEndian(entry));

        public bool Equals(byte[]? x, byte[]? y) => FieldOf(x!).SequenceEqual(FieldOf(y!));
        public int GetHashCode(byte[] entry) => PairTable.Hash(FieldOf(entry));
        public bool Equals(ReadOnlySpan<byte> field, byte[] entry) => field.SequenceEqual(FieldOf(entry));
        public int GetHashCode(ReadOnlySpan<byte> field) => PairTable.Hash(field);

        /// <summary>Never asked: an entry is always added whole, with its value.</summary>
        public byte[] Create(ReadOnlySpan<byte> field) => throw new NotSupportedException();
    }
}
