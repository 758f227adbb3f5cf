// src/types/ListValue.cs: feature: a list, as the store holds it: its elements packed into chunks of bytes, each
// entry the element's length (a varint), its bytes, and its length again written to be read backwards, as Redis's
// listpack does: a million short elements cost about their bytes, not an object each, and a pop at either end
// finds its element at once. A push or a pop at an end touches one chunk; an element found by index walks the
// chunks, then one chunk; a change in the middle (LSET, LINSERT, LREM) rewrites one chunk. Elements are handed
// out as copies. Not thread-safe: the store's lock is held around every use.

namespace KV;

public sealed class ListValue : StoredObject
{
    /// <summary>A chunk's bytes, unless one element needs more: small to rewrite, large enough to pack.</summary>
    public const int ChunkBytes = 4096;

    /// <summary>What a chunk costs beyond its bytes: the array's header, the object, its place in the list.</summary>
    private const int ChunkOverheadBytes = 64;

    /// <summary>One run of packed elements: data[Start..End) holds Count of them.</summary>
    private sealed class Chunk(int capacity, bool fillFromEnd)
    {
        public readonly byte[] Data = new byte[capacity];
        public int Start = fillFromEnd ? capacity : 0;
        public int End = fillFromEnd ? capacity : 0;
        public int Count;
    }

    private readonly List<Chunk> chunks = [];
    private long bytes;

    public override string Kind => "list";
    public override string Encoding => "quicklist";
    public override long Bytes => bytes;
    public int Count { get; private set; }

    /// <summary>What an element adds, by --max-memory's measure, at the most: its bytes and its lengths'.</summary>
    public static long CostOf(int elementBytes) => elementBytes + 10;

    private static int SizeOf(int length) => 2 * VarintBytes(length) + length;

    /// <summary>Writes one entry, length, bytes, length backwards; how many bytes it took.</summary>
    private static int WriteEntry(Span<byte> into, ReadOnlySpan<byte> element)
    {
        var at = WriteVarint(into, element.Length);
        element.CopyTo(into[at..]);
        at += element.Length;
        // The length again, its groups of 7 bits from the highest: each but the leftmost flagged, so that a reader
        // going right to left knows where it ends.
        var groups = VarintBytes(element.Length);
        for (var g = groups - 1; g >= 0; g--)
            into[at++] = (byte)(((element.Length >> (7 * g)) & 0x7F) | (g == groups - 1 ? 0 : 0x80));
        return at;
    }

    /// <summary>The length of the entry that ends at `end`, read backwards, and how many bytes that took.</summary>
    private static int ReadBackwards(ReadOnlySpan<byte> data, int end, out int read)
    {
        var value = 0;
        read = 0;
        byte b;
        do
        {
            b = data[end - 1 - read];
            value |= (b & 0x7F) << (7 * read);
            read++;
        }
        while ((b & 0x80) != 0);
        return value;
    }

    private static int VarintBytes(int value)
    {
        var size = 1;
        for (var v = (uint)value; v >= 0x80; v >>= 7) size++;
        return size;
    }

    private static int WriteVarint(Span<byte> into, int value)
    {
        var at = 0;
        var v = (uint)value;
        for (; v >= 0x80; v >>= 7) into[at++] = (byte)(v | 0x80);
        into[at++] = (byte)v;
        return at;
    }

    private static int ReadVarint(ReadOnlySpan<byte> from, out int read)
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

    private Chunk NewChunk(int needed, bool fillFromEnd)
    {
        var chunk = new Chunk(Math.Max(ChunkBytes, needed), fillFromEnd);
        bytes += chunk.Data.Length + ChunkOverheadBytes;
        return chunk;
    }

    private void Drop(int index)
    {
        bytes -= chunks[index].Data.Length + ChunkOverheadBytes;
        chunks.RemoveAt(index);
    }

    public void PushLeft(ReadOnlySpan<byte> element)
    {
        var size = SizeOf(element.Length);
        if (chunks.Count == 0 || chunks[0].Start < size) chunks.Insert(0, NewChunk(size, fillFromEnd: true));
        var chunk = chunks[0];
        chunk.Start -= size;
        WriteEntry(chunk.Data.AsSpan(chunk.Start), element);
        chunk.Count++;
        Count++;
    }

    public void PushRight(ReadOnlySpan<byte> element)
    {
        var size = SizeOf(element.Length);
        if (chunks.Count == 0 || chunks[^1].Data.Length - chunks[^1].End < size)
            chunks.Add(NewChunk(size, fillFromEnd: false));
        var chunk = chunks[^1];
        chunk.End += WriteEntry(chunk.Data.AsSpan(chunk.End), element);
        chunk.Count++;
        Count++;
    }

    public void Push(ReadOnlySpan<byte> element, bool left)
    {
        if (left) PushLeft(element);
        else PushRight(element);
    }

