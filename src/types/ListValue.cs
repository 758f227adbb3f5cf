// src/types/ListValue.cs: feature: a list, as the store holds it: its elements packed into chunks of bytes, not an
// object each, and front-coded as a sorted file's keys are: an entry is how many leading bytes the element shares
// with the one before it (a varint), the length of the rest (a varint), the rest, and the entry's size again written
// to be read backwards. An entry that shares nothing is a restart, readable alone; every chunk starts with one, and
// at least every RestartEvery entries there is another, so that the last element is rebuilt from at most that many.
// A million elements alike but for a number (job IDs, keys) cost a few bytes each; unlike ones, about their bytes
// and two, as in Redis's listpack. A push or a pop at an end touches one chunk (the tail's last element is kept
// whole, so that the next push shares with it at once); a list's first chunk starts at a few dozen bytes and doubles
// up to a whole one, so that a list of three costs bytes, not a whole chunk. Away from the ends: ListValue.Middle.cs.
// Elements are handed out as copies. Not thread-safe: the store's lock is held around every use.

using static KV.ListEntries;

namespace KV;

public sealed partial class ListValue : StoredObject
{
    /// <summary>A chunk's bytes, unless one element needs more: small to rewrite, large enough to pack.</summary>
    public const int ChunkBytes = 4096;

    /// <summary>The longest run of entries that share with the one before: what rebuilding the last one may read.
    /// </summary>
    private const int RestartEvery = 16;

    /// <summary>What a chunk costs beyond its bytes: the array's header, the object, its place in the list.</summary>
    private const int ChunkOverheadBytes = 64;

    /// <summary>One run of packed entries: data[Start..End) holds Count of them, the first a restart.</summary>
    private sealed class Chunk(int capacity, bool fillFromEnd)
    {
        public byte[] Data = new byte[capacity];
        public int Start = fillFromEnd ? capacity : 0;
        public int End = fillFromEnd ? capacity : 0;
        public int Count;

        /// <summary>How many entries from the first up to the next restart; -1 when not known (HeadRunOf counts).
        /// </summary>
        public int HeadRun = -1;
    }

    private readonly List<Chunk> chunks = [];
    private long bytes;

    // The tail chunk's last element, whole, and how many entries after its chunk's last restart: valid while `tail`
    // is that chunk and nothing changed its end.
    private Chunk? tail;
    private byte[] last = new byte[32];
    private int lastLength;
    private int sinceRestart;

    public override string Kind => "list";
    public override string Encoding => "quicklist";
    public override long Bytes => bytes;
    public int Count { get; private set; }

    /// <summary>What an element adds, by --max-memory's measure, at the most: its bytes and its entry's lengths.
    /// </summary>
    public static long CostOf(int elementBytes) => elementBytes + 10;

    /// <summary>A list's first chunk: a list of a few elements costs a few dozen bytes, not a whole chunk.</summary>
    private const int FirstChunkBytes = 32;

    /// <summary>A chunk of ChunkBytes, or, `small`, of the least power of two that holds `needed`.</summary>
    private Chunk NewChunk(int needed, bool fillFromEnd, bool small = false)
    {
        var chunk = new Chunk(small ? (int)System.Numerics.BitOperations.RoundUpToPowerOf2(
            (uint)Math.Max(FirstChunkBytes, needed)) : Math.Max(ChunkBytes, needed), fillFromEnd);
        bytes += chunk.Data.Length + ChunkOverheadBytes;
        return chunk;
    }

    /// <summary>
    /// Makes room for `needed` more bytes at the chunk's front (or end) by doubling it, when it is smaller than a
    /// whole chunk and will not outgrow one; false when a new chunk is the way.
    /// </summary>
    private bool TryGrow(Chunk chunk, int needed, bool atFront)
    {
        var used = chunk.End - chunk.Start;
        if (chunk.Data.Length >= ChunkBytes || used + needed > ChunkBytes) return false;
        var grown = new byte[ChunkGrowth.Next(chunk.Data.Length, used + needed, ChunkBytes)];
        // Its entries go to the grown chunk's other end, so that all the room is where it is needed.
        var start = atFront ? grown.Length - used : 0;
        chunk.Data.AsSpan(chunk.Start, used).CopyTo(grown.AsSpan(start));
        bytes += grown.Length - chunk.Data.Length;
        (chunk.Data, chunk.Start, chunk.End) = (grown, start, start + used);
        return true;
    }

