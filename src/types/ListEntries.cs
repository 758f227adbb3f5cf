// src/types/ListEntries.cs: feature: a list's entry as ListValue packs it into a chunk: how many leading bytes the
// element shares with the one before and the length of the rest (one varint for a restart, which shares none), the
// rest, and the entry's size again, written to be read backwards, so that a walk from the right end finds where
// each entry starts.

namespace KV;

internal static class ListEntries
{
    /// <summary>The bytes of an entry sharing `shared` leading bytes, with `rest` bytes after them.</summary>
    public static int EntrySize(int shared, int rest)
    {
        var body = HeaderBytes(shared, rest) + rest;
        return body + Varint.Size((uint)body);
    }

    /// <summary>
    /// A restart's header is one varint, its length times two, as a listpack's; an entry that shares has the shared
    /// count times two plus one, then its rest's length.
    /// </summary>
    private static int HeaderBytes(int shared, int rest) => shared == 0 ? Varint.Size((uint)rest << 1)
        : Varint.Size(((uint)shared << 1) | 1) + Varint.Size((uint)rest);

    /// <summary>Writes one entry: its header, the rest, its size backwards; how many bytes it took.</summary>
    public static int WriteEntry(Span<byte> into, int shared, ReadOnlySpan<byte> rest)
    {
        int at;
        if (shared == 0) at = Varint.Write(into, (uint)rest.Length << 1);
        else
        {
            at = Varint.Write(into, ((uint)shared << 1) | 1);
            at += Varint.Write(into[at..], (uint)rest.Length);
        }
        rest.CopyTo(into[at..]);
        at += rest.Length;
        // The size again, its groups of 7 bits from the highest: each but the leftmost flagged, so that a reader
        // going right to left knows where it ends.
        var body = at;
        var groups = Varint.Size((uint)body);
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
        var header = Varint.Read(data.AsSpan(at), out var read);
        var restAt = at + read;
        int shared, length;
        if ((header & 1) == 0) (shared, length) = (0, (int)(header >> 1));
        else
        {
            shared = (int)(header >> 1);
            length = (int)Varint.Read(data.AsSpan(restAt), out read);
            restAt += read;
        }
        var body = restAt + length - at;
        return (shared, data.AsMemory(restAt, length), restAt + length + Varint.Size((uint)body));
    }
}
