// src/server/Listing.cs: `list` and `KEYS`, done so that no listing holds the others up, however many keys.
//
// A listing walks the store's table in slices: the lock is held for one slice of slots at a time (the keys
// in it are copied out), then released, so that a `get` never waits for more than one slice. Matching a
// pattern, sorting and writing happen outside the lock. Only a few listings work at once (one for every two
// cores: ListingTurns.Working), each taking a slot for a few milliseconds of work (a slice of the walk, the sort, a
// block of the reply) and then giving it to the next, so that listings share the slots in turn and never
// occupy every pool thread; a listing waiting for a slot, or for its client to read, holds no thread. Only a
// few gather keys at once (ListingTurns.Gathering); the others wait their turn to begin, holding nothing. The keys
// gathered are counted against the clients' memory budget as they grow, and a listing that would pass it is
// refused with an ERROR naming its keys and the budget; the reply is sent a block at a time as it is
// written, so it is never held whole. A client that closes its side while its listing waits is still
// answered: TCP cannot tell one that left from one that only stopped sending and still reads (`nc -N`);
// one that left is noticed when the first block of the reply is refused.
//
// What a listing guarantees while keys change under it: every key present from its start to its end is
// listed exactly once; a key set or deleted during it may or may not be. (The table's cursor is given the
// keys that a removal moves from ahead of it to behind it, and, when the table grows, every key it has not
// reached; keys seen twice are dropped after the sort.)

using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;

namespace KV;

/// <summary>
/// Keys copied out of the store: their bytes in blocks (none of them a large object), and where each one is.
/// </summary>
/// <param name="expectedCount">Room for this many keys from the start.</param>
public sealed class KeyList(int expectedCount = 0)
{
    private const int BlockBytes = 64 * 1024;
    private readonly List<byte[]> blocks = [];
    private readonly List<long> entries = new(expectedCount);
    private int used = BlockBytes;

    public int Count => entries.Count;

    /// <summary>The memory it holds: its blocks and its list of entries.</summary>
    public long Footprint => (long)blocks.Count * BlockBytes + (long)entries.Capacity * sizeof(long);

    public ReadOnlySpan<byte> this[int index] => Key(entries[index]);

    public void Add(ReadOnlySpan<byte> key)
    {
        if (used + key.Length > BlockBytes)
        {
            blocks.Add(GC.AllocateUninitializedArray<byte>(BlockBytes));
            used = 0;
        }
        key.CopyTo(blocks[^1].AsSpan(used));
        entries.Add((long)(blocks.Count - 1) << 40 | (long)used << 16 | (uint)key.Length);
        used += key.Length;
    }

    /// <summary>Empties it, keeping its first block for the next keys.</summary>
    public void Clear()
    {
        if (blocks.Count > 1) blocks.RemoveRange(1, blocks.Count - 1);
        used = blocks.Count == 0 ? BlockBytes : 0;
        entries.Clear();
    }

    /// <summary>Sorts the keys in byte (code point) order and drops the repeats.</summary>
    public void SortDistinct()
    {
        var span = CollectionsMarshal.AsSpan(entries);
        span.Sort((a, b) => Key(a).SequenceCompareTo(Key(b)));
        var kept = 0;
        for (var i = 0; i < span.Length; i++)
            if (kept == 0 || !Key(span[i]).SequenceEqual(Key(span[kept - 1]))) span[kept++] = span[i];
        entries.RemoveRange(kept, entries.Count - kept);
    }

    /// <summary>An entry is [block: 24 bits][offset: 24 bits][length: 16 bits].</summary>
    private ReadOnlySpan<byte> Key(long entry) => blocks[(int)(entry >> 40)].AsSpan((int)(entry >> 16) & 0xFF_FFFF,
        (int)(entry & 0xFFFF));
}

/// <summary>A store's listing turns: how many listings may gather keys, and how many may work, at once.</summary>
public sealed class ListingTurns
{
    private static readonly ConditionalWeakTable<KeyValueStore, ListingTurns> ByStore = [];

    public static ListingTurns Of(KeyValueStore store) => ByStore.GetValue(store, static _ => new ListingTurns());

    /// <summary>
    /// How many listings may work at once: one for every two cores, so they never take every pool thread.
    /// </summary>
    public SemaphoreSlim Working { get; } = new(Math.Max(1, Environment.ProcessorCount / 2));