    private void Drop(int index)
    {
        if (tail == chunks[index]) tail = null;
        bytes -= chunks[index].Data.Length + ChunkOverheadBytes;
        chunks.RemoveAt(index);
    }

    /// <summary>
    /// Makes `last` the chunk's last element, whole: back to the last restart, then forward, each entry's rest written
    /// after the bytes it shares.
    /// </summary>
    private void ReadLast(Chunk chunk)
    {
        if (tail == chunk) return;
        var data = chunk.Data;
        var from = StartBefore(data, chunk.End);
        sinceRestart = 0;
        while (EntryAt(data, from).Shared != 0)
        {
            from = StartBefore(data, from);
            sinceRestart++;
        }
        lastLength = 0;
        for (var at = from; at < chunk.End;)
        {
            var (shared, rest, next) = EntryAt(data, at);
            Keep(shared, rest.Span);
            at = next;
        }
        tail = chunk;
    }

    /// <summary>`last` becomes its first `shared` bytes and then `rest`.</summary>
    private void Keep(int shared, ReadOnlySpan<byte> rest)
    {
        if (last.Length < shared + rest.Length)
            Array.Resize(ref last, (int)Math.Min(Array.MaxLength, Math.Max(2L * last.Length, shared + rest.Length)));
        rest.CopyTo(last.AsSpan(shared));
        lastLength = shared + rest.Length;
    }

    /// <summary>Appends the element at the chunk's end, sharing with `previous` unless a restart is due.</summary>
    private static void Append(Chunk chunk, ReadOnlySpan<byte> element, ReadOnlySpan<byte> previous,
        ref int sinceRestart)
    {
        var shared = chunk.Count == 0 || sinceRestart + 1 >= RestartEvery ? 0 : element.CommonPrefixLength(previous);
        chunk.End += WriteEntry(chunk.Data.AsSpan(chunk.End), shared, element[shared..]);
        chunk.Count++;
        sinceRestart = shared == 0 ? 0 : sinceRestart + 1;
    }

    /// <summary>Whether the element fits at the chunk's end, as Append would write it (as a restart, at the most).
    /// </summary>
    private static bool Fits(Chunk chunk, int length) => chunk.Data.Length - chunk.End >= EntrySize(0, length);

    /// <summary>The entries of the chunk's first run, counted (up to RestartEvery) when not known.</summary>
    private static int HeadRunOf(Chunk chunk)
    {
        if (chunk.HeadRun >= 0) return chunk.HeadRun;
        var run = 1;
        for (var at = EntryAt(chunk.Data, chunk.Start).Next; run < RestartEvery && at < chunk.End; run++)
        {
            var (shared, _, next) = EntryAt(chunk.Data, at);
            if (shared == 0) break;
            at = next;
        }
        return chunk.HeadRun = run;
    }

    /// <summary>
    /// The element goes first, whole; the entry that was first (whole too) is written again sharing with it, unless
    /// that would make the first run longer than RestartEvery.
    /// </summary>
    public void PushLeft(ReadOnlySpan<byte> element)
    {
        var size = EntrySize(0, element.Length);
        if (chunks.Count == 0) chunks.Add(NewChunk(size, fillFromEnd: true, small: true));
        else if (chunks[0].Start < size && !TryGrow(chunks[0], size, atFront: true))
            chunks.Insert(0, NewChunk(size, fillFromEnd: true));
        var chunk = chunks[0];
        if (chunk.Count > 0 && HeadRunOf(chunk) + 1 < RestartEvery
            && EntryAt(chunk.Data, chunk.Start) is var (_, first, firstEnd)
            && element.CommonPrefixLength(first.Span) is var shared and > 0)
        {
            var rest = first.Length - shared <= 256 ? stackalloc byte[first.Length - shared]
                : new byte[first.Length - shared];
            first.Span[shared..].CopyTo(rest);
            chunk.Start = firstEnd - EntrySize(shared, rest.Length);
            WriteEntry(chunk.Data.AsSpan(chunk.Start), shared, rest);
            chunk.HeadRun++;
            if (tail == chunk) tail = null;
        }
        else chunk.HeadRun = 1;
        chunk.Start -= size;
        WriteEntry(chunk.Data.AsSpan(chunk.Start), 0, element);
        chunk.Count++;
        Count++;
    }