    /// <summary>The elements of one chunk, in order, as copies.</summary>
    private static List<byte[]> Unpack(Chunk chunk)
    {
        var elements = new List<byte[]>(chunk.Count);
        for (var at = chunk.Start; at < chunk.End;)
        {
            var length = ReadVarint(chunk.Data.AsSpan(at), out var read);
            elements.Add(chunk.Data.AsSpan(at + read, length).ToArray());
            at += 2 * read + length;
        }
        return elements;
    }

    public byte[] Pop(bool left)
    {
        var index = left ? 0 : chunks.Count - 1;
        var chunk = chunks[index];
        byte[] element;
        if (left)
        {
            var length = ReadVarint(chunk.Data.AsSpan(chunk.Start), out var read);
            element = chunk.Data.AsSpan(chunk.Start + read, length).ToArray();
            chunk.Start += 2 * read + length;
        }
        else
        {
            var length = ReadBackwards(chunk.Data, chunk.End, out var read);
            element = chunk.Data.AsSpan(chunk.End - read - length, length).ToArray();
            chunk.End -= 2 * read + length;
        }
        chunk.Count--;
        Count--;
        if (chunk.Count == 0) Drop(index);
        return element;
    }

    /// <summary>The chunk that holds the element at `index`, and the element's place in it.</summary>
    private (int Chunk, int Within) Locate(int index)
    {
        if (index < Count / 2)
        {
            for (var c = 0; ; c++)
            {
                if (index < chunks[c].Count) return (c, index);
                index -= chunks[c].Count;
            }
        }
        var fromEnd = Count - 1 - index;
        for (var c = chunks.Count - 1; ; c--)
        {
            if (fromEnd < chunks[c].Count) return (c, chunks[c].Count - 1 - fromEnd);
            fromEnd -= chunks[c].Count;
        }
    }

    /// <summary>The element at `index` (0 is the left end), a copy; LSET puts one there.</summary>
    public byte[] this[int index]
    {
        get
        {
            var (c, within) = Locate(index);
            return Unpack(chunks[c])[within];
        }
        set => Rewrite(index, elements => elements[Locate(index).Within] = value);
    }

    /// <summary>Rewrites the chunk holding `index` once `change` edited its elements (split if it outgrew one).
    /// </summary>
    private void Rewrite(int index, Action<List<byte[]>> change)
    {
        var (c, _) = Locate(index);
        var elements = Unpack(chunks[c]);
        change(elements);
        Count += elements.Count - chunks[c].Count;
        Drop(c);
        var made = new List<Chunk>();
        foreach (var element in elements)
        {
            var size = SizeOf(element.Length);
            if (made.Count == 0 || made[^1].Data.Length - made[^1].End < size) made.Add(NewChunk(size, false));
            var chunk = made[^1];
            chunk.End += WriteEntry(chunk.Data.AsSpan(chunk.End), element);
            chunk.Count++;
        }
        chunks.InsertRange(c, made);
    }

    /// <summary>Removes the element at `index` and returns it.</summary>
    public byte[] RemoveAt(int index)
    {
        byte[] removed = [];
        Rewrite(index, elements =>
        {
            var within = Locate(index).Within;
            removed = elements[within];
            elements.RemoveAt(within);
        });
        return removed;
    }

    /// <summary>Puts `element` at `index`, the elements from there on one further right.</summary>
    public void Insert(int index, byte[] element)
    {
        if (index == 0) PushLeft(element);
        else if (index == Count) PushRight(element);
        else Rewrite(index, elements => elements.Insert(Locate(index).Within, element));
    }

    /// <summary>The elements from `from` to `to` inclusive, in order, each a copy; reading walks the chunks once.
    /// </summary>
    public IEnumerable<byte[]> Slice(int from, int to)
    {
        var index = 0;
        foreach (var chunk in chunks)
        {
            if (index + chunk.Count <= from)
            {
                index += chunk.Count;
                continue;
            }
            foreach (var element in Unpack(chunk))
            {
                if (index > to) yield break;
                if (index >= from) yield return element;
                index++;
            }
        }
    }

    /// <summary>Every element from the right end to the left, each a copy.</summary>
    public IEnumerable<byte[]> Backward()
    {
        for (var c = chunks.Count - 1; c >= 0; c--)
        {
            var elements = Unpack(chunks[c]);
            for (var i = elements.Count - 1; i >= 0; i--) yield return elements[i];
        }
    }

    /// <summary>Keeps the elements from `start` to `stop` inclusive (LTRIM); stop below start keeps none.</summary>
    public void Keep(int start, int stop)
    {
        var kept = Slice(start, stop).ToList();
        while (chunks.Count > 0) Drop(chunks.Count - 1);
        Count = 0;
        foreach (var element in kept) PushRight(element);
    }

    public override StoredObject Copy()
    {
        var copy = new ListValue();
        foreach (var element in Slice(0, Count - 1)) copy.PushRight(element);
        return copy;
    }
}
