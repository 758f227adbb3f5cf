// src/resp/BudgetedReply.cs: a reply that counts against the clients' memory budget while it is being built. EXEC's
// reply is as large as its commands make it (ten thousand GETs of a megabyte: ten gigabytes), and it is built in one
// hold of the store's lock, before the conversation's own accounting sees it. This writer reserves what it takes from
// the budget a chunk at a time; when the budget refuses, the rest is not kept (the commands still run: a transaction
// is all or nothing), and EXEC closes the connection with the reason. What it kept counts for as long as it waits to
// be sent, as any reply does.

using System.Buffers;

namespace KV;

internal sealed class BudgetedReply(IBufferWriter<byte> output, IReplyContext? connection) : IBufferWriter<byte>
{
    private const int Chunk = 64 * 1024;
    private long written, reserved;
    private DroppedReply? dropped;

    /// <summary>True once the budget refused more: what was written since was dropped.</summary>
    public bool Overflowed { get; private set; }

    public void Advance(int count)
    {
        if (Overflowed) return;
        output.Advance(count);
        written += count;
        while (written > reserved && !Overflowed)
        {
            if (connection?.TryReserve(Chunk) == false) Overflowed = true;
            else reserved += Chunk;
        }
    }

    public Memory<byte> GetMemory(int sizeHint = 0) =>
        Overflowed ? (dropped ??= new DroppedReply()).GetMemory(sizeHint) : output.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <summary>The reservations go back: the bytes kept are the output buffer's now, which the conversation counts.
    /// </summary>
    public void Release()
    {
        connection?.Unreserve(reserved);
        reserved = 0;
    }
}
