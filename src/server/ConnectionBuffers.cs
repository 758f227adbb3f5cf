// src/server/ConnectionBuffers.cs: what one connection holds between the socket and its protocol handler: the bytes
// received and not yet answered (InputBuffer), and the replies written and not yet sent (OutputBuffer), both
// in blocks of the server's BufferPool.
//
// They do what System.IO.Pipelines' Pipe does for a connection, and no more: the input is a chain of blocks
// read as one ReadOnlySequence, so a request split across reads is parsed where it lies, and a partial one
// stays for the next read; the output is an IBufferWriter that the replies are written into, sent once per
// batch. Both give their blocks back as soon as they are empty, so an idle connection holds no buffer; and
// neither holds a task or a thread: the Conversation calls them when the socket is ready. A reply built past what
// is sent at once asks the clients' budget before each further block, so that no command's reply (an EXEC, a
// range of a million entries) can grow past it before anything is counted.

using System.Buffers;
using System.Net.Sockets;

namespace KV;

/// <summary>Bytes received and not yet answered: pool blocks chained into one ReadOnlySequence.</summary>
public sealed class InputBuffer(BufferPool pool)
{
    private Segment? head, tail, spare;
    private int headOffset;

    /// <summary>No unanswered byte (it may still hold an empty block that FreeSpace took).</summary>
    public bool IsEmpty => head is null || (head == tail && headOffset == head.Memory.Length);

    /// <summary>
    /// What has arrived and is not answered yet; answer from it, then Consume up to where the answers ended.
    /// </summary>
    public ReadOnlySequence<byte> Unanswered => head is null ? ReadOnlySequence<byte>.Empty : new(head, headOffset,
        tail!, tail!.Memory.Length);

    /// <summary>
    /// The memory it takes: whole blocks, not just the bytes in them (a read fills a block only partly). Every
    /// block but the last is full, so the running indexes give it without a walk along the chain.
    /// </summary>
    public long Footprint => head is null ? 0 : tail!.RunningIndex - head.RunningIndex + tail.Block.Length;

    /// <summary>Where the next bytes may be received: the end of the last block, or a new one.</summary>
    public Memory<byte> FreeSpace()
    {
        if (tail is null) head = tail = NewSegment(0);
        else if (tail.Memory.Length == tail.Block.Length)
        {
            var next = NewSegment(tail.RunningIndex + tail.Memory.Length);
            tail.Link(next);
            tail = next;
        }
        return tail.Block.AsMemory(tail.Memory.Length);
    }

    /// <summary>`count` bytes were received into FreeSpace.</summary>
    public void Received(int count) => tail!.Grow(count);

    /// <summary>
    /// Everything before `answered` (a position in Unanswered) is done with: emptied blocks go back to the pool.
    /// </summary>
    public void Consume(SequencePosition answered)
    {
        if (head is null) return;
        var segment = (Segment)answered.GetObject()!;
        headOffset = answered.GetInteger();
        while (head != segment) Drop(ref head!);
        while (head != tail && headOffset == head.Memory.Length)
        {
            Drop(ref head!);
            headOffset = 0;
        }
        if (IsEmpty) Release();
    }

    /// <summary>Gives every block back: the connection has ended, or holds nothing.</summary>
    public void Release()
    {
        while (head is not null) Drop(ref head);
        tail = null;
        headOffset = 0;
    }

    private void Drop(ref Segment? segment)
    {
        var dropped = segment!;
        segment = dropped.NextSegment;
        pool.Return(dropped.Block);
        dropped.Reset(null, 0);
        spare = dropped;
    }

    private Segment NewSegment(long runningIndex)
    {
        var segment = spare ?? new Segment();
        spare = null;
        segment.Reset(pool.Rent(), runningIndex);
        return segment;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public byte[] Block { get; private set; } = [];
        public Segment? NextSegment => (Segment?)Next;

        public void Reset(byte[]? block, long runningIndex)
        {
            Block = block ?? [];
            Memory = Block.AsMemory(0, 0);
            RunningIndex = runningIndex;
            Next = null;
        }

        public void Grow(int count) => Memory = Block.AsMemory(0, Memory.Length + count);
        public void Link(Segment next) => Next = next;
    }
}

/// <summary>
/// Replies written and not yet sent: the block being written, and, for a batch over one block, the full ones before it.
/// </summary>
public sealed class OutputBuffer(BufferPool pool) : IBufferWriter<byte>
{
    /// <summary>What may wait unsent before Growing is asked for more (the conversation sends it at this size).
    /// </summary>
    public const long GrowsFreely = 64 * 1024;

    private byte[]? block;
    private int sentTo, written;
    private List<(byte[] Block, int From, int To)>? fullBlocks;
    private long grown;
    private byte[]? dropped;

    public long Unsent { get; private set; }

    /// <summary>
    /// Asked before a reply already GrowsFreely bytes long takes another block (an EXEC, a range of a million
    /// entries, built in one go before anything is sent): true when the clients' budget has room for `bytes` more.
    /// Refused, the rest of what is written is dropped (Overflowed) until EndOverflow. The conversation itself, not a
    /// delegate made for each connection.
    /// </summary>
    public IReplyBudget? Growing { get; set; }

