// src/Conversation.cs: the loop every connection runs, whatever protocol it speaks. Read what has arrived,
// answer every whole request in it, flush the replies once per batch, and keep a partial request in the
// pipe for the next read, up to a bound.
//
// An idle client, or one that sent half a request, is an awaited ReadAsync: it holds no thread, only its
// socket. Unsent replies past 64 KiB are flushed before the next request is read, so a client that does not
// read its replies stops being read (backpressure). The protocols (LineHandler for KV's own, RespHandler for
// Redis's) only say where a request ends and what to answer.

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
}

public static class Conversation
{
    private const int FlushThresholdBytes = 64 * 1024;

    /// <summary>Runs until the client leaves, the handler ends it, it is idle too long, or the server stops. Returns why it ended.</summary>
    public static async Task<string> RunAsync(PipeReader input, PipeWriter output, IRequestHandler handler, TimeSpan idleTimeout, CancellationToken stopping)
    {
        using var idle = idleTimeout > TimeSpan.Zero ? CancellationTokenSource.CreateLinkedTokenSource(stopping) : null;
        var readToken = idle?.Token ?? stopping;
        while (true)
        {
            idle?.CancelAfter(idleTimeout);
            ReadResult result;
            try
            {
                result = await input.ReadAsync(readToken);
            }
            catch (OperationCanceledException)
            {
                // Like Redis, close without a word: a line the client did not ask for would be read as the next reply.
                return stopping.IsCancellationRequested ? "the server is stopping" : $"idle for {idleTimeout.TotalSeconds} s";
            }

            var buffer = result.Buffer;
            string? ending = null;
            while (ending is null && handler.TryAnswer(ref buffer, output, out ending))
                if (output.UnflushedBytes > FlushThresholdBytes) await output.FlushAsync(stopping);
            if (ending is null && !buffer.IsEmpty) ending = handler.RefuseUnfinished(buffer, output);
            var unfinished = !buffer.IsEmpty;
            input.AdvanceTo(buffer.Start, buffer.End);

            if (output.UnflushedBytes > 0) await output.FlushAsync(stopping);
            if (ending is not null) return ending;
            // An unfinished last request is dropped, as Redis does: it may be one cut short by a killed client.
            if (result.IsCompleted) return unfinished ? "closed by the client in the middle of a request" : "closed by the client";
        }
    }
}
