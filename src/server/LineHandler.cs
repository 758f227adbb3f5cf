// src/server/LineHandler.cs: KV's own protocol on one connection, for Conversation's loop: a request is a line
// (LineFraming), and Execute runs one parsed request against the store and writes its reply.
//
// A line longer than --max-line-bytes, finished or not, is answered with an ERROR and ends the connection.
// With a password, only `auth`, `help`, `ping` and `exit` are answered until the connection has given it.

using System.Buffers;

namespace KV;

public sealed class LineHandler(KeyValueStore store, int maxLineBytes, ConnectionAccess access) : IRequestHandler
{
    private DeferredReply? deferred;

    public DeferredReply? TakeDeferred()
    {
        var taken = deferred;
        deferred = null;
        return taken;
    }

    public void WriteError(IBufferWriter<byte> output, string message) => ReplyWriter.Error(output, message);

    public bool TryAnswer(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, out string? ending)
    {
        ending = null;
        if (!LineFraming.TryReadRequest(ref buffer, out var line)) return false;
        if (line.Length > maxLineBytes) ending = RefuseLongLine(output);
        else if (Execute(line, output)) ending = "exit";
        return true;
    }

    /// <summary>No LF yet: the conversation keeps the partial line for the next read, up to the limit.</summary>
    public string? RefuseUnfinished(ReadOnlySequence<byte> unfinished, IBufferWriter<byte> output) =>
        unfinished.Length > maxLineBytes ? RefuseLongLine(output) : null;

    private string RefuseLongLine(IBufferWriter<byte> output)
    {
        var error = Errors.LineTooLong(maxLineBytes);
        ReplyWriter.Error(output, error);
        return error;
    }

    private bool Execute(ReadOnlySequence<byte> line, IBufferWriter<byte> output)
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
    private bool Execute(ReadOnlySpan<byte> line, IBufferWriter<byte> output)
    {
        var request = RequestParser.Parse(line);
        if (request.Error is { } error)
        {
            ReplyWriter.Error(output, error);
            return false;
        }
        if (!access.Authenticated && request.Command is { BeforeAuth: false })
        {
            ReplyWriter.Error(output, Errors.AuthenticationRequired);
            return false;
        }
        switch (request.Command?.Kind)
        {
            case null:
                return false;
            case CommandKind.Get:
                if (!store.TryRead(request.Key, output, static (value, output) => ReplyWriter.Value(output, value)))
                    ReplyWriter.Error(output, Errors.NotFound(request.Key));
                return false;
            case CommandKind.Set:
                if (store.Set(request.Key, request.Value) == SetResult.OutOfMemory) ReplyWriter.Error(output, Errors.OutOfMemory(store.AccountedBytes, store.MaxBytes));
                else ReplyWriter.Ok(output);
                return false;
            case CommandKind.Del:
                if (store.Remove(request.Key)) ReplyWriter.Ok(output);
                else ReplyWriter.Error(output, Errors.NotFound(request.Key));
                return false;
            case CommandKind.List:
                deferred = new Listing(store, pattern: null, ReplyWriter.KeysHeader, ReplyWriter.Key).RunAsync;
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
            case CommandKind.Auth:
                var attempt = request.Value.ToArray();
                deferred = async context =>
                {
                    switch (await access.TryAsync(attempt, knownUser: true, context.Cancellation))
                    {
                        case AuthResult.NoPassword: ReplyWriter.Error(context.Output, Errors.NoPassword); break;
                        case AuthResult.Admitted: ReplyWriter.Ok(context.Output); break;
                        case AuthResult.TooManyAttempts: ReplyWriter.Error(context.Output, Errors.TooManyAttempts); break;
                        default: ReplyWriter.Error(context.Output, Errors.WrongPassword); break;
                    }
                    return null;
                };
                return false;
            default:
                throw new InvalidOperationException($"no handler for {request.Command.Kind}");
        }
    }
}