    /// <summary>
    /// How many listings may be gathering their keys at once (a few more than work at once); the others wait
    /// their turn to begin, so that the keys gathered at once are a few listings' worth, not one for every client.
    /// </summary>
    public SemaphoreSlim Gathering { get; } = new(Math.Max(2, Environment.ProcessorCount));
}

/// <summary>
/// One listing in progress: `list` (every key), or RESP's `KEYS pattern` (`filter` keeps the keys that match),
/// written by the protocol's own writers.
/// </summary>
public sealed class Listing(KeyValueStore store, KeyFilter? filter, Action<IBufferWriter<byte>, int> writeCount,
    Action<IBufferWriter<byte>, ReadOnlySpan<byte>> writeKey)
{
    private readonly ListingTurns turns = ListingTurns.Of(store);

    /// <summary>How long a listing works before it lets the next one have its slot.</summary>
    private static readonly long SliceTicks = Stopwatch.Frequency / 500;

    /// <summary>Replies are sent a block at a time: the client reads one while the next is written.</summary>
    private const int SendEvery = 64 * 1024;

    /// <summary>What this listing has counted against the clients' budget so far.</summary>
    private long reserved;


    /// <summary>
    /// Gathers, sorts and writes the keys; an ERROR instead when they would not fit in the clients' budget.
    /// </summary>
    public async ValueTask<string?> RunAsync(IReplyContext context)
    {
        var cancel = context.Cancellation;
        try
        {
            KeyList matching;
            await turns.Gathering.WaitAsync(cancel);
            try
            {
                // Without a pattern, the count is known: room for every entry at once (counted first), not a list
                // doubling as it goes.
                var expected = filter is null ? store.CountHeld : 0;
                if (!Reserve(context, (long)expected * sizeof(long))) return null;
                matching = new KeyList(expected);
                if (!await GatherAsync(matching, context, cancel)) return null;
                await turns.Working.WaitAsync(cancel);
                try
                {
                    matching.SortDistinct();
                }
                finally
                {
                    turns.Working.Release();
                }
            }
            finally
            {
                turns.Gathering.Release();
            }
            writeCount(context.Output, matching.Count);
            // Written a block at a time, each in a slot's turn, and sent outside it: a client that reads slowly
            // holds no slot, and a fast one no thread for longer than a block.
            for (var next = 0; next < matching.Count;)
            {
                await turns.Working.WaitAsync(cancel);
                try
                {
                    for (var written = 0L; next < matching.Count && written < SendEvery; next++)
                    {
                        writeKey(context.Output, matching[next]);
                        written += matching[next].Length;
                    }
                }
                finally
                {
                    turns.Working.Release();
                }
                await context.FlushAsync();
            }
            return null;
        }
        finally
        {
            context.Unreserve(reserved);
        }
    }

    /// <summary>
    /// Counts `bytes` more against the clients' budget; when they do not fit, the refusal is written instead.
    /// </summary>
    private bool Reserve(IReplyContext context, long bytes)
    {
        if (bytes <= 0) return true;
        if (!context.TryReserve(bytes))
        {
            context.WriteError(Errors.ListingTooLarge(store.CountHeld, context.ClientMemoryLimit));
            return false;
        }
        reserved += bytes;
        return true;
    }

    /// <summary>
    /// Walks the table in slices, keeping the keys that match; false (the refusal written) when they do not fit the
    /// budget.
    /// </summary>
    private async ValueTask<bool> GatherAsync(KeyList matching, IReplyContext context, CancellationToken cancel)
    {
        var cursor = store.StartListing();
        try
        {
            var walked = new KeyList();
            var (next, done) = (0, false);
            while (!done || next < walked.Count)
            {
                await turns.Working.WaitAsync(cancel);
                try
                {
                    var sliceEnds = Stopwatch.GetTimestamp() + SliceTicks;
                    do
                    {
                        if (next == walked.Count)
                        {
                            if (done) break;
                            walked.Clear();
                            next = 0;
                            done = !store.ContinueListing(cursor, walked);
                        }
                        for (; next < walked.Count && (next % 64 != 63 || Stopwatch.GetTimestamp() < sliceEnds); next++)
                            if (filter is null || filter(walked[next])) matching.Add(walked[next]);
                        cancel.ThrowIfCancellationRequested();
                    }
                    while (Stopwatch.GetTimestamp() < sliceEnds);
                }
                finally
                {
                    turns.Working.Release();
                }
                if (!Reserve(context, matching.Footprint + walked.Footprint - reserved)) return false;
            }
            return true;
        }
        finally
        {
            store.EndListing(cursor);
        }
    }
}
