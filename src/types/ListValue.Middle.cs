// src/types/ListValue.Middle.cs: feature: a list's elements away from its ends: found by index (the chunks' counts,
// then a walk in one chunk), read as a slice or backwards, and changed in the middle (LSET, LINSERT, LREM, LTRIM), a
// change rewriting the one chunk it falls in, front-coded again.

using static KV.ListEntries;

namespace KV;

public sealed partial class ListValue
{
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
        // What the elements take written whole, at the most: a list that fits in less than a chunk gets a small one.
        var total = elements.Sum(element => (long)EntrySize(0, element.Length));
        var restarts = 0;
        for (var i = 0; i < elements.Count; i++)
        {
            if (made.Count == 0 || !Fits(made[^1], elements[i].Length))
                made.Add(total < ChunkBytes ? NewChunk((int)total, false, small: true)
                    : NewChunk(EntrySize(0, elements[i].Length), false));
            Append(made[^1], elements[i], i > 0 ? elements[i - 1] : [], ref restarts);
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
}