    /// <summary>True once Growing refused: writes go nowhere.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>The writes that went nowhere: what a command still formatted after its reply was cut.</summary>
    public long DroppedWrites { get; private set; }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (Overflowed) return Dropped(sizeHint);
        if (block is not null && block.Length - written >= sizeHint) return block.AsMemory(written);
        if (Growing is { } growing && Unsent >= GrowsFreely)
        {
            var more = Math.Max(sizeHint, BufferPool.BlockSize);
            if (!growing.TryReserve(more))
            {
                Overflowed = true;
                return Dropped(sizeHint);
            }
            grown += more;
        }
        // The block in hand is too small: it waits for its turn to be sent, or goes back if it holds nothing unsent.
        if (block is not null && written > sentTo) (fullBlocks ??= []).Add((block, sentTo, written));
        else if (block is not null) pool.Return(block);
        block = pool.Rent(sizeHint);
        sentTo = written = 0;
        return block;
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public void Advance(int count)
    {
        if (Overflowed) return;
        written += count;
        Unsent += count;
    }

    private Memory<byte> Dropped(int sizeHint)
    {
        DroppedWrites++;
        return dropped is { } scratch && scratch.Length >= sizeHint ? scratch
            : dropped = new byte[Math.Max(sizeHint, BufferPool.BlockSize)];
    }

    /// <summary>
    /// True once nothing more of the reply being written can reach the client: it passed the clients' memory budget,
    /// and the connection ends after it with the reason. A read-only command writing element after element of a large
    /// value stops there, instead of formatting the rest into nowhere under the store's lock.
    /// </summary>
    public static bool Cut(IBufferWriter<byte> output) => output is OutputBuffer { Overflowed: true };

    /// <summary>What Growing has reserved so far, handed back once the reply counts as unsent output instead.</summary>
    public long TakeGrown()
    {
        var taken = grown;
        grown = 0;
        return taken;
    }

    /// <summary>Writes are kept again (the reason the connection ends, after an overflow).</summary>
    public void EndOverflow() => Overflowed = false;

    /// <summary>
    /// Sends what the socket takes without waiting (a non-blocking socket); true when nothing is left.
    /// </summary>
    public bool TrySend(ISocketIO socket)
    {
        while (NextUnsent() is { IsEmpty: false } next)
        {
            var sent = socket.Send(next.Span, out var error);
            if (error == SocketError.WouldBlock) return false;
            if (error != SocketError.Success) throw new SocketException((int)error);
            Sent(sent);
        }
        return true;
    }

    /// <summary>
    /// Sends the rest, waiting for the client to read (the backpressure a client that does not read meets).
    /// </summary>
    public async ValueTask SendRestAsync(Socket socket, CancellationToken cancel)
    {
        while (Unsent > 0) await SendSomeAsync(socket, cancel);
    }

    /// <summary>
    /// Waits until the client takes some of what is unsent: one step of SendRestAsync, for a caller that notes each.
    /// </summary>
    public async ValueTask SendSomeAsync(Socket socket, CancellationToken cancel)
    {
        if (NextUnsent() is { IsEmpty: false } next) Sent(await socket.SendAsync(next, SocketFlags.None, cancel));
    }

    /// <summary>Gives every block back, sent or not: the connection has ended.</summary>
    public void Release()
    {
        foreach (var full in fullBlocks ?? []) pool.Return(full.Block);
        fullBlocks?.Clear();
        if (block is not null) pool.Return(block);
        block = null;
        sentTo = written = 0;
        Unsent = 0;
    }

    private ReadOnlyMemory<byte> NextUnsent() =>
        fullBlocks is [var first, ..] ? first.Block.AsMemory(first.From..first.To)
        : block is not null ? block.AsMemory(sentTo..written) : ReadOnlyMemory<byte>.Empty;

    private void Sent(int count)
    {
        Unsent -= count;
        if (fullBlocks is [var first, ..])
        {
            if (first.From + count < first.To) fullBlocks[0] = first with { From = first.From + count };
            else
            {
                fullBlocks.RemoveAt(0);
                pool.Return(first.Block);
            }
            return;
        }
        sentTo += count;
        if (sentTo == written)
        {
            pool.Return(block!);
            block = null;
            sentTo = written = 0;
        }
    }
}

/// <summary>
/// How a conversation reads and sends without waiting. Its threading model says how: through .NET's Socket
/// (NonBlockingSocket), or below it (the loops model reads and writes the descriptor).
/// </summary>
public interface ISocketIO
{
    /// <summary>What has arrived, as much as fits; WouldBlock when nothing has, 0 at the stream's end.</summary>
    int Receive(Span<byte> into, out SocketError error);

    /// <summary>What the socket takes now of these bytes; WouldBlock when it takes none.</summary>
    int Send(ReadOnlySpan<byte> bytes, out SocketError error);
}

/// <summary>
/// .NET's Socket, made non-blocking, as the pool and the per-client models read and write it. .NET keeps an
/// asynchronous context (a few hundred bytes) for each such socket.
/// </summary>
public sealed class NonBlockingSocket : ISocketIO
{
    private readonly Socket socket;

    public NonBlockingSocket(Socket socket)
    {
        socket.Blocking = false;
        this.socket = socket;
    }

    public int Receive(Span<byte> into, out SocketError error) => socket.Receive(into, SocketFlags.None, out error);
    public int Send(ReadOnlySpan<byte> bytes, out SocketError error) => socket.Send(bytes, SocketFlags.None, out error);
}

/// <summary>Waits on a connection's socket that tolerate the socket engine's spurious wake-ups.</summary>
public static class SocketWaits
{
    /// <summary>
    /// Completes when the client has sent bytes, or closed. A zero-byte receive may complete with nothing there (its
    /// readiness was seen, and the bytes taken by a read since), so it is waited for again until the socket says so:
    /// once, a monitor took such a wake-up for its client's next request and stopped watching.
    /// </summary>
    public static async Task DataOrEndAsync(this Socket socket, CancellationToken cancellation)
    {
        do await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellation);
        while (socket.Available == 0 && !socket.Poll(0, SelectMode.SelectRead));
    }
}
