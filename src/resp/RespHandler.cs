// src/resp/RespHandler.cs: the Redis protocol on one connection, for Conversation's loop: RespFraming cuts a
// request off the buffer, RespCommands answers it.
//
// The bounds are KV's: a bulk string or an inline line longer than --max-line-bytes, or an array of more than
// RespFraming.MaxArguments elements, is a protocol error that ends the connection; an unfinished request may
// hold at most twice --max-line-bytes (a value at the limit, plus its key and framing).

using System.Buffers;
using System.Collections.Concurrent;

namespace KV;

public sealed class RespHandler(RespSession session, int maxLineBytes) : IRequestHandler
{
    private readonly List<ReadOnlySequence<byte>> arguments = new(8);
    private readonly PartialArray partial = new();

    public DeferredReply? TakeDeferred() => session.TakeDeferred();

    public void WriteError(IBufferWriter<byte> output, string message) => RespReply.Error(output, message);

    public void Attach(IReplyContext connection)
    {
        session.Connection = connection;
        session.Activity.Feature(_ => new RespClients()).Add(session);
    }

    /// <summary>
    /// The connection ended: its WATCHes and SCANs are let go (what it had queued goes with its memory account).
    /// </summary>
    public void Ended()
    {
        RespTransactions.Unwatch(session);
        RespScan.EndAll(session);
        session.Activity.Existing<RespClients>()?.Remove(session);
        session.Mode?.Ended();
    }

    public bool TryAnswer(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, out string? ending)
    {
        ending = null;
        var unread = buffer.Length;
        var read = RespFraming.TryReadRequest(ref buffer, arguments, maxLineBytes, out var error, partial);
        session.MoreBuffered = !buffer.IsEmpty;
        switch (read)
        {
            case RespRead.Incomplete:
                return false;
            case RespRead.Malformed:
                RespReply.Error(output, error!);
                ending = error;
                return true;
            default:
                if (arguments.Count == 0) return true;
                var request = new RespArguments(arguments);
                // The arguments stay as they are until the answer is done: the next request is read after it.
                if (session.AnswersApart(unread - buffer.Length))
                    session.AnswerApart(apart => RespCommands.Execute(session, request, apart));
                else ending = RespCommands.Execute(session, request, output);
                return true;
        }
    }

    public string? RefuseUnfinished(ReadOnlySequence<byte> unfinished, IBufferWriter<byte> output)
    {
        if (unfinished.Length <= 2L * maxLineBytes) return null;
        var error = $"Protocol error: unfinished request longer than {2L * maxLineBytes} bytes";
        RespReply.Error(output, error);
        return error;
    }
}

/// <summary>The RESP connections open now, for CLIENT LIST (job queues find their workers by name in it).</summary>
public sealed class RespClients
{
    private readonly ConcurrentDictionary<RespSession, byte> open = new();

    public void Add(RespSession session) => open.TryAdd(session, 0);
    public void Remove(RespSession session) => open.TryRemove(session, out _);
    public ICollection<RespSession> All => open.Keys;
}
