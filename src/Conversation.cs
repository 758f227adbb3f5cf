// src/Conversation.cs: the loop every connection runs, whatever protocol it speaks. Read what has arrived,
// answer every whole request in it, flush the replies once per batch, and keep a partial request in the
// pipe for the next read, up to a bound.
//
// An idle client, or one that sent half a request, is an awaited ReadAsync: it holds no thread, only its
// socket. Unsent replies past 64 KiB are flushed before the next request is read, so a client that does not
// read its replies stops being read (backpressure). What a connection holds (its unfinished request and its
// unsent replies) is reported to the clients' memory budget, which may end it. The protocols (LineHandler
// for KV's own, RespHandler for Redis's) only say where a request ends and what to answer.

using System.Buffers;
using System.IO.Pipelines;

namespace KV;

/// <summary>One protocol's half of a conversation: cut requests off the buffer and answer them.</summary>
public interface IRequestHandler
{
    /// <summary>
    /// Answers the first whole request in the buffer and cuts it off (a blank one is cut off unanswered).
    /// False when no whole request is there yet. `ending` says why the connection must close after this reply.
    /// </summary>
    bool TryAnswer(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, out string? ending);

    /// <summary>When an unfinished request has grown past what the protocol allows: the refusal is written, and the reason returned.</summary>
    string? RefuseUnfinished(ReadOnlySequence<byte> unfinished, IBufferWriter<byte> output);

    /// <summary>A delay the last answer asked for before it is sent (a wrong password); zero for none.</summary>
    TimeSpan TakePause();

    /// <summary>An error line in this protocol's words, for a connection the server ends on its own.</summary>
    void WriteError(IBufferWriter<byte> output, string message);
}

public static class Conversation
{
    private const int FlushThresholdBytes = 64 * 1024;
    private static readonly TimeSpan LastWordTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Runs until the client leaves, the handler ends it, it is idle too long, the memory budget ends it, or the server stops.</summary>
    /// <returns>Why the conversation ended, for the log.</returns>
    public static async Task<string> RunAsync(
        PipeReader input, PipeWriter output, IRequestHandler handler, TimeSpan idleTimeout, ClientMemoryAccount memory, CancellationToken stopping)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(stopping, memory.Evicted);
        var token = connection.Token;
        using var idle = idleTimeout > TimeSpan.Zero ? CancellationTokenSource.CreateLinkedTokenSource(token) : null;
        var readToken = idle?.Token ?? token;
        try
        {
            while (true)
            {
                idle?.CancelAfter(idleTimeout);
                ReadResult result;
                try
                {
                    result = await input.ReadAsync(readToken);
                }
                catch (OperationCanceledException) when (!memory.Evicted.IsCancellationRequested)
                {
                    // Like Redis, close without a word: a line the client did not ask for would be read as the next reply.
                    return stopping.IsCancellationRequested ? "the server is stopping" : $"idle for {idleTimeout.TotalSeconds} s";
                }

                var buffer = result.Buffer;
                // What this read brought in counts at once: it may pass the budget, and end this very connection.
                memory.Hold(Footprint(buffer) + output.UnflushedBytes);
                memory.Evicted.ThrowIfCancellationRequested();
                string? ending = null;
                while (ending is null && handler.TryAnswer(ref buffer, output, out ending))
                {
                    if (handler.TakePause() is { Ticks: > 0 } pause) await Task.Delay(pause, token);
                    if (output.UnflushedBytes > FlushThresholdBytes) await FlushAsync(output, memory, Footprint(buffer), token);
                }
                if (ending is null && !buffer.IsEmpty) ending = handler.RefuseUnfinished(buffer, output);
                var unfinished = !buffer.IsEmpty;
                var footprint = Footprint(buffer);
                input.AdvanceTo(buffer.Start, buffer.End);

                await FlushAsync(output, memory, footprint, token);
                if (ending is not null) return ending;
                // An unfinished last request is dropped, as Redis does: it may be one cut short by a killed client.
                if (result.IsCompleted) return unfinished ? "closed by the client in the middle of a request" : "closed by the client";
            }
        }
        catch (OperationCanceledException) when (memory.EvictionReason is { } reason)
        {
            await LastWordAsync(output, handler, reason);
            return reason;
        }
    }

    /// <summary>
    /// The memory a buffer takes: whole blocks, not just the bytes in them (a read fills a block only partly),
    /// so that the budget measures what the process holds. One pass over its segments: a few for a request.
    /// </summary>
    private static long Footprint(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        if (buffer.IsSingleSegment) return Math.Max(buffer.Length, BufferPool.BlockSize);
        long blocks = 0;
        foreach (var segment in buffer) blocks += Math.Max(segment.Length, BufferPool.BlockSize);
        return blocks;
    }

    /// <summary>Sends what is waiting; while it waits (a client that does not read), it counts against the budget.</summary>
    private static async ValueTask FlushAsync(PipeWriter output, ClientMemoryAccount memory, long unfinished, CancellationToken token)
    {
        if (output.UnflushedBytes > 0)
        {
            memory.Hold(unfinished + output.UnflushedBytes);
            await output.FlushAsync(token);
        }
        memory.Hold(unfinished);
    }

    /// <summary>The error that explains why the server ends the connection, sent if the client will take it within a second.</summary>
    private static async Task LastWordAsync(PipeWriter output, IRequestHandler handler, string error)
    {
        try
        {
            handler.WriteError(output, error);
            using var patience = new CancellationTokenSource(LastWordTimeout);
            await output.FlushAsync(patience.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException) { }
    }
}
