// src/LineHandler.cs: KV's own protocol on one connection. A PipeReader line loop that answers every whole
// line in the buffer, writes the replies into one output buffer and flushes once per batch; and Execute,
// which runs one parsed request against the store.
//
// An idle client, or one that sent half a line, is an awaited ReadAsync: it holds no thread, only its socket.
// Two bounds keep a connection's memory finite: --max-line-bytes for the line being read, and the flush at
// 64 KiB of unsent replies (a client that does not read its replies stops being read).

using System.Buffers;
using System.IO.Pipelines;

namespace KV;

public sealed class LineHandler(KeyValueStore store, ServerOptions options)
{
    private const int FlushThresholdBytes = 64 * 1024;

    /// <summary>The line loop. Returns why the conversation ended.</summary>
    public async Task<string> ConverseAsync(PipeReader input, PipeWriter output, CancellationToken stopping)
    {
        using var idle = options.IdleTimeout > TimeSpan.Zero ? CancellationTokenSource.CreateLinkedTokenSource(stopping) : null;
        var readToken = idle?.Token ?? stopping;
        while (true)
        {
            idle?.CancelAfter(options.IdleTimeout);
            ReadResult result;
            try
            {
                result = await input.ReadAsync(readToken);
            }
            catch (OperationCanceledException)
            {
                // Like Redis, close without a word: a line the client did not ask for would be read as the next reply.
                return stopping.IsCancellationRequested ? "the server is stopping" : $"idle for {options.IdleTimeout.TotalSeconds} s";
            }

            var buffer = result.Buffer;
            string? ending = null;
            while (ending is null && LineFraming.TryReadRequest(ref buffer, out var line))
            {
                if (line.Length > options.MaxLineBytes) ending = RefuseLongLine(output);
                else if (Execute(line, output)) ending = "exit";
                if (output.UnflushedBytes > FlushThresholdBytes) await output.FlushAsync(stopping);
            }
            // No LF yet: the pipe keeps the partial line for the next read, up to the limit.
            if (ending is null && buffer.Length > options.MaxLineBytes) ending = RefuseLongLine(output);
            var partialLine = !buffer.IsEmpty;
            input.AdvanceTo(buffer.Start, buffer.End);

            if (output.UnflushedBytes > 0) await output.FlushAsync(stopping);
            if (ending is not null) return ending;
            // A last line without its LF is dropped, as Redis does: it may be a request cut short by a killed client.
            if (result.IsCompleted) return partialLine ? "closed by the client in the middle of a line" : "closed by the client";
        }
    }

    private string RefuseLongLine(PipeWriter output)
    {
        var error = Errors.LineTooLong(options.MaxLineBytes);
        ReplyWriter.Error(output, error);
        return error;
    }

    private bool Execute(ReadOnlySequence<byte> line, PipeWriter output)
    {
        if (line.IsSingleSegment) return Execute(line.FirstSpan, output);
        var length = (int)line.Length;
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            line.CopyTo(copy);
            return Execute(copy.AsSpan(0, length), output);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>Answers one request line (without its LF or CRLF). True when the connection is to be closed (`exit`).</summary>
    private bool Execute(ReadOnlySpan<byte> line, PipeWriter output)
    {
        var request = RequestParser.Parse(line);
        if (request.Error is { } error)
        {
            ReplyWriter.Error(output, error);
            return false;
        }
        switch (request.Command?.Kind)
        {
            case null:
                return false;
            case CommandKind.Get:
                if (store.TryGet(request.Key, out var value)) ReplyWriter.Value(output, value.Span);
                else ReplyWriter.Error(output, Errors.NotFound(request.Key));
                return false;
            case CommandKind.Set:
                store.Set(request.Key, request.Value);
                ReplyWriter.Ok(output);
                return false;
            case CommandKind.Del:
                if (store.Remove(request.Key)) ReplyWriter.Ok(output);
                else ReplyWriter.Error(output, Errors.NotFound(request.Key));
                return false;
            case CommandKind.List:
                ReplyWriter.Keys(output, store.SortedKeys());
                return false;
            case CommandKind.Ping:
                ReplyWriter.Pong(output);
                return false;
            case CommandKind.Help:
                ReplyWriter.Help(output, Commands.HelpFor(request.Topic));
                return false;
            case CommandKind.Exit:
                ReplyWriter.Bye(output);
                return true;
            default:
                throw new InvalidOperationException($"no handler for {request.Command.Kind}");
        }
    }
}
