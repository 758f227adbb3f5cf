// src/types/ListValue.cs: feature: a list, as the store holds it: its elements packed into chunks of bytes, each
// element a length (a varint) and its bytes, so that a million short elements cost about their bytes and not an
// object each (Redis's quicklist does the same with listpacks). A push or a pop at either end touches one chunk;
// an element found by index walks the chunks, then one chunk; a change in the middle (LSET, LINSERT, LREM)
// rewrites one chunk. Elements are handed out as copies. Not thread-safe: the store's lock is held around every use.

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

    /// <summary>What an element adds, by --max-memory's measure, at the most: its bytes and its length's.</summary>
    public static long CostOf(int elementBytes) => elementBytes + 5;

    private static int SizeOf(int length) => VarintBytes(length) + length;

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
        var at = chunk.Start + WriteVarint(chunk.Data.AsSpan(chunk.Start), element.Length);
        element.CopyTo(chunk.Data.AsSpan(at));
        chunk.Count++;
        Count++;
    }

    public void PushRight(ReadOnlySpan<byte> element)
    {
        var size = SizeOf(element.Length);
        if (chunks.Count == 0 || chunks[^1].Data.Length - chunks[^1].End < size)
            chunks.Add(NewChunk(size, fillFromEnd: false));
        var chunk = chunks[^1];
        var at = chunk.End + WriteVarint(chunk.Data.AsSpan(chunk.End), element.Length);
        element.CopyTo(chunk.Data.AsSpan(at));
        chunk.End = at + element.Length;
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
            at += read + length;
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
            chunk.Start += read + length;
        }
        else
        {
            // The last element's start is found by reading the chunk: a length is written before its bytes.
            var last = chunk.Start;
            for (var at = chunk.Start; at < chunk.End;)
            {
                last = at;
                at += ReadVarint(chunk.Data.AsSpan(at), out var read) + read;
            }
            var length = ReadVarint(chunk.Data.AsSpan(last), out var lengthBytes);
            element = chunk.Data.AsSpan(last + lengthBytes, length).ToArray();
            chunk.End = last;
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
            var at = chunk.End + WriteVarint(chunk.Data.AsSpan(chunk.End), element.Length);
            element.CopyTo(chunk.Data, at);
            chunk.End = at + element.Length;
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
