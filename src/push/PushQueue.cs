// src/push/PushQueue.cs: feature: what the server pushes to a client that did not ask for each line: a monitor's
// requests, a subscriber's messages. Items are posted from any thread (the ones serving other clients); the client's
// own conversation writes them out as its client reads, like any reply (backpressure), in a deferred reply that ends
// when its client sends a request (which is then answered) or leaves. A folder of its own: the two features that
// push (src/monitor, src/pubsub) share it, and the core, which never pushes, does not name it.
//
// What waits in the queue counts against --max-client-memory, reserved by the posting thread. A full budget first
// closes the connection holding the most (many clients that do not read cannot leave no room for those that do);
// when the item would still not fit, or would pass the queue's own bound, the posting thread closes this client at
// once with the reason as its last word: it fell behind, and nobody waits for it (its own thread may be stuck on a
// client that does not read).
//
// Posting threads, the client's own thread and its end meet here without a lock. Each step where another may come
// between is a named step point, for the scheduler of the interleaving tests (tests/Harness.Interleavings.cs).

using System.Buffers;
using System.Threading.Channels;

namespace KV;

/// <param name="sizeOf">What an item holds, roughly, for the budget.</param>
/// <param name="write">Writes one item in the client's protocol.</param>
/// <param name="fellBehind">The reason the client is closed with, given the bytes that were waiting.</param>
/// <param name="steps">A test's scheduler; the server passes none.</param>
public sealed class PushQueue<T>(Func<T, long> sizeOf, Action<IBufferWriter<byte>, T> write,
    Func<long, string> fellBehind, Action closedByLimit, IStepPoints? steps = null)
{
    private long maxBytes;
    private const long BatchBytes = 64 * 1024;
    private readonly Channel<T> pending = Channel.CreateUnbounded<T>(new() { SingleReader = true });
    private IReplyContext? context;
    private long unsent;
    private int behind;

    /// <summary>The bytes queued and not written yet.</summary>
    public long Unsent => Interlocked.Read(ref unsent);

    /// <summary>Whether it was closed for falling behind.</summary>
    public bool FellBehind => Volatile.Read(ref behind) == 1;

    /// <summary>
    /// Ready to take items, at most `bound` bytes of them unsent (0: only the clients' budget bounds them); on the
    /// conversation's own thread, before any other thread posts through it.
    /// </summary>
    public void Open(IReplyContext connection, long bound = 0)
    {
        connection.TryReserve(0);
        maxBytes = bound;
        context = connection;
    }

    /// <summary>
    /// From any thread: queue the item, if the budget and the bound have room for it; else the client is closed.
    /// </summary>
    public bool Post(T item)
    {
        var size = sizeOf(item);
        if (FellBehind || context is not { } client) return false;
        steps?.Reach("post: reserve");
        if ((maxBytes > 0 && Interlocked.Read(ref unsent) + size > maxBytes)
            || !client.TryReserve(size, makeRoom: true))
        {
            if (Interlocked.Exchange(ref behind, 1) == 1) return false;
            pending.Writer.TryComplete();
            closedByLimit();
            client.Evict(fellBehind(Interlocked.Read(ref unsent) + size));
            return false;
        }
        steps?.Reach("post: count");
        Interlocked.Add(ref unsent, size);
        steps?.Reach("post: queue");
        if (pending.Writer.TryWrite(item)) return true;
        // Closed while this was posted: nothing will write it.
        steps?.Reach("post: give back");
        Interlocked.Add(ref unsent, -size);
        client.Unreserve(size);
        return false;
    }

    /// <summary>
    /// Writes what comes until the client speaks or leaves (null: the conversation reads on), or it fell behind.
    /// </summary>
    public async ValueTask<string?> PumpAsync(IReplyContext client)
    {
        await client.FlushAsync();
        var spoke = client.ClientSpeaksAsync();
        while (true)
        {
            // What is queued already goes first: a pump restarted after a request finds it waiting.
            var ready = pending.Reader.WaitToReadAsync(client.Cancellation).AsTask();
            if (!ready.IsCompleted && await Task.WhenAny(ready, spoke) == spoke) return null;
            // No more to come: it fell behind, and is being closed with the reason as its last word.
            if (!await ready || FellBehind) return null;
            // A batch at a time, so that a flood is sent as it comes instead of piling up unsent.
            var written = 0L;
            while (written < BatchBytes && pending.Reader.TryRead(out var item))
            {
                write(client.Output, item);
                written += sizeOf(item);
            }
            Interlocked.Add(ref unsent, -written);
            client.Unreserve(written);
            // Past the clients' budget the rest of the batch was dropped: the pump stops, and the connection ends.
            if (client.ReplyCut) return null;
            await client.FlushAsync();
            if (spoke.IsCompleted) return null;
        }
    }

    /// <summary>
    /// Writes what is queued now, before the client's request is answered, on the conversation's own thread: a message
    /// published before the request was read arrives before its reply, as it would from Redis.
    /// </summary>
    public void WriteQueued(IBufferWriter<byte> output)
    {
        var written = 0L;
        while (Step("write: take") && pending.Reader.TryRead(out var item))
        {
            write(output, item);
            written += sizeOf(item);
        }
        steps?.Reach("write: give back");
        Interlocked.Add(ref unsent, -written);
        context?.Unreserve(written);
    }

    /// <summary>No more items: what was still queued is given back to the budget.</summary>
    public void Close()
    {
        steps?.Reach("close: complete");
        pending.Writer.TryComplete();
        var left = 0L;
        while (Step("close: take") && pending.Reader.TryRead(out var item)) left += sizeOf(item);
        steps?.Reach("close: give back");
        Interlocked.Add(ref unsent, -left);
        context?.Unreserve(left);
    }

    /// <summary>A step point inside a condition: always true.</summary>
    private bool Step(string point)
    {
        steps?.Reach(point);
        return true;
    }
}
