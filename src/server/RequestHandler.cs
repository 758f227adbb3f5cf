// src/server/RequestHandler.cs: what a Conversation asks of the protocol it carries, and what it offers an answer
// that waits. LineHandler (KV's protocol) and RespHandler (Redis's) implement IRequestHandler; a listing or the
// password's pause is a DeferredReply, which writes through IReplyContext while the conversation waits for it.

using System.Buffers;

namespace KV;

/// <summary>One protocol's half of a conversation: cut requests off the buffer and answer them.</summary>
public interface IRequestHandler
{
    /// <summary>
    /// Answers the first whole request in the buffer and cuts it off (a blank one is cut off unanswered).
    /// False when no whole request is there yet. `ending` says why the connection must close after this reply.
    /// </summary>
    bool TryAnswer(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, out string? ending);

    /// <summary>
    /// When an unfinished request has grown past what the protocol allows: the refusal is written, and the reason
    /// returned.
    /// </summary>
    string? RefuseUnfinished(ReadOnlySequence<byte> unfinished, IBufferWriter<byte> output);

    /// <summary>
    /// The part of the last answer that must wait (for its turn, or for work done in slices); null for none.
    /// </summary>
    DeferredReply? TakeDeferred();

    /// <summary>An error line in this protocol's words, for a connection the server ends on its own.</summary>
    void WriteError(IBufferWriter<byte> output, string message);

    /// <summary>
    /// The conversation carrying this handler, for state it must count against the clients' budget (a transaction).
    /// </summary>
    void Attach(IReplyContext connection) { }

    /// <summary>The connection has ended: what the handler registered elsewhere (a WATCH) is let go.</summary>
    void Ended() { }
}

/// <summary>The clients' budget as a reply sees it.</summary>
public interface IReplyBudget
{
    /// <summary>
    /// Counts bytes the reply is about to make against the clients' budget; false when they do not fit. With `makeRoom`
    /// (what is pushed to a client), a full budget first closes the connection that holds the most, as a read does.
    /// </summary>
    bool TryReserve(long bytes, bool makeRoom = false);
}

/// <summary>
/// What a deferred reply may use of its conversation while it runs; Evict closes it with a last word, from any thread.
/// </summary>
public interface IReplyContext : IEvictable, IReplyBudget
{
    /// <summary>Where the reply goes; the conversation sends it.</summary>
    IBufferWriter<byte> Output { get; }

    /// <summary>Cancelled when the conversation is interrupted (the server stops, a limit closes it).</summary>
    CancellationToken Cancellation { get; }

    /// <summary>Gives reserved bytes back.</summary>
    void Unreserve(long bytes);

    /// <summary>The budget for all clients, for an error that names it.</summary>
    long ClientMemoryLimit { get; }

    /// <summary>Sends what the reply has written so far, waiting for the client to take it (backpressure).</summary>
    ValueTask FlushAsync();

    /// <summary>Writes an error line in the protocol's words.</summary>
    void WriteError(string message);

    /// <summary>
    /// Completes when the client sends more, or leaves (a monitor stops then, and the conversation reads on).
    /// </summary>
    Task ClientSpeaksAsync();

    /// <summary>Whether the client has closed its end, with nothing unread: once ClientSpeaksAsync completed, it
    /// tells a client that left from one that sent more.</summary>
    bool ClientLeft => false;

    /// <summary>
    /// Whether what was written since passed the clients' budget and was dropped (OutputBuffer.Overflowed): a reply
    /// that goes on writing (a subscriber's pump) stops, and the connection ends with the reason.
    /// </summary>
    bool ReplyCut => false;
}

/// <summary>
/// An answer that waits: it writes its reply into the context's output, and returns why the connection must close, or
/// null.
/// </summary>
public delegate ValueTask<string?> DeferredReply(IReplyContext context);
