// src/types/ListEntries.cs: feature: a list's entry as ListValue packs it into a chunk: how many leading bytes the
// element shares with the one before (a varint), the length of the rest (a varint), the rest, and the entry's size
// again, written to be read backwards, so that a walk from the right end finds where each entry starts.

namespace KV;

internal static class ListEntries
{
    /// <summary>The bytes of an entry sharing `shared` leading bytes, with `rest` bytes after them.</summary>
    public static int EntrySize(int shared, int rest)
    {
        var body = VarintBytes(shared) + VarintBytes(rest) + rest;
        return body + VarintBytes(body);
    }

    /// <summary>Writes one entry: shared, the rest's length, the rest, its size backwards; how many bytes it took.
    /// </summary>
    public static int WriteEntry(Span<byte> into, int shared, ReadOnlySpan<byte> rest)
    {
        var at = WriteVarint(into, shared);
        at += WriteVarint(into[at..], rest.Length);
        rest.CopyTo(into[at..]);
        at += rest.Length;
        // The size again, its groups of 7 bits from the highest: each but the leftmost flagged, so that a reader
        // going right to left knows where it ends.
        var body = at;
        var groups = VarintBytes(body);
        for (var g = groups - 1; g >= 0; g--)
            into[at++] = (byte)(((body >> (7 * g)) & 0x7F) | (g == groups - 1 ? 0 : 0x80));
        return at;
    }

    /// <summary>Where the entry that ends at `end` starts, its size read backwards.</summary>
    public static int StartBefore(ReadOnlySpan<byte> data, int end)
    {
        var body = 0;
        var read = 0;
        byte b;
        do
        {
            b = data[end - 1 - read];
            body |= (b & 0x7F) << (7 * read);
            read++;
        }
        while ((b & 0x80) != 0);
        return end - read - body;
    }

    /// <summary>The entry at `at`: what it shares, its rest, and where the next begins.</summary>
    public static (int Shared, ReadOnlyMemory<byte> Suffix, int Next) EntryAt(byte[] data, int at)
    {
        var shared = ReadVarint(data.AsSpan(at), out var read);
        var restAt = at + read;
        var length = ReadVarint(data.AsSpan(restAt), out read);
        restAt += read;
        var body = restAt + length - at;
        return (shared, data.AsMemory(restAt, length), restAt + length + VarintBytes(body));
    }

    public static int VarintBytes(int value)
    {
        var size = 1;
        for (var v = (uint)value; v >= 0x80; v >>= 7) size++;
        return size;
    }

    public static int WriteVarint(Span<byte> into, int value)
    {
        var at = 0;
        var v = (uint)value;
        for (; v >= 0x80; v >>= 7) into[at++] = (byte)(v | 0x80);
        into[at++] = (byte)v;
        return at;
    }

    public static int ReadVarint(ReadOnlySpan<byte> from, out int read)
    {
        var value = 0;
        var shift = 0;
        read = 0;
        byte b;
        do
        {
            b = from[read++];
            value |= (b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);
        return value;
    }
}