    public void PushRight(ReadOnlySpan<byte> element)
    {
        var size = EntrySize(0, element.Length);
        if (chunks.Count == 0) chunks.Add(NewChunk(size, fillFromEnd: false, small: true));
        else if (!Fits(chunks[^1], element.Length) && !TryGrow(chunks[^1], size, atFront: false))
            chunks.Add(NewChunk(size, fillFromEnd: false));
        var chunk = chunks[^1];
        if (chunk.Count > 0) ReadLast(chunk);
        if (chunk.HeadRun >= chunk.Count) chunk.HeadRun = -1;
        Append(chunk, element, last.AsSpan(0, chunk.Count > 0 ? lastLength : 0), ref sinceRestart);
        Keep(0, element);
        tail = chunk;
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
        byte[] previous = [];
        for (var at = chunk.Start; at < chunk.End;)
        {
            var (shared, rest, next) = EntryAt(chunk.Data, at);
            var element = new byte[shared + rest.Length];
            previous.AsSpan(0, shared).CopyTo(element);
            rest.Span.CopyTo(element.AsSpan(shared));
            elements.Add(element);
            previous = element;
            at = next;
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
            var (_, rest, next) = EntryAt(chunk.Data, chunk.Start);
            element = rest.ToArray();
            var popped = chunk.Start;
            chunk.Start = next;
            chunk.HeadRun = -1;
            // The new first entry shares with the element just taken: it is written whole, in the bytes that frees.
            if (chunk.Count > 1 && EntryAt(chunk.Data, next) is { Shared: > 0 } first)
            {
                var whole = new byte[first.Shared + first.Suffix.Length];
                element.AsSpan(0, first.Shared).CopyTo(whole);
                first.Suffix.Span.CopyTo(whole.AsSpan(first.Shared));
                var start = first.Next - EntrySize(0, whole.Length);
                if (start >= popped)
                {
                    WriteEntry(chunk.Data.AsSpan(start), 0, whole);
                    chunk.Start = start;
                }
                else
                {
                    // No room (lengths whose varints grow): the chunk is written again without the element.
                    chunk.Start = popped;
                    Rewrite(index, elements => elements.RemoveAt(0));
                    return element;
                }
                if (tail == chunk) tail = null;
            }
        }
        else
        {
            ReadLast(chunk);
            element = last.AsSpan(0, lastLength).ToArray();
            var start = StartBefore(chunk.Data, chunk.End);
            var poppedShared = EntryAt(chunk.Data, start).Shared;
            chunk.End = start;
            tail = null;
            // The element before shares no more with the one taken than the one taken did with it: it is the bytes
            // they share and its own rest, without reading back to the restart.
            if (chunk.Count > 1 && poppedShared > 0 && EntryAt(chunk.Data, StartBefore(chunk.Data, start))
                is var (shared, rest, _) && shared <= poppedShared)
            {
                Keep(shared, rest.Span);
                sinceRestart = shared == 0 ? 0 : Math.Max(0, sinceRestart - 1);
                tail = chunk;
            }
            chunk.HeadRun = Math.Min(chunk.HeadRun, chunk.Count - 1);
        }
        chunk.Count--;
        Count--;
        if (chunk.Count == 0) Drop(index);
        return element;
    }

    public override StoredObject Copy()
    {
        var copy = new ListValue();
        foreach (var element in Slice(0, Count - 1)) copy.PushRight(element);
        return copy;
    }
}
