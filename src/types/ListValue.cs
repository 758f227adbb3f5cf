// src/types/ListValue.cs: feature: a list, as the store holds it: a ring of elements, so that a push or a pop at
// either end is one step and an element is found by index at once (LINDEX, LSET). A removal in the middle (LREM,
// LINSERT) moves the shorter side. Not thread-safe: the store's lock is held around every use.

namespace KV;

public sealed class ListValue : StoredObject
{
    /// <summary>
    /// What an element costs beyond its bytes, by --max-memory's measure: its array's header and length, and the
    /// ring's reference to it.
    /// </summary>
    public const int ElementOverheadBytes = 32;

    private byte[][] ring = new byte[4][];
    private int head;
    private long bytes;

    public override string Kind => "list";
    public override long Bytes => bytes + (long)ring.Length * sizeof(long);
    public int Count { get; private set; }

    private int Slot(int index) => (head + index) & (ring.Length - 1);

    public byte[] this[int index]
    {
        get => ring[Slot(index)];
        set
        {
            bytes += value.Length - ring[Slot(index)].Length;
            ring[Slot(index)] = value;
        }
    }

    public static long CostOf(int elementBytes) => elementBytes + ElementOverheadBytes;

    private void Grow()
    {
        if (Count < ring.Length) return;
        var larger = new byte[ring.Length * 2][];
        for (var i = 0; i < Count; i++) larger[i] = ring[Slot(i)];
        ring = larger;
        head = 0;
    }

    public void PushLeft(byte[] element)
    {
        Grow();
        head = (head - 1) & (ring.Length - 1);
        ring[head] = element;
        Count++;
        bytes += CostOf(element.Length);
    }

    public void PushRight(byte[] element)
    {
        Grow();
        ring[Slot(Count)] = element;
        Count++;
        bytes += CostOf(element.Length);
    }

    public void Push(byte[] element, bool left)
    {
        if (left) PushLeft(element);
        else PushRight(element);
    }

    public byte[] Pop(bool left) => RemoveAt(left ? 0 : Count - 1);

    /// <summary>Removes the element at `index` (0 is the left end), moving the shorter side up to the gap.</summary>
    public byte[] RemoveAt(int index)
    {
        var removed = this[index];
        if (index < Count / 2)
        {
            for (var i = index; i > 0; i--) ring[Slot(i)] = ring[Slot(i - 1)];
            ring[head] = null!;
            head = (head + 1) & (ring.Length - 1);
        }
        else
        {
            for (var i = index; i < Count - 1; i++) ring[Slot(i)] = ring[Slot(i + 1)];
            ring[Slot(Count - 1)] = null!;
        }
        Count--;
        bytes -= CostOf(removed.Length);
        Shrink();
        return removed;
    }

    /// <summary>Puts `element` at `index`, the elements from there on one further right.</summary>
    public void Insert(int index, byte[] element)
    {
        if (index == 0)
        {
            PushLeft(element);
            return;
        }
        PushRight(element);
        for (var i = Count - 1; i > index; i--) ring[Slot(i)] = ring[Slot(i - 1)];
        ring[Slot(index)] = element;
    }

    /// <summary>Keeps the elements from `start` to `stop` inclusive (LTRIM), both already within the list.</summary>
    public void Keep(int start, int stop)
    {
        var kept = new List<byte[]>(Math.Max(0, stop - start + 1));
        for (var i = start; i <= stop; i++) kept.Add(this[i]);
        Clear();
        foreach (var element in kept) PushRight(element);
    }

    private void Clear()
    {
        ring = new byte[4][];
        head = 0;
        Count = 0;
        bytes = 0;
    }

    /// <summary>A ring a quarter full gives back half of itself: a drained list does not keep its peak.</summary>
    private void Shrink()
    {
        if (ring.Length <= 16 || Count > ring.Length / 4) return;
        var smaller = new byte[ring.Length / 2][];
        for (var i = 0; i < Count; i++) smaller[i] = ring[Slot(i)];
        ring = smaller;
        head = 0;
    }

    public override StoredObject Copy()
    {
        var copy = new ListValue();
        for (var i = 0; i < Count; i++) copy.PushRight(this[i]);
        return copy;
    }
}
